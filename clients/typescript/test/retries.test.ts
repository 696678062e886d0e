// The client's own behaviour, against a fetch that answers as the app would: no server needed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { QuotaExceededError, RateLimitedError, SmartAppClient, unwrap } from "../src/index.js";

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
