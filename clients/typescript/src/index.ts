import createClient, { type Client } from "openapi-fetch";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { components, paths } from "./generated/schema.js";
import { ConflictError, NotFoundError, SmartAppError, errorFrom, retryAfterSeconds } from "./errors.js";
import { blockSizeFor, stageAndCommit, type BlockOptions, type DirectUpload, type UploadProgress } from "./uploads.js";

export * from "./errors.js";
export { StorageError, type DirectUpload, type UploadProgress } from "./uploads.js";
export type { components, paths } from "./generated/schema.js";

type Schemas = components["schemas"];
export type StoredFile = Schemas["File"];
export type Citation = Schemas["Citation"];

/** Where the access token comes from: the client's own (set by the sign-in helpers) unless the app supplies one. */
export type TokenProvider = () => string | undefined | Promise<string | undefined>;

export interface SmartAppOptions {
  /** The API's base URL, e.g. `https://myapp.azurewebsites.net/api`. */
  baseUrl: string;
  /** The app's own token source (a session store, a WorkOS SDK); without one the client keeps what its sign-in helpers receive. */
  token?: TokenProvider;
  /** Another fetch (tests, React Native polyfills). */
  fetch?: typeof fetch;
  /** Times an idempotent call is sent again after a 429/503 with Retry-After (default 2), and the longest wait honoured (default 30 s). */
  maxRetries?: number;
  maxRetryWaitSeconds?: number;
  /** Called with the tokens each time a sign-in or refresh gives new ones (keep the refresh token: it rotates). */
  onTokens?: (tokens: Tokens) => void;
}

export interface UploadOptions extends BlockOptions {
  contentType?: string;
  space?: "personal" | "org";
  /** `upload` sends files larger than this straight to storage (default 8 MiB); smaller ones through the app. */
  directThreshold?: number;
  /** Bytes per block of a direct upload (default 4 MiB). */
  blockSize?: number;
  /** A direct upload kept from `onCheckpoint`: only the blocks storage does not have yet are sent. */
  resume?: DirectUpload;
}

export interface Tokens {
  accessToken: string;
  expiresAt: string;
  refreshToken?: string;
}

/** One event of a streamed chat turn, as the server names it. */
export type ChatEvent =
  | { type: "meta"; id?: string; data: { messageId: string; replyId: string; citations: Citation[] } }
  | { type: "delta"; id?: string; data: { text: string } }
  | { type: "tool_call"; id?: string; data: { callId: string; name: string; arguments: unknown } }
  | { type: "tool_result"; id?: string; data: { callId: string; name: string; result?: unknown } }
  | { type: "done"; id?: string; data: { usage?: unknown; degraded: boolean; incomplete: boolean; citations?: Citation[] } }
  | { type: "error"; id?: string; data: Record<string, unknown> }
  /** Made by the client: the connection dropped, and the reply is being followed again (`attempt` counts from 1). */
  | { type: "resumed"; id?: undefined; data: { attempt: number } };

/** What a turn may say besides its content: the branch, whether memory, files and tools are used, the files to look in. */
export interface TurnBody {
  branch?: string;
  useMemory?: boolean;
  useFiles?: boolean;
  useTools?: boolean;
  fileIds?: string[];
}

export interface StreamOptions {
  signal?: AbortSignal;
  /** Times a dropped reply is followed again (default 5; 0: never). */
  maxResumes?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const contentTypeOf = (content: Blob, options: { contentType?: string }) => options.contentType ?? (content.type || "application/octet-stream");

/** The answer of a generated call, or its typed error (see `SmartAppError`). */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok) throw errorFrom(result.response, result.error ?? null);
  return result.data as T;
}

export class SmartAppClient {
  /** Every route of the OpenAPI document, typed (openapi-fetch): `await client.api.GET("/files", { params: { query: { limit: 10 } } })`. */
  readonly api: Client<paths>;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  /** Plain fetch for signed storage URLs: they carry their own credential, and the app's token must not leave the app. */
  private readonly storageFetch: typeof fetch;
  private tokens?: Tokens;

  constructor(private readonly options: SmartAppOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const inner = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.storageFetch = inner;
    this.fetchImpl = (input, init) => this.send(inner, new Request(input, init));
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: (request: Request) => this.fetchImpl(request) });
  }

  /** The access token requests carry now. */
  async token(): Promise<string | undefined> {
    return this.options.token ? await this.options.token() : this.tokens?.accessToken;
  }

  /** Demo mode: signs in by email (the same email is always the same user), optionally as a member of an organization. */
  async signInDemo(body: { email: string; name?: string; organizationId?: string; role?: string; permissions?: string[] }) {
    const signIn = unwrap(await this.api.POST("/auth/demo", { body }));
    this.keep({ accessToken: signIn.accessToken, expiresAt: signIn.expiresAt });
    return signIn;
  }

  /** WorkOS, mobile flow: the authorization code and its PKCE verifier (see `createPkce`) for tokens; the refresh token is kept. */
  async exchangeCode(code: string, codeVerifier: string) {
    return this.exchange({ code, codeVerifier });
  }

  /** WorkOS: a new access token from the refresh token (single use: the new one is kept and given to `onTokens`). */
  async refresh(refreshToken = this.tokens?.refreshToken) {
    if (!refreshToken) throw new Error("There is no refresh token to use.");
    return this.exchange({ refreshToken });
  }

  /** WorkOS, web flow: the URL that starts sign-in (the server keeps state and PKCE in a cookie and returns to `returnTo`). */
  loginUrl(returnTo?: string): string {
    return `${this.baseUrl}/auth/login${returnTo ? `?returnTo=${encodeURIComponent(returnTo)}` : ""}`;
  }

  private async exchange(body: Record<string, string>) {
    const signIn = unwrap(await this.api.POST("/auth/token", { body: body as never })) as { accessToken: string; expiresAt: string; refreshToken?: string };
    this.keep({ accessToken: signIn.accessToken, expiresAt: signIn.expiresAt, refreshToken: signIn.refreshToken });
    return signIn;
  }

  private keep(tokens: Tokens) {
    this.tokens = { ...tokens, refreshToken: tokens.refreshToken ?? this.tokens?.refreshToken };
    this.options.onTokens?.(this.tokens);
  }

  /**
   * Sends a turn and yields the reply as it streams: `meta` (ids and citations), `delta` (text), `tool_call`/`tool_result`,
   * then `done` (usage) or `error`. When the connection drops first, the reply goes on being made on the server: the
   * client yields `resumed` and follows it again from the last event it had (`maxResumes` times, default 5).
   */
  streamTurn(conversationId: string, body: TurnBody & { content: string }, options: StreamOptions = {}): AsyncGenerator<ChatEvent> {
    return this.turn(conversationId, "messages", body, options);
  }

  /** Writes a reply again on a new branch (the earlier one stays on its branch), streamed as `streamTurn`. */
  streamRegenerate(conversationId: string, replyId: string, body: TurnBody = {}, options: StreamOptions = {}): AsyncGenerator<ChatEvent> {
    return this.turn(conversationId, `messages/${encodeURIComponent(replyId)}/regenerate`, body, options);
  }

  /** Edits one of the user's messages on a new branch and streams the new reply, as `streamTurn`. */
  streamEdit(conversationId: string, messageId: string, body: TurnBody & { content: string }, options: StreamOptions = {}): AsyncGenerator<ChatEvent> {
    return this.turn(conversationId, `messages/${encodeURIComponent(messageId)}/edit`, body, options);
  }

  /** Follows a reply again from the event `lastEventId` (from any instance): the missed text, then the rest; without one, all of it. */
  async *resumeReply(conversationId: string, replyId: string, lastEventId?: string, signal?: AbortSignal): AsyncGenerator<ChatEvent> {
    const headers: Record<string, string> = lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId };
    yield* this.events(`/chat/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(replyId)}/stream`, { method: "GET", headers, signal });
  }

  private async *turn(conversationId: string, path: string, body: TurnBody, options: StreamOptions): AsyncGenerator<ChatEvent> {
    let replyId: string | undefined;
    let lastId: string | undefined;
    let stream = this.events(`/chat/conversations/${encodeURIComponent(conversationId)}/${path}`, {
      method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" }, signal: options.signal,
    });
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const event of stream) {
          if (event.id !== undefined) lastId = event.id;
          if (event.type === "meta") replyId = event.data.replyId;
          yield event;
          if (event.type === "done" || event.type === "error") return;
        }
        if (!replyId) return;
      } catch (error) {
        // Only a dropped connection after the reply began is followed again; a refusal (typed error) or an abort is not.
        if (error instanceof SmartAppError || options.signal?.aborted || !replyId) throw error;
      }
      if (attempt > (options.maxResumes ?? 5)) throw new Error(`The reply ${replyId} could not be followed again after ${attempt - 1} tries.`);
      await sleep(400 * attempt);
      yield { type: "resumed", data: { attempt } };
      stream = this.resumeReply(conversationId, replyId, lastId, options.signal);
    }
  }

  private async *events(path: string, init: RequestInit): AsyncGenerator<ChatEvent> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "text/event-stream");
    const response = await this.fetchImpl(this.baseUrl + path, { ...init, headers });
    if (!response.ok) throw errorFrom(response, await response.json().catch(() => null));
    if (!response.body) throw new Error("This fetch gives no response bodies as streams, which chat streaming reads: pass one that does (in React Native, expo/fetch).");
    const reader = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield { type: value.event ?? "message", id: value.id, data: JSON.parse(value.data) } as ChatEvent;
      }
    } finally {
      await reader.cancel().catch(() => undefined); // a consumer that stops early closes the connection
    }
  }

  /** Every item of a listing, page after page: `page(cursor)` reads one page and says where the next starts. */
  async *pages<T>(page: (cursor: string | undefined) => Promise<{ items: T[]; cursor?: string | null }>): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const { items, cursor: next } = await page(cursor);
      yield* items;
      cursor = next ?? undefined;
    } while (cursor);
  }

  /** A file of any size: through the app when small, straight to storage in blocks when larger (`directThreshold`). */
  upload(content: Blob, name: string, options: UploadOptions = {}): Promise<StoredFile> {
    return content.size > (options.directThreshold ?? 8 * 1024 * 1024) || options.resume ? this.uploadDirect(content, name, options) : this.uploadFile(content, name, options);
  }

  /** A file uploaded through the app (streamed to storage): the stored file, whose ingestion follows. */
  async uploadFile(content: Blob, name: string, options: Pick<UploadOptions, "contentType" | "space" | "onProgress" | "signal"> = {}): Promise<StoredFile> {
    options.onProgress?.({ loaded: 0, total: content.size });
    const stored = unwrap(
      await this.api.POST("/files", {
        params: { query: options.space ? { space: options.space } : {}, header: { "X-File-Name": encodeURIComponent(name) } },
        body: content as never,
        bodySerializer: (bytes) => bytes, // the file's own bytes, not JSON
        headers: { "Content-Type": contentTypeOf(content, options) },
        signal: options.signal,
      }),
    );
    options.onProgress?.({ loaded: content.size, total: content.size });
    return stored;
  }

  /**
   * A file sent straight to storage: the app signs a write-only URL, the blocks go to it (`onProgress` after each, a
   * dropped block sent again, a URL that expires on a long upload renewed), then the app measures the file and queues
   * its ingestion. Keep what `onCheckpoint` gives and pass it as `resume` after a reload: the upload goes on with the
   * blocks storage lacks (with a new URL when the kept one has expired); one the app no longer has starts again.
   */
  async uploadDirect(content: Blob, name: string, options: UploadOptions = {}): Promise<StoredFile> {
    let upload = options.resume;
    if (upload && upload.size !== content.size) throw new Error(`The upload to resume is of ${upload.size} bytes, not ${content.size}.`);
    if (upload && Date.parse(upload.expiresAt) <= Date.now()) {
      const kept = upload;
      upload = await this.renewUploadUrl(kept.fileId, options.signal).then(
        (fresh) => ({ ...kept, ...fresh }),
        (error: unknown) => (error instanceof ConflictError || error instanceof NotFoundError ? undefined : Promise.reject(error)),
      );
    }
    if (!upload) {
      const begun = unwrap(
        await this.api.POST("/files/uploads", {
          params: { query: options.space ? { space: options.space } : {} },
          body: { name, contentType: contentTypeOf(content, options), size: content.size },
          signal: options.signal,
        }),
      );
      upload = { fileId: begun.fileId, uploadUrl: begun.uploadUrl, expiresAt: begun.expiresAt, size: content.size, blockSize: blockSizeFor(content.size, options.blockSize ?? 4 * 1024 * 1024), staged: [] };
      options.onCheckpoint?.(upload);
    }
    const fileId = upload.fileId;
    await stageAndCommit(this.storageFetch, content, upload, options, () => this.renewUploadUrl(fileId, options.signal));
    return unwrap(await this.api.POST("/files/{fileId}/complete", { params: { path: { fileId } }, signal: options.signal }));
  }

  private async renewUploadUrl(fileId: string, signal?: AbortSignal) {
    const renewed = unwrap(await this.api.POST("/files/{fileId}/upload-url", { params: { path: { fileId } }, signal }));
    return { uploadUrl: renewed.uploadUrl, expiresAt: renewed.expiresAt };
  }

  /** Reads the file until its ingestion is over (`indexed`, `notIndexed` or `failed`), calling `onProgress` with each state. */
  async waitForFile(fileId: string, options: { intervalMs?: number; timeoutMs?: number; onProgress?: (file: StoredFile) => void } = {}): Promise<StoredFile> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      const file = unwrap(await this.api.GET("/files/{fileId}", { params: { path: { fileId } } }));
      options.onProgress?.(file);
      if (file.status === "indexed" || file.status === "notIndexed" || file.status === "failed") return file;
      if (Date.now() > deadline) throw new Error(`File ${fileId} is still ${file.status}.`);
      await sleep(options.intervalMs ?? 500);
    }
  }

  /**
   * Every request: the token; an Idempotency-Key on each POST that has none (so a retry is never applied twice); and, for
   * GETs and keyed requests, another try after a 429 or 503 that says when (Retry-After), within the configured bounds.
   */
  private async send(inner: typeof fetch, request: Request): Promise<Response> {
    const token = await this.token();
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    if (request.method === "POST" && !request.headers.has("Idempotency-Key") && !request.url.includes("/auth/")) request.headers.set("Idempotency-Key", crypto.randomUUID());
    const retryable = request.method === "GET" || request.headers.has("Idempotency-Key");
    const attempts = retryable ? (this.options.maxRetries ?? 2) + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const response = await inner(attempt < attempts ? request.clone() : request);
      const wait = retryAfterSeconds(response.headers.get("Retry-After"));
      if (attempt >= attempts || (response.status !== 429 && response.status !== 503) || wait === undefined || wait > (this.options.maxRetryWaitSeconds ?? 30)) return response;
      await response.body?.cancel();
      await sleep(wait * 1000);
    }
  }
}

/** A PKCE verifier and its S256 challenge (WebCrypto: browsers, Node 20+; React Native needs a WebCrypto polyfill). */
export async function createPkce(): Promise<{ verifier: string; challenge: string }> {
  const base64Url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(48)));
  const challenge = base64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}
