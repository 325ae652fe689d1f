import type { Logger } from "pino";
import { failureClass } from "../genesys/errors";
import type { ImportLane } from "../shared/layout";
import type { Clock } from "../time/clock";
import type { Claim } from "./claims";
import { isStop } from "./errors";
import type { ImportMetrics } from "./metrics";

/**
 * What a file's import reports, by any path (the contacts API, importer.ts; the bulk upload,
 * bulk-load.ts; the removal of ids, removals.ts): its progress as it goes, its outcome at the end,
 * and the ends the paths share (refused whole, handed back, vanished).
 */

/** What the shared ends count and time with. */
export interface OutcomeDependencies {
  readonly metrics: ImportMetrics;
  readonly clock: Clock;
}

export interface FileProgress {
  readonly name: string;
  /** How the file is loaded (its inbox folder); absent: the contacts API. */
  mode?: ImportLane;
  /** A bulk load's step: validating, clearing, uploading, importing. */
  phase?: string;
  /** A bulk load's progress as Genesys reports it. */
  percentComplete?: number;
  rowsRead: number;
  accepted: number;
  rejected: number;
  synced: number;
  /** Rows in batches the journal already listed (sent before a crash or a handover). */
  alreadySynced: number;
  batchesSent: number;
}

export function newProgress(name: string): FileProgress {
  return { name, rowsRead: 0, accepted: 0, rejected: 0, synced: 0, alreadySynced: 0, batchesSent: 0 };
}

/**
 * `failed`: a bulk load that Genesys took but whose import failed (its failureReason is the reason).
 * `removed*`: a file of inbox/remove/ read to its end: every id gone from the list (`removed`),
 * some lines refused (`removed_with_rejects`), or some contacts kept by Genesys through every
 * retry, a campaign using them (`removed_with_kept`, whatever the rejects).
 */
export type FileStatus =
  | "imported"
  | "imported_with_rejects"
  | "partial"
  | "rejected"
  | "failed"
  | "released"
  | "removed"
  | "removed_with_rejects"
  | "removed_with_kept";

export interface FileOutcome extends FileProgress {
  readonly status: FileStatus;
  readonly reason?: string;
  readonly rejectsReport?: string;
  readonly remainder?: string;
  readonly movedTo?: string;
  readonly elapsedSeconds: number;
  /** Said before the import, such as the list nearing what it holds. */
  readonly warnings?: readonly string[];
  /** Rejected rows past IMPORT_MAX_REJECTED_ROWS: counted in `rejected`, not listed in the report. */
  readonly rejectedNotListed?: number;
  /** A bulk load's upload and Genesys' import of it. */
  readonly bulk?: BulkLoadSummary;
  /** A removal's result (inbox/remove/): `synced` and `alreadySynced` count ids gone from the list. */
  readonly removal?: RemovalSummary;
}

export interface RemovalSummary {
  /**
   * Ids not in the list after the removal: removed now, or never in it. The two are not told
   * apart: that would cost a read of every batch before its removal (removals.ts).
   */
  readonly removedOrAbsent: number;
  /** Ids still in the list after every retry: Genesys kept them, a campaign was using them. */
  readonly kept: number;
  /** The first of the kept ids (all of them are in `keptIdsFile`). */
  readonly keptByGenesys: readonly string[];
  /** Every kept id, one a line: a file to drop in inbox/remove/ again once the campaign is done with them. */
  readonly keptIdsFile?: string;
  /** Rounds of retrying the kept ids after the file's batches, each after a wait. */
  readonly retryRounds: number;
}

export interface BulkLoadSummary {
  /** Whether the list was cleared first (inbox/replace/). */
  readonly cleared: boolean;
  /** Uploads sent: 1, or more only when one was refused or never reached Genesys. */
  readonly uploads: number;
  /** Genesys' import status at the end: totalRecords, completedRecords, failureReason. */
  readonly totalRecords?: number;
  readonly completedRecords?: number;
  readonly failureReason?: string;
}

/**
 * Hands a file back to the inbox (unless its claim was lost) when its import stopped early: on
 * shutdown, a lost claim or an error. Its journal stays for whoever resumes it. A target-fatal
 * error has been reported by the gate and a shutdown is no error; anything else is rethrown.
 */
export async function releaseClaimedFile(
  claim: Claim,
  stop: { readonly claimLost: boolean; readonly failure: unknown },
  progress: FileProgress,
  deps: OutcomeDependencies,
  log: Logger,
  startedMs: number,
  message: string,
): Promise<FileOutcome> {
  const { claimLost, failure } = stop;
  if (!claimLost) await claim.release();
  deps.metrics.files.inc({ outcome: "released" });
  const stoppedByError = failure !== undefined && !isStop(failure);
  const reason = claimLost
    ? "the claim was taken over by another replica (this one stalled past IMPORT_CLAIM_TIMEOUT_SECONDS)"
    : stoppedByError
      ? `stopped by an error: ${failure instanceof Error ? failure.message : String(failure)}`
      : "shutting down";
  log.warn({ ...progress, reason }, message);
  // The gate has said why, once; the file waits in the inbox with its journal until it is fixed.
  if (stoppedByError && failureClass(failure) !== "target-fatal") throw failure;
  return { ...progress, status: "released", reason, elapsedSeconds: (deps.clock.now() - startedMs) / 1000 };
}

/** Moves a claimed file to rejects/ with the reason beside it, counts it and says so. */
export async function refuseClaimedFile(
  claim: Claim,
  reason: string,
  progress: FileProgress,
  deps: OutcomeDependencies,
  log: Logger,
  startedMs: number,
  rejectsReport?: string,
): Promise<FileOutcome> {
  const movedTo = await claim.reject(reason);
  deps.metrics.files.inc({ outcome: "rejected" });
  log.warn({ reason, movedTo, synced: progress.synced, rejectsReport }, "file refused as a whole");
  return {
    ...progress,
    status: "rejected",
    reason,
    movedTo,
    ...(rejectsReport ? { rejectsReport } : {}),
    elapsedSeconds: (deps.clock.now() - startedMs) / 1000,
  };
}

/** Why a file written to after its claim was put aside, and what of it already reached Genesys. */
export function changedReason(change: string, progress: FileProgress): string {
  const sent = progress.synced + progress.alreadySynced;
  return (
    `the file changed after it was claimed (${change}): its writer did not follow write-then-rename, ` +
    `so rows written after the claim would have been missed. ${sent} row(s) read before the change were sent to Genesys and stay there. ` +
    `Fix: write the file under a dot-name or a .tmp/.part name and rename it into the inbox once it is complete, then drop the whole file again (rows already sent are updated, not duplicated)`
  );
}

/**
 * A file deleted from processing/ before its import could finish: said, counted, and summarised in
 * rejects/; `reason` replaces the import's words (a removal says what it had removed).
 */
export async function vanishedFile(
  claim: Claim,
  progress: FileProgress,
  deps: OutcomeDependencies,
  log: Logger,
  startedMs: number,
  reason: string = `the file was deleted from processing/ while it was being imported (by someone other than this service); ` +
    `${progress.synced + progress.alreadySynced} row(s) had been sent. Drop the file again to import the rest (rows already sent are updated, not duplicated)`,
): Promise<FileOutcome> {
  const movedTo = await claim.reject(reason);
  deps.metrics.files.inc({ outcome: "rejected" });
  log.error({ reason, synced: progress.synced }, "file vanished mid-import");
  return {
    ...progress,
    status: "rejected",
    reason,
    movedTo,
    elapsedSeconds: (deps.clock.now() - startedMs) / 1000,
  };
}
