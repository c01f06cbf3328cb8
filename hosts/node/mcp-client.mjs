// Drives `dixa mcp` with the official MCP TypeScript SDK, as an agent platform
// would: initialize, list the tools, check their schemas and annotations,
// validate the examples against each inputSchema, call every tool against the
// simulator and check an error result.
//
//   DIXA=path/to/dixa DIXA_BASE_URL=http://127.0.0.1:8080 DIXA_API_KEY=... node mcp-client.mjs stdio
//   MCP_URL=http://127.0.0.1:PORT/mcp MCP_TOKEN=... node mcp-client.mjs http
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv2020 from "ajv/dist/2020.js";

const mode = process.argv[2];
const transport =
  mode === "stdio"
    ? new StdioClientTransport({
        command: process.env.DIXA,
        args: ["--base-url", process.env.DIXA_BASE_URL, "mcp"],
        env: {
          PATH: process.env.PATH,
          DIXA_API_KEY: process.env.DIXA_API_KEY,
          DIXA_CACHE_DIR: process.env.DIXA_CACHE_DIR,
        },
        stderr: "inherit",
      })
    : new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
        requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` } },
      });
const client = new Client({ name: "dixa-connector-test", version: "1.0.0" });
await client.connect(transport);

const { tools } = await client.listTools();
const byName = Object.fromEntries(tools.map((tool) => [tool.name, tool]));
assert.deepEqual(
  tools.map((tool) => tool.name),
  [
    "create-internal-note",
    "add-message",
    "tag-conversation",
    "untag-conversation",
    "list-conversation-tags",
    "list-internal-notes",
    "create-internal-notes",
  ],
);
const hints = (name) => {
  const a = byName[name].annotations;
  return [a.readOnlyHint, a.destructiveHint, a.idempotentHint, a.openWorldHint];
};
assert.deepEqual(hints("create-internal-note"), [false, false, false, true]);
assert.deepEqual(hints("tag-conversation"), [false, false, true, true]);
assert.deepEqual(hints("untag-conversation"), [false, true, true, true]);
assert.deepEqual(hints("list-internal-notes"), [true, false, true, true]);
assert.match(byName["add-message"].description, /^Add an inbound or outbound message/);
for (const tool of tools) {
  assert.equal(tool.inputSchema.additionalProperties, false, tool.name);
  assert.equal(tool.outputSchema.type, "object", tool.name);
}
assert.deepEqual(byName["add-message"].inputSchema.required, ["conversationId", "content", "direction"]);

const tag = { conversationId: "9456", tagId: "eb31acbb-13f9-4ce7-abd3-44dd86266741" };
const conversation = { conversationId: "9456" };
const calls = [
  ["create-internal-note", {
    conversationId: "9456",
    message: "A sample note",
    agentId: "a53b25da-f676-4c52-acac-58c9280aa23d",
    createdAt: "2021-12-01T12:46:36.581Z[GMT]",
  }],
  ["add-message", {
    conversationId: "9456",
    content: "Ok, I can help you!",
    direction: "outbound",
    agentId: "bac5a02c-15b3-44da-ae1e-ab7b9db4aa89",
  }],
  ["tag-conversation", tag],
  ["list-conversation-tags", conversation],
  ["untag-conversation", tag],
  ["create-internal-notes", {
    conversationId: "9456",
    notes: [{ message: "Bulk one" }, { message: "Bulk two", agentId: "nobody" }],
  }],
  ["list-internal-notes", conversation],
];
const ajv = new Ajv2020({ strict: false });
for (const [name, input] of calls) {
  assert.ok(ajv.validate(byName[name].inputSchema, input), `${name}: ${JSON.stringify(ajv.errors)}`);
}
assert.equal(ajv.validate(byName["tag-conversation"].inputSchema, { ...tag, tagID: "typo" }), false);
assert.equal(ajv.validate(byName["add-message"].inputSchema, { ...calls[1][1], direction: "sideways" }), false);

const outputs = {};
for (const [name, input] of calls) {
  const result = await client.callTool({ name, arguments: input });
  assert.notEqual(result.isError, true, `${name}: ${JSON.stringify(result.content)}`);
  assert.ok(ajv.validate(byName[name].outputSchema, result.structuredContent), `${name}: ${JSON.stringify(ajv.errors)}`);
  // A client of 2025-06-18 or later gets the output once, as structured content.
  assert.deepEqual(result.content, []);
  outputs[name] = result.structuredContent;
}
assert.equal(outputs["create-internal-note"].message, "A sample note");
assert.equal(outputs["add-message"].direction, "outbound");
assert.deepEqual(outputs["list-conversation-tags"].tags.map((t) => t.id), [tag.tagId]);
assert.deepEqual(outputs["untag-conversation"], { success: true });
assert.deepEqual(outputs["create-internal-notes"].results.map((r) => r.outcome), ["created", "failed"]);
assert.deepEqual(
  outputs["list-internal-notes"].notes.map((n) => n.message),
  ["A sample note", "Bulk one"],
);

// A near miss: the guest's error, with its field, as a tool error result.
const refused = await client.callTool({
  name: "add-message",
  arguments: { conversationId: "9456", content: "Hi", direction: "outbound" },
});
assert.equal(refused.isError, true);
assert.deepEqual(JSON.parse(refused.content[0].text), {
  error: "invalid-input",
  message: "invalid input: agentId: is required for outbound messages",
  dixaMayHaveActed: false,
  field: "agentId",
});
const unknown = await client.callTool({ name: "list-internal-notes", arguments: { conversationId: "9456", extra: 1 } });
assert.equal(unknown.isError, true);
assert.equal(JSON.parse(unknown.content[0].text).field, "input");

await client.close();
console.log(`mcp ${mode}: all seven tools passed`);
