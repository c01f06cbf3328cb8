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
// Every operation of the table with its example input, in the table's order
// (from dixa_simulator::examples, passed by the Rust test).
const calls = JSON.parse(process.env.DIXA_EXAMPLES);
assert.deepEqual(
  tools.map((tool) => tool.name),
  calls.map(([name]) => name),
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

const byCall = Object.fromEntries(calls);
const tag = byCall["tag-conversation"];
const ajv = new Ajv2020({ strict: false });
for (const [name, input] of calls) {
  assert.ok(ajv.validate(byName[name].inputSchema, input), `${name}: ${JSON.stringify(ajv.errors)}`);
}
assert.equal(ajv.validate(byName["tag-conversation"].inputSchema, { ...tag, tagID: "typo" }), false);
assert.equal(ajv.validate(byName["add-message"].inputSchema, { ...byCall["add-message"], direction: "sideways" }), false);

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
assert.deepEqual(outputs["tag-conversation"], { success: true });
// Untagged before the list, in the table's order.
assert.deepEqual(outputs["list-conversation-tags"].tags, []);
assert.deepEqual(
  outputs["list-internal-notes"].notes.map((n) => n.message),
  ["A sample note"],
);
assert.deepEqual(outputs["create-internal-notes"].results.map((r) => r.outcome), ["created", "created"]);

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
assert.equal(JSON.parse(unknown.content[0].text).field, "extra");

await client.close();
console.log(`mcp ${mode}: all ${calls.length} tools passed`);
