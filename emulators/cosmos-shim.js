// cosmos-shim.js — runs @vercel/cosmosdb-server (unmodified package) with small runtime patches so that the
// official .NET SDK (Microsoft.Azure.Cosmos, Gateway mode) works against it:
//   1. answers the SDK's query-plan request (x-ms-cosmos-is-query-plan-request) with a "passthrough" plan over the
//      single partition-key range, so the server itself executes ORDER BY / TOP / COUNT / SUM / MAX etc.;
//   2. scopes queries to the partition key sent in x-ms-documentdb-partitionkey (the server only honoured a pk in WHERE);
//   3. ReadItem of a missing doc -> 404 (server crashed with 500 "Cannot read properties of undefined");
//   4. ReadItem with If-None-Match == current etag -> 304;
//   5. container/item TTL (defaultTtl / ttl) enforced lazily on read/query;
//   6. CONTAINS/STARTSWITH/ENDSWITH(a, b, ignoreCase), STRINGEQUALS, ARRAY_CONTAINS_ANY/ALL, GetCurrentDateTime/Timestamp, IIF;
//   9. incremental change feed (A-IM: Incremental feed + If-None-Match/LSN etag; StartFrom Beginning/Now/Time, pk scoping);
//   8. OFFSET/LIMIT and SELECT DISTINCT (unsupported by the query engine) via the plan: SDK applies them client-side;
//   7. TransactionalBatch / bulk (HybridRow binary body) -> clear 501 error instead of a JSON parse 500;
//  10. persistent connections (the server closes each one by default);
//  11. each query's compiled JavaScript kept and reused (V8 optimises it), and its document collection and the copy
//      of its results made linear;
//  12. a path that does not percent-decode -> 400 (the server threw and the process exited);
//  13. hierarchical partition keys: a query or change feed scoped to a full key or to a prefix of one (which the SDK
//      sends as an effective-partition-key range) sees that key's documents only;
//  14. vector and full-text search (VectorDistance, FullTextContains*, ORDER BY [RANK] VectorDistance / FullTextScore /
//      RRF with TOP), from cosmos-search.js.
//  15. each container's documents indexed by their first partition key value (a user's query reads that user's only);
//  16. each query scope's live documents (its partition key or range, expired ones left out) kept until the next write,
//      deletion or expiry, so that repeated queries of one user do not collect and check each document again.
// Usage: node cosmos-shim.js <path/to/@vercel/cosmosdb-server> <port> <cert.pem> <key.pem>   (listens on 127.0.0.1)
// With EXIT_WHEN_STDIN_CLOSES=1 it exits when its parent (the dev host) goes away, however the parent ended.
"use strict";
if (process.env.EXIT_WHEN_STDIN_CLOSES === "1") {
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
}
const path = require("path");
const fs = require("fs");
const { AsyncLocalStorage } = require("async_hooks");
const search = require("./cosmos-search.js");

const [pkgDirArg, portArg, certPath, keyPath] = process.argv.slice(2);
const pkgDir = path.resolve(pkgDirArg);
const lib = (p) => path.join(pkgDir, "lib", p);
const als = new AsyncLocalStorage();
const log = process.env.COSMOS_LOG ? (...a) => console.log(...a) : () => {};

// ---- 3 + 4: read-document fixes (must be patched before routes.js is loaded by index.js)
const readDoc = require(lib("handler/read-document.js"));
const origReadDoc = readDoc.default;
readDoc.default = (account, req, res, params) => {
  let body;
  try {
    body = origReadDoc(account, req, res, params);
  } catch (e) {
    if (e instanceof TypeError) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
    throw e;
  }
  const inm = req.headers["if-none-match"];
  if (res.statusCode === 200 && body && inm && inm === body._etag) {
    res.statusCode = 304;
  }
  return body;
};

// ---- 7: batch -> 501
const batch = require(lib("handler/batch-documents.js"));
const origBatch = batch.default;
batch.default = async (account, req, res, params) => {
  const ct = String(req.headers["content-type"] || "");
  if (!ct.includes("json")) {
    res.statusCode = 501;
    return { code: "NotImplemented", message: `cosmos-shim: TransactionalBatch/bulk with binary (HybridRow, content-type '${ct}') bodies is not supported by cosmosdb-server` };
  }
  return origBatch(account, req, res, params);
};

// ---- 2 + 5: partition-scoped queries and TTL in the Documents store
const Items = require(lib("account/items.js")).default;
const Documents = require(lib("account/documents.js")).default;
const getValue = require(lib("utils/get-value.js")).default;

const OL_RE = /\s+OFFSET\s+(@\w+|\d+)\s+LIMIT\s+(@\w+|\d+)\s*$/i;
const DISTINCT_RE = /^\s*SELECT\s+DISTINCT\s+/i;
function resolveNum(tok, parameters) {
  if (/^@/.test(tok)) { const p = (parameters || []).find((x) => x.name === tok); return p ? Number(p.value) : 0; }
  return Number(tok);
}
function isExpired(docs, d) {
  const coll = docs._parent.read();
  if (!coll || coll.defaultTtl === undefined || coll.defaultTtl === null) return false; // TTL off on container
  const ttl = d.ttl !== undefined && d.ttl !== null ? d.ttl : coll.defaultTtl;
  if (ttl === -1 || typeof ttl !== "number") return false;
  return Date.now() / 1000 >= d._ts + ttl;
}
function purge(docs, d) {
  docs._uniqueKeyPaths.forEach((kp) => {
    const v = getValue(kp.slice(1).split("/"), d);
    docs._index.delete(docs._getId(kp, v, docs._getPartition(d)));
  });
  docs._data.delete(d._rid);
}
/** When a document expires (seconds since the epoch), or Infinity. */
function expiresAt(docs, d) {
  const coll = docs._parent.read();
  if (!coll || coll.defaultTtl === undefined || coll.defaultTtl === null) return Infinity;
  const ttl = d.ttl !== undefined && d.ttl !== null ? d.ttl : coll.defaultTtl;
  return ttl === -1 || typeof ttl !== "number" ? Infinity : d._ts + ttl;
}
// ---- 16: the live documents of a query's scope, kept until the next write or deletion in its container, or the first
// expiry among them, whichever comes first: searches of one user then skip collecting and checking each of that user's
// documents. Each container has its own count of changes, so a write elsewhere (a usage counter) keeps a scope valid.
const liveScopes = new Map();
const changes = new Map();
function changed(items) {
  const parent = items && items._parent && typeof items._parent.read === "function" ? items._parent.read() : null;
  const rid = parent ? parent._rid : "";
  changes.set(rid, (changes.get(rid) || 0) + 1);
}
function versionOf(collection) {
  return changes.get(collection._rid) || 0;
}
function liveScope(docs, collection, ctx) {
  const key = `${collection._rid}|${JSON.stringify(ctx || {})}`;
  const version = versionOf(collection);
  const kept = liveScopes.get(key);
  if (kept && kept.version === version && Date.now() / 1000 < kept.until) return kept.data;
  const data = inScope(collection, candidates(docs, collection, ctx), ctx).filter((d) => {
    if (!isExpired(docs, d)) return true;
    purge(docs, d);
    return false;
  });
  let until = Infinity;
  for (const d of data) until = Math.min(until, expiresAt(docs, d));
  if (liveScopes.size >= 500) liveScopes.clear();
  liveScopes.set(key, { version, until, data }); // computing the scope writes nothing, so the version still holds
  return data;
}
const origDelete = Items.prototype.delete;
Items.prototype.delete = function (...args) {
  changed(this);
  return origDelete.apply(this, args);
};
function purgeExpired(docs) {
  for (const it of [...docs._data.values()]) {
    const d = it.read();
    if (d && isExpired(docs, d)) purge(docs, d);
  }
}
const origItem = Items.prototype._item;
Documents.prototype._item = function (keyPath, value, partition) {
  const it = origItem.call(this, keyPath, value, partition);
  const d = it.read();
  if (d && isExpired(this, d)) {
    purge(this, d);
    return this._newItem();
  }
  return it;
};
Documents.prototype.query = function (params, { maxItemCount, continuation }) {
  if (!this._parent.read()) return null;
  const parent = this._parent.read();
  const ctx = als.getStore();
  const data = liveScope(this, parent, ctx);
  const embeddings = (parent.vectorEmbeddingPolicy || {}).vectorEmbeddings || [];
  if (ctx && embeddings.length) ctx.distanceFunction = String(embeddings[0].distanceFunction || "cosine").toLowerCase();
  const compositeIndexes = (parent.indexingPolicy ? parent.indexingPolicy.compositeIndexes : null) || [];
  const udf = this._userDefinedFunctions();
  try {
    const ranked = search.runRankedQuery(params.query, params.parameters, data, parent,
      (sql, docs) => this._getQuery(sql).exec(docs, { parameters: params.parameters, udf, compositeIndexes }).result,
      `${parent._rid}|${JSON.stringify(ctx || {})}`, `${versionOf(parent)}:${data.length}`); // a write in the container or an expiry changes one of them
    if (ranked) return { result: ranked, continuation: null };
    // OFFSET/LIMIT and DISTINCT are not in the engine's grammar. When the SDK sends them to one partition
    // (pk-scoped passthrough) run the rest of the query, then dedupe/slice/page here with our own continuation.
    let sql = params.query, off = null, lim = null, distinct = false;
    const m = OL_RE.exec(sql);
    if (m) { off = resolveNum(m[1], params.parameters); lim = resolveNum(m[2], params.parameters); sql = sql.slice(0, m.index); }
    if (DISTINCT_RE.test(sql)) { distinct = true; sql = sql.replace(DISTINCT_RE, "SELECT "); }
    if (m || distinct) {
      let rows = this._getQuery(sql).exec(data, { parameters: params.parameters, udf, compositeIndexes }).result;
      if (distinct) {
        const seen = new Set();
        rows = rows.filter((r) => { const k = JSON.stringify(r); if (seen.has(k)) return false; seen.add(k); return true; });
      }
      if (m) rows = rows.slice(off, off + lim);
      const start = continuation && typeof continuation.shimSkip === "number" ? continuation.shimSkip : 0;
      const size = maxItemCount > 0 ? maxItemCount : rows.length;
      const next = start + size < rows.length ? { shimSkip: start + size } : null;
      return { result: rows.slice(start, start + size), continuation: next };
    }
    const q = this._getQuery(params.query);
    return q.exec(data, { parameters: params.parameters, udf, maxItemCount, continuation, compositeIndexes });
  } catch (err) {
    err.badRequest = true;
    throw err;
  }
};

// ---- 13: which documents a request's partition scope holds: a full key or a prefix of one (header
// x-ms-documentdb-partitionkey), or an effective-partition-key range (x-ms-start-epk / x-ms-end-epk).
const keyPaths = (collection) => ((collection && collection.partitionKey && collection.partitionKey.paths) || ["/id"]).map((p) => p.slice(1).split("/"));
const keyValues = (paths, d) => paths.map((p) => getValue(p, d));
function inScope(collection, docs, ctx) {
  if (!ctx) return docs;
  const paths = keyPaths(collection);
  if (ctx.pkValues) return docs.filter((d) => { const v = keyValues(paths, d); return ctx.pkValues.every((x, i) => v[i] === x); });
  if (ctx.epk && paths.length > 1) {
    return docs.filter((d) => { const e = search.documentEpk(d, () => keyValues(paths, d)); return e >= ctx.epk.start && e < ctx.epk.end; });
  }
  return docs;
}
function scopeOf(h) {
  const pkh = h["x-ms-documentdb-partitionkey"];
  if (pkh && pkh !== "[{}]" && pkh !== "[]") {
    try { const parsed = JSON.parse(pkh); return { pkValues: Array.isArray(parsed) ? parsed : [parsed] }; } catch (_) { return {}; }
  }
  if (h["x-ms-start-epk"] !== undefined && h["x-ms-end-epk"] !== undefined) return { epk: { start: h["x-ms-start-epk"], end: h["x-ms-end-epk"] } };
  return {};
}

const origRead = Items.prototype.read;
Documents.prototype.read = function (opts) {
  if (this._parent.read()) purgeExpired(this);
  return origRead.call(this, opts);
};

// ---- 9: incremental change feed (server only returned everything once, then 304 forever)
let account = null;
const accountMod = require(lib("account/index.js"));
const OrigAccount = accountMod.default;
accountMod.default = class extends OrigAccount {
  constructor(...a) { super(...a); account = this; }
};
let lsn = 0;
const origSet = Items.prototype._set;
Documents.prototype._set = function (data) {
  lsn += 1;
  data._lsn = lsn;
  changed(this);
  const collection = this._parent.read();
  const index = firstKeyIndexes.get(this);
  if (index) addToIndex(index, keyPaths(collection)[0], data);
  const paths = keyPaths(collection);
  search.indexDocument(data, collection || {}, paths.length > 1 ? () => keyValues(paths, data) : null);
  return origSet.call(this, data);
};

// ---- 15: each container's documents indexed by their first partition key value, so that a query scoped to one
// user reads that user's documents, not the whole container's. Deletions leave their id in the index; it is dropped
// when next met (ids are never reused).
const firstKeyIndexes = new WeakMap();
const NO_KEY = "\u0000none"; // a document without the key's first path
const indexKey = (value) => (value === undefined ? NO_KEY : JSON.stringify(value));
function addToIndex(index, path, d) {
  const key = indexKey(getValue(path, d));
  let rids = index.get(key);
  if (!rids) index.set(key, (rids = new Set()));
  rids.add(d._rid);
}
function firstKeyIndex(docs, collection) {
  let index = firstKeyIndexes.get(docs);
  if (!index) {
    index = new Map();
    const path = keyPaths(collection)[0];
    for (const item of docs._data.values()) addToIndex(index, path, item.read());
    firstKeyIndexes.set(docs, index);
  }
  return index;
}
/** The documents a request's scope can hold: one first-level key value's, when the scope names one; else all. */
function candidates(docs, collection, ctx) {
  let key = null;
  if (ctx && ctx.pkValues) key = indexKey(ctx.pkValues[0]);
  else if (ctx && ctx.epk && keyPaths(collection).length > 1) {
    const first = String(ctx.epk.start).slice(0, 32);
    for (const k of firstKeyIndex(docs, collection).keys()) {
      if (k !== NO_KEY && search.effectivePartitionKey([JSON.parse(k)]) === first) { key = k; break; }
    }
    if (key === null) return [];
  }
  if (key === null) return [...docs._data.values()].map((i) => i.read());
  const rids = firstKeyIndex(docs, collection).get(key);
  const found = [];
  for (const rid of rids || []) {
    const item = docs._data.get(rid);
    if (item) found.push(item.read());
    else rids.delete(rid);
  }
  return found;
}
function changeFeed(req, res, dbId, collId) {
  const h = req.headers;
  const send = (status, body, etag) => {
    const hdrs = { "content-type": "application/json", "x-ms-request-charge": "1", "x-ms-activity-id": require("crypto").randomUUID(), etag: String(etag) };
    hdrs["x-ms-item-count"] = String(body ? body.Documents.length : 0);
    res.writeHead(status, hdrs);
    res.end(body ? JSON.stringify(body) : "");
  };
  const coll = account && account.database(dbId).collection(decodeURIComponent(collId));
  if (!coll || !coll.read()) return send(404, null, 0);
  const docs = coll.documents;
  const scope = scopeOf(h);
  let rows = inScope(coll.read(), candidates(docs, coll.read(), scope), scope).filter((d) => {
    if (!isExpired(docs, d)) return true;
    purge(docs, d);
    return false;
  });
  const inm = h["if-none-match"];
  let from = 0;
  if (inm === "*") from = lsn;
  else if (inm) from = parseInt(String(inm).replace(/"/g, ""), 10) || 0;
  else if (h["if-modified-since"]) { const t = Date.parse(h["if-modified-since"]) / 1000; rows = rows.filter((d) => d._ts >= t); }
  rows = rows.filter((d) => d._lsn > from).sort((a, b) => a._lsn - b._lsn);
  const max = parseInt(h["x-ms-max-item-count"] || "-1", 10);
  if (max > 0) rows = rows.slice(0, max);
  if (!rows.length) return send(304, null, inm === "*" || !inm ? lsn : from);
  return send(200, { _rid: coll.read()._rid, Documents: rows, _count: rows.length }, rows[rows.length - 1]._lsn);
}

// ---- 6: extra / extended built-in SQL functions
const qdir = path.dirname(require.resolve("@zeit/cosmosdb-query/package.json", { paths: [pkgDir] }));
const b = require(path.join(qdir, "lib/builtin-functions.js"));
const isStr = (v) => typeof v === "string";
const ci = (f) => (a, c, ignoreCase) => {
  if (!isStr(a) || !isStr(c)) return undefined;
  return ignoreCase === true ? f(a.toLowerCase(), c.toLowerCase()) : f(a, c);
};
b.CONTAINS = ci((a, c) => a.includes(c));
b.STARTSWITH = ci((a, c) => a.startsWith(c));
b.ENDSWITH = ci((a, c) => a.endsWith(c));
b.STRINGEQUALS = ci((a, c) => a === c);
b.ARRAY_CONTAINS_ANY = (arr, ...vals) => Array.isArray(arr) ? vals.some((v) => arr.some((x) => JSON.stringify(x) === JSON.stringify(v))) : undefined;
b.ARRAY_CONTAINS_ALL = (arr, ...vals) => Array.isArray(arr) ? vals.every((v) => arr.some((x) => JSON.stringify(x) === JSON.stringify(v))) : undefined;
b.GETCURRENTDATETIME = () => new Date().toISOString().replace("Z", "0000Z");
b.GETCURRENTTIMESTAMP = () => Date.now();
b.IIF = (cond, a, c) => (cond === true ? a : c);
// 14: vector and full-text functions. VectorDistance outside ORDER BY uses the distance function of the container's
// first vector embedding (the request's collection is known to the query, see Documents.prototype.query).
b.VECTORDISTANCE = (a, q) => {
  const ctx = als.getStore();
  return search.vectorDistance(a, q, (ctx && ctx.distanceFunction) || "cosine");
};
search.fullTextBuiltins(b);

// ---- 11: compiled queries reused. The engine turns each query into JavaScript and compiled it afresh on every
// request, so V8 never optimised the per-document filter; the compiled function depends only on the query text.
const executor = require(path.join(qdir, "lib/executor.js"));
// The generated code collects documents with `.reduce(($, c) => [...$, x], [])`, copying the accumulator for every
// document (quadratic: ~50M copies for 10k documents). `($.push(x), $)` is the same result, since `$` starts as a
// fresh `[]` that nothing else sees.
function linearAccumulators(code) {
  let out = "", i = 0;
  for (;;) {
    const at = code.indexOf("[...$, ", i);
    if (at < 0) return out + code.slice(i);
    let depth = 0, j = at, quote = null;
    for (; j < code.length; j++) {
      const ch = code[j];
      if (quote) { if (ch === "\\") j++; else if (ch === quote) quote = null; continue; }
      if (ch === '"' || ch === "'" || ch === "`") quote = ch;
      else if (ch === "[" || ch === "(" || ch === "{") depth++;
      else if (ch === "]" || ch === ")" || ch === "}") { depth--; if (depth === 0) break; }
    }
    out += code.slice(i, at) + "($.push(" + code.slice(at + 7, j) + "), $)";
    i = j + 1;
  }
}
const aggregateFunctions = require(path.join(qdir, "lib/aggregate-functions.js"));
const queryHelpers = require(path.join(qdir, "lib/helpers.js"));
// Every result is copied without its undefined values, and the engine built each array of that copy with a spread
// per element (quadratic: 384 numbers of a stored vector cost ~74,000 copies per document). The same copy, linear.
queryHelpers.stripUndefined = function stripUndefined(value) {
  if (Array.isArray(value)) {
    const out = [];
    for (const v of value) if (typeof v !== "undefined") out.push(stripUndefined(v));
    return out;
  }
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) if (typeof v !== "undefined") out[k] = stripUndefined(v);
    return out;
  }
  return value;
};
const compiledQueries = new Map();
executor.default = (collection, { code, parameters, udf = {}, maxItemCount, continuation, compositeIndexes }) => {
  let execute = compiledQueries.get(code);
  if (!execute) {
    execute = new Function(`"use strict";return (${linearAccumulators(code)})`)(); // eslint-disable-line no-new-func
    if (compiledQueries.size >= 500) compiledQueries.clear();
    compiledQueries.set(code, execute);
  }
  const params = {};
  (parameters || []).forEach(({ name, value }) => { params[name.slice(1)] = value; });
  return execute(aggregateFunctions, b, collection, queryHelpers, udf, params, maxItemCount, continuation, compositeIndexes);
};

// ---- 1: query plan + server wiring
const { createHttpsServer } = require(pkgDir);
// keepAlive: the server answers "connection: close" by default, which costs the SDK a TLS handshake per request.
// Idle connections are kept longer than the SDK's pool keeps them, so the client always closes first.
const server = createHttpsServer({ cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath), keepAlive: true });
server.keepAliveTimeout = 120000;
server.headersTimeout = 125000;
const inner = server.listeners("request");
server.removeAllListeners("request");

// The engine (@zeit/cosmosdb-query 0.7.2) has no OFFSET/LIMIT or DISTINCT; like the real gateway, the plan
// rewrites the query and lets the SDK apply offset/limit/distinct client-side. Everything else is passed through.
function makePlan(body) {
  let query = "", parameters = [];
  try { const j = JSON.parse(body); query = j.query || ""; parameters = j.parameters || []; } catch (_) { /* ignore */ }
  const param = (tok) => {
    if (/^@/.test(tok)) { const p = parameters.find((x) => x.name === tok); return p ? Number(p.value) : null; }
    return Number(tok);
  };
  let offset = null, limit = null, distinctType = "None", rewritten = query;
  const ol = OL_RE.exec(rewritten);
  if (ol) { offset = param(ol[1]); limit = param(ol[2]); rewritten = rewritten.slice(0, ol.index); }
  if (DISTINCT_RE.test(rewritten)) { distinctType = "Unordered"; rewritten = rewritten.replace(DISTINCT_RE, "SELECT "); }
  return JSON.stringify({
    partitionedQueryExecutionInfoVersion: 2,
    queryInfo: {
      distinctType, top: null, offset, limit,
      orderBy: [], orderByExpressions: [], groupByExpressions: [], groupByAliases: [],
      aggregates: [], groupByAliasToAggregateType: {}, rewrittenQuery: rewritten === query ? "" : rewritten,
      hasSelectValue: /^\s*SELECT\s+(DISTINCT\s+)?(TOP\s+\S+\s+)?VALUE\s/i.test(query),
      dCountInfo: null, hasNonStreamingOrderBy: false
    },
    queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }]
  });
}
const isTrue = (v) => String(v || "").toLowerCase() === "true";

server.on("request", (req, res) => {
  const h = req.headers;
  const t0 = Date.now();
  res.on("finish", () => log(`${req.method} ${req.url} -> ${res.statusCode} ${Date.now() - t0}ms pk=${h["x-ms-documentdb-partitionkey"] || ""} pkr=${h["x-ms-documentdb-partitionkeyrangeid"] || ""} qp=${h["x-ms-cosmos-is-query-plan-request"] || ""} cont=${h["x-ms-continuation"] || ""} max=${h["x-ms-max-item-count"] || ""} ct=${h["content-type"] || ""}`));
  const isQuery = req.method === "POST" && (isTrue(h["x-ms-documentdb-isquery"]) || h["content-type"] === "application/query+json");
  if (isQuery && isTrue(h["x-ms-cosmos-is-query-plan-request"])) {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const plan = makePlan(Buffer.concat(chunks).toString("utf8"));
      log("query plan:", plan);
      res.writeHead(200, { "content-type": "application/json", "x-ms-request-charge": "0", "x-ms-activity-id": require("crypto").randomUUID() });
      res.end(plan);
    });
    return;
  }
  const cf = req.method === "GET" && h["a-im"] && /^\/*dbs\/([^/]+)\/colls\/([^/]+)\/docs\/?$/.exec(req.url.split("?")[0]);
  if (cf) { req.resume(); return changeFeed(req, res, decodeURIComponent(cf[1]), cf[2]); }
  let ctx = {};
  if (isQuery && /\/docs\/?$/.test(req.url.split("?")[0])) {
    ctx = scopeOf(h);
    h["x-ms-documentdb-query-enablecrosspartition"] = "True"; // scoping is done by inScope, not by the WHERE clause
  }
  // 12: a path that does not percent-decode (e.g. an id with "%C0") made the server throw and exit;
  // Cosmos DB answers such a request 400, and so does this.
  try {
    req.url.split("?")[0].split("/").forEach((segment) => decodeURIComponent(segment));
  } catch (_) {
    req.resume();
    res.writeHead(400, { "content-type": "application/json", "x-ms-activity-id": require("crypto").randomUUID() });
    res.end(JSON.stringify({ code: "BadRequest", message: "The request path is not valid." }));
    return;
  }
  als.run(ctx, () => inner.forEach((l) => l.call(server, req, res)));
});

server.listen(parseInt(portArg, 10), "127.0.0.1", () => {
  console.log(`cosmosdb-server (shimmed) ready at https://127.0.0.1:${portArg}`);
});
