import { ClientClosedError } from "../genesys/errors";
import { ServiceError } from "../shared/errors";

/**
 * The import's own errors: one class per kind, each with its constant `code` (the undici
 * `lib/core/errors.js` habit, as in genesys/errors.ts).
 */
export class ImportError extends ServiceError {}

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

/** Genesys refused a file as a whole (a bulk upload it will never take as it is); `reason` says why and the fix. */
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
