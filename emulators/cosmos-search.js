// cosmos-search.js — what cosmos-shim.js adds so the emulator answers the queries of Azure Cosmos DB's vector and
// full-text search, and scopes hierarchical partition keys as the service does:
//   - effectivePartitionKey: the MultiHash (V2) effective partition key of a document's key values, which the .NET SDK
//     sends as x-ms-start-epk / x-ms-end-epk when a query names only a prefix of a hierarchical key;
//   - VectorDistance(a, b) by the container's vector embedding policy (cosine, dot product or Euclidean);
//   - FullTextContains / FullTextContainsAll / FullTextContainsAny, and FullTextScore (BM25, k1 1.2, b 0.75, over the
//     documents in the query's partition scope), which the service allows only in ORDER BY RANK;
//   - SELECT TOP n ... ORDER BY VectorDistance(...), ORDER BY RANK FullTextScore(...) and ORDER BY RANK RRF(...).
// Full text here is lower-cased words and numbers, without the service's stemming and stop-word removal.
"use strict";

// ---- MurmurHash3 x64 128 (seed 0), as the service hashes partition key values
const M64 = (1n << 64n) - 1n;
const rotl = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
function fmix(k) {
  k ^= k >> 33n; k = (k * 0xff51afd7ed558ccdn) & M64;
  k ^= k >> 33n; k = (k * 0xc4ceb9fe1a85ec53n) & M64;
  return k ^ (k >> 33n);
}
function murmur128(bytes) {
  const c1 = 0x87c37b91114253d5n, c2 = 0x4cf5ad432745937fn;
  const n = bytes.length, blocks = n >> 4;
  const le = (offset, length) => { let v = 0n; for (let i = length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + i]); return v; };
  const mixK1 = (k) => (rotl((k * c1) & M64, 31) * c2) & M64;
  const mixK2 = (k) => (rotl((k * c2) & M64, 33) * c1) & M64;
  let h1 = 0n, h2 = 0n;
  for (let i = 0; i < blocks; i++) {
    h1 ^= mixK1(le(i * 16, 8)); h1 = rotl(h1, 27); h1 = (h1 + h2) & M64; h1 = (h1 * 5n + 0x52dce729n) & M64;
    h2 ^= mixK2(le(i * 16 + 8, 8)); h2 = rotl(h2, 31); h2 = (h2 + h1) & M64; h2 = (h2 * 5n + 0x38495ab5n) & M64;
  }
  const tail = blocks * 16, rest = n - tail;
  if (rest > 8) h2 ^= mixK2(le(tail + 8, rest - 8));
  if (rest > 0) h1 ^= mixK1(le(tail, Math.min(rest, 8)));
  h1 ^= BigInt(n); h2 ^= BigInt(n);
  h1 = (h1 + h2) & M64; h2 = (h2 + h1) & M64;
  h1 = fmix(h1); h2 = fmix(h2);
  h1 = (h1 + h2) & M64; h2 = (h2 + h1) & M64;
  return [h1, h2];
}
function componentBytes(value) {
  if (typeof value === "string") return Buffer.concat([Buffer.from([0x08]), Buffer.from(value, "utf8"), Buffer.from([0xff])]);
  if (typeof value === "boolean") return Buffer.from([value ? 0x03 : 0x02]);
  if (value === null) return Buffer.from([0x01]);
  if (typeof value === "number") { const b = Buffer.alloc(9); b[0] = 0x05; b.writeDoubleLE(value, 1); return b; }
  return Buffer.from([0x00]);
}
const epkCache = new Map();
function hashComponent(value) {
  const key = typeof value + ":" + String(value);
  let hex = epkCache.get(key);
  if (hex === undefined) {
    const [h1, h2] = murmur128(componentBytes(value));
    const out = Buffer.alloc(16);
    out.writeBigUInt64LE(h1, 0);
    out.writeBigUInt64LE(h2, 8);
    out.reverse();
    out[0] &= 0x3f;
    hex = out.toString("hex").toUpperCase();
    if (epkCache.size > 100000) epkCache.clear();
    epkCache.set(key, hex);
  }
  return hex;
}
/** The MultiHash effective partition key of the key's values, in order (one 32-hex-digit hash per value). */
const effectivePartitionKey = (values) => values.map(hashComponent).join("");

// Stored documents are replaced, never changed in place, so what is derived from one can be kept with it, under a
// symbol (which JSON and the query engine's copies leave out).
const DERIVED = Symbol("derived");
function derivedOf(doc) {
  let d = doc[DERIVED];
  if (!d) Object.defineProperty(doc, DERIVED, { value: (d = {}), enumerable: false });
  return d;
}
/** The document's effective partition key under the given key paths, computed once per stored version. */
function documentEpk(doc, values) {
  const d = derivedOf(doc);
  if (d.epk === undefined) d.epk = effectivePartitionKey(values());
  return d.epk;
}

// ---- words and vectors
const WORD = /[\p{L}\p{N}]+/gu;
const words = (text) => (typeof text === "string" ? text.toLowerCase().match(WORD) || [] : []);
const termsOf = (args) => args.flat().flatMap((t) => words(t));

// A stored vector's length, once per stored array (documents are replaced, never changed in place).
const norms = new WeakMap();
function normOf(v) {
  let n = norms.get(v);
  if (n === undefined) {
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i] * v[i];
    norms.set(v, (n = Math.sqrt(sum)));
  }
  return n;
}

const isVector = (v) => Array.isArray(v) || v instanceof Float64Array;

/** A document's vector at a path as a typed array (faster to multiply), once per stored version; undefined when it has none. */
function typedVector(doc, path, field) {
  const d = derivedOf(doc);
  if (!d.vectors) d.vectors = new Map();
  if (!d.vectors.has(path)) {
    const v = field(doc);
    d.vectors.set(path, Array.isArray(v) && v.every((x) => typeof x === "number") ? Float64Array.from(v) : undefined);
  }
  return d.vectors.get(path);
}

/**
 * The vector at unit length, as float32 (cosine is then a dot product), once per stored version: computed when the
 * document is written, as an index would be, so that no search pays for it (nor for fresh memory to hold it).
 */
function unitVector(doc, path, field) {
  const d = derivedOf(doc);
  if (!d.units) d.units = new Map();
  if (!d.units.has(path)) {
    const v = typedVector(doc, path, field);
    const n = v ? normOf(v) : 0;
    d.units.set(path, v && Float32Array.from(v, (x) => (n > 0 ? x / n : 0)));
  }
  return d.units.get(path);
}

/** A dot product in a function of its own: V8 optimises it after a few calls, not after a whole first search. */
function dot(a, b) {
  let sum = 0;
  for (let j = 0; j < b.length; j++) sum += a[j] * b[j];
  return sum;
}

/** Positions of the k best scores (present ones only), best first; a bounded sorted list unless every one is wanted. */
function topPositions(scores, present, k, better) {
  if (!Number.isFinite(k)) {
    const all = [];
    for (let i = 0; i < scores.length; i++) if (present[i]) all.push(i);
    return all.sort((x, y) => (better(x, y) ? -1 : better(y, x) ? 1 : 0));
  }
  const kept = [];
  for (let i = 0; i < scores.length; i++) {
    if (!present[i] || (kept.length >= k && !better(i, kept[kept.length - 1]))) continue;
    let at = kept.length;
    while (at > 0 && better(i, kept[at - 1])) at--;
    kept.splice(at, 0, i);
    if (kept.length > k) kept.pop();
  }
  return kept;
}

/**
 * A scope's full-text index for a path, as the service keeps one: the average length, and per term asked for, the
 * documents holding it with their counts (its postings). Kept per scope until the scope's next change (corpus:
 * { key, version }), so repeated searches of a user do not read every document of the user again.
 */
const fullTextIndexes = new Map();
function fullTextIndex(corpus, path, scope, counted) {
  const key = `${corpus.key}|${path}`;
  let index = fullTextIndexes.get(key);
  if (!index || index.version !== corpus.version) {
    let total = 0;
    for (const d of scope) total += counted(d).length;
    index = { version: corpus.version, averageLength: Math.max(1, total / Math.max(1, scope.length)), postings: new Map() };
    if (fullTextIndexes.size >= 200) fullTextIndexes.clear();
    fullTextIndexes.set(key, index);
  }
  return index;
}

function postingsOf(index, term, scope, counted) {
  let p = index.postings.get(term);
  if (!p) {
    p = { docs: [], counts: [], lengths: [] };
    for (const d of scope) {
      const { counts, length } = counted(d);
      const tf = counts.get(term);
      if (tf) { p.docs.push(d); p.counts.push(tf); p.lengths.push(length); }
    }
    p.holders = new Set(p.docs);
    if (index.postings.size >= 1000) index.postings.clear();
    index.postings.set(term, p);
  }
  return p;
}

/** Each document's position in a list of them (kept per list: a kept list of matches is asked for again). */
const positionMaps = new WeakMap();
function positionsOf(docs) {
  let map = positionMaps.get(docs);
  if (!map) { map = new Map(docs.map((d, i) => [d, i])); positionMaps.set(docs, map); }
  return map;
}

function vectorDistance(a, b, fn) {
  if (!isVector(a) || !isVector(b) || a.length !== b.length || a.length === 0) return undefined;
  if (fn === "euclidean") {
    let sq = 0;
    for (let i = 0; i < a.length; i++) sq += (a[i] - b[i]) * (a[i] - b[i]);
    return Math.sqrt(sq);
  }
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  if (fn === "dotproduct") return dot;
  const na = normOf(a), nb = normOf(b);
  return na === 0 || nb === 0 ? 0 : dot / (na * nb);
}


// The words of texts, by the text itself (FullTextContains* is called with the text, not the document): filled when a
// searched document is written (termCounts), so a filter over a user's passages does not tokenise them again.
const wordSets = new Map();
function remember(text, words) {
  if (wordSets.size >= 500000) wordSets.clear();
  wordSets.set(text, words);
}
function wordSet(text) {
  let set = wordSets.get(text);
  if (!set) remember(text, (set = new Set(words(text))));
  return set;
}

function fullTextBuiltins(b) {
  const holds = (text, mode, terms) => {
    if (typeof text !== "string") return undefined;
    const have = wordSet(text);
    const wanted = termsOf(terms);
    if (wanted.length === 0) return false;
    return mode === "all" ? wanted.every((t) => have.has(t)) : wanted.some((t) => have.has(t));
  };
  b.FULLTEXTCONTAINS = (text, term) => holds(text, "all", [term]);
  b.FULLTEXTCONTAINSALL = (text, ...terms) => holds(text, "all", terms);
  b.FULLTEXTCONTAINSANY = (text, ...terms) => holds(text, "any", terms);
  b.FULLTEXTSCORE = () => { throw new Error("FullTextScore may only be used in an ORDER BY RANK clause."); };
  b.RRF = () => { throw new Error("RRF may only be used in an ORDER BY RANK clause."); };
}

/** A document's words at a path, counted, once per stored version. */
function termCounts(doc, path, field) {
  const d = derivedOf(doc);
  if (!d.words) d.words = new Map();
  let found = d.words.get(path);
  if (!found) {
    const counts = new Map();
    const text = field(doc);
    const ws = words(text);
    for (const w of ws) counts.set(w, (counts.get(w) || 0) + 1);
    if (typeof text === "string") remember(text, counts);
    d.words.set(path, (found = { counts, length: ws.length }));
  }
  return found;
}

// ---- ORDER BY VectorDistance / ORDER BY RANK FullTextScore / RRF
const RANKED = /^\s*SELECT\s+(?:TOP\s+(\d+|@\w+)\s+)?([\s\S]+?)\s+FROM\s+([\s\S]+?)\s+ORDER\s+BY\s+(RANK\s+)?((?:VectorDistance|FullTextScore|RRF)\s*\([\s\S]*\))\s*$/i;

/** Splits a call's arguments at top-level commas: "f(a, g(b, c), 'x,y')" -> { name: "f", args: ["a", "g(b, c)", "'x,y'"] }. */
function parseCall(text) {
  const m = /^\s*(\w+)\s*\(([\s\S]*)\)\s*$/.exec(text);
  if (!m) throw new Error(`Unsupported ORDER BY expression: ${text}`);
  const args = [];
  let depth = 0, quote = null, start = 0;
  const body = m[2];
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (quote) { if (ch === "\\") i++; else if (ch === quote) quote = null; continue; }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth--;
    else if (ch === "," && depth === 0) { args.push(body.slice(start, i).trim()); start = i + 1; }
  }
  if (body.trim()) args.push(body.slice(start).trim());
  return { name: m[1].toUpperCase(), args };
}

function valueOf(arg, alias, params) {
  if (/^@\w+$/.test(arg)) { const p = params.find((x) => x.name === arg); return p ? p.value : undefined; }
  if (/^'.*'$/s.test(arg) || /^".*"$/s.test(arg)) return arg.slice(1, -1).replace(/\\(.)/g, "$1");
  if (/^[\[{\d-]/.test(arg)) return JSON.parse(arg);
  if (/^true|false$/i.test(arg)) return /^true$/i.test(arg);
  const path = arg.split(".");
  if (path[0] !== alias) throw new Error(`Unsupported argument: ${arg}`);
  if (path.length === 2) { const key = path[1]; return (doc) => doc[key]; }
  return (doc) => path.slice(1).reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), doc);
}

/** Positions of the documents, best first, by one ranking expression; for RRF, the fused order of its parts. */
function rankOrder(expression, docs, scope, alias, params, distanceFunction, k, corpus) {
  const call = parseCall(expression);
  const n = docs.length, scores = new Float64Array(n), present = new Uint8Array(n);
  const higher = (x, y) => scores[x] > scores[y] || (scores[x] === scores[y] && x < y);
  if (call.name === "VECTORDISTANCE") {
    const field = valueOf(call.args[0], alias, params), query = valueOf(call.args[1], alias, params);
    const fn = distanceFunction(call.args[0]);
    const path = pathOf(call.args[0]); // once, not per document
    if (Array.isArray(query) && query.length > 0) {
      const q = Float64Array.from(query);
      if (fn === "cosine") {
        const qn = normOf(q), unit = Float32Array.from(q, (x) => (qn > 0 ? x / qn : 0));
        for (let i = 0; i < n; i++) {
          const v = unitVector(docs[i], path, field);
          if (!v || v.length !== unit.length) continue;
          scores[i] = dot(v, unit);
          present[i] = 1;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const s = vectorDistance(typedVector(docs[i], path, field), q, fn);
          if (s !== undefined && s !== null) { scores[i] = s; present[i] = 1; }
        }
      }
    }
    const lower = (x, y) => scores[x] < scores[y] || (scores[x] === scores[y] && x < y);
    return topPositions(scores, present, k, fn === "euclidean" ? lower : higher);
  }
  if (call.name === "FULLTEXTSCORE") {
    const field = valueOf(call.args[0], alias, params);
    const terms = [...new Set(termsOf(call.args.slice(1).map((a) => valueOf(a, alias, params))))];
    // BM25 with the statistics of every document in the query's partition scope (as the service's are over the
    // container), from the scope's full-text index.
    const path = pathOf(call.args[0]);
    const counted = (d) => termCounts(d, path, field);
    const index = fullTextIndex(corpus, path, scope, counted);
    const position = positionsOf(docs);
    for (const t of terms) {
      const p = postingsOf(index, t, scope, counted);
      if (p.docs.length === 0) continue;
      const idf = Math.log(1 + (scope.length - p.docs.length + 0.5) / (p.docs.length + 0.5));
      for (let j = 0; j < p.docs.length; j++) {
        const i = position.get(p.docs[j]);
        if (i === undefined) continue;
        const tf = p.counts[j];
        scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * p.lengths[j] / index.averageLength));
        present[i] = 1;
      }
    }
    return topPositions(scores, present, k, higher);
  }
  if (call.name === "RRF") {
    const parts = call.args.filter((a) => /^\w+\s*\(/.test(a));
    const weights = call.args.find((a) => /^\[/.test(a));
    const w = weights ? JSON.parse(weights) : parts.map(() => 1);
    const fused = new Map();
    parts.forEach((part, p) => rankOrder(part, docs, scope, alias, params, distanceFunction, Infinity, corpus)
      .forEach((i, rank) => fused.set(i, (fused.get(i) || 0) + w[p] / (60 + rank + 1))));
    return [...fused.entries()].sort((x, y) => y[1] - x[1] || x[0] - y[0]).map((x) => x[0]);
  }
  throw new Error(`Unsupported ORDER BY expression: ${expression}`);
}

/** "c.a.b" -> "/a/b": a property path as policies name it. */
const pathOf = (arg) => "/" + arg.split(".").slice(1).join("/");

/**
 * What a searched container's index would hold for a document, computed when it is written rather than by the
 * first query that reads it: its vectors as typed arrays (and at unit length), the words of its full-text paths, and (under a
 * hierarchical key) its effective partition key.
 */
function indexDocument(doc, collection, keyValues) {
  const at = (path) => { const keys = path.slice(1).split("/"); return (d) => keys.reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), d); };
  for (const e of (collection.vectorEmbeddingPolicy || {}).vectorEmbeddings || []) unitVector(doc, e.path, at(e.path));
  for (const f of (collection.fullTextPolicy || {}).fullTextPaths || []) termCounts(doc, f.path, at(f.path));
  if (keyValues) documentEpk(doc, keyValues);
}

/**
 * Runs a ranked query when it is one (else returns null): the WHERE clause by the query engine, the ranking here,
 * then TOP, then the projection by the engine over each winner in turn.
 */
function runRankedQuery(sql, parameters, scope, collection, runEngine, scopeKey, version) {
  const m = RANKED.exec(sql);
  if (!m) return null;
  const params = parameters || [];
  const top = m[1] === undefined ? Infinity : Number(/^@/.test(m[1]) ? (params.find((p) => p.name === m[1]) || {}).value : m[1]);
  const alias = (/^\s*(\w+)/.exec(m[3]) || [])[1];
  const matched = matching(m[3], alias, params, scope, runEngine, scopeKey, version);
  const policy = (collection.vectorEmbeddingPolicy || {}).vectorEmbeddings || [];
  const distanceFunction = (arg) => {
    const found = policy.find((e) => e.path === pathOf(arg));
    return String((found && found.distanceFunction) || "cosine").toLowerCase();
  };
  const order = rankOrder(m[5], matched, scope, alias, params, distanceFunction, top, { key: scopeKey, version });
  // One winner at a time: the engine orders what it returns by its own key, not by the input's order.
  const projection = `SELECT ${m[2]} FROM ${alias}`;
  return order.slice(0, top).flatMap((i) => runEngine(projection, [matched[i]]));
}

// The documents of a scope that a WHERE clause keeps. Its FullTextContains* conditions (joined to the rest by a
// top-level AND) are applied here on the words counted when each document was written; the rest goes to the
// engine, returning ids only (a document it returns is a copy, and copying every stored vector of the scope would
// cost more than the ranking). The engine's part is the same for every search of a user, so its compiled query and
// its matches are kept, until the next write in the container or an expiry in the scope (version), as an index would be.
const matches = new Map();
function matching(fromWhere, alias, params, scope, runEngine, scopeKey, version) {
  const where = /^\s*\w+\s+WHERE\s+([\s\S]+)$/i.exec(fromWhere);
  const conjuncts = where ? splitAnd(where[1]) : [];
  const fullText = conjuncts.filter((c) => /^FullTextContains(All|Any)?\s*\(/i.test(c)).map(parseCall);
  const rest = conjuncts.filter((c) => !/^FullTextContains(All|Any)?\s*\(/i.test(c));
  let docs = scope;
  if (rest.length) {
    const condition = rest.map((c) => `(${c})`).join(" AND ");
    const used = params.filter((p) => condition.includes(p.name));
    const key = `${scopeKey}|${condition}|${JSON.stringify(used)}`;
    const known = matches.get(key);
    if (known && known.version === version) docs = known.docs;
    else {
      const rids = new Set(runEngine(`SELECT VALUE ${alias}._rid FROM ${alias} WHERE ${condition}`, scope));
      docs = scope.filter((d) => rids.has(d._rid));
      if (matches.size >= 200) matches.clear();
      matches.set(key, { version, docs });
    }
  }
  for (const call of fullText) {
    const field = valueOf(call.args[0], alias, params);
    const wanted = [...new Set(termsOf(call.args.slice(1).map((a) => valueOf(a, alias, params))))];
    const all = call.name === "FULLTEXTCONTAINS" || call.name === "FULLTEXTCONTAINSALL";
    const path = pathOf(call.args[0]);
    const counted = (d) => termCounts(d, path, field);
    const index = fullTextIndex({ key: scopeKey, version }, path, scope, counted);
    const holders = wanted.map((t) => postingsOf(index, t, scope, counted).holders);
    docs = wanted.length === 0 ? [] : docs.filter((d) => typeof field(d) === "string" && (all ? holders.every((h) => h.has(d)) : holders.some((h) => h.has(d))));
  }
  return docs;
}

/** A condition's top-level AND operands, without the parentheses around each: "(a) AND f(b, c)" -> ["a", "f(b, c)"]. */
function splitAnd(condition) {
  const parts = [];
  let depth = 0, quote = null, start = 0;
  for (let i = 0; i < condition.length; i++) {
    const ch = condition[i];
    if (quote) { if (ch === "\\") i++; else if (ch === quote) quote = null; continue; }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "(" || ch === "[") depth++;
    else if (ch === ")" || ch === "]") depth--;
    else if (depth === 0 && /^\sAND\s/i.test(condition.slice(i, i + 5))) { parts.push(condition.slice(start, i)); start = i + 5; i += 3; }
  }
  parts.push(condition.slice(start));
  return parts.map(unwrap).filter((p) => p.length);
}

/** Drops parentheses that enclose the whole expression. */
function unwrap(text) {
  let t = text.trim();
  while (t.startsWith("(") && t.endsWith(")")) {
    let depth = 0, closesAtEnd = true;
    for (let i = 0; i < t.length; i++) {
      if (t[i] === "(") depth++;
      else if (t[i] === ")") { depth--; if (depth === 0 && i < t.length - 1) { closesAtEnd = false; break; } }
    }
    if (!closesAtEnd) break;
    t = t.slice(1, -1).trim();
  }
  return t;
}

module.exports = { effectivePartitionKey, documentEpk, indexDocument, vectorDistance, fullTextBuiltins, runRankedQuery };
