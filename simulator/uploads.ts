import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Writable } from "node:stream";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import busboy from "busboy";
import { parse } from "csv-parse";
import type { Answer } from "./errors";
import type { Clock } from "../app/src/time/clock";

/**
 * Genesys Cloud's bulk contact-list load, as the facts file describes it, in both of its forms.
 *
 * - Presigned: `POST /api/v2/outbound/contactlists/uploads` returns a presigned URL and the
 *   headers to PUT the CSV with; the URL is storage, not the API, so it takes no bearer token.
 *   The simulator serves it at `<apiBaseUrl>/__uploads/<key>`, once, before it expires.
 * - Multipart (the older form the Terraform provider still uses): `POST
 *   https://apps.<domain>/uploads/v2/contactlist` with the fields `id`, `fileType=contactlist`,
 *   `contact-id-name` and a `file` part, in any order. The simulator serves it on the API server
 *   (`GENESYS_APPS_BASE_URL` is the API base URL), as an API call: bearer token, budget and faults
 *   apply, but not the 512,000-byte body cap, since it carries whole files.
 *
 * Either way Genesys then imports the file in the background, and
 * `GET /api/v2/outbound/contactlists/{id}/importstatus` reports `IN_PROGRESS` (or `FAILED` with a
 * `failureReason`), `totalRecords`, `completedRecords` and `percentComplete`. There is no
 * COMPLETE state: no state and 100 % means done. `POST .../clear` empties the list.
 *
 * Bodies are streamed, never held whole: a file of a million rows goes from the socket through
 * the multipart parser into csv-parse. The server can read them slowly (`bytesPerSecond`, on the
 * injected clock) so a test can stop a client mid-upload; an upload whose body does not arrive
 * whole starts no import and is counted in `aborted`, not in `received`, as Genesys never sees a
 * file that did not finish uploading.
 */

/** The body of `POST /api/v2/outbound/contactlists/uploads`. */
interface UploadBody {
  readonly id?: unknown;
  readonly contactIdName?: unknown;
  readonly contentType?: unknown;
  readonly clearSystemData?: unknown;
  readonly signedUrlTimeoutSeconds?: unknown;
}

interface PendingUpload {
  readonly listId: string;
  readonly contactIdName: string;
  readonly expiresAtMs: number;
  readonly headers: Readonly<Record<string, string>>;
  used: boolean;
}

/** An uploaded CSV as read: its header, its records, and whether csv-parse gave up on it. */
interface CsvFile {
  readonly header: readonly string[] | undefined;
  readonly records: ReadonlyArray<readonly string[]>;
  readonly formatError: boolean;
}

interface ImportJob {
  readonly startedMs: number;
  readonly totalRecords: number;
  readonly failureReason: string | undefined;
  /** The file and its id column, until its rows are applied to the list when the import completes. */
  pending: { readonly file: CsvFile; readonly idColumn: number } | undefined;
}

/** Where the simulator keeps contacts: the list's map, or only a count (benchmarks). */
export interface UploadTarget {
  listExists(listId: string): boolean;
  upsert(listId: string, contacts: ReadonlyArray<{ id: string; data: Record<string, string> }>): void;
  clear(listId: string): void;
}

export interface UploadStoreOptions {
  /** How fast Genesys works through an uploaded file; default 20,000 records a second. */
  readonly recordsPerSecond?: number;
  /** How fast the server reads an upload's body, on the clock; default as fast as it arrives. */
  readonly bytesPerSecond?: number;
}

/** One upload that arrived whole. */
export interface ReceivedUpload {
  readonly listId: string;
  readonly records: number;
  readonly atMs: number;
  readonly via: "presigned" | "multipart";
}

export const MAX_LIST_COLUMNS = 50;
const UPLOAD_PATH = "/__uploads/";
/** The multipart form's path on the apps host (the simulator's API server). */
export const MULTIPART_UPLOAD_PATH = "/uploads/v2/contactlist";
/** Rows handed to the list at a time when an import completes, so a million-row file is not copied whole. */
const APPLY_BATCH = 10_000;

export class UploadStore {
  private readonly pending = new Map<string, PendingUpload>();
  private readonly imports = new Map<string, ImportJob>();
  /** Bodies being read now, with the bytes read of each so far. */
  private readonly inFlight = new Set<{ bytesRead: number }>();
  private abortedUploads = 0;
  private readonly recordsPerSecond: number;
  private readonly bytesPerSecond: number | undefined;
  /** Uploads whose body arrived whole, for assertions (a crash-safe client never sends one twice). */
  readonly received: ReceivedUpload[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly target: UploadTarget,
    options: UploadStoreOptions = {},
  ) {
    this.recordsPerSecond = options.recordsPerSecond ?? 20_000;
    this.bytesPerSecond = options.bytesPerSecond;
    if (!(this.recordsPerSecond > 0)) throw new Error("uploadRecordsPerSecond must be more than 0");
    if (this.bytesPerSecond !== undefined && !(this.bytesPerSecond > 0))
      throw new Error("uploadBytesPerSecond must be more than 0, or left out for no limit");
  }

  /**
   * Failure reasons the next imports end with whatever their content (a test's way to reach a
   * failure the client cannot foresee, such as a limit on Genesys' side), first in, first used.
   */
  readonly forcedFailures: string[] = [];

  /** Uploads whose body did not arrive whole (client killed, connection dropped): no import was started. */
  get aborted(): number {
    return this.abortedUploads;
  }

  /** The upload counts that `GET /__simulator/stats` serves. */
  stats(): {
    uploadsReceived: number;
    uploadsAborted: number;
    uploadBytesInFlight: number;
    uploadedRecords: number;
  } {
    return {
      uploadsReceived: this.received.length,
      uploadsAborted: this.abortedUploads,
      uploadBytesInFlight: [...this.inFlight].reduce((sum, upload) => sum + upload.bytesRead, 0),
      uploadedRecords: this.received.reduce((sum, upload) => sum + upload.records, 0),
    };
  }

  /** `POST /api/v2/outbound/contactlists/uploads`. */
  create(body: unknown, apiBaseUrl: string): [number, unknown] {
    const request = (typeof body === "object" && body !== null ? body : {}) as UploadBody;
    if (typeof request.id !== "string" || request.id === "")
      return invalid("id is required: the contact list id");
    if (!this.target.listExists(request.id)) return notFound(`contact list ${request.id} not found`);
    if (typeof request.contactIdName !== "string" || request.contactIdName === "")
      return invalid("contactIdName is required: the column holding each contact's id");
    if (request.contentType !== undefined && request.contentType !== "csv")
      return invalid("contentType must be csv");
    const timeout = request.signedUrlTimeoutSeconds ?? 600;
    if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < 1 || timeout > 604_800)
      return invalid("signedUrlTimeoutSeconds must be a whole number from 1 to 604800");
    if (request.clearSystemData !== undefined && typeof request.clearSystemData !== "boolean")
      return invalid("clearSystemData must be true or false");
    const uploadKey = `${request.id}/${randomBytes(12).toString("hex")}.csv`;
    const headers = { "Content-Type": "text/csv", "x-amz-meta-organizationid": "simulated-org" };
    this.pending.set(uploadKey, {
      listId: request.id,
      contactIdName: request.contactIdName,
      expiresAtMs: this.clock.now() + timeout * 1000,
      headers,
      used: false,
    });
    return [200, { url: `${apiBaseUrl}${UPLOAD_PATH}${encodeURIComponent(uploadKey)}`, uploadKey, headers }];
  }

  /** Whether a request is a PUT to a presigned URL (it carries no bearer token). */
  static isUpload(pathname: string): boolean {
    return pathname.startsWith(UPLOAD_PATH);
  }

  /**
   * The PUT to a presigned URL: streams the CSV, starts the background import. Undefined when
   * the body did not arrive whole: there is nobody left to answer, and the URL may be used again.
   */
  async receive(pathname: string, req: IncomingMessage): Promise<[number, unknown] | undefined> {
    const key = decodeURIComponent(pathname.slice(UPLOAD_PATH.length));
    const upload = this.pending.get(key);
    if (!upload || upload.used || this.clock.now() > upload.expiresAtMs) {
      req.resume();
      return [403, { message: "Request has expired or the signature does not match", code: "AccessDenied" }];
    }
    for (const [name, value] of Object.entries(upload.headers)) {
      if (req.headers[name.toLowerCase()] !== value) {
        req.resume();
        return [
          403,
          { message: `The presigned URL needs the header ${name} it was issued with`, code: "AccessDenied" },
        ];
      }
    }
    upload.used = true;
    const body = await this.readUploadBody(req, readCsv);
    if (!body) {
      upload.used = false;
      return undefined;
    }
    this.startImport(upload.listId, upload.contactIdName, body.value, "presigned");
    return [200, undefined];
  }

  /**
   * The multipart `POST /uploads/v2/contactlist`, once the caller has checked the token and the
   * budget. `refuse` answers for a list the caller's role may not upload to (or that was deleted).
   * Undefined when the body did not arrive whole.
   */
  async receiveMultipart(
    req: IncomingMessage,
    refuse: (listId: string) => Answer | undefined,
  ): Promise<Answer | undefined> {
    if (!/^multipart\/form-data\s*(;|$)/i.test(req.headers["content-type"] ?? ""))
      return invalid(
        "The body must be multipart/form-data with the fields id, fileType, contact-id-name, file",
      );
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: req.headers, limits: { fieldSize: 64 * 1024 } });
    } catch (error) {
      return invalid(`The multipart/form-data body cannot be read: ${(error as Error).message}`);
    }
    const fields = new Map<string, string>();
    let fileSentAsField = false;
    let file: Promise<CsvFile> | undefined;
    form.on("field", (name, value) => {
      if (name === "file") fileSentAsField = true;
      else if (!fields.has(name)) fields.set(name, value);
    });
    form.on("file", (name, stream) => {
      if (name !== "file" || file) {
        stream.resume();
        return;
      }
      file = readCsv(stream);
      // Awaited below once the form is read; a torn body rejects it before that.
      file.catch(() => undefined);
    });
    const body = await this.readUploadBody(req, async (chunks) => {
      const malformed = await feed(chunks, form);
      return { malformed, csv: malformed ? undefined : await file };
    });
    if (!body) return undefined;
    const { malformed, csv } = body.value;
    if (malformed) return invalid(`The multipart/form-data body cannot be read: ${malformed.message}`);
    const listId = fields.get("id");
    if (!listId) return invalid("id is required: the contact list id");
    if (fields.get("fileType") !== "contactlist") return invalid("fileType must be contactlist");
    const contactIdName = fields.get("contact-id-name");
    if (!contactIdName) return invalid("contact-id-name is required: the column holding each contact's id");
    if (fileSentAsField) return invalid("file must be a file part: a Content-Disposition with a filename");
    if (!csv) return invalid("file is required: the CSV, as a file part");
    const refusal = refuse(listId);
    if (refusal) return refusal;
    if (!this.target.listExists(listId)) return notFound(`contact list ${listId} not found`);
    this.startImport(listId, contactIdName, csv, "multipart");
    return [200, {}];
  }

  /** `GET /api/v2/outbound/contactlists/{id}/importstatus`. */
  status(listId: string): [number, unknown] {
    if (!this.target.listExists(listId)) return notFound(`contact list ${listId} not found`);
    const job = this.imports.get(listId);
    if (!job) return [200, { totalRecords: 0, completedRecords: 0, percentComplete: 100 }];
    if (job.failureReason)
      return [
        200,
        {
          state: "FAILED",
          totalRecords: job.totalRecords,
          completedRecords: 0,
          percentComplete: 0,
          failureReason: job.failureReason,
        },
      ];
    const elapsedSeconds = Math.max(0, this.clock.now() - job.startedMs) / 1000;
    const completed = Math.min(job.totalRecords, Math.floor(elapsedSeconds * this.recordsPerSecond));
    if (completed < job.totalRecords)
      return [
        200,
        {
          state: "IN_PROGRESS",
          totalRecords: job.totalRecords,
          completedRecords: completed,
          percentComplete: Math.floor((completed / job.totalRecords) * 100),
        },
      ];
    if (job.pending) {
      this.apply(listId, job.pending.file, job.pending.idColumn);
      job.pending = undefined;
    }
    return [
      200,
      { totalRecords: job.totalRecords, completedRecords: job.totalRecords, percentComplete: 100 },
    ];
  }

  /** `POST /api/v2/outbound/contactlists/{id}/clear`. */
  clear(listId: string): [number, unknown] {
    if (!this.target.listExists(listId)) return notFound(`contact list ${listId} not found`);
    this.target.clear(listId);
    return [204, undefined];
  }

  /**
   * Reads an upload's body through `consume`, counting its bytes in flight and pacing it to
   * `bytesPerSecond`. Undefined, and counted in `aborted`, when the body did not arrive whole.
   */
  private async readUploadBody<T>(
    req: IncomingMessage,
    consume: (chunks: AsyncIterable<Buffer>) => Promise<T>,
  ): Promise<{ value: T } | undefined> {
    const progress = { bytesRead: 0 };
    this.inFlight.add(progress);
    try {
      const value = await consume(this.meter(req, progress));
      if (req.complete) return { value };
    } catch (error) {
      // A body that did arrive whole cannot fail here: that would be the simulator's own bug.
      if (req.complete) throw error;
    } finally {
      this.inFlight.delete(progress);
    }
    this.abortedUploads += 1;
    return undefined;
  }

  /**
   * The request's chunks, no faster than `bytesPerSecond` on the clock: each slice (a tenth of a
   * second's worth) waits for its time before it is read. While the generator waits nobody reads
   * the request, so Node stops reading the socket and the client's writes back up, as on a slow
   * network.
   */
  private async *meter(req: IncomingMessage, progress: { bytesRead: number }): AsyncGenerator<Buffer> {
    const rate = this.bytesPerSecond;
    let readAtMs = this.clock.now();
    for await (const chunk of req as AsyncIterable<Buffer>) {
      const sliceBytes = rate === undefined ? chunk.length : Math.max(1, Math.floor(rate / 10));
      for (let offset = 0; offset < chunk.length; offset += sliceBytes) {
        const slice = chunk.subarray(offset, offset + sliceBytes);
        if (rate !== undefined) {
          readAtMs = Math.max(readAtMs, this.clock.now()) + (slice.length / rate) * 1000;
          const waitMs = readAtMs - this.clock.now();
          if (waitMs > 0) await this.clock.sleep(waitMs);
        }
        progress.bytesRead += slice.length;
        yield slice;
      }
    }
  }

  /** Records a whole upload and starts its background import: FAILED with Genesys' reason if it cannot be imported. */
  private startImport(
    listId: string,
    contactIdName: string,
    file: CsvFile,
    via: ReceivedUpload["via"],
  ): void {
    // Genesys matches column names case-insensitively.
    const wanted = contactIdName.toLowerCase();
    const idColumn = file.header?.findIndex((column) => column.toLowerCase() === wanted) ?? -1;
    const failureReason = this.forcedFailures.shift() ?? failureOf(file, idColumn);
    const records = file.records.length;
    this.received.push({ listId, records, atMs: this.clock.now(), via });
    this.imports.set(listId, {
      startedMs: this.clock.now(),
      totalRecords: records,
      failureReason,
      pending: failureReason ? undefined : { file, idColumn },
    });
  }

  private apply(listId: string, file: CsvFile, idColumn: number): void {
    const header = file.header ?? [];
    for (let start = 0; start < file.records.length; start += APPLY_BATCH) {
      const rows = file.records.slice(start, start + APPLY_BATCH).map((record) => ({
        id: record[idColumn]!,
        data: Object.fromEntries(header.map((column, index) => [column, record[index] ?? ""])),
      }));
      this.target.upsert(listId, rows);
    }
  }
}

/** Why Genesys fails the import of `file`, if it does; a wrong header is reported before a parse error further down. */
function failureOf(file: CsvFile, idColumn: number): string | undefined {
  if (!file.header) return file.formatError ? "INVALID_FILE_FORMAT" : "MISSING_CUSTOM_ID";
  if (file.header.length > MAX_LIST_COLUMNS) return "CONTACT_COLUMNS_LIMIT_EXCEEDED";
  if (idColumn < 0) return "MISSING_CUSTOM_ID";
  return file.formatError ? "INVALID_FILE_FORMAT" : undefined;
}

/**
 * Reads a CSV from `chunks` to their end. A file csv-parse cannot read still arrives whole (the
 * rest is drained): Genesys takes the upload and fails the import with INVALID_FILE_FORMAT.
 * Rejects only when `chunks` does (a torn body).
 */
async function readCsv(chunks: AsyncIterable<Buffer>): Promise<CsvFile> {
  const parser = parse({ bom: true, relax_column_count: false, skip_empty_lines: true });
  let header: string[] | undefined;
  const records: string[][] = [];
  parser.on("data", (record: string[]) => {
    if (header) records.push(record);
    else header = record;
  });
  const formatError = await feed(chunks, parser);
  return { header, records, formatError: formatError !== undefined };
}

/**
 * Writes `chunks` into `sink` with backpressure and ends it. Once the sink fails, the rest is
 * drained instead, so the request can still be answered; the sink's error is returned. Rejects
 * when `chunks` does, after destroying the sink so that whatever reads from it stops too.
 */
async function feed(chunks: AsyncIterable<Buffer>, sink: Writable): Promise<Error | undefined> {
  let failure: Error | undefined;
  sink.on("error", (error: Error) => (failure ??= error));
  try {
    for await (const chunk of chunks) {
      if (failure || sink.write(chunk)) continue;
      // `once` rejects when the sink errs while we wait; the handler above has kept the error.
      await once(sink, "drain").catch(() => undefined);
    }
  } catch (error) {
    sink.destroy(error as Error);
    throw error;
  }
  if (!failure) {
    sink.end();
    await finished(sink).catch(() => undefined);
  }
  return failure;
}

function invalid(message: string): [number, unknown] {
  return [400, { message, code: "invalid.value", status: 400 }];
}

function notFound(message: string): [number, unknown] {
  return [404, { message, code: "not.found", status: 404 }];
}
