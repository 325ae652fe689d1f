import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { parse } from "csv-parse";
import type { Clock } from "../src/time/clock";

/**
 * Genesys Cloud's bulk contact-list load, as the facts file describes it:
 * `POST /api/v2/outbound/contactlists/uploads` returns a presigned URL and the headers to PUT the
 * CSV with; Genesys then imports it in the background, and
 * `GET /api/v2/outbound/contactlists/{id}/importstatus` reports `IN_PROGRESS` (or `FAILED` with a
 * `failureReason`), `totalRecords`, `completedRecords` and `percentComplete`. There is no
 * COMPLETE state: no state and 100 % means done. `POST .../clear` empties the list.
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

interface ImportJob {
  readonly startedMs: number;
  readonly totalRecords: number;
  readonly failureReason: string | undefined;
  /** The rows, until they are applied to the list when the import completes. */
  rows: Array<{ id: string; data: Record<string, string> }> | undefined;
}

/** Where the simulator keeps contacts: the list's map, or only a count (benchmarks). */
export interface UploadTarget {
  listExists(listId: string): boolean;
  upsert(listId: string, contacts: ReadonlyArray<{ id: string; data: Record<string, string> }>): void;
  clear(listId: string): void;
}

export const MAX_LIST_COLUMNS = 50;
const UPLOAD_PATH = "/__uploads/";

export class UploadStore {
  private readonly pending = new Map<string, PendingUpload>();
  private readonly imports = new Map<string, ImportJob>();
  /** Uploads whose PUT arrived, for assertions (a crash-safe client never sends one twice). */
  readonly received: Array<{ readonly listId: string; readonly records: number; readonly atMs: number }> = [];

  constructor(
    private readonly clock: Clock,
    private readonly target: UploadTarget,
    /** How fast Genesys works through an uploaded file; default 20,000 records a second. */
    private readonly recordsPerSecond = 20_000,
  ) {}

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

  /** The PUT to a presigned URL: streams the CSV, starts the background import. */
  async receive(pathname: string, req: IncomingMessage): Promise<[number, unknown]> {
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
    const rows: Array<{ id: string; data: Record<string, string> }> = [];
    let header: string[] | undefined;
    let records = 0;
    let failureReason: string | undefined;
    const parser = req.pipe(parse({ bom: true, relax_column_count: false, skip_empty_lines: true }));
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        if (!header) {
          header = record;
          if (header.length > MAX_LIST_COLUMNS) failureReason = "CONTACT_COLUMNS_LIMIT_EXCEEDED";
          else if (!header.includes(upload.contactIdName)) failureReason = "MISSING_CUSTOM_ID";
          continue;
        }
        records += 1;
        if (failureReason) continue;
        const data = Object.fromEntries(header.map((column, index) => [column, record[index] ?? ""]));
        rows.push({ id: data[upload.contactIdName]!, data });
      }
    } catch {
      failureReason ??= "INVALID_FILE_FORMAT";
    }
    this.received.push({ listId: upload.listId, records, atMs: this.clock.now() });
    this.imports.set(upload.listId, {
      startedMs: this.clock.now(),
      totalRecords: records,
      failureReason,
      rows: failureReason ? undefined : rows,
    });
    return [200, undefined];
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
    if (job.rows) {
      this.target.upsert(listId, job.rows);
      job.rows = undefined;
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
}

function invalid(message: string): [number, unknown] {
  return [400, { message, code: "invalid.value", status: 400 }];
}

function notFound(message: string): [number, unknown] {
  return [404, { message, code: "not.found", status: 404 }];
}
