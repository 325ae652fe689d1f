import { createReadStream } from "node:fs";
import { open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import {
  clearContactList,
  getImportStatus,
  uploadContactListCsv,
  type ContactListDefinition,
  type ContactListImportStatus,
} from "../genesys/api";
import { fullJitterDelayMs } from "../genesys/backoff";
import {
  failureClass,
  GenesysHttpError,
  RateLimitDeferredError,
  targetFix,
  UploadCutShortError,
  UploadOutcomeUnknownError,
} from "../genesys/errors";
import { formatOf, storageName, timestampForName } from "../shared/layout";
import type { Claim } from "./claims";
import { capacityWarning, fileHeaderProblems } from "./contact-list";
import { ImportStoppedError, isStop } from "./errors";
import {
  changedReason,
  holdClaim,
  newProgress,
  readDefinitionForFile,
  refuseClaimedFile,
  releaseClaimedFile,
  type BulkLoadSummary,
  type FileOutcome,
  type FileProgress,
  type FileStatus,
  type ImportDependencies,
} from "./importer";
import { fileIdentity, type FileIdentity } from "./journal";
import { readContactsFileChunks } from "./readers";
import { csvField, RejectsReport } from "./rejects";
import { RowValidator } from "./rows";

/**
 * Whole-list loads through Genesys' bulk upload, for files dropped in inbox/bulk/ (or
 * inbox/replace/, which clears the list first). One pass validates the file as the API path does
 * and writes the valid rows (phone numbers in E.164) to a staged CSV beside the journal; rows
 * refused locally go to the rejects report. The staged file is then streamed to Genesys in one
 * multipart request, and the list's import status is followed until Genesys says done or failed.
 *
 * Crash safety rests on a small journal, `state/<name>.bulk.json`, written (fsync, rename) before
 * each step that cannot be undone:
 *
 *   staged → [cleared] → uploading → uploaded → done
 *
 * A restart resumes at the step recorded. The one step whose outcome a crash can hide is the
 * upload itself: resumed in `uploading`, the loader reads the import status and compares it with
 * the one recorded just before the upload. If Genesys shows any sign of the upload, it is followed,
 * never sent again; only when the status stays as it was for IMPORT_BULK_UNSEEN_SECONDS (the upload
 * was cut off before Genesys had it) is the file sent once more. An upload the service itself knows
 * was cut short (a shutdown or a broken connection before the whole file was read for sending,
 * UploadCutShortError) steps back before the upload at once, so it needs no such wait.
 */

export type BulkLane = "bulk" | "replace";

type BulkPhase = "staged" | "cleared" | "uploading" | "uploaded" | "done";

/** A file identity that also tells a re-dropped identical file from the one the journal is about. */
interface BulkIdentity extends FileIdentity {
  readonly ino: number;
}

interface BulkJournalState {
  readonly identity: BulkIdentity;
  readonly phase: BulkPhase;
  readonly counts: { readonly rowsRead: number; readonly accepted: number; readonly rejected: number };
  readonly rejectsReport?: string;
  readonly warnings?: readonly string[];
  readonly cleared: boolean;
  /** The import status read just before the upload: what "no sign of it" looks like. */
  readonly before?: ContactListImportStatus;
  readonly uploads: number;
  readonly uploadedAtMs?: number;
  /** Genesys' import status at the end. */
  readonly result?: ContactListImportStatus;
}

/** The journal of one bulk load: a JSON document replaced atomically at every step. */
class BulkJournal {
  constructor(
    private readonly file: string,
    readonly stagedPath: string,
  ) {}

  /** The state recorded for this very file (same content and inode), if any, with its staged CSV present. */
  async read(identity: BulkIdentity): Promise<BulkJournalState | undefined> {
    let state: BulkJournalState;
    try {
      state = JSON.parse(await readFile(this.file, "utf8")) as BulkJournalState;
    } catch {
      return undefined; // none, or torn before its rename (never: it is renamed into place)
    }
    if (JSON.stringify(state.identity) !== JSON.stringify(identity)) return undefined;
    if (state.phase !== "done" && !(await exists(this.stagedPath))) return undefined;
    return state;
  }

  async save(state: BulkJournalState): Promise<BulkJournalState> {
    const temporary = `${path.join(path.dirname(this.file), `.${path.basename(this.file)}`)}.tmp`;
    const handle = await open(temporary, "w");
    try {
      await handle.writeFile(`${JSON.stringify(state)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, this.file);
    return state;
  }

  async remove(): Promise<void> {
    await rm(this.file, { force: true });
    await rm(this.stagedPath, { force: true });
  }
}

/** Loads one claimed file of inbox/bulk/ or inbox/replace/ through the bulk upload. */
export async function bulkLoadClaimedFile(
  claim: Claim,
  lane: BulkLane,
  deps: ImportDependencies,
): Promise<FileOutcome> {
  const { layout, config, clock, metrics } = deps;
  const started = clock.now();
  const log = deps.logger.child({ file: claim.name, mode: lane });
  const progress: FileProgress = { ...newProgress(claim.name), mode: lane, phase: "validating" };
  const stored = storageName(claim.name);
  const journal = new BulkJournal(
    path.join(layout.state, `${stored}.bulk.json`),
    path.join(layout.state, `${stored}.bulk.csv`),
  );
  const report = (phase: string) => {
    progress.phase = phase;
    deps.onProgress?.(progress);
  };

  if (formatOf(claim.name) !== "csv")
    return refuseWhole(
      "a bulk load takes CSV, the format Genesys' upload reads: convert the file, or drop NDJSON in inbox/ to load it through the contacts API",
    );
  if (lane === "replace" && !config.bulk.allowClear)
    return refuseWhole(
      "files in inbox/replace/ clear the contact list first, which also cancels its scheduled callbacks, and clearing is off: " +
        "set IMPORT_BULK_ALLOW_CLEAR=true (chart value import.bulkAllowClear) to allow it, or drop the file in inbox/bulk/ to load it without clearing",
    );

  const identity: BulkIdentity = {
    ...(await fileIdentity(claim.path, claim.name)),
    ino: (await stat(claim.path)).ino,
  };
  const hold = holdClaim(claim, deps);
  const signal = hold.signal;
  let failure: unknown;
  let state: BulkJournalState | undefined;
  let refusal: string | undefined;
  try {
    state = await journal.read(identity);
    if (state)
      log.info({ phase: state.phase, uploads: state.uploads }, "resuming a bulk load from its journal");
    else {
      const staged = await stage(claim, lane, deps, journal.stagedPath, signal, log);
      // Rows written after the claim would be missing from the staged copy: nothing is sent yet,
      // so the file is refused whole with what its writer must do.
      const standing = "counts" in staged ? await claim.check() : undefined;
      if ("refused" in staged) refusal = staged.refused;
      else if ("failure" in staged) failure = staged.failure;
      else if (standing?.state === "changed") {
        await rm(journal.stagedPath, { force: true });
        refusal = changedReason(standing.reason, progress);
      } else
        state = await journal.save({
          identity,
          phase: "staged",
          counts: staged.counts,
          ...(staged.rejectsReport ? { rejectsReport: staged.rejectsReport } : {}),
          ...(staged.warnings.length > 0 ? { warnings: staged.warnings } : {}),
          cleared: false,
          uploads: 0,
        });
    }
    if (state) {
      Object.assign(progress, state.counts);
      if (state.counts.accepted === 0) {
        log.warn({ ...state.counts }, "no row of the file can be loaded; nothing is sent");
        state = await journal.save({ ...state, phase: "done" });
      }
      state = await load(state);
    }
  } catch (error) {
    failure = error;
  } finally {
    await hold.end();
  }

  if (refusal !== undefined) return refuseWhole(refusal);
  if (hold.lost || deps.signal.aborted || failure || state?.phase !== "done") {
    return releaseClaimedFile(
      claim,
      { claimLost: hold.lost, failure },
      progress,
      deps,
      log,
      started,
      "bulk load stopped before the end; its journal says where to resume, and no upload is sent twice",
    );
  }
  return finish(state);

  /** The steps after staging, each recorded before the next; returns the state at `done`. */
  async function load(initial: BulkJournalState): Promise<BulkJournalState> {
    let current = initial;
    if (current.phase === "staged" && lane === "replace") {
      report("clearing");
      await withRetries("clearing the contact list", () => clearContactList(deps.client, deps.contactListId));
      log.warn(
        { contactListId: deps.contactListId },
        "cleared the contact list before loading the file (inbox/replace/); its scheduled callbacks were cancelled",
      );
      current = await journal.save({ ...current, phase: "cleared", cleared: true });
    }
    while (current.phase === "staged" || current.phase === "cleared" || current.phase === "uploading") {
      if (current.phase === "uploading") {
        report("checking an upload of unknown fate");
        if (await uploadSeen(current)) {
          current = await journal.save({ ...current, phase: "uploaded", uploadedAtMs: clock.now() });
          break;
        }
        log.warn(
          { uploads: current.uploads, unseenSeconds: config.bulk.unseenSeconds },
          "the import status shows no sign of the interrupted upload: Genesys never had the file, so it is sent again",
        );
        current = await journal.save(beforeUpload(current));
      }
      const before = await withRetries("reading the import status", () =>
        getImportStatus(deps.client, deps.contactListId),
      );
      current = await journal.save({ ...current, phase: "uploading", before, uploads: current.uploads + 1 });
      report("uploading");
      const { size } = await stat(journal.stagedPath);
      try {
        await uploadContactListCsv(deps.client, {
          contactListId: deps.contactListId,
          contactIdColumn: config.idColumn,
          fileName: claim.name,
          size,
          open: () => createReadStream(journal.stagedPath, { highWaterMark: 256 * 1024 }),
          timeoutMs: config.bulk.uploadTimeoutSeconds * 1000,
          signal,
        });
        metrics.bulkUploads.inc({ outcome: "sent" });
        log.info(
          { bytes: size, rows: current.counts.accepted },
          "uploaded the file; Genesys is importing it",
        );
        current = await journal.save({ ...current, phase: "uploaded", uploadedAtMs: clock.now() });
      } catch (error) {
        if (error instanceof UploadCutShortError) {
          // Genesys saw an incomplete request, so it does not have the file: back a step, and
          // send it again now (or, on shutdown, the next pod does, without waiting to find out).
          metrics.bulkUploads.inc({ outcome: "cut_short" });
          current = await journal.save(beforeUpload(current));
          if (signal.aborted) throw new ImportStoppedError();
          await waitBeforeRetry("the upload", error, current.uploads);
          continue;
        }
        if (error instanceof UploadOutcomeUnknownError) {
          metrics.bulkUploads.inc({ outcome: "unknown" });
          if (signal.aborted) throw new ImportStoppedError();
          log.warn(
            { err: { message: error.message } },
            "the upload ended without an answer; the import status will tell whether Genesys has the file",
          );
          continue; // still `uploading`: decided by the import status
        }
        metrics.bulkUploads.inc({ outcome: "refused" });
        // Genesys answered with an error, so it does not have the file.
        current = await journal.save(beforeUpload(current));
        const kind = failureClass(error);
        if (error instanceof GenesysHttpError && error.status === 403) {
          // Only uploads lack the permission: the API path (and the gate's re-check, a GET that
          // would pass) still work, so the file is refused with the fix instead of holding deltas back.
          refusal = `Genesys refused the upload: ${error.message}. Fix: ${targetFix(error, `contact list ${deps.contactListId}`)}, then drop the file in inbox/${lane}/ again`;
          throw error;
        }
        if (kind === "target-fatal") {
          deps.targetGate?.block(error);
          throw error;
        }
        if (kind === "request-fatal") {
          refusal = `Genesys refused the upload: ${(error as Error).message}`;
          throw error;
        }
        await waitBeforeRetry("the upload", error, current.uploads);
      }
    }
    if (current.phase === "uploaded") {
      report("importing");
      const result = await followImport(current);
      current = await journal.save({ ...current, phase: "done", result });
    }
    return current;
  }

  /** The state as it was before the upload began: Genesys does not have the file. */
  function beforeUpload(current: BulkJournalState): BulkJournalState {
    return { ...current, phase: current.cleared ? "cleared" : "staged" };
  }

  /** After an interrupted upload: true once the import status differs from the one before it. */
  async function uploadSeen(current: BulkJournalState): Promise<boolean> {
    const deadline = clock.now() + config.bulk.unseenSeconds * 1000;
    for (let delayMs = 2_000; ; delayMs = nextPoll(delayMs)) {
      const status = await withRetries("reading the import status", () =>
        getImportStatus(deps.client, deps.contactListId),
      );
      if (!sameStatus(status, current.before)) return true;
      const left = deadline - clock.now();
      if (left <= 0) return false;
      await sleep(Math.min(delayMs, left));
    }
  }

  /** Polls the import status, backing off, until Genesys says done (no state, 100 %) or FAILED. */
  async function followImport(current: BulkJournalState): Promise<ContactListImportStatus> {
    // Until the status moves away from the one before the upload, a done or FAILED status may be
    // the previous load's; it counts only after IMPORT_BULK_UNSEEN_SECONDS without a change.
    const settledAt = (current.uploadedAtMs ?? clock.now()) + config.bulk.unseenSeconds * 1000;
    let moved = false;
    let lastLoggedTenth = -1;
    for (let delayMs = 2_000; ; delayMs = nextPoll(delayMs)) {
      const status = await withRetries("reading the import status", () =>
        getImportStatus(deps.client, deps.contactListId),
      );
      moved ||= !sameStatus(status, current.before);
      const percent = status.percentComplete ?? 0;
      progress.percentComplete = percent;
      progress.synced = status.completedRecords ?? 0;
      metrics.bulkPercentComplete.set(percent);
      deps.onProgress?.(progress);
      const tenth = Math.floor(percent / 10);
      if (moved && status.state === "IN_PROGRESS" && tenth > lastLoggedTenth) {
        lastLoggedTenth = tenth;
        log.info(
          {
            percentComplete: percent,
            completedRecords: status.completedRecords,
            totalRecords: status.totalRecords,
          },
          "Genesys is importing the file",
        );
      }
      const final = status.state === "FAILED" || (status.state === undefined && percent >= 100);
      if (final && (moved || clock.now() >= settledAt)) return status;
      await sleep(delayMs);
    }
  }

  /** Reads or clears until Genesys answers: waits out 429s, 5xx and resets; target-fatal goes to the gate. */
  async function withRetries<T>(what: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      if (signal.aborted) throw new ImportStoppedError();
      try {
        return await call();
      } catch (error) {
        if (isStop(error)) throw error;
        const kind = failureClass(error);
        if (kind === "target-fatal") {
          deps.targetGate?.block(error);
          throw error;
        }
        if (kind === "request-fatal") throw error;
        await waitBeforeRetry(what, error, attempt);
      }
    }
  }

  async function waitBeforeRetry(what: string, error: unknown, attempt: number): Promise<void> {
    const waitMs =
      error instanceof RateLimitDeferredError
        ? error.retryAfterMs
        : Math.max(
            1_000,
            fullJitterDelayMs(attempt, { initialDelayMs: 5_000, maxDelayMs: 60_000 }, deps.random),
          );
    log.warn(
      { err: { message: (error as Error).message }, retryInMs: waitMs, attempt },
      `${what} failed; trying again`,
    );
    await sleep(waitMs);
  }

  async function sleep(ms: number): Promise<void> {
    try {
      await clock.sleep(ms, signal);
    } catch {
      throw new ImportStoppedError();
    }
  }

  function nextPoll(delayMs: number): number {
    return Math.min(delayMs * 1.5, config.bulk.pollMaxSeconds * 1000);
  }

  async function finish(done: BulkJournalState): Promise<FileOutcome> {
    const result = done.result;
    const failed = result?.state === "FAILED";
    const status: FileStatus = failed
      ? "failed"
      : done.counts.rejected > 0
        ? "imported_with_rejects"
        : "imported";
    const bulk: BulkLoadSummary = {
      cleared: done.cleared,
      uploads: done.uploads,
      ...(result?.totalRecords !== undefined ? { totalRecords: result.totalRecords } : {}),
      ...(result?.completedRecords !== undefined ? { completedRecords: result.completedRecords } : {}),
      ...(result?.failureReason !== undefined ? { failureReason: result.failureReason } : {}),
    };
    const reason = failed ? bulkFailureReason(result, config.idColumn) : undefined;
    const standing = await claim.check();
    const changed = standing.state === "changed" ? changedReason(standing.reason, progress) : undefined;
    const movedTo =
      failed || changed
        ? path.join(layout.rejects, `${timestampForName(clock.now())}-${stored}`)
        : claim.archivePath();
    progress.synced = failed ? 0 : (result?.completedRecords ?? 0);
    progress.phase = "done";
    const outcome: FileOutcome = {
      ...progress,
      status,
      movedTo,
      bulk,
      ...(reason ? { reason } : {}),
      ...(done.rejectsReport ? { rejectsReport: done.rejectsReport } : {}),
      ...(done.warnings || changed
        ? { warnings: [...(done.warnings ?? []), ...(changed ? [changed] : [])] }
        : {}),
      elapsedSeconds: (clock.now() - started) / 1000,
    };
    // The journal says `done` until the file is in its final place: a crash in between finishes
    // here again, without another upload. The staged copy is no longer needed.
    await rm(journal.stagedPath, { force: true });
    metrics.files.inc({ outcome: status });
    metrics.bulkPercentComplete.set(0);
    if (!failed) metrics.rows.inc({ outcome: "synced" }, progress.synced);
    await writeFile(`${movedTo}.summary.json`, `${JSON.stringify(outcome, null, 2)}\n`);
    if (standing.state !== "deleted") await claim.archive(movedTo);
    if (failed || changed) await writeFile(`${movedTo}.reason.txt`, `${reason ?? changed}\n`);
    await journal.remove();
    const fields = { ...progress, status, bulk, rejectsReport: done.rejectsReport };
    if (failed) log.error({ ...fields, reason }, "Genesys could not import the bulk load");
    else if (status === "imported") log.info(fields, "bulk load imported");
    else log.warn(fields, "bulk load imported; some rows are in the rejects report");
    return outcome;
  }

  async function refuseWhole(reason: string): Promise<FileOutcome> {
    await journal.remove();
    return refuseClaimedFile(claim, reason, progress, deps, log, started);
  }
}

type Staged =
  | { readonly refused: string }
  | { readonly failure: unknown }
  | {
      readonly counts: BulkJournalState["counts"];
      readonly rejectsReport: string | undefined;
      readonly warnings: string[];
    };

/**
 * The validation pass: checks the header against the settings and the list's definition, writes
 * each valid row (phone numbers in E.164) to the staged CSV and each invalid one to the rejects
 * report. Memory stays flat: rows stream through, the output is written 64 KB at a time.
 */
async function stage(
  claim: Claim,
  lane: BulkLane,
  deps: ImportDependencies,
  stagedPath: string,
  signal: AbortSignal,
  log: Logger,
): Promise<Staged> {
  const { config, layout, clock } = deps;
  const preflight = await readDefinitionForFile(deps, signal, log);
  if (preflight.failure) return { failure: preflight.failure };
  const definition: ContactListDefinition | undefined = preflight.definition;
  const validator = new RowValidator(config, undefined, definition?.columnNames ?? []);
  const stamp = timestampForName(clock.now());
  const stored = storageName(claim.name);
  const rejects = new RejectsReport(
    path.join(layout.rejects, `${stamp}-${stored}.rejects.csv`),
    path.join(layout.rejects, `.${stored}.rejects.csv.partial`),
    config.maxRejectedRows,
  );
  const partial = path.join(path.dirname(stagedPath), `.${path.basename(stagedPath)}.partial`);
  const output = await open(partial, "w");
  const counts = { rowsRead: 0, accepted: 0, rejected: 0 };
  let header: readonly string[] | undefined;
  let pending = "";
  const drop = async () => {
    await output.close();
    await rm(partial, { force: true });
    await rejects.discard();
  };
  try {
    for await (const events of readContactsFileChunks(claim.path, "csv", {
      maxRecordBytes: config.maxRecordBytes,
    }))
      for (const event of events) {
        if (signal.aborted) throw new ImportStoppedError();
        if (event.type === "header") {
          const problems = fileHeaderProblems(event.columns, validator, definition, config);
          if (problems.length > 0) {
            await drop();
            return { refused: problems.join("; ") };
          }
          header = event.columns;
          pending = `${header.map(csvField).join(",")}\n`;
          continue;
        }
        if (event.type === "stop") {
          await drop();
          // A whole list goes in whole: half of it loaded (or a list cleared for half of it) helps nobody.
          return {
            refused: `line ${event.line} ${event.reason}; a bulk load takes the whole file, so nothing was sent: fix that line and drop the file again`,
          };
        }
        counts.rowsRead += 1;
        if (event.type === "bad") {
          counts.rejected += 1;
          await rejects.add(event.line, `line ${event.line} ${event.reason}`, event.record);
          continue;
        }
        const verdict = validator.validate(event.line, event.record);
        if (!verdict.ok) {
          counts.rejected += 1;
          await rejects.add(event.line, `line ${event.line} ${verdict.reason}`, event.record);
          continue;
        }
        counts.accepted += 1;
        const columns = header!;
        let line = csvField(verdict.data[columns[0]!] ?? "");
        for (let index = 1; index < columns.length; index += 1)
          line += `,${csvField(verdict.data[columns[index]!] ?? "")}`;
        pending += `${line}\n`;
        if (pending.length >= 65_536) {
          await output.write(pending);
          pending = "";
        }
      }
    if (header === undefined) {
      await drop();
      return { refused: "the file is empty: it has no header row" };
    }
    if (rejects.full && counts.rejected * 2 > counts.rowsRead) {
      await output.close();
      await rm(partial, { force: true });
      const report = await rejects.finish();
      return {
        refused: `mostly bad: ${counts.rejected} of ${counts.rowsRead} rows were refused (more than half, and more than IMPORT_MAX_REJECTED_ROWS=${config.maxRejectedRows}), so nothing was sent: the file looks wrong as a whole (another export, a shifted column, the wrong delimiter?). Fix it using the rejects report (${report}) and drop it again`,
      };
    }
    await output.write(pending);
    await output.sync();
    await output.close();
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
  await rename(partial, stagedPath);
  for (const outcome of ["read", "accepted", "rejected"] as const) {
    const value = counts[outcome === "read" ? "rowsRead" : outcome];
    if (value > 0) deps.metrics.rows.inc({ outcome }, value);
  }
  const warnings: string[] = [];
  if (definition) {
    // Replacing empties the list first, so only the file's own rows count.
    const warning = capacityWarning(
      lane === "replace" ? { ...definition, size: 0 } : definition,
      counts.accepted,
    );
    if (warning) {
      warnings.push(warning);
      log.warn({ contactListId: deps.contactListId }, warning);
    }
  }
  return { counts, rejectsReport: await rejects.finish(), warnings };
}

/** A status equal to the one before the upload: no sign that Genesys has begun on it. */
function sameStatus(a: ContactListImportStatus, b: ContactListImportStatus | undefined): boolean {
  if (!b) return false;
  const key = (status: ContactListImportStatus) =>
    JSON.stringify([
      status.state,
      status.totalRecords,
      status.completedRecords,
      status.percentComplete,
      status.failureReason,
    ]);
  return key(a) === key(b);
}

/** Genesys' failureReason, with the fix for the ones seen in the field. */
function bulkFailureReason(status: ContactListImportStatus | undefined, idColumn: string): string {
  const reason = status?.failureReason ?? "no reason given";
  const fixes: Record<string, string> = {
    MISSING_CUSTOM_ID: `the file has no "${idColumn}" column Genesys could key contacts by: check IMPORT_ID_COLUMN names a column of the file`,
    CONTACT_COLUMNS_LIMIT_EXCEEDED: "the file has more columns than a contact list holds (50): drop columns",
  };
  return `Genesys could not import the file (${reason})${fixes[reason] ? `: ${fixes[reason]}` : ""}`;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
