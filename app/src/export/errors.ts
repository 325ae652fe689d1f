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
