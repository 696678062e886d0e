// The client against the running app: SMARTAPP_API_URL is the API of a dev host started by the test that runs this
// (SmartApp.Tests' TypeScriptClientTests), with the fake model answering "Model summary: " and the user's message.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { NotFoundError, SmartAppClient, UnauthorizedError, ValidationError, createPkce, unwrap, type ChatEvent, type Citation, type DirectUpload } from "../src/index.js";

const baseUrl: string = process.env.SMARTAPP_API_URL ?? assert.fail("SMARTAPP_API_URL must name the running app's API");

async function signedIn(): Promise<SmartAppClient> {
  const client = new SmartAppClient({ baseUrl });
  await client.signInDemo({ email: `sdk-${randomUUID()}@e2e.test`, name: "SDK" });
  return client;
}

test("demo sign-in gives a token the typed calls carry", async () => {
  const client = new SmartAppClient({ baseUrl });
  const email = `sdk-${randomUUID()}@e2e.test`;
  const signIn = await client.signInDemo({ email, name: "Ada" });
  assert.equal(signIn.user.email, email);
  const me = unwrap(await client.api.GET("/me"));
  assert.equal(me.email, email);
});

test("a streamed turn yields meta, the reply's text in deltas, then done", async () => {
  const client = await signedIn();
  const conversation = unwrap(await client.api.POST("/chat/conversations", { body: { title: "SDK" } }));
  const events: ChatEvent[] = [];
  for await (const event of client.streamTurn(conversation.id, { content: "What is a lighthouse for?", useMemory: false, useFiles: false })) events.push(event);
  assert.equal(events[0].type, "meta");
  assert.equal(events.at(-1)?.type, "done");
  const text = events.flatMap((e) => (e.type === "delta" ? [e.data.text] : [])).join("");
  assert.ok(text.startsWith("Model summary: "), text);
  assert.ok(events.some((e) => e.type === "delta" && e.id), "deltas carry ids to resume from");
});

test("small uploads are ingested, searched, cited in a streamed turn, and listed page by page", async () => {
  const client = await signedIn();
  const first = await client.uploadFile(new Blob(["The ferry to Inchcolm leaves from Hawes Pier at nine."], { type: "text/plain" }), "ferry notes.txt");
  const second = await client.uploadFile(new Blob(["The lighthouse lamp is lit at dusk."], { type: "text/plain" }), "lamp.txt");
  const states: string[] = [];
  const indexed = await client.waitForFile(first.id, { onProgress: (f) => states.push(f.status) });
  assert.equal(indexed.status, "indexed");
  assert.equal((await client.waitForFile(second.id)).status, "indexed");
  const found = unwrap(await client.api.POST("/files/search", { body: { query: "When does the ferry leave?" } }));
  assert.equal(found.results[0]?.fileId, first.id);
  assert.equal(found.results[0]?.fileName, "ferry notes.txt");

  // A streamed turn cites the file the answer comes from.
  const conversation = unwrap(await client.api.POST("/chat/conversations", { body: { title: "Ferry" } }));
  let citations: Citation[] = [];
  for await (const event of client.streamTurn(conversation.id, { content: "When does the ferry to Inchcolm leave?", useMemory: false })) {
    if (event.type === "meta") citations = event.data.citations;
  }
  assert.ok(citations.some((c) => c.type === "file" && c.fileId === first.id && c.text.includes("Hawes Pier")), JSON.stringify(citations));

  const names: string[] = [];
  for await (const file of client.pages(async (cursor) => {
    const page = unwrap(await client.api.GET("/files", { params: { query: { limit: 1, cursor } } }));
    return { items: page.files, cursor: page.cursor };
  })) names.push(file.name);
  assert.deepEqual(names.sort(), ["ferry notes.txt", "lamp.txt"]);
});

test("a large upload goes straight to storage in blocks, resumes after the connection drops, and is indexed intact", async () => {
  // A fetch that sees every request: storage's never carry the app's token; `dropping` makes the network fail block PUTs.
  let dropping = false;
  const blocksSent: string[] = [];
  const tokensToStorage: string[] = [];
  const network: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    if (request.url.includes("comp=block&")) {
      if (request.headers.has("Authorization")) tokensToStorage.push(request.url);
      if (dropping) throw new TypeError("fetch failed");
      blocksSent.push(new URL(request.url).searchParams.get("blockid")!);
    }
    return fetch(request);
  };
  const client = new SmartAppClient({ baseUrl, fetch: network });
  await client.signInDemo({ email: `sdk-${randomUUID()}@e2e.test`, name: "SDK" });
  const lines = Array.from({ length: 6000 }, (_, i) => `Line ${i}: the tide gauge at the north pier reads ${i % 7} metres.`);
  lines[60] = "The harbour master keeps the spare lantern wicks in the blue chest by the slipway.";
  const content = new Blob([lines.join("\n")], { type: "text/plain" });
  const blockSize = 64 * 1024;
  const blocks = Math.ceil(content.size / blockSize);
  assert.ok(blocks >= 5, `${content.size} bytes`);

  // The connection drops after two blocks: the upload fails, and what was kept says which blocks storage has.
  let kept: DirectUpload | undefined;
  const progress: number[] = [];
  await assert.rejects(
    client.upload(content, "tide log.txt", {
      directThreshold: 0, blockSize, parallel: 1, blockRetries: 1,
      onCheckpoint: (upload) => {
        kept = upload;
        if (upload.staged.length === 2) dropping = true;
      },
      onProgress: (p) => progress.push(p.loaded),
    }),
    TypeError,
  );
  assert.deepEqual(kept?.staged, [0, 1]);
  assert.equal(blocksSent.length, 2);
  assert.deepEqual(progress, [0, blockSize, 2 * blockSize]);

  // Back online: only the missing blocks are sent, then the app completes the same file.
  dropping = false;
  const resumed: number[] = [];
  const file = await client.upload(content, "tide log.txt", { resume: kept, onProgress: (p) => resumed.push(p.loaded) });
  assert.equal(file.id, kept?.fileId);
  assert.equal(blocksSent.length, blocks, "each block sent once");
  assert.equal(new Set(blocksSent).size, blocks);
  assert.equal(resumed[0], 2 * blockSize);
  assert.equal(resumed.at(-1), content.size);
  assert.equal(file.size, content.size);
  assert.deepEqual(tokensToStorage, []);

  assert.equal((await client.waitForFile(file.id)).status, "indexed");
  const found = unwrap(await client.api.POST("/files/search", { body: { query: "Where are the spare lantern wicks kept?" } }));
  assert.equal(found.results[0]?.fileId, file.id);
  const link = unwrap(await client.api.GET("/files/{fileId}/content", { params: { path: { fileId: file.id } }, headers: { Accept: "application/json" } }));
  assert.equal(await (await fetch(link.url)).text(), await content.text());
});

test("records are created, read, patched, queried and deleted", async () => {
  const client = await signedIn();
  const created = unwrap(await client.api.POST("/data/tables/{table}/records", { params: { path: { table: "plants" } }, body: { id: "fern", water: "weekly" } }));
  assert.equal(created.id, "fern");
  unwrap(await client.api.PATCH("/data/tables/{table}/records/{id}", { params: { path: { table: "plants", id: "fern" } }, body: { water: "daily" } }));
  const page = unwrap(await client.api.POST("/data/tables/{table}/query", { params: { path: { table: "plants" } }, body: { where: [{ field: "water", op: "eq", value: "daily" }] } }));
  assert.deepEqual(page.items.map((r) => r.id), ["fern"]);
  const deleted = await client.api.DELETE("/data/tables/{table}/records/{id}", { params: { path: { table: "plants", id: "fern" } } });
  assert.equal(deleted.response.status, 204);
});

test("errors arrive typed: not found, invalid fields, no token", async () => {
  const client = await signedIn();
  await assert.rejects(async () => unwrap(await client.api.GET("/files/{fileId}", { params: { path: { fileId: "file_0123456789abcdef0123456789abcdef" } } })), NotFoundError);
  const invalid = await client.api.POST("/data/tables/{table}/query", { params: { path: { table: "plants" } }, body: { limit: 100000 } }).then(unwrap).catch((e: unknown) => e);
  assert.ok(invalid instanceof ValidationError, String(invalid));
  assert.ok(Object.keys(invalid.fields).length > 0);
  const anonymous = new SmartAppClient({ baseUrl });
  await assert.rejects(async () => unwrap(await anonymous.api.GET("/me")), UnauthorizedError);
  const plans = unwrap(await anonymous.api.GET("/billing/plans"));
  assert.ok(plans.plans.some((p) => p.id === "free"));
});

test("PKCE pairs are S256 of their verifier", async () => {
  const { verifier, challenge } = await createPkce();
  assert.match(verifier, /^[A-Za-z0-9_-]{64}$/);
  const digest = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
  assert.equal(challenge, digest);
});
