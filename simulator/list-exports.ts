import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../app/src/time/clock";
import { notFound, type Answer } from "./errors";

/**
 * List exports: Genesys Cloud's way to hand a whole contact list (or DNC list) back as a CSV, as
 * the facts file ("Contact-level results") and the SDKs describe it, and as Genesys' Terraform
 * provider uses it (genesyscloud_outbound_contact_list's exporter: POST the export, poll the GET
 * with backoff while it answers 404 or 400, then GET the uri with the bearer token, following the
 * redirect, and strip the system columns before re-importing).
 *
 * - `POST /api/v2/outbound/contactlists/{id}/export` (body ContactsExportRequest, optional)
 *   starts an export and answers 200 with a DomainEntityRef `{id}`. The contacts are read now:
 *   the file shows the list as it was when the export started.
 * - `GET .../export?download=false` answers 404 until an export is ready (`readyMs` later, on the
 *   clock), then ExportUri `{uri, exportTimestamp}` of the latest ready export; `download=true`
 *   redirects to the uri. While a newer export is still running it is the older file's uri that
 *   comes back (its `exportTimestamp` tells): a client must compare it with when it asked. The
 *   404's code is `no.available.list.export.uri`: recalled from Genesys developer-forum reports,
 *   not found in the sources searched, so a client should key on the status.
 * - The uri is `<api>/api/v2/downloads/{downloadId}`, a Genesys download: `GET` it with the
 *   bearer token (it is an API call: budget and faults apply) and it answers a 303 to a
 *   short-lived signed URL (`issueRedirect=false`: 200 `{url}`, the SDK's UrlResponse). The
 *   redirect's status is not documented (third-party code mentions 302 and 307): follow any 3xx.
 *   `redirectToAuth` and `contentDisposition` (DownloadsApi) are accepted and ignored.
 * - The signed URL is on a second host, the storage behind Genesys downloads (people report it
 *   as `api-downloads.<region>`), here a second loopback server (`serve`): no bearer token, no
 *   rate budget, an S3-style signed query string that expires (`urlTtlSeconds`); expired or
 *   tampered URLs get S3's 403 XML errors. It streams the file with a Content-Length, written
 *   with backpressure and never held whole, so a million-row export costs the simulator one chunk
 *   of memory at a time. Requests carrying an Authorization header are counted: a client should
 *   not send its Genesys token to a storage host.
 *
 * The CSV begins with a UTF-8 byte-order mark and quotes every field (the Terraform provider
 * strips exactly these from exported headers). A contact list's columns are `inin-outbound-id`,
 * the list's columns, then the per-contact system columns and, for each phone column, the
 * per-number ones, in the order real exports show them (headers seen in third-party code that
 * reads Genesys exports): ContactCallable, ContactableByVoice, ContactableBySms,
 * ContactableByEmail, ZipCodeAutomaticTimeZone; CallRecordLastAttempt-<col>,
 * CallRecordLastResult-<col>, CallRecordLastAgentWrapup-<col>, SmsLastAttempt-<col>,
 * SmsLastResult-<col>, Callable-<col>, ContactableByVoice-<col>, ContactableBySms-<col>,
 * AutomaticTimeZone-<col>. The simulator fills ContactCallable and Callable-<col> (1 or 0) and
 * the call records (ISO-8601 attempt time, result such as ININ-OUTBOUND-NO-ANSWER, wrap-up code);
 * the others stay empty.
 */

/** A file to export: its header, and a fresh pass over its rows each time it is asked for one. */
export interface ExportFile {
  readonly header: readonly string[];
  readonly rows: () => Iterable<readonly string[]>;
}

export type ExportKind = "contactlists" | "dnclists";

/** What the dialer recorded for one phone column of a contact (the export's CallRecord* columns). */
export interface SimulatedCallRecord {
  /** ISO-8601. */
  readonly lastAttempt: string;
  /** A system result (ININ-OUTBOUND-...) or the wrap-up code's name. */
  readonly lastResult: string;
  readonly lastAgentWrapup?: string;
}

/** A contact as the export reads it; the simulator's DialerContact fits. */
export interface ExportedContact {
  readonly id: string;
  readonly data: Readonly<Record<string, string>>;
  readonly callable: boolean;
  readonly phoneNumberStatus?: Readonly<Record<string, { readonly callable: boolean }>>;
  readonly callRecords?: Readonly<Record<string, SimulatedCallRecord>>;
}

export interface ListExportOptions {
  /** How long an export takes before its uri is ready, on the clock; default 500 ms. */
  readonly readyMs?: number;
  /** How long a signed download URL works; default 600 s. */
  readonly urlTtlSeconds?: number;
  /** How fast the download host sends, on the clock; default as fast as the client reads. */
  readonly bytesPerSecond?: number;
}

/** The download host's counts (`stats()`). */
export interface DownloadStats {
  listExportsStarted: number;
  downloadsStarted: number;
  downloadsCompleted: number;
  /** Cut on purpose (`faults.cutDownloads`). */
  downloadsCut: number;
  /** The client went away before the end. */
  downloadsAbandoned: number;
  /** Refused: expired or tampered URL. */
  downloadsRefused: number;
  downloadBytes: number;
  /** Requests to the download host that carried an Authorization header. */
  downloadsWithAuthorization: number;
  /** The most the response ever held unsent: bounded by one chunk when backpressure is respected. */
  peakDownloadBufferBytes: number;
}

interface ListExport {
  readonly id: string;
  readonly readyAtMs: number;
  readonly downloadId: string;
}

interface Download {
  readonly file: ExportFile;
  readonly fileName: string;
  byteLength?: number;
}

export const CONTACT_ID_COLUMN = "inin-outbound-id";
export const CONTACT_SYSTEM_COLUMNS = [
  "ContactCallable",
  "ContactableByVoice",
  "ContactableBySms",
  "ContactableByEmail",
  "ZipCodeAutomaticTimeZone",
] as const;
export const phoneSystemColumns = (column: string): string[] =>
  [
    "CallRecordLastAttempt",
    "CallRecordLastResult",
    "CallRecordLastAgentWrapup",
    "SmsLastAttempt",
    "SmsLastResult",
    "Callable",
    "ContactableByVoice",
    "ContactableBySms",
    "AutomaticTimeZone",
  ].map((name) => `${name}-${column}`);

const DOWNLOAD_PATH = /^\/exports\/([^/]+)\/[^/]+$/;
/** Characters of CSV gathered before a chunk is written. */
const CHUNK_CHARS = 64 * 1024;

export class ListExportStore {
  private readonly exports = new Map<string, ListExport[]>();
  private readonly downloads = new Map<string, Download>();
  private readonly secret = randomBytes(32);
  private readonly readyMs: number;
  private readonly urlTtlSeconds: number;
  private readonly bytesPerSecond: number | undefined;
  private neverReady = false;
  private readonly cuts = { remaining: 0, afterBytes: 0 };
  private readonly counts: DownloadStats = {
    listExportsStarted: 0,
    downloadsStarted: 0,
    downloadsCompleted: 0,
    downloadsCut: 0,
    downloadsAbandoned: 0,
    downloadsRefused: 0,
    downloadBytes: 0,
    downloadsWithAuthorization: 0,
    peakDownloadBufferBytes: 0,
  };

  constructor(
    private readonly clock: Clock,
    options: ListExportOptions = {},
  ) {
    this.readyMs = options.readyMs ?? 500;
    this.urlTtlSeconds = options.urlTtlSeconds ?? 600;
    this.bytesPerSecond = options.bytesPerSecond;
    if (!(this.readyMs >= 0)) throw new Error("listExportReadyMs must be 0 or more");
    if (!(this.urlTtlSeconds > 0)) throw new Error("downloadUrlTtlSeconds must be more than 0");
    if (this.bytesPerSecond !== undefined && !(this.bytesPerSecond > 0))
      throw new Error("downloadBytesPerSecond must be more than 0, or left out for no limit");
  }

  readonly faults = {
    /** Exports started while on never become ready: the GET keeps answering 404 (or an older file's uri). */
    exportsNeverReady: (on: boolean) => {
      this.neverReady = on;
    },
    /** The next `count` downloads send their headers and `afterBytes` bytes of the body, then the connection drops. */
    cutDownloads: (count: number, afterBytes: number) => {
      this.cuts.remaining = count;
      this.cuts.afterBytes = afterBytes;
    },
  };

  stats(): DownloadStats {
    return { ...this.counts };
  }

  /** `POST .../{kind}/{listId}/export`: the file is taken now, ready `readyMs` later. */
  start(kind: ExportKind, listId: string, file: ExportFile): Answer {
    const downloadId = randomUUID();
    const id = randomUUID();
    this.downloads.set(downloadId, { file, fileName: `${kind.replace(/s$/, "")}-${listId}.csv` });
    const key = `${kind}/${listId}`;
    const readyAtMs = this.neverReady ? Infinity : this.clock.now() + this.readyMs;
    this.exports.set(key, [...(this.exports.get(key) ?? []), { id, readyAtMs, downloadId }]);
    this.counts.listExportsStarted += 1;
    return [200, { id, selfUri: `/api/v2/outbound/${kind}/${listId}/export` }];
  }

  /** `GET .../{kind}/{listId}/export?download=`: the latest ready export's uri, or 404. */
  uri(kind: ExportKind, listId: string, url: URL, apiBaseUrl: string): Answer {
    const now = this.clock.now();
    const ready = (this.exports.get(`${kind}/${listId}`) ?? []).filter((entry) => entry.readyAtMs <= now);
    const latest = ready.at(-1);
    if (!latest)
      return [
        404,
        {
          message: "No available list export uri",
          code: "no.available.list.export.uri",
          status: 404,
          contextId: randomUUID(),
          details: [],
          errors: [],
        },
      ];
    const uri = `${apiBaseUrl}/api/v2/downloads/${latest.downloadId}`;
    if (url.searchParams.get("download") === "true") return [303, undefined, { location: uri }];
    return [200, { uri, exportTimestamp: new Date(latest.readyAtMs).toISOString() }];
  }

  /** `GET /api/v2/downloads/{downloadId}?issueRedirect=`: a freshly signed URL on the download host. */
  download(downloadId: string, url: URL, downloadBaseUrl: string): Answer {
    const download = this.downloads.get(downloadId);
    if (!download) return notFound(`download ${downloadId} not found`);
    const signed = this.sign(`/exports/${downloadId}/${download.fileName}`, downloadBaseUrl);
    if (url.searchParams.get("issueRedirect") === "false") return [200, { url: signed }];
    return [303, undefined, { location: signed }];
  }

  /** The download host: checks the signed URL, then streams the file. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (req.headers.authorization !== undefined) this.counts.downloadsWithAuthorization += 1;
    const url = new URL(req.url ?? "/", "http://downloads");
    if (req.method !== "GET")
      return s3Error(
        res,
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
      );
    const refusal = this.checkSignature(url);
    if (refusal) {
      this.counts.downloadsRefused += 1;
      return s3Error(res, 403, refusal.code, refusal.message);
    }
    const match = DOWNLOAD_PATH.exec(url.pathname);
    const download = match ? this.downloads.get(decodeURIComponent(match[1]!)) : undefined;
    if (!download) return s3Error(res, 404, "NoSuchKey", "The specified key does not exist.");
    await this.stream(download, res);
  }

  private sign(path: string, downloadBaseUrl: string): string {
    const now = new Date(this.clock.now());
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}/, "");
    const query = new URLSearchParams({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `SIMULATED/${amzDate.slice(0, 8)}/simulated/s3/aws4_request`,
      "X-Amz-Date": amzDate,
      "X-Amz-Expires": String(this.urlTtlSeconds),
      "X-Amz-SignedHeaders": "host",
    });
    query.set("X-Amz-Signature", this.signature(path, query));
    return `${downloadBaseUrl}${path}?${query.toString()}`;
  }

  private signature(path: string, query: URLSearchParams): string {
    const signed = ["X-Amz-Date", "X-Amz-Expires", "X-Amz-Credential"].map((name) => query.get(name) ?? "");
    return createHmac("sha256", this.secret)
      .update([path, ...signed].join("\n"))
      .digest("hex");
  }

  private checkSignature(url: URL): { code: string; message: string } | undefined {
    const given = Buffer.from(url.searchParams.get("X-Amz-Signature") ?? "", "hex");
    const expected = Buffer.from(this.signature(url.pathname, url.searchParams), "hex");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return {
        code: "SignatureDoesNotMatch",
        message: "The request signature we calculated does not match the signature you provided.",
      };
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(
      url.searchParams.get("X-Amz-Date") ?? "",
    );
    const signedAtMs = date
      ? Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!)
      : NaN;
    const expiresAtMs = signedAtMs + Number(url.searchParams.get("X-Amz-Expires")) * 1000;
    if (!(this.clock.now() <= expiresAtMs)) return { code: "AccessDenied", message: "Request has expired" };
    return undefined;
  }

  /**
   * Writes the file slice by slice, waiting for the client to drain each one, paced to
   * `bytesPerSecond` on the clock (a slice is a tenth of a second's worth, sent when its time
   * comes); cut short when `faults.cutDownloads` says so.
   */
  private async stream(download: Download, res: ServerResponse): Promise<void> {
    download.byteLength ??= byteLengthOf(download.file);
    res.writeHead(200, {
      "content-type": "text/csv; charset=utf-8",
      "content-length": String(download.byteLength),
      "content-disposition": `attachment; filename="${download.fileName}"`,
    });
    this.counts.downloadsStarted += 1;
    const cutAfter = this.cuts.remaining > 0 ? this.cuts.afterBytes : undefined;
    if (cutAfter !== undefined) this.cuts.remaining -= 1;
    const progress = { sentBytes: 0, paceAtMs: this.clock.now() };
    for (const slice of this.slices(chunksOf(download.file))) {
      await this.pace(slice.length, progress);
      if (res.destroyed) {
        this.counts.downloadsAbandoned += 1;
        return;
      }
      if (cutAfter !== undefined && progress.sentBytes + slice.length >= cutAfter) {
        const part = slice.subarray(0, cutAfter - progress.sentBytes);
        this.counts.downloadBytes += part.length;
        this.counts.downloadsCut += 1;
        res.write(part, () => res.destroy());
        return;
      }
      const flowing = res.write(slice);
      progress.sentBytes += slice.length;
      this.counts.downloadBytes += slice.length;
      this.counts.peakDownloadBufferBytes = Math.max(this.counts.peakDownloadBufferBytes, res.writableLength);
      if (!flowing) await drained(res);
    }
    if (res.destroyed) {
      this.counts.downloadsAbandoned += 1;
      return;
    }
    res.end();
    this.counts.downloadsCompleted += 1;
  }

  /** The chunks, cut into a tenth of a second's worth each when the host is paced. */
  private *slices(chunks: Iterable<Buffer>): Generator<Buffer> {
    const rate = this.bytesPerSecond;
    for (const chunk of chunks) {
      if (rate === undefined) {
        yield chunk;
        continue;
      }
      const sliceBytes = Math.max(1, Math.floor(rate / 10));
      for (let offset = 0; offset < chunk.length; offset += sliceBytes)
        yield chunk.subarray(offset, offset + sliceBytes);
    }
  }

  /** Waits, on the clock, until `bytes` more may go at `bytesPerSecond`. */
  private async pace(bytes: number, progress: { paceAtMs: number }): Promise<void> {
    if (this.bytesPerSecond === undefined) return;
    progress.paceAtMs = Math.max(progress.paceAtMs, this.clock.now()) + (bytes / this.bytesPerSecond) * 1000;
    const waitMs = progress.paceAtMs - this.clock.now();
    if (waitMs > 0) await this.clock.sleep(waitMs);
  }
}

/** A contact list's export: `inin-outbound-id`, its columns, and the system columns (see above). */
export function contactListFile(
  columns: readonly string[],
  phoneColumns: readonly string[],
  contacts: Iterable<ExportedContact> | (() => Iterable<ExportedContact>),
): ExportFile {
  return {
    header: [
      CONTACT_ID_COLUMN,
      ...columns,
      ...CONTACT_SYSTEM_COLUMNS,
      ...phoneColumns.flatMap(phoneSystemColumns),
    ],
    rows: function* () {
      for (const contact of typeof contacts === "function" ? contacts() : contacts)
        yield contactRow(contact, columns, phoneColumns);
    },
  };
}

/**
 * `rows` made-up contacts generated on the fly, for exports of a list the simulator does not keep
 * (`retainContacts: false`): ids `c0`, `c1`...; every third contact was tried on each phone
 * column (ININ-OUTBOUND-NO-ANSWER, a second apart before `atMs`), every tenth is not callable.
 * Rows are built as strings directly: a million of them must not take longer than the download.
 */
export function syntheticContactListFile(
  rows: number,
  columns: readonly string[],
  phoneColumns: readonly string[],
  atMs: number,
): ExportFile {
  const phones = new Set(phoneColumns);
  return {
    header: contactListFile(columns, phoneColumns, []).header,
    rows: function* () {
      for (let index = 0; index < rows; index += 1) {
        const row = [`c${index}`];
        for (const column of columns)
          row.push(phones.has(column) ? `+1555${String(index).padStart(7, "0")}` : `${column}-${index}`);
        row.push(index % 10 === 9 ? "0" : "1", "", "", "", "");
        const tried = index % 3 === 0;
        const attempt = tried ? new Date(atMs - index * 1000).toISOString() : "";
        const result = tried ? "ININ-OUTBOUND-NO-ANSWER" : "";
        for (let phone = 0; phone < phoneColumns.length; phone += 1)
          row.push(attempt, result, "", "", "", "1", "", "", "");
        yield row;
      }
    },
  };
}

function contactRow(
  contact: ExportedContact,
  columns: readonly string[],
  phoneColumns: readonly string[],
): string[] {
  return [
    contact.id,
    ...columns.map((column) => valueOf(contact.data, column)),
    contact.callable ? "1" : "0",
    "",
    "",
    "",
    "",
    ...phoneColumns.flatMap((column) => {
      const record = contact.callRecords?.[column];
      const callable = contact.phoneNumberStatus?.[column]?.callable !== false;
      return [
        record?.lastAttempt ?? "",
        record?.lastResult ?? "",
        record?.lastAgentWrapup ?? "",
        "",
        "",
        callable ? "1" : "0",
        "",
        "",
        "",
      ];
    }),
  ];
}

/** A column's value; Genesys matches column names case-insensitively. */
function valueOf(data: Readonly<Record<string, string>>, column: string): string {
  if (column in data) return data[column]!;
  const wanted = column.toLowerCase();
  const found = Object.keys(data).find((key) => key.toLowerCase() === wanted);
  return found === undefined ? "" : data[found]!;
}

function csvLine(fields: readonly string[]): string {
  let line = "";
  for (let index = 0; index < fields.length; index += 1) {
    const field = fields[index]!;
    line += `${index === 0 ? "" : ","}"${field.includes('"') ? field.replace(/"/g, '""') : field}"`;
  }
  return `${line}\n`;
}

function* linesOf(file: ExportFile): Generator<string> {
  yield `\ufeff${csvLine(file.header)}`;
  for (const row of file.rows()) yield csvLine(row);
}

function* chunksOf(file: ExportFile): Generator<Buffer> {
  let pending = "";
  for (const line of linesOf(file)) {
    pending += line;
    if (pending.length >= CHUNK_CHARS) {
      yield Buffer.from(pending);
      pending = "";
    }
  }
  if (pending !== "") yield Buffer.from(pending);
}

function byteLengthOf(file: ExportFile): number {
  let bytes = 0;
  for (const line of linesOf(file)) bytes += Buffer.byteLength(line);
  return bytes;
}

/** Resolves when `res` drains or closes (a client gone away never drains). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** An S3-style error: XML, as the storage behind a signed URL answers. */
function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>${randomBytes(8).toString("hex").toUpperCase()}</RequestId></Error>`;
  res.writeHead(status, {
    "content-type": "application/xml",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}
