// SmartApp console: plain modules, no build step. Every call goes to this app's /api with the
// demo token; everything shown is set as text, never as HTML.
const api = "/api/";
const $ = (selector) => document.querySelector(selector);
let token = sessionStorage.getItem("smartapp.token");
let conversationId = null;
let sessionId = null;

class ProblemError extends Error {
  constructor(problem, status) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

async function call(path, { method = "GET", body, headers = {} } = {}) {
  const response = await fetch(api + path, {
    method,
    headers: {
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401 && token) signOut();
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ProblemError(json, response.status);
  return json;
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
    const signedIn = await call("auth/demo", { method: "POST", body: { email: form.get("email"), name: form.get("name") } });
    token = signedIn.accessToken;
    sessionStorage.setItem("smartapp.token", token);
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
  try { await call("auth/logout", { method: "POST", body: {} }); } catch { /* signing out locally regardless */ }
  signOut();
});

async function start() {
  const me = await call("me");
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
    conversationId ??= (await call("chat/conversations", { method: "POST", body: {} })).id; // titled from the first exchange
    const mine = element("div", content, "message user");
    $("#messages").append(mine);
    input.value = "";
    const turn = await streamTurn(`chat/conversations/${conversationId}/messages`, { content, ...(branch ? { branch } : {}) });
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
// on the server: the console follows it again from the last event it had (Last-Event-ID), on whichever instance answers.
async function streamTurn(path, body) {
  const reply = element("div", "", "message assistant streaming");
  reply.dataset.testid = "reply";
  const text = element("span");
  reply.append(text);
  $("#messages").append(reply);
  const turn = { reply, messageId: null, replyId: null, lastId: null, ended: false };
  let response = await fetch(api + path, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    reply.remove();
    throw new ProblemError(await response.json().catch(() => null), response.status);
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await readEvents(response, (event, payload, id) => {
        if (id !== undefined) turn.lastId = id;
        if (event === "meta") {
          turn.messageId = payload.messageId;
          turn.replyId = payload.replyId;
          if (!reply.querySelector(".cites")) reply.append(citations(payload.citations));
        } else if (event === "tool_call") toolActivity(reply, text).append(toolStep(payload));
        else if (event === "tool_result") toolDone(reply, payload);
        else if (event === "delta") text.textContent += payload.text;
        else if (event === "done") {
          turn.ended = true;
          // After tool calls the reply's sources are the context and what the tools found.
          if (payload.citations) reply.querySelector(".cites")?.replaceWith(citations(payload.citations));
          flags(reply, payload);
        } else if (event === "error") {
          turn.ended = true;
          showError("#chat-error", new ProblemError(payload, payload.status));
        }
        $("#messages").scrollTop = $("#messages").scrollHeight;
      });
    } catch {
      // The connection dropped: follow the reply again below.
    }
    if (turn.ended || !turn.replyId || attempt > 5) break;
    reply.dataset.reconnects = String(attempt);
    await new Promise((resume) => setTimeout(resume, 400 * attempt));
    response = await fetch(`${api}chat/conversations/${conversationId}/messages/${turn.replyId}/stream`, {
      headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream", ...(turn.lastId !== null ? { "Last-Event-ID": turn.lastId } : {}) },
    }).catch(() => null);
    if (response && !response.ok) break;
    if (!response) response = { body: null };
  }
  reply.classList.remove("streaming");
  return turn;
}

// Server-sent events from a response, each handed over as (name, data, id).
async function readEvents(response, handle) {
  if (!response.body) throw new Error("no connection");
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(raw)?.[1];
      const data = /^data: (.*)$/m.exec(raw)?.[1];
      if (event && data !== undefined) handle(event, JSON.parse(data), /^id: (.*)$/m.exec(raw)?.[1]);
    }
  }
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
      await streamTurn(`chat/conversations/${conversationId}/messages/${message.id}/regenerate`, branch ? { branch } : {});
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
        await streamTurn(`chat/conversations/${conversationId}/messages/${message.id}/edit`, { content, ...(branch ? { branch } : {}) });
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
    read = await call(`chat/conversations/${conversationId}?limit=200${branch ? `&branch=${encodeURIComponent(branch)}` : ""}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
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
  const { conversations } = await call("chat/conversations?limit=50");
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
    await call(`chat/conversations/${conversationId}`, { method: "PATCH", body: { title } });
    await refreshConversations();
  } catch (error) {
    showError("#chat-error", error);
  }
});

async function refreshBranches() {
  const select = $("#branch-select");
  const { branches } = conversationId ? await call(`chat/conversations/${conversationId}/branches`) : { branches: [] };
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
    await call(`chat/conversations/${conversationId}/shares`, { method: "POST", body: branch ? { branch } : {} });
    await refreshShares();
  } catch (error) {
    showError("#chat-error", error);
  }
});

async function refreshShares() {
  const { shares } = conversationId ? await call(`chat/conversations/${conversationId}/shares`) : { shares: [] };
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
        await call(`chat/conversations/${conversationId}/shares/${share.id}`, { method: "DELETE" });
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
    const { results } = await call("chat/search", { method: "POST", body: { query: event.target.elements.query.value } });
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
    const shared = await fetch(`${api}shares/${encodeURIComponent(shareId)}`).then(async (r) => r.ok ? r.json() : Promise.reject(new ProblemError(await r.json().catch(() => null), r.status)));
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
    const { url } = await call(`files/${encodeURIComponent(fileId)}/content`, { headers: { Accept: "application/json" } });
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
    sessionId ??= (await call("memory/sessions", { method: "POST" })).sessionId;
    await call(`memory/sessions/${sessionId}/memories`, { method: "POST", body: { content: input.value } });
    input.value = "";
    showError("#memory-error");
  } catch (error) {
    showError("#memory-error", error);
  }
});

$("#memory-search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const found = await call("memory/search", { method: "POST", body: { terms: event.target.elements.terms.value } });
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

function upload(file, space) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", api + (space === "org" ? "files?space=org" : "files"));
    request.setRequestHeader("Authorization", `Bearer ${token}`);
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.upload.onprogress = (progress) => {
      if (!progress.lengthComputable) return;
      $("#upload-progress").value = Math.round((progress.loaded / progress.total) * 50); // the first half: bytes
      $("#upload-status").textContent = `uploading ${Math.round((progress.loaded / progress.total) * 100)}%`;
    };
    request.onload = () => {
      const body = request.responseText ? JSON.parse(request.responseText) : null;
      if (request.status === 201) resolve(body);
      else reject(new ProblemError(body, request.status));
    };
    request.onerror = () => reject(new Error("The upload was interrupted."));
    request.send(file);
  });
}

async function followIngestion(fileId) {
  for (;;) {
    const file = await call(`files/${encodeURIComponent(fileId)}`);
    const stages = Object.entries(file.stages || {});
    const fraction = stages.length ? stages.reduce((sum, [, s]) => sum + (s.total ? s.done / s.total : 0), 0) / stages.length : 0;
    $("#upload-status").textContent = file.status;
    $("#upload-stages").textContent = stages.map(([name, s]) => `${name} ${s.done}/${s.total}`).join(" · ") + (file.errors?.length ? ` · ${file.errors.join("; ")}` : "");
    $("#upload-progress").value = file.status === "indexed" || file.status === "notIndexed" ? 100 : 50 + Math.round(fraction * 50);
    if (["indexed", "notIndexed", "failed"].includes(file.status)) return file;
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function refreshFiles() {
  const page = await call("files?limit=50");
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
    const found = await call("files/search", { method: "POST", body: { query: event.target.elements.query.value } });
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
  const { tables } = await call("data/tables");
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
    await call(`data/tables/${encodeURIComponent(table)}/records`, { method: "POST", body: JSON.parse(event.target.elements.record.value) });
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
  const page = await call(`data/tables/${encodeURIComponent(table)}/query`, { method: "POST", body: JSON.parse($("#query-form").elements.query.value || "{}") });
  $("#data-note").textContent = `${page.items.length} record(s)${page.nextCursor ? ", more with the cursor" : ""}`;
  renderRecords(page.items);
}

$("#ask-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const answer = await call("data/ask", { method: "POST", body: { question: event.target.elements.question.value, table: $("#table-select").value || undefined } });
    $("#data-note").textContent = `${answer.provider === "raindrop" ? "SmartSQL ran: " + answer.sql : "Query: " + JSON.stringify(answer.query)}${answer.reasoning ? " — " + answer.reasoning : ""}`;
    renderRecords(answer.items);
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
    const s = await call("billing/subscription");
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
    const { url } = await call("billing/checkout", { method: "POST", body: { plan: "pro", successUrl: location.pathname, cancelUrl: location.pathname } });
    location.assign(url);
  } catch (error) {
    showError("#plan-error", error);
  }
});

const sharedId = new URLSearchParams(location.search).get("share");
if (sharedId) showShared(sharedId);
else if (token) start().catch(signOut);
