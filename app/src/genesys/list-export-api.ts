import { open, type FileHandle } from "node:fs/promises";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { request as undiciRequest, type Dispatcher } from "undici";
import type { Logger } from "pino";
import { downloadUrlProblem } from "../shared/download-hosts";
import { BACKOFF, retryPolicy } from "../shared/retry";
import type { Clock, Random } from "../time/clock";
import { DownloadFailedError, DownloadRefusedError, ListExportAnswerError } from "../export/errors";
import type { GenesysClient } from "./client";
import { GenesysHttpError } from "./errors";

/**
 * A contact list's export, as Genesys gives it back (the facts file, "Contact-level results"):
 *
 * 1. `POST /api/v2/outbound/contactlists/{id}/export` starts an export of the whole list.
 * 2. `GET .../export?download=false` answers 404 until it is ready, then `{uri, exportTimestamp}`:
 *    `uri` is a Genesys download, `https://api.<domain>/api/v2/downloads/<downloadId>`.
 * 3. `GET /api/v2/downloads/{downloadId}?issueRedirect=false&redirectToAuth=false` (through the
 *    client: it needs the bearer token) answers `{url}`, a short-lived signed URL. Both parameters
 *    default to true in the SDKs (platform-client-sdk-javascript DownloadsApi.getDownload), which
 *    makes the call answer a redirect instead.
 * 4. `GET <url>` WITHOUT the bearer token streams the CSV from the download host
 *    (`api-downloads.<domain>`, shared/download-hosts.ts), which is not the API host.
 *
 * What Genesys' own tools do at step 4: the Terraform provider GETs the step-2 `uri` with
 * `Authorization: Bearer` through Go's http.Client (util/files/util_files.go,
 * downloadExportFileWithAccessToken), which follows the redirect and drops the Authorization
 * header on the way to another domain (Go's net/http, CVE-2023-45289, CVE-2024-45336); the
 * JavaScript SDK follows it through axios, whose follow-redirects strips it likewise. So no
 * official client sends the token to the download host, and neither does this module: it asks
 * for the URL (step 3), checks its host against the allowed ones, and fetches it with no
 * credentials and no redirects followed, so it reaches only a host the egress policy, the proxy
 * and the `genesys-endpoint` policy allow.
 *
 * Steps 1-3 are Platform API calls: paced on the token budget and retried by the client. Step 4 is
 * not an API call, so it is not on the token budget: it goes through the same undici dispatcher
 * (the forward proxy, NO_PROXY honoured) and is retried here, a few times with the back-off of
 * work that outlived the client's retries, each attempt with a freshly signed URL.
 */

const EXPORT_ROUTE = "/api/v2/outbound/contactlists/{contactListId}/export";
const DOWNLOAD_ROUTE = "/api/v2/downloads/{downloadId}";

/** A ready export: the Genesys download and when Genesys made it. */
export interface ListExport {
  readonly uri: string;
  readonly exportTimestamp: string | undefined;
}

/** Starts an export of the whole list (the Terraform provider sends an empty Contactsexportrequest). */
export async function startListExport(client: GenesysClient, contactListId: string): Promise<void> {
  await client.request({
    method: "POST",
    path: exportPath(contactListId),
    route: EXPORT_ROUTE,
    body: {},
    ignoreResponseBody: true,
  });
}

/**
 * The list's export once it is ready, else undefined: 404 (and `no.available.list.export.uri`,
 * the code the developer center's example waits on) mean none is ready yet.
 */
export async function readListExport(
  client: GenesysClient,
  contactListId: string,
): Promise<ListExport | undefined> {
  let answer: { readonly uri?: unknown; readonly exportTimestamp?: unknown };
  try {
    answer = await client.request({
      method: "GET",
      path: exportPath(contactListId),
      route: EXPORT_ROUTE,
      query: { download: "false" },
    });
  } catch (error) {
    if (error instanceof GenesysHttpError && notReady(error)) return undefined;
    throw error;
  }
  if (typeof answer?.uri !== "string" || answer.uri === "")
    throw new ListExportAnswerError(`the export of contact list ${contactListId} without a download uri`);
  return {
    uri: answer.uri,
    exportTimestamp: typeof answer.exportTimestamp === "string" ? answer.exportTimestamp : undefined,
  };
}

/** The download id at the end of a Genesys download URI (`.../api/v2/downloads/<id>`). */
export function downloadIdOf(uri: string): string {
  let path: string;
  try {
    path = new URL(uri).pathname;
  } catch {
    path = uri.split(/[?#]/)[0]!;
  }
  const match = /\/api\/v2\/downloads\/([^/]+)\/?$/.exec(path);
  if (!match) throw new ListExportAnswerError("an export download uri that names no /api/v2/downloads/<id>");
  return decodeURIComponent(match[1]!);
}

/** The short-lived signed URL of a Genesys download (step 3), asked for without a redirect. */
export async function resolveDownload(client: GenesysClient, uri: string): Promise<string> {
  const downloadId = downloadIdOf(uri);
  const answer = await client.request<{ readonly url?: unknown }>({
    method: "GET",
    path: `/api/v2/downloads/${encodeURIComponent(downloadId)}`,
    route: DOWNLOAD_ROUTE,
    query: { issueRedirect: false, redirectToAuth: false },
  });
  if (typeof answer?.url !== "string" || answer.url === "")
    throw new ListExportAnswerError(`download ${downloadId} without a signed url`);
  return answer.url;
}

export interface DownloadOptions {
  /** The dispatcher the client uses: the forward proxy and NO_PROXY apply to the download too. */
  readonly dispatcher: Dispatcher;
  /** Hosts (host or host:port) the signed URL may point at (shared/download-hosts.ts downloadHosts). */
  readonly allowedHosts: readonly string[];
  readonly clock: Clock;
  readonly random: Random;
  /** Attempts at the download, each with a freshly signed URL; default 4. */
  readonly maxAttempts?: number;
  /** Longest wait for the answer's headers and between two chunks of the body; default 60,000 ms. */
  readonly idleTimeoutMs?: number;
  /** Aborts the download (shutdown); the partial file is the caller's to remove. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Bytes written so far, as they arrive (for the console's progress). */
  readonly onProgress?: (bytes: number) => void;
}

/**
 * Downloads the ready export `uri` into `file` (created or truncated, fsynced, closed): resolves a
 * signed URL, refuses it unless its host is allowed, streams the body to disk with backpressure
 * (memory does not grow with the list), and checks the length Genesys announced. Failures that may
 * pass (an error status, a broken or stalled body) are retried with a new URL; a refused host or a
 * redirect is not. Returns the bytes written.
 */
export async function downloadListExport(
  client: GenesysClient,
  uri: string,
  file: string,
  options: DownloadOptions,
): Promise<number> {
  const { clock, random, signal, logger } = options;
  const attempts = retryPolicy<DownloadFailedError>({
    clock,
    random,
    backoff: BACKOFF.genesysWork,
    maxAttempts: options.maxAttempts ?? 4,
    shouldRetry: (error): error is DownloadFailedError => error instanceof DownloadFailedError,
    onRetry: ({ error, attempt, delayMs }) =>
      logger?.warn(
        { err: { message: error.message, code: error.code }, attempt: attempt + 1, retryInMs: delayMs },
        "contact-list download failed; retrying with a new signed URL",
      ),
  });
  return attempts.execute(async () => {
    const url = await resolveDownload(client, uri);
    const refused = downloadUrlProblem(url, options.allowedHosts);
    if (refused) throw new DownloadRefusedError(refused);
    return fetchToFile(url, file, options);
  }, signal);
}

/** One GET of the signed URL, without credentials, its body streamed into `file`. */
async function fetchToFile(url: string, file: string, options: DownloadOptions): Promise<number> {
  const host = new URL(url).host;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  let response: Dispatcher.ResponseData;
  try {
    response = await undiciRequest(url, {
      method: "GET",
      dispatcher: options.dispatcher,
      headers: { accept: "text/csv, */*" },
      headersTimeout: idleMs,
      bodyTimeout: idleMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new DownloadFailedError(`the download from ${host} failed before an answer (${reason(error)})`, {
      cause: error,
    });
  }
  const status = response.statusCode;
  if (status < 200 || status >= 300) {
    await response.body.dump().catch(() => undefined);
    throw unusableAnswer(host, status, response.headers);
  }
  const announced = Number(response.headers["content-length"] ?? Number.NaN);
  const bytes = await writeBody(response.body, file, options);
  if (Number.isFinite(announced) && bytes !== announced)
    throw new DownloadFailedError(`the download from ${host} ended after ${bytes} of ${announced} bytes`);
  if (bytes === 0) throw new DownloadFailedError(`the download from ${host} was empty (no header row)`);
  return bytes;
}

/** Streams `body` into `file` through a byte counter, one chunk at a time; fsyncs before it resolves. */
async function writeBody(
  body: Dispatcher.ResponseData["body"],
  file: string,
  options: DownloadOptions,
): Promise<number> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      options.onProgress?.(bytes);
      done(null, chunk);
    },
  });
  const handle = await open(file, "w");
  // Not handle.createWriteStream({ autoClose: false }): such a stream keeps a reference on the
  // handle that close() then waits for, forever. Each chunk is written before the next is taken.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writeAll(handle, chunk).then(() => done(), done);
    },
    final(done) {
      handle.sync().then(() => done(), done);
    },
  });
  try {
    await pipeline(body, counter, sink);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new DownloadFailedError(`the download broke off after ${bytes} bytes (${reason(error)})`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
  return bytes;
}

/** Writes the whole chunk (a write may take part of it). */
async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/** What an answer other than 2xx means: a redirect is refused (its target unchecked), the rest retried. */
function unusableAnswer(
  host: string,
  status: number,
  headers: Dispatcher.ResponseData["headers"],
): DownloadFailedError | DownloadRefusedError {
  if (status >= 300 && status < 400) {
    const location = headers.location;
    let target = "nowhere";
    try {
      target = new URL(String(Array.isArray(location) ? location[0] : location), `https://${host}`).host;
    } catch {
      // no usable Location: named as nowhere
    }
    return new DownloadRefusedError(
      `the download host ${host} answered ${status}, a redirect to ${target}, which is not followed: only the allowed download hosts are fetched`,
    );
  }
  // 403 is what a signed URL says once it has expired: the retry asks for a new one.
  return new DownloadFailedError(`the download host ${host} answered ${status}`, { status });
}

function notReady(error: GenesysHttpError): boolean {
  return error.status === 404 || error.genesysCode === "no.available.list.export.uri";
}

function exportPath(contactListId: string): string {
  return `/api/v2/outbound/contactlists/${encodeURIComponent(contactListId)}/export`;
}

/** A failure's code or message, never a URL (its query is the signature). */
function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "no error code";
}
