// The client's own behaviour, against a fetch that answers as the app would: no server needed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { QuotaExceededError, RateLimitedError, SmartAppClient, StorageError, unwrap, type ChatEvent } from "../src/index.js";

function recording(answers: Array<() => Response>) {
  const seen: Request[] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push(request);
    return (answers[seen.length - 1] ?? answers[answers.length - 1])();
  };
  return { seen, fetch: fetch as typeof globalThis.fetch };
}

const problem = (status: number, kind: string, retryAfter?: string) => () =>
  new Response(JSON.stringify({ type: `https://smartapp.dev/problems/${kind}`, title: kind, status, detail: `${kind} detail` }), {
    status, headers: { "Content-Type": "application/problem+json", ...(retryAfter ? { "Retry-After": retryAfter } : {}) },
  });
const ok = (body: unknown) => () => new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });

test("a GET answered 503 with Retry-After is sent again after the wait, and its answer returned", async () => {
  const { seen, fetch } = recording([problem(503, "upstream-unavailable", "0"), ok({ plans: [] })]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch });
  assert.deepEqual(unwrap(await client.api.GET("/billing/plans")), { plans: [] });
  assert.equal(seen.length, 2);
});

test("every POST carries an Idempotency-Key, the same one on each retry", async () => {
  const { seen, fetch } = recording([problem(429, "rate-limited", "0"), ok({ id: "conv_1" })]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch, token: () => "t0ken" });
  unwrap(await client.api.POST("/chat/conversations", { body: { title: "x" } }));
  assert.equal(seen.length, 2);
  const keys = seen.map((r) => r.headers.get("Idempotency-Key"));
  assert.ok(keys[0] && keys[0] === keys[1], String(keys));
  assert.equal(seen[1].headers.get("Authorization"), "Bearer t0ken");
  assert.equal(await seen[1].text(), JSON.stringify({ title: "x" })); // the body is sent again whole
});

test("a wait longer than allowed, or none given, is not retried: the typed error says how long", async () => {
  const { seen, fetch } = recording([problem(429, "rate-limited", "120")]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch, maxRetryWaitSeconds: 30 });
  const error = await client.api.GET("/me").then(unwrap).catch((e: unknown) => e);
  assert.ok(error instanceof RateLimitedError);
  assert.equal(error.retryAfter, 120);
  assert.equal(seen.length, 1);

  const quota = recording([problem(402, "quota-exceeded")]);
  const paid = new SmartAppClient({ baseUrl: "http://app.test/api", fetch: quota.fetch });
  const refused = await paid.api.POST("/files/uploads", { body: { name: "a.pdf", contentType: "application/pdf", size: 1 } }).then(unwrap).catch((e: unknown) => e);
  assert.ok(refused instanceof QuotaExceededError);
  assert.equal(refused.retryAfter, undefined);
  assert.equal(quota.seen.length, 1); // 402 is not a wait: only a bigger plan helps
});

// A direct upload against an app and a storage that answer in turn: begin, the blocks and block list, complete.
function directUpload(storage: Array<() => Response>) {
  const begun = () => new Response(JSON.stringify({ fileId: "file_1", uploadUrl: "http://blob.test/files/staging/file_1?sv=1&sig=abc%2B", expiresAt: new Date(Date.now() + 60_000).toISOString(), completeUrl: "files/file_1/complete" }), { status: 201 });
  const storageSeen: Request[] = [];
  const { seen, fetch } = recording([begun, ...storage.map((answer) => () => answer()), ok({ id: "file_1", status: "queued" })]);
  const routed = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    if (request.url.startsWith("http://blob.test/")) storageSeen.push(request.clone());
    return fetch(request);
  }) as typeof globalThis.fetch;
  return { seen, storageSeen, fetch: routed };
}
const created = () => new Response(null, { status: 201 });

test("a block storage answers 503 is sent again; the block list names every block in order", async () => {
  const { storageSeen, fetch } = directUpload([created, () => new Response(null, { status: 503, headers: { "x-ms-error-code": "ServerBusy" } }), created, created]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch, token: () => "t0ken" });
  const file = await client.uploadDirect(new Blob(["0123456789"]), "digits.txt", { blockSize: 5, parallel: 1 });
  assert.equal(file.id, "file_1");
  const blockIds = storageSeen.filter((r) => r.url.includes("comp=block&")).map((r) => new URL(r.url).searchParams.get("blockid"));
  assert.deepEqual(blockIds, [btoa("block-000000"), btoa("block-000001"), btoa("block-000001")]);
  assert.ok(storageSeen.every((r) => r.url.includes("sig=abc%2B") && !r.headers.has("Authorization")), "the signed URL as given, and no app token");
  const list = await storageSeen.at(-1)!.text();
  assert.ok(list.includes(`<Latest>${btoa("block-000000")}</Latest><Latest>${btoa("block-000001")}</Latest>`), list);
});

const renewed = () => new Response(JSON.stringify({ fileId: "file_1", uploadUrl: "http://blob.test/files/staging/file_1?sv=1&sig=renewed", expiresAt: new Date(Date.now() + 60_000).toISOString(), completeUrl: "files/file_1/complete" }), { status: 200 });
const expired = () => new Response(null, { status: 403, headers: { "x-ms-error-code": "AuthenticationFailed" } });

test("a URL that expires during a long upload is renewed: the refused block goes to the new URL, the blocks sent stay", async () => {
  const { seen, storageSeen, fetch } = directUpload([created, expired, renewed, created, created]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch });
  const checkpoints: string[] = [];
  const file = await client.uploadDirect(new Blob(["0123456789"]), "digits.txt", { blockSize: 5, parallel: 1, onCheckpoint: (u) => checkpoints.push(`${u.uploadUrl.split("sig=")[1]}:${u.staged.join(",")}`) });
  assert.equal(file.id, "file_1");
  assert.ok(seen.some((r) => r.method === "POST" && r.url === "http://app.test/api/files/file_1/upload-url"));
  assert.deepEqual(storageSeen.map((r) => `${r.url.includes("sig=renewed") ? "new" : "old"} ${new URL(r.url).searchParams.get("comp")}`), ["old block", "old block", "new block", "new blocklist"]);
  assert.deepEqual(checkpoints, ["abc%2B:", "abc%2B:0", "renewed:0", "renewed:0,1"]); // what to resume with, renewed URL included
});

test("storage still refusing a renewed URL stops the upload with its code; nothing is completed", async () => {
  const { seen, fetch } = directUpload([expired, renewed, expired]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch });
  const error = await client.uploadDirect(new Blob(["0123456789"]), "digits.txt").catch((e: unknown) => e);
  assert.ok(error instanceof StorageError, String(error));
  assert.equal(error.status, 403);
  assert.equal(error.code, "AuthenticationFailed");
  assert.ok(!seen.some((r) => r.url.endsWith("/complete")));
});

test("a kept upload whose URL expired goes on with a new one; one the app no longer has starts again", async () => {
  const kept = { fileId: "file_1", uploadUrl: "http://blob.test/files/staging/file_1?sig=old", expiresAt: new Date(Date.now() - 1000).toISOString(), size: 10, blockSize: 5, staged: [0] };
  const resumed = recording([renewed, created, created, ok({ id: "file_1", status: "queued" })]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch: resumed.fetch });
  assert.equal((await client.uploadDirect(new Blob(["0123456789"]), "digits.txt", { resume: kept })).id, "file_1");
  assert.deepEqual(resumed.seen.map((r) => `${r.method} ${r.url.replace(/\?.*$/, "")}${r.url.includes("comp=") ? ` ${new URL(r.url).searchParams.get("comp")}` : ""}`), [
    "POST http://app.test/api/files/file_1/upload-url", "PUT http://blob.test/files/staging/file_1 block", "PUT http://blob.test/files/staging/file_1 blocklist", "POST http://app.test/api/files/file_1/complete",
  ]);

  const gone = recording([problem(404, "not-found"), () => new Response(JSON.stringify({ fileId: "file_2", uploadUrl: "http://blob.test/files/staging/file_2?sig=x", expiresAt: new Date(Date.now() + 60_000).toISOString(), completeUrl: "c" }), { status: 201 }), created, created, created, ok({ id: "file_2" })]);
  const again = new SmartAppClient({ baseUrl: "http://app.test/api", fetch: gone.fetch });
  assert.equal((await again.uploadDirect(new Blob(["0123456789"]), "digits.txt", { resume: kept, blockSize: 5, parallel: 1 })).id, "file_2");
  assert.equal(gone.seen[1].url, "http://app.test/api/files/uploads");
});

// An event stream that sends `events` and then, when `drop`, fails as a dropped connection does.
function eventStream(events: string[], drop: boolean): () => Response {
  return () => {
    const queue = [...events];
    return new Response(new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = queue.shift();
        if (next !== undefined) controller.enqueue(new TextEncoder().encode(next));
        else if (drop) controller.error(new TypeError("network connection lost"));
        else controller.close();
      },
    }), { status: 200, headers: { "Content-Type": "text/event-stream" } });
  };
}

test("a reply whose connection drops is followed again from the last event id, without repeating text", async () => {
  const { seen, fetch } = recording([
    eventStream(['event: meta\nid: 0\ndata: {"messageId":"m1","replyId":"r1","citations":[]}\n\n', 'event: delta\nid: 6\ndata: {"text":"Hello "}\n\n'], true),
    eventStream(['event: delta\nid: 11\ndata: {"text":"world"}\n\n', 'event: done\ndata: {"degraded":false,"incomplete":false}\n\n'], false),
  ]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch, token: () => "t0ken" });
  const events: ChatEvent[] = [];
  for await (const event of client.streamTurn("conv_1", { content: "Hi" })) events.push(event);
  assert.deepEqual(events.map((e) => e.type), ["meta", "delta", "resumed", "delta", "done"]);
  assert.equal(events.flatMap((e) => (e.type === "delta" ? [e.data.text] : [])).join(""), "Hello world");
  assert.equal(seen[1].url, "http://app.test/api/chat/conversations/conv_1/messages/r1/stream");
  assert.equal(seen[1].headers.get("Last-Event-ID"), "6");
  assert.equal(seen[1].headers.get("Authorization"), "Bearer t0ken");
});

test("a turn the app refuses is a typed error, not followed again", async () => {
  const { seen, fetch } = recording([problem(402, "quota-exceeded")]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch });
  await assert.rejects(async () => { for await (const _ of client.streamRegenerate("conv_1", "r1")) void _; }, QuotaExceededError);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].url, "http://app.test/api/chat/conversations/conv_1/messages/r1/regenerate");
});

test("a fetch without streamed response bodies (React Native's own) is named as the problem, not a silent empty reply", async () => {
  const { fetch } = recording([() => new Response(null, { status: 200, headers: { "Content-Type": "text/event-stream" } })]);
  const client = new SmartAppClient({ baseUrl: "http://app.test/api", fetch });
  await assert.rejects(async () => { for await (const _ of client.streamTurn("conv_1", { content: "Hi" })) void _; }, /expo\/fetch/);
});
