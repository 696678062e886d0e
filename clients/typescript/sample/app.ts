// An app using every helper of the packed package, type-checked in an empty project by `npm run check-packed`.
import {
  SmartAppClient, SmartAppError, StorageError, ValidationError, QuotaExceededError, createPkce, unwrap, type ChatEvent, type DirectUpload, type StoredFile,
} from "@smartapp/client";

export async function run(baseUrl: string, picked: Blob): Promise<void> {
  let kept = "";
  const smartapp = new SmartAppClient({ baseUrl, onTokens: (tokens) => { kept = tokens.refreshToken ?? kept; } });
  await smartapp.signInDemo({ email: "ada@example.com", name: "Ada", organizationId: "org_acme", role: "admin" });
  const { verifier } = await createPkce();
  const loginUrl: string = smartapp.loginUrl("/app");
  void loginUrl;
  if (kept) await smartapp.refresh(kept);
  else await smartapp.exchangeCode("code-from-the-redirect", verifier).catch((error: unknown) => {
    if (!(error instanceof SmartAppError)) throw error;
  });

  const conversation = unwrap(await smartapp.api.POST("/chat/conversations", { body: { title: "Sample" } }));
  let last: ChatEvent | undefined;
  for await (const event of smartapp.streamTurn(conversation.id, { content: "Hello" })) last = event;
  if (last?.type === "meta" && last.id) for await (const event of smartapp.resumeReply(conversation.id, last.data.replyId, last.id)) last = event;
  if (last?.type === "done") {
    for await (const event of smartapp.streamRegenerate(conversation.id, "reply-id", { useFiles: false }, { maxResumes: 2 })) if (event.type === "resumed") console.log(event.data.attempt);
    for await (const event of smartapp.streamEdit(conversation.id, "message-id", { content: "Hello again" })) last = event;
  }

  const file: StoredFile = await smartapp.uploadFile(picked, "notes.txt", { space: "org" });
  await smartapp.waitForFile(file.id, { onProgress: (f) => console.log(f.status) });
  let saved: DirectUpload | undefined;
  const large = await smartapp
    .upload(picked, "manual.pdf", { contentType: "application/pdf", onProgress: (p) => console.log(p.loaded / p.total), onCheckpoint: (u) => { saved = u; } })
    .catch((error: unknown) => (error instanceof StorageError || error instanceof TypeError) && saved ? smartapp.uploadDirect(picked, "manual.pdf", { resume: saved }) : Promise.reject(error));
  console.log(large.status);
  for await (const each of smartapp.pages(async (cursor) => {
    const page = unwrap(await smartapp.api.GET("/files", { params: { query: { cursor, space: "org" } } }));
    return { items: page.files, cursor: page.cursor };
  })) console.log(each.name, each.space);

  try {
    unwrap(await smartapp.api.POST("/data/tables/{table}/records", { params: { path: { table: "plants" } }, body: { id: "fern" } }));
  } catch (error) {
    if (error instanceof ValidationError) console.log(error.fields);
    else if (error instanceof QuotaExceededError) console.log(error.retryAfter);
    else throw error;
  }
}

// React Native: the same client on a fetch whose responses are streams (expo/fetch), tokens kept by the app's store.
export async function reactNative(baseUrl: string, streamingFetch: typeof fetch, store: { set(key: string, value: string): Promise<void> }, code: string): Promise<string> {
  const smartapp = new SmartAppClient({ baseUrl, fetch: streamingFetch, onTokens: (t) => void store.set("refresh", t.refreshToken ?? "") });
  const { verifier } = await createPkce();
  await smartapp.exchangeCode(code, verifier);
  let text = "";
  for await (const event of smartapp.streamTurn("conversation-id", { content: "Hi" }, { maxResumes: 3 })) if (event.type === "delta") text += event.data.text;
  return text;
}
