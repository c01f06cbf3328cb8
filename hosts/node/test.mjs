// Calls every operation of the transpiled component and checks the outputs.
// Usage: DIXA_CONFIG='{"base-url":"http://127.0.0.1:8080","api-key":"simulator-api-key"}' \
//        node test.mjs ./out/dixa_connector.js
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const { conversations } = await import(pathToFileURL(resolve(process.argv[2])).href);

const note = conversations.createInternalNote({
  conversationId: "9456",
  message: "A sample note",
  agentId: "a53b25da-f676-4c52-acac-58c9280aa23d",
  createdAt: "2021-12-01T12:46:36.581Z[GMT]",
});
assert.deepEqual(note, {
  id: "00000000-0000-4000-8000-000000000001",
  authorId: "a53b25da-f676-4c52-acac-58c9280aa23d",
  createdAt: "2021-12-01T12:46:36.581Z",
  message: "A sample note",
});

const message = conversations.addMessage({
  conversationId: "9456",
  content: "I need some help!",
  direction: "inbound",
});
assert.equal(message.messageId, "00000000-0000-4000-8000-000000000002");
assert.equal(message.direction, "inbound");
assert.deepEqual(message.content, { value: "I need some help!", type: "Text" });

assert.throws(
  () => conversations.addMessage({ conversationId: "9456", content: "Hi", direction: "outbound" }),
  (error) => {
    assert.deepEqual(error.payload, {
      tag: "invalid-input",
      val: { field: "agentId", reason: "is required for outbound messages" },
    });
    return true;
  },
);

// Dixa refused the request (a 4xx): it reached Dixa but changed nothing.
assert.throws(
  () => conversations.tagConversation({ conversationId: "9456", tagId: "not-a-uuid" }),
  (error) => {
    assert.deepEqual(error.payload, {
      tag: "api",
      val: {
        status: 400,
        message: "Invalid value for: path parameter tagId",
        dixaMayHaveActed: false,
      },
    });
    return true;
  },
);

assert.deepEqual(
  conversations.tagConversation({ conversationId: "9456", tagId: "eb31acbb-13f9-4ce7-abd3-44dd86266741" }),
  { success: true },
);

assert.deepEqual(
  conversations.listConversationTags({ conversationId: "9456" }),
  {
    tags: [
      { id: "eb31acbb-13f9-4ce7-abd3-44dd86266741", name: "Tag eb31acbb", color: "#1E90FF", state: "active" },
    ],
  },
);
assert.deepEqual(
  conversations.untagConversation({ conversationId: "9456", tagId: "eb31acbb-13f9-4ce7-abd3-44dd86266741" }),
  { success: true },
);
assert.deepEqual(conversations.listConversationTags({ conversationId: "9456" }), { tags: [] });

const bulk = conversations.createInternalNotes({
  conversationId: "9456",
  notes: [{ message: "Bulk one" }, { message: "Bulk two", agentId: "nobody" }],
});
assert.equal(bulk.results.length, 2);
assert.equal(bulk.results[0].tag, "created");
assert.equal(bulk.results[0].val.message, "Bulk one");
assert.deepEqual(bulk.results[1], {
  tag: "failed",
  val: "An agent with id:nobody cannot be found in org.",
});
const notes = conversations.listInternalNotes({ conversationId: "9456" });
assert.deepEqual(
  notes.notes.map((note) => note.message),
  ["A sample note", "Bulk one"],
);

console.log("node: all seven operations passed");
