import type { ErrorCodeDoc } from "../shared/errors";
import { ServiceError } from "../shared/errors";

/**
 * Every code the results export and the webhook raise, with what it means and what to do: the
 * one list for the troubleshooting page, as GENESYS_ERROR_CODES is for the client. An export
 * error can only use a code listed here (ExportError's constructor), and a test shows that every
 * listed code has its class.
 */
export const EXPORT_ERROR_CODES = {
  EXPORT_LEADERSHIP_LOST: {
    meaning:
      "This replica stopped holding the Lease while it polled or re-read: it published nothing, and the new leader polls the same window.",
    action:
      "Nothing: no result is lost or written twice. If it is frequent, check that the pods reach the Kubernetes API in time (LEADER_ELECTION_RENEW_DEADLINE_SECONDS) and that the nodes' clocks agree.",
  },
  EXPORT_JOB_FAILED: {
    meaning:
      "A conversation details job (a long window, a first run or --backfill) ended FAILED, CANCELLED or EXPIRED without results.",
    action:
      "Nothing for the poller: its next poll submits the window again. For --backfill, run it again; a smaller range is quicker. The message carries Genesys' own reason.",
  },
  EXPORT_JOB_TIMEOUT: {
    meaning: "A conversation details job was still running when its deadline (30 min by default) passed.",
    action:
      "Nothing for the poller: its next poll tries again. For --backfill, run it again over a smaller range; Genesys may be slow now.",
  },
  EXPORT_TOO_MANY_IDS: {
    meaning:
      "A read of conversations by id was given more than the 100 ids Genesys takes in one request; nothing was sent.",
    action: "Report it: the re-read splits its reads into 100 ids each, so this is a bug in the caller.",
  },
  EXPORT_LIST_NOT_READY: {
    meaning:
      "A contact list's export (for a snapshot in outbox/lists/) was not ready within EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS: no snapshot was published for that route this time.",
    action:
      "Nothing for one occurrence: the next scheduled snapshot tries again. If it lasts, raise EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS for a large list, and check the export in Genesys Cloud (Admin > Outbound > Contact lists > Export).",
  },
  EXPORT_LIST_ANSWER_UNEXPECTED: {
    meaning:
      "Genesys answered a contact list's export or its download with something the snapshot cannot use: no download URI, a URI that names no download id, or no signed URL.",
    action:
      "Nothing for one occurrence: the next scheduled snapshot tries again. If it lasts, report it with the message, which names the answer's shape (never a URL's signature).",
  },
  EXPORT_LIST_DOWNLOAD_REFUSED: {
    meaning:
      "The signed download URL Genesys gave for a snapshot points at a host the service does not download from, or is not https: nothing was fetched.",
    action:
      "If that host is where Genesys serves your region's exports, add it to EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS (the chart's export.listSnapshotDownloadHosts; the stack's Cilium policy follows) and allow it at the proxy; the message names it.",
  },
  EXPORT_LIST_DOWNLOAD_FAILED: {
    meaning:
      "A snapshot's download failed after its retries: the download host answered an error, a redirect, or the connection broke or stalled before the whole file arrived. The partial file was removed; nothing was published.",
    action:
      "Nothing for one occurrence: the next scheduled snapshot tries again. If it lasts, check the path to the download host (the egress policy, the proxy's allow list and its timeouts for large responses).",
  },
  WEBHOOK_BODY_EMPTY: {
    meaning: "A pushed event came with an empty body (answered 400).",
    action: "Make the data action send the event as a JSON object in the body.",
  },
  WEBHOOK_BODY_NOT_JSON: {
    meaning: "A pushed event's body was not valid JSON (answered 400).",
    action:
      "Check the data action's request template: it must send application/json, with its values escaped for JSON.",
  },
  WEBHOOK_BODY_TOO_DEEP: {
    meaning: "A pushed event nested objects and arrays deeper than 32 levels (answered 400).",
    action: "Flatten the event's data: a data action's event needs a few levels at most.",
  },
  WEBHOOK_BODY_PROTOTYPE_KEY: {
    meaning:
      "A pushed event had a key named __proto__ or constructor.prototype, which could change the prototype of objects built from it (answered 400).",
    action: "Rename that key in the data action's request template.",
  },
  WEBHOOK_BODY_TIMEOUT: {
    meaning:
      "A caller with valid credentials did not send the whole body within 10 s of the headers (answered 408, connection closed).",
    action:
      "Nothing for one occurrence. If it is frequent, check the path from Genesys to the service (ingress, proxy buffering) for slow or stalled uploads.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type ExportErrorCode = keyof typeof EXPORT_ERROR_CODES;

/** The base of the export's and the webhook's errors: a listed code, `retryable`, `cause` kept. */
export class ExportError extends ServiceError<ExportErrorCode> {}

/** A contact list's export was not ready within the snapshot's timeout. */
export class ListExportNotReadyError extends ExportError {
  constructor(contactListId: string, waitedMs: number) {
    super(
      "EXPORT_LIST_NOT_READY",
      `the export of contact list ${contactListId} was not ready after ${Math.round(waitedMs / 1000)} s (EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS); the next snapshot tries again`,
      { retryable: true },
    );
  }
}

/** Genesys answered an export or a download with a shape the snapshot cannot use. */
export class ListExportAnswerError extends ExportError {
  constructor(what: string) {
    super("EXPORT_LIST_ANSWER_UNEXPECTED", `Genesys answered ${what}`, { retryable: true });
  }
}

/** A signed download URL the service will not fetch (host or scheme); the message names the host. */
export class DownloadRefusedError extends ExportError {
  constructor(reason: string) {
    super("EXPORT_LIST_DOWNLOAD_REFUSED", reason);
  }
}

/** A download that failed after its retries: an error status, a redirect, a broken or stalled body. */
export class DownloadFailedError extends ExportError {
  /** The HTTP status the download host answered, when it answered. */
  readonly status: number | undefined;
  constructor(message: string, fields: { readonly status?: number; readonly cause?: unknown } = {}) {
    super("EXPORT_LIST_DOWNLOAD_FAILED", message, { cause: fields.cause, retryable: true });
    this.status = fields.status;
  }
}
