import { ClientClosedError } from "../genesys/errors";
import type { ErrorCodeDoc } from "../shared/errors";
import { ServiceError } from "../shared/errors";

/**
 * Every code the import raises, with what it means and what to do: the one list for the
 * troubleshooting page, as GENESYS_ERROR_CODES is for the client. An import error can only use a
 * code listed here (ImportError's constructor), and a test shows that every listed code has its
 * class.
 */
export const IMPORT_ERROR_CODES = {
  IMPORT_REPLICA_ID_INVALID: {
    meaning:
      "The replica id cannot name this replica's folder in processing/: it holds a slash or a tilde, starts with a dot, or its nonce is not 8 hex digits. The service does not start.",
    action:
      "Set POD_NAME (or the host name) to a name without a slash or a tilde that does not start with a dot; Kubernetes pod names always qualify.",
  },
  IMPORT_BATCHER_INVARIANT: {
    meaning:
      "The batcher completed two batches with one contact, which its limits make impossible: the file's import stops and the file goes back to the inbox.",
    action: "Report it with the file's name and the log line: it is a bug in the service, not in the file.",
  },
  IMPORT_STOPPED: {
    meaning:
      "A file's import stopped on purpose: the service is shutting down, or the file's claim was lost, deleted or changed. No failure: the file goes back to the inbox (or aside) with its journal.",
    action: "Nothing: whichever replica takes the file next resumes it after its last acknowledged batch.",
  },
  IMPORT_FILE_REFUSED: {
    meaning:
      "A bulk load was refused as a whole before anything reached the list: its header, a line the reader cannot get past, mostly bad rows or a change after its claim, or Genesys refusing the upload itself (a 403 for uploads alone, a 400). The file goes to rejects/ with the reason.",
    action:
      "Read the reason beside the file in rejects/ and do what it says (fix the file, or give the OAuth client's role the permission it names), then drop it in inbox/bulk/ or inbox/replace/ again.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type ImportErrorCode = keyof typeof IMPORT_ERROR_CODES;

/** The base of the import's errors: a listed code, `retryable`, `cause` kept (undici's habit, as in genesys/errors.ts). */
export class ImportError extends ServiceError<ImportErrorCode> {}

/** A replica id that cannot name a folder of processing/ or was not made by replicaId(). */
export class ReplicaIdError extends ImportError {
  constructor(message: string) {
    super("IMPORT_REPLICA_ID_INVALID", message);
  }
}

/** The batcher broke its own rule: one contact completed two batches. A bug, never the file's fault. */
export class BatcherInvariantError extends ImportError {
  constructor(message: string) {
    super("IMPORT_BATCHER_INVARIANT", message);
  }
}

/**
 * A file's import stopped on purpose: the service is shutting down, or the file's claim was lost,
 * deleted or changed. No failure: the file goes back (or aside) with its journal.
 */
export class ImportStoppedError extends ImportError {
  constructor() {
    super("IMPORT_STOPPED", "the import of the file was stopped (shutdown, or its claim ended)");
  }
}

/** A bulk load refused as a whole, by its own checks or by Genesys; `reason` says why and the fix. */
export class FileRefusedError extends ImportError {
  readonly reason: string;
  constructor(reason: string, cause: unknown) {
    super("IMPORT_FILE_REFUSED", reason, { cause });
    this.reason = reason;
  }
}

/** True for a stop that is no failure: the import's own, or the Genesys client closed under it. */
export function isStop(error: unknown): boolean {
  return error instanceof ImportStoppedError || error instanceof ClientClosedError;
}
