// SmartApp console: plain modules, no build step of its own. Every call goes to this app's /api through the
// @smartapp/client package (bundled from clients/typescript as smartapp-client.js): typed routes, typed errors,
// retries after Retry-After and an Idempotency-Key on each POST. Everything shown is set as text, never as HTML.
import { SmartAppClient, SmartAppError, unwrap } from "./smartapp-client.js";

const baseUrl = `${location.origin}/api`;
const $ = (selector) => document.querySelector(selector);
let token = sessionStorage.getItem("smartapp.token");
let conversationId = null;
let sessionId = null;

const client = new SmartAppClient({
  baseUrl,
  token: () => token ?? undefined,
  onTokens: (tokens) => {
    token = tokens.accessToken;
    sessionStorage.setItem("smartapp.token", token);
  },
});
const api = client.api;

// The answer of a call, or its typed error; an answer saying the token is no longer good signs the console out.
async function answer(pending) {
  const result = await pending;
  if (result.response.status === 401 && token) signOut();
  return unwrap(result);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function showError(target, error) {
  $(target).textContent = error ? error.message : "";
}

// ---- Sign-in --------------------------------------------------------------------------------

$("#signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await client.signInDemo({ email: form.get("email"), name: form.get("name") });
    showError("#signin-error");
    await start();
  } catch (error) {
    showError("#signin-error", error);
  }
});

function signOut() {
  token = null;
  conversationId = sessionId = null;
  sessionStorage.removeItem("smartapp.token");
  $("#app").hidden = true;
  $("#signin").hidden = false;
  $("#who").textContent = "Not signed in";
}

$("#signout").addEventListener("click", async () => {
  try { await answer(api.POST("/auth/logout", { body: {} })); } catch { /* signing out locally regardless */ }
  signOut();
});

async function start() {
  const me = await answer(api.GET("/me"));
  $("#who").textContent = `${me.name || me.email} · ${me.plan}${me.session?.organizationId ? ` · ${me.session.organizationId} (${me.session.role || "member"})` : ""}`;
  // In an organization, uploads may go to its space (the API answers 403 without files:write).
  $("#upload-form").elements.space.hidden = !me.session?.organizationId;
  $("#signin").hidden = true;
  $("#app").hidden = false;
  await Promise.allSettled([refreshFiles(), refreshTables(), refreshPlan(), showConversation()]);
}

// ---- Tabs -----------------------------------------------------------------------------------

for (const tab of document.querySelectorAll("[role=tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[role=tab]")) other.setAttribute("aria-selected", String(other === tab));
    for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== `tab-${tab.dataset.tab}`;
    if (tab.dataset.tab === "plan") refreshPlan();
  });
}

// ---- Chat: conversations, branches, replies streamed (and followed again after a drop), sharing ----

let branch = null; // the branch shown; null reads the conversation's current one

$("#chat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.content;
  const content = input.value.trim();
  if (!content) return;
  await busy(event.target.querySelector("button"), async () => {
    const started = !conversationId;
    conversationId ??= (await answer(api.POST("/chat/conversations", { body: {} }))).id; // titled from the first exchange
    const mine = element("div", content, "message user");
    $("#messages").append(mine);
    input.value = "";
    const turn = await followReply(client.streamTurn(conversationId, { content, ...(branch ? { branch } : {}) }));
    await decorate(mine, turn);
    if (started) await refreshConversations();
  });
});

async function busy(button, work) {
  button.disabled = true;
  showError("#chat-error");
  try {
    await work();
  } catch (error) {
    showError("#chat-error", error);
  } finally {
    button.disabled = false;
  }
}

// One turn's reply, streamed as it is made. If the connection drops before `done`, the reply goes on being generated
// on the server: the client follows it again from the last event it had (Last-Event-ID), on whichever instance answers.
async function followReply(events) {
  const reply = element("div", "", "message assistant streaming");
  reply.dataset.testid = "reply";
  const text = element("span");
  reply.append(text);
  $("#messages").append(reply);
  const turn = { reply, messageId: null, replyId: null };
  try {
    for await (const { type, data } of events) {
      if (type === "meta") {
        turn.messageId = data.messageId;
        turn.replyId = data.replyId;
        if (!reply.querySelector(".cites")) reply.append(citations(data.citations));
      } else if (type === "tool_call") toolActivity(reply, text).append(toolStep(data));
      else if (type === "tool_result") toolDone(reply, data);
      else if (type === "delta") text.textContent += data.text;
      else if (type === "resumed") reply.dataset.reconnects = String(data.attempt);
      else if (type === "done") {
        // After tool calls the reply's sources are the context and what the tools found.
        if (data.citations) reply.querySelector(".cites")?.replaceWith(citations(data.citations));
        flags(reply, data);
      } else if (type === "error") showError("#chat-error", new SmartAppError(data));
      $("#messages").scrollTop = $("#messages").scrollHeight;
    }
  } catch (error) {
    if (!turn.replyId) reply.remove(); // refused before it began
    throw error;
  } finally {
    reply.classList.remove("streaming");
  }
  return turn;
}

function flags(node, reply) {
  if (reply.toolLimitReached) node.append(element("div", "Stopped looking things up: this turn reached its limit of lookups.", "flag"));
  if (reply.degraded) node.append(element("div", "Answered from your memory and files: the model was unavailable.", "flag"));
  if (reply.interrupted) node.append(element("div", "The reply was interrupted; regenerate it for a whole one.", "flag"));
  else if (reply.incomplete) node.append(element("div", "The reply was cut short.", "flag"));
}

// A stored message as the console shows it, with what can be done to it.
function messageNode(message) {
  const node = element("div", undefined, `message ${message.role}`);
  const text = element("span", message.content);
  node.append(text);
  if (message.role === "assistant") {
    node.dataset.testid = "reply";
    for (const call of message.toolCalls || []) {
      toolActivity(node, text).append(toolStep(call));
      toolDone(node, call);
    }
    node.append(citations(message.citations));
    flags(node, message);
  }
  actions(node, message);
  return node;
}

// The message's id, its usage and cost (a reply), and its buttons: Regenerate a reply, Edit a message.
function actions(node, message) {
  node.dataset.id = message.id;
  node.querySelector(".actions")?.remove();
  const bar = element("div", undefined, "actions");
  if (message.role === "assistant") {
    if (message.usage) {
      const tokens = message.usage.promptTokens + message.usage.completionTokens;
      const usage = element("span", `${tokens} tokens${message.cost ? ` · ${message.cost.cents.toFixed(4)}¢ on ${message.cost.plan}` : ""}`);
      usage.dataset.testid = "usage";
      bar.append(usage);
    }
    const again = element("button", "Regenerate");
    again.type = "button";
    again.dataset.testid = "regenerate";
    again.addEventListener("click", () => busy(again, async () => {
      await followReply(client.streamRegenerate(conversationId, message.id, branch ? { branch } : {}));
      branch = null; // the new branch is the current one
      await showConversation();
    }));
    bar.append(again);
  } else {
    const edit = element("button", "Edit");
    edit.type = "button";
    edit.dataset.testid = "edit";
    edit.addEventListener("click", () => {
      const content = prompt("Edit your message: a new branch starts from here", message.content)?.trim();
      if (!content) return;
      busy(edit, async () => {
        $("#messages").append(element("div", content, "message user"));
        await followReply(client.streamEdit(conversationId, message.id, { content, ...(branch ? { branch } : {}) }));
        branch = null;
        await showConversation();
      });
    });
    bar.append(edit);
  }
  node.append(bar);
}

// After a turn streamed in place: its stored records give the message and reply their ids, usage and buttons.
async function decorate(mine, turn) {
  const { messages } = await readBranch();
  const stored = new Map(messages.map((m) => [m.id, m]));
  if (stored.has(turn.messageId)) actions(mine, stored.get(turn.messageId));
  if (stored.has(turn.replyId)) actions(turn.reply, stored.get(turn.replyId));
  await refreshBranches();
}

// The branch shown (or the current one), every page of it.
async function readBranch() {
  let cursor = null;
  const messages = [];
  let read;
  do {
    read = await answer(api.GET("/chat/conversations/{conversationId}", { params: { path: { conversationId }, query: { limit: 200, branch, cursor } } }));
    messages.push(...read.messages);
    cursor = read.cursor;
  } while (cursor);
  branch = read.branch;
  return { conversation: read.conversation, messages };
}

async function showConversation() {
  if (!conversationId) {
    branch = null;
    $("#messages").replaceChildren();
  } else {
    const { messages } = await readBranch();
    $("#messages").replaceChildren(...messages.map(messageNode));
  }
  await Promise.allSettled([refreshBranches(), refreshShares(), refreshConversations()]);
}

async function refreshConversations() {
  const { conversations } = await answer(api.GET("/chat/conversations", { params: { query: { limit: 50 } } }));
  const select = $("#conversation-select");
  select.replaceChildren(new Option("New conversation", ""), ...conversations.map((c) => new Option(c.title || "Untitled", c.id)));
  select.value = conversationId ?? "";
}

$("#conversation-select").addEventListener("change", (event) => {
  conversationId = event.target.value || null;
  branch = null;
  showConversation().catch((error) => showError("#chat-error", error));
});

$("#rename").addEventListener("click", async () => {
  if (!conversationId) return;
  const title = prompt("Rename the conversation", $("#conversation-select").selectedOptions[0]?.text)?.trim();
  if (!title) return;
  try {
    await answer(api.PATCH("/chat/conversations/{conversationId}", { params: { path: { conversationId } }, body: { title } }));
    await refreshConversations();
  } catch (error) {
    showError("#chat-error", error);
  }
});

async function refreshBranches() {
  const select = $("#branch-select");
  const { branches } = conversationId ? await answer(api.GET("/chat/conversations/{conversationId}/branches", { params: { path: { conversationId } } })) : { branches: [] };
  select.hidden = branches.length < 2;
  select.replaceChildren(...branches.map((b, index) => new Option(b.id === "main"
    ? "Original"
    : `${index}. ${b.kind === "regenerate" ? "Regenerated reply" : "Edited message"}, ${new Date(b.createdAt).toLocaleTimeString()}`, b.id)));
  select.value = branch ?? "main";
}

$("#branch-select").addEventListener("change", (event) => {
  branch = event.target.value;
  showConversation().catch((error) => showError("#chat-error", error));
});

$("#share").addEventListener("click", async () => {
  if (!conversationId) return;
  try {
    await answer(api.POST("/chat/conversations/{conversationId}/shares", { params: { path: { conversationId } }, body: branch ? { branch } : {} }));
    await refreshShares();
  } catch (error) {
    showError("#chat-error", error);
  }
});

async function refreshShares() {
  const { shares } = conversationId ? await answer(api.GET("/chat/conversations/{conversationId}/shares", { params: { path: { conversationId } } })) : { shares: [] };
  $("#share-list").replaceChildren(...shares.map((share) => {
    const item = element("li");
    const link = element("a", `${location.origin}/api/console?share=${share.id}`);
    link.href = link.textContent;
    link.target = "_blank";
    link.rel = "noopener";
    link.dataset.testid = "share-link";
    const revoke = element("button", "Revoke", "secondary");
    revoke.type = "button";
    revoke.addEventListener("click", async () => {
      try {
        await answer(api.DELETE("/chat/conversations/{conversationId}/shares/{shareId}", { params: { path: { conversationId, shareId: share.id } } }));
        await refreshShares();
      } catch (error) {
        showError("#chat-error", error);
      }
    });
    item.append(link, element("span", ` ${share.messages} messages `, "muted"), revoke);
    return item;
  }));
}

$("#chat-search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const { results } = await answer(api.POST("/chat/search", { body: { query: event.target.elements.query.value } }));
    $("#chat-search-results").replaceChildren(...results.map((hit) => {
      const item = element("li");
      item.dataset.testid = "chat-hit";
      const link = element("a", hit.title || "Untitled");
      link.href = "#";
      link.addEventListener("click", (e) => {
        e.preventDefault();
        conversationId = hit.conversationId;
        branch = null;
        showConversation()
          .then(() => document.querySelector(`[data-id="${CSS.escape(hit.messageId)}"]`)?.scrollIntoView())
          .catch((error) => showError("#chat-error", error));
      });
      item.append(link, element("span", ` · ${hit.role}: ${hit.text}`));
      return item;
    }));
  } catch (error) {
    showError("#chat-error", error);
  }
});

// A share link opens the console on the shared snapshot: read-only, no sign-in.
async function showShared(shareId) {
  $("#signin").hidden = true;
  $("#shared").hidden = false;
  try {
    // Anyone with the link, signed in or not: no token.
    const anonymous = new SmartAppClient({ baseUrl });
    const shared = unwrap(await anonymous.api.GET("/shares/{shareId}", { params: { path: { shareId } } }));
    $("#shared-title").textContent = shared.title || "A shared conversation";
    $("#shared-messages").replaceChildren(...shared.messages.map((m) => element("div", m.content, `message ${m.role}`)));
  } catch (error) {
    showError("#shared-error", error);
  }
}

// What the model is doing with SmartApp's tools during a turn: one line per call, "…ing" until its result arrives.
const toolLabels = {
  search_memory: ["Searching your memory…", "Searched your memory"],
  remember: ["Remembering…", "Remembered"],
  forget: ["Forgetting…", "Forgot"],
  search_files: ["Searching your files…", "Searched your files"],
  ask_file: ["Reading a file…", "Read a file"],
  list_tables: ["Looking at your tables…", "Looked at your tables"],
  query_data: ["Querying your data…", "Queried your data"],
  get_record: ["Reading a record…", "Read a record"],
};

function toolActivity(reply, text) {
  let box = reply.querySelector(".tools");
  if (!box) {
    box = element("ul", undefined, "tools");
    box.dataset.testid = "tool-activity";
    reply.insertBefore(box, text);
  }
  return box;
}

function toolStep(call) {
  const step = element("li", (toolLabels[call.name] || [`Calling ${call.name}…`])[0], "tool running");
  step.dataset.callId = call.callId;
  return step;
}

function toolDone(reply, result) {
  const step = [...reply.querySelectorAll(".tool")].find((item) => item.dataset.callId === result.callId);
  if (!step) return;
  const outcome = result.result || {};
  const found = Object.values(outcome).find(Array.isArray);
  step.textContent = (toolLabels[result.name] || [, `Called ${result.name}`])[1]
    + (outcome.error ? `: ${outcome.error}` : found ? ` (${found.length} found)` : "");
  step.classList.remove("running");
  if (outcome.error) step.classList.add("refused");
}

function citations(list) {
  const box = element("div", undefined, "cites");
  for (const [index, cite] of (list || []).entries()) {
    const link = element("a", `[${index + 1}] ${cite.type === "file" ? cite.fileName + (cite.page ? `, p. ${cite.page}` : "") : `memory (${cite.kind})`}`);
    link.href = "#";
    link.title = cite.text;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      if (cite.type === "file") openFile(cite.fileId);
      else showMemory(cite);
    });
    box.append(link);
  }
  return box;
}

async function openFile(fileId) {
  try {
    const { url } = await answer(api.GET("/files/{fileId}/content", { params: { path: { fileId } }, headers: { Accept: "application/json" } }));
    window.open(url, "_blank", "noopener");
  } catch (error) {
    showError("#chat-error", error);
  }
}

function showMemory(cite) {
  document.querySelector('[data-tab="memory"]').click();
  const results = $("#memory-results");
  results.replaceChildren(memoryItem({ kind: cite.kind, content: cite.text, score: cite.score }));
}

// ---- Memory ---------------------------------------------------------------------------------

$("#remember-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.content;
  try {
    sessionId ??= (await answer(api.POST("/memory/sessions", {}))).sessionId;
    await answer(api.POST("/memory/sessions/{sessionId}/memories", { params: { path: { sessionId } }, body: { content: input.value } }));
    input.value = "";
    showError("#memory-error");
  } catch (error) {
    showError("#memory-error", error);
  }
});

$("#memory-search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const found = await answer(api.POST("/memory/search", { body: { terms: event.target.elements.terms.value } }));
    $("#memory-results").replaceChildren(...found.results.map(memoryItem));
    if (found.results.length === 0) $("#memory-results").append(element("li", "Nothing found.", "muted"));
    showError("#memory-error");
  } catch (error) {
    showError("#memory-error", error);
  }
});

function memoryItem(memory) {
  const item = element("li");
  item.append(element("span", memory.kind, "tag"), element("span", memory.content));
  if (memory.score !== undefined) item.append(element("span", ` ${memory.score.toFixed(3)}${memory.provider ? " · " + memory.provider : ""}`, "muted"));
  return item;
}

// ---- Files: upload with progress, then ingestion as it happens ------------------------------

$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = event.target.elements.file.files[0];
  if (!file) return;
  $("#upload").hidden = false;
  $("#upload-name").textContent = file.name;
  showError("#files-error");
  try {
    const stored = await upload(file, event.target.elements.space.value);
    await followIngestion(stored.id);
    event.target.reset();
  } catch (error) {
    showError("#files-error", error);
    $("#upload-status").textContent = "failed";
  }
  refreshFiles();
});

// Straight to storage in blocks (the bar's first half: bytes storage has), a dropped block sent again; then the app
// measures the file and queues its ingestion.
function upload(file, space) {
  return client.uploadDirect(file, file.name, {
    space: space === "org" ? "org" : undefined,
    blockSize: 1024 * 1024,
    onProgress: ({ loaded, total }) => {
      $("#upload-progress").value = Math.round((loaded / total) * 50);
      $("#upload-status").textContent = `uploading ${Math.round((loaded / total) * 100)}%`;
    },
  });
}

// The bar's second half: the ingestion's stages, read until it is over (the package polls; the console only shows).
function followIngestion(fileId) {
  return client.waitForFile(fileId, {
    intervalMs: 400,
    timeoutMs: Infinity,
    onProgress: (file) => {
      const stages = Object.entries(file.stages || {});
      const fraction = stages.length ? stages.reduce((sum, [, s]) => sum + (s.total ? s.done / s.total : 0), 0) / stages.length : 0;
      $("#upload-status").textContent = file.status;
      $("#upload-stages").textContent = stages.map(([name, s]) => `${name} ${s.done}/${s.total}`).join(" · ") + (file.errors?.length ? ` · ${file.errors.join("; ")}` : "");
      $("#upload-progress").value = file.status === "indexed" || file.status === "notIndexed" ? 100 : 50 + Math.round(fraction * 50);
    },
  });
}

async function refreshFiles() {
  const page = await answer(api.GET("/files", { params: { query: { limit: 50 } } }));
  $("#file-list").replaceChildren(...page.files.map((file) => {
    const item = element("li");
    const link = element("a", file.name);
    link.href = "#";
    link.addEventListener("click", (event) => { event.preventDefault(); openFile(file.id); });
    item.append(link, element("span", ` ${file.status} · ${file.size} bytes${file.space === "org" ? " · organization" : ""}`, "muted"));
    return item;
  }));
}

$("#file-search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const found = await answer(api.POST("/files/search", { body: { query: event.target.elements.query.value } }));
    $("#file-results").replaceChildren(...found.results.map((hit) => {
      const item = element("li");
      item.dataset.testid = "file-hit";
      const link = element("a", `${hit.fileName}${hit.page ? `, p. ${hit.page}` : ""}`);
      link.href = "#";
      link.addEventListener("click", (e) => { e.preventDefault(); openFile(hit.fileId); });
      item.append(link, element("span", ` ${hit.score.toFixed(3)} · ${hit.provider}${hit.space === "org" ? " · organization" : ""}`, "muted"), element("div", hit.text));
      return item;
    }));
    if (found.results.length === 0) $("#file-results").append(element("li", "Nothing found.", "muted"));
    showError("#files-error");
  } catch (error) {
    showError("#files-error", error);
  }
});

// ---- Data -----------------------------------------------------------------------------------

async function refreshTables() {
  const { tables } = await answer(api.GET("/data/tables"));
  const select = $("#table-select");
  const current = select.value;
  select.replaceChildren(...tables.map((t) => { const o = element("option", `${t.name} (${t.rows})`); o.value = t.name; return o; }));
  if (tables.some((t) => t.name === current)) select.value = current;
  if (select.value) await runQuery();
}

$("#tables-refresh").addEventListener("click", () => refreshTables().catch((e) => showError("#data-error", e)));
$("#table-select").addEventListener("change", () => runQuery().catch((e) => showError("#data-error", e)));

$("#record-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const table = event.target.elements.table.value || $("#table-select").value || "notes";
  try {
    await answer(api.POST("/data/tables/{table}/records", { params: { path: { table } }, body: JSON.parse(event.target.elements.record.value) }));
    event.target.elements.record.value = "";
    $("#table-select").value = table;
    await refreshTables();
    $("#table-select").value = table;
    await runQuery();
    showError("#data-error");
  } catch (error) {
    showError("#data-error", error instanceof SyntaxError ? new Error("The record is not valid JSON.") : error);
  }
});

$("#query-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try { await runQuery(); showError("#data-error"); } catch (error) { showError("#data-error", error instanceof SyntaxError ? new Error("The query is not valid JSON.") : error); }
});

async function runQuery() {
  const table = $("#table-select").value;
  if (!table) return;
  const page = await answer(api.POST("/data/tables/{table}/query", { params: { path: { table } }, body: JSON.parse($("#query-form").elements.query.value || "{}") }));
  $("#data-note").textContent = `${page.items.length} record(s)${page.nextCursor ? ", more with the cursor" : ""}`;
  renderRecords(page.items);
}

$("#ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const asked = await answer(api.POST("/data/ask", { body: { question: event.target.elements.question.value, table: $("#table-select").value || undefined } }));
    $("#data-note").textContent = `${asked.provider === "raindrop" ? "SmartSQL ran: " + asked.sql : "Query: " + JSON.stringify(asked.query)}${asked.reasoning ? " — " + asked.reasoning : ""}`;
    renderRecords(asked.items);
    showError("#data-error");
  } catch (error) {
    showError("#data-error", error);
  }
});

function renderRecords(items) {
  const columns = [...new Set(items.flatMap((r) => Object.keys(r.data || {})))];
  const head = element("tr");
  head.append(element("th", "id"), ...columns.map((c) => element("th", c)));
  const rows = items.map((record) => {
    const row = element("tr");
    row.append(element("td", record.id), ...columns.map((c) => {
      const value = record.data?.[c];
      return element("td", value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));
    }));
    return row;
  });
  $("#records").replaceChildren(head, ...rows);
}

// ---- Plan and usage -------------------------------------------------------------------------

async function refreshPlan() {
  try {
    const s = await answer(api.GET("/billing/subscription"));
    $("#plan-name").textContent = s.plan;
    $("#plan-status").textContent = s.status + (s.currentPeriodEnd ? ` · until ${new Date(s.currentPeriodEnd).toLocaleDateString()}` : "");
    const rows = [
      ["Messages today", s.usage.messagesToday, s.entitlements.messagesPerDay],
      ["Model tokens this month", s.usage.tokensThisMonth, s.entitlements.tokensPerMonth],
      ["Files", s.usage.files, s.entitlements.files],
      ["Storage (bytes)", s.usage.storageBytes, s.entitlements.storageBytes],
      ["Memories", s.usage.memories, s.entitlements.memories],
      ["Data records", s.usage.records, s.entitlements.records],
      ["Tool calls today (chat and MCP)", s.usage.toolCallsToday, s.entitlements.toolCallsPerDay],
    ].map(([name, used, limit]) => {
      const row = element("tr");
      const meter = element("div", undefined, "meter");
      const fill = element("div");
      fill.style.width = `${Math.min(100, limit ? (used / limit) * 100 : 0)}%`;
      meter.append(fill);
      const cell = element("td");
      cell.append(meter);
      row.append(element("td", name), element("td", `${used.toLocaleString()} / ${limit.toLocaleString()}`), cell);
      return row;
    });
    $("#usage").replaceChildren(...rows);
    $("#upgrade").hidden = s.plan !== "free";
    showError("#plan-error");
  } catch (error) {
    showError("#plan-error", error);
  }
}

$("#upgrade").addEventListener("click", async () => {
  try {
    const { url } = await answer(api.POST("/billing/checkout", { body: { plan: "pro", successUrl: location.pathname, cancelUrl: location.pathname } }));
    location.assign(url);
  } catch (error) {
    showError("#plan-error", error);
  }
});

const sharedId = new URLSearchParams(location.search).get("share");
if (sharedId) showShared(sharedId);
else if (token) start().catch(signOut);
