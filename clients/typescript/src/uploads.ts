// Direct uploads: the file goes from the device straight to Blob Storage through the write-only URL the app signs,
// in blocks (Put Block, then Put Block List), so a large file shows progress block by block and a dropped connection
// costs one block, not the file. Only fetch and Blob: browsers, Node 20+, React Native.

/** A direct upload under way. Plain JSON: keep it (`onCheckpoint`) and pass it as `resume` to go on after a reload. */
export interface DirectUpload {
  fileId: string;
  uploadUrl: string;
  expiresAt: string;
  size: number;
  blockSize: number;
  /** The blocks storage has, by index (block i is bytes i·blockSize up to the next block or the end). */
  staged: number[];
}

export interface UploadProgress {
  /** Bytes storage has (direct), or 0 then the size (streamed through the app). */
  loaded: number;
  total: number;
}

/** Storage refused a block or the block list (even with a renewed URL): `status` and storage's error code. */
export class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
  ) {
    super(`Storage answered ${status}${code ? ` (${code})` : ""}.`);
    this.name = "StorageError";
  }
}

export interface BlockOptions {
  /** Blocks sent at once (default 2). */
  parallel?: number;
  /** Times one block is sent again after a dropped connection or a 408/429/5xx from storage (default 3). */
  blockRetries?: number;
  onProgress?: (progress: UploadProgress) => void;
  onCheckpoint?: (upload: DirectUpload) => void;
  signal?: AbortSignal;
}

const MaxBlocks = 50_000; // Blob Storage's limit for one blob
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const transient = (status: number) => status === 408 || status === 429 || status >= 500;

/** Block ids must all be the same length: base64 of a zero-padded index. */
export function blockId(index: number): string {
  return btoa(`block-${index.toString().padStart(6, "0")}`);
}

/** The block size to use for `size` bytes: the one asked for, raised when the file would need more blocks than a blob takes. */
export function blockSizeFor(size: number, wanted: number): number {
  return Math.max(wanted, Math.ceil(size / MaxBlocks), 1);
}

function signed(uploadUrl: string, query: string): string {
  return `${uploadUrl}${uploadUrl.includes("?") ? "&" : "?"}${query}`;
}

/** Where a direct upload goes on after its URL has expired: a new URL for the same blob (the blocks sent stay). */
export type RenewUrl = () => Promise<Pick<DirectUpload, "uploadUrl" | "expiresAt">>;

/** A URL this close to its expiry is renewed before the next block rather than after storage refuses it. */
const RenewBeforeMs = 30_000;

/**
 * Sends every block `upload.staged` does not have, then the block list. `fetchImpl` is a plain fetch: the signed URL
 * is the only credential, and the app's bearer token must not go to storage. A URL about to expire, or one storage
 * refuses (403), is renewed through `renew` and the block sent again.
 */
export async function stageAndCommit(fetchImpl: typeof fetch, content: Blob, start: DirectUpload, options: BlockOptions, renew: RenewUrl): Promise<void> {
  let upload = start;
  const count = Math.max(1, Math.ceil(upload.size / upload.blockSize));
  const staged = new Set(upload.staged);
  const bytesOf = (index: number) => Math.min(upload.blockSize, upload.size - index * upload.blockSize);
  let loaded = [...staged].reduce((sum, index) => sum + bytesOf(index), 0);
  options.onProgress?.({ loaded, total: upload.size });

  const checkpoint = () => options.onCheckpoint?.({ ...upload, staged: [...staged].sort((a, b) => a - b) });

  // One renewal at a time, however many blocks found the URL stale.
  let renewing: Promise<void> | undefined;
  const renewFrom = (stale: string) => {
    if (upload.uploadUrl !== stale) return Promise.resolve();
    renewing ??= renew().then((fresh) => {
      upload = { ...upload, ...fresh };
      checkpoint();
    }).finally(() => { renewing = undefined; });
    return renewing;
  };
  const put = async (query: string, body: Blob | string, contentType?: string) => {
    if (Date.parse(upload.expiresAt) - Date.now() < RenewBeforeMs) await renewFrom(upload.uploadUrl);
    const url = upload.uploadUrl;
    try {
      await send(fetchImpl, signed(url, query), body, contentType, options);
    } catch (error) {
      if (!(error instanceof StorageError && error.status === 403)) throw error;
      await renewFrom(url);
      await send(fetchImpl, signed(upload.uploadUrl, query), body, contentType, options);
    }
  };

  const pending = Array.from({ length: count }, (_, index) => index).filter((index) => !staged.has(index));
  const sendBlock = async (index: number) => {
    await put(`comp=block&blockid=${encodeURIComponent(blockId(index))}`, content.slice(index * upload.blockSize, index * upload.blockSize + bytesOf(index)));
    staged.add(index);
    loaded += bytesOf(index);
    checkpoint();
    options.onProgress?.({ loaded, total: upload.size });
  };
  const workers = Array.from({ length: Math.min(Math.max(1, options.parallel ?? 2), pending.length) }, async () => {
    for (let next = pending.shift(); next !== undefined; next = pending.shift()) await sendBlock(next);
  });
  await Promise.all(workers);

  const list = Array.from({ length: count }, (_, index) => `<Latest>${blockId(index)}</Latest>`).join("");
  await put("comp=blocklist", `<?xml version="1.0" encoding="utf-8"?><BlockList>${list}</BlockList>`, "application/xml");
}

/** One PUT to storage, sent again after a dropped connection or a transient answer, with a growing pause. */
async function send(fetchImpl: typeof fetch, url: string, body: Blob | string, contentType: string | undefined, options: BlockOptions): Promise<void> {
  const retries = options.blockRetries ?? 3;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetchImpl(url, { method: "PUT", body, headers: contentType ? { "Content-Type": contentType } : {}, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted || attempt >= retries) throw error;
      await sleep(500 * 2 ** attempt);
      continue;
    }
    await response.body?.cancel();
    if (response.ok) return;
    if (!transient(response.status) || attempt >= retries) throw new StorageError(response.status, response.headers.get("x-ms-error-code"));
    await sleep(500 * 2 ** attempt);
  }
}
