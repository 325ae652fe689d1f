import { createReadStream } from "node:fs";
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import {
  clearContactList,
  getImportStatus,
  uploadContactListCsv,
  type ContactListDefinition,
  type ContactListImportStatus,
} from "../genesys/api";
import {
  failureClass,
  GenesysHttpError,
  RateLimitDeferredError,
  targetFix,
  UploadCutShortError,
  UploadOutcomeUnknownError,
} from "../genesys/errors";
import { formatOf, storageName, timestampForName } from "../shared/layout";
import { backoffDelayMs, BACKOFF } from "../shared/retry";
import type { Claim } from "./claims";
import { ColumnMapper } from "./column-map";
import { capacityWarning, fileHeaderProblems } from "./contact-list";
import { FileRefusedError, ImportStoppedError } from "./errors";
import { holdClaim } from "./claim-hold";
import { readDefinitionForFile, type ImportDependencies } from "./importer";
import {
  changedReason,
  newProgress,
  refuseClaimedFile,
  releaseClaimedFile,
  type BulkLoadSummary,
  type FileOutcome,
  type FileProgress,
  type FileStatus,
} from "./outcomes";
import { fileIdentity, type FileIdentity } from "./journal";
import { readContactsFileChunks } from "./readers";
import { csvField, RejectsReport } from "./rejects";
import { genesysWorkRetries, untilAnswered } from "./retries";
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
  const load = new BulkLoad(claim, lane, deps);
  const refusal = load.refusalBeforeStart();
  return refusal === undefined ? load.run() : load.refuseWhole(refusal);
}

/**
 * One bulk load, one method per step of its journal: `stageOrResume` (→ staged), `clear`
 * (→ cleared), `upload` (→ uploading → uploaded), `settleUnknownUpload` (uploading → uploaded, or
 * back), `followImport` (→ done); then `finish`, or `refuseWhole`.
 */
class BulkLoad {
  private readonly started: number;
  private readonly log: Logger;
  private readonly progress: FileProgress;
  private readonly stored: string;
  private readonly journal: BulkJournal;
  /** The claim's hold while `run` works: aborted on shutdown or when the claim ends. */
  private signal: AbortSignal;

  constructor(
    private readonly claim: Claim,
    private readonly lane: BulkLane,
    private readonly deps: ImportDependencies,
  ) {
    this.started = deps.clock.now();
    this.log = deps.logger.child({ file: claim.name, mode: lane });
    this.progress = { ...newProgress(claim.name), mode: lane, phase: "validating" };
    this.stored = storageName(claim.name);
    this.journal = new BulkJournal(
      path.join(deps.layout.state, `${this.stored}.bulk.json`),
      path.join(deps.layout.state, `${this.stored}.bulk.csv`),
    );
    this.signal = deps.signal;
  }

  /** Why the file cannot go through the bulk upload at all, before anything is read. */
  refusalBeforeStart(): string | undefined {
    if (formatOf(this.claim.name) !== "csv")
      return "a bulk load takes CSV, the format Genesys' upload reads: convert the file, or drop NDJSON in inbox/ to load it through the contacts API";
    if (this.lane === "replace" && !this.deps.config.bulk.allowClear)
      return (
        "files in inbox/replace/ clear the contact list first, which also cancels its scheduled callbacks, and clearing is off: " +
        "set IMPORT_BULK_ALLOW_CLEAR=true (chart value import.bulkAllowClear) to allow it, or drop the file in inbox/bulk/ to load it without clearing"
      );
    return undefined;
  }

  /** Holds the claim while the journal's steps run, then finishes, refuses or hands the file back. */
  async run(): Promise<FileOutcome> {
    const identity: BulkIdentity = {
      ...(await fileIdentity(this.claim.path, this.claim.name)),
      ino: (await stat(this.claim.path)).ino,
    };
    const hold = holdClaim(this.claim, this.deps);
    this.signal = hold.signal;
    let failure: unknown;
    let state: BulkJournalState | undefined;
    let refusal: string | undefined;
    try {
      state = await this.stageOrResume(identity);
      Object.assign(this.progress, state.counts);
      if (state.counts.accepted === 0) {
        this.log.warn({ ...state.counts }, "no row of the file can be loaded; nothing is sent");
        state = await this.journal.save({ ...state, phase: "done" });
      }
      state = await this.load(state);
    } catch (error) {
      if (error instanceof FileRefusedError) refusal = error.reason;
      else failure = error;
    } finally {
      await hold.end();
    }

    if (refusal !== undefined) return this.refuseWhole(refusal);
    if (hold.lost || this.deps.signal.aborted || failure || state?.phase !== "done") {
      return releaseClaimedFile(
        this.claim,
        { claimLost: hold.lost, failure },
        this.progress,
        this.deps,
        this.log,
        this.started,
        "bulk load stopped before the end; its journal says where to resume, and no upload is sent twice",
      );
    }
    return this.finish(state);
  }

  /** The state the journal records for this file, else the validation pass's: `staged`. */
  private async stageOrResume(identity: BulkIdentity): Promise<BulkJournalState> {
    const resumed = await this.journal.read(identity);
    if (resumed) {
      this.log.info(
        { phase: resumed.phase, uploads: resumed.uploads },
        "resuming a bulk load from its journal",
      );
      return resumed;
    }
    const staged = await stage(
      this.claim,
      this.lane,
      this.deps,
      this.journal.stagedPath,
      this.signal,
      this.log,
    );
    if ("refused" in staged) throw new FileRefusedError(staged.refused, undefined);
    if ("failure" in staged) throw staged.failure;
    // Rows written after the claim would be missing from the staged copy: nothing is sent yet,
    // so the file is refused whole with what its writer must do.
    const standing = await this.claim.check();
    if (standing.state === "changed") {
      await rm(this.journal.stagedPath, { force: true });
      throw new FileRefusedError(changedReason(standing.reason, this.progress), undefined);
    }
    return this.journal.save({
      identity,
      phase: "staged",
      counts: staged.counts,
      ...(staged.rejectsReport ? { rejectsReport: staged.rejectsReport } : {}),
      ...(staged.warnings.length > 0 ? { warnings: staged.warnings } : {}),
      cleared: false,
      uploads: 0,
    });
  }

  /** The steps after staging, each recorded before the next; returns the state at `done`. */
  private async load(initial: BulkJournalState): Promise<BulkJournalState> {
    let current = initial;
    if (current.phase === "staged" && this.lane === "replace") current = await this.clear(current);
    while (current.phase === "staged" || current.phase === "cleared" || current.phase === "uploading")
      current =
        current.phase === "uploading" ? await this.settleUnknownUpload(current) : await this.upload(current);
    if (current.phase === "uploaded") current = await this.followImport(current);
    return current;
  }

  private async clear(current: BulkJournalState): Promise<BulkJournalState> {
    this.report("clearing");
    await this.untilGenesysAnswers("clearing the contact list", () =>
      clearContactList(this.deps.client, this.deps.contactListId),
    );
    this.log.warn(
      { contactListId: this.deps.contactListId },
      "cleared the contact list before loading the file (inbox/replace/); its scheduled callbacks were cancelled",
    );
    return this.journal.save({ ...current, phase: "cleared", cleared: true });
  }

  /** An upload of unknown fate: `uploaded` once Genesys shows a sign of it, else back before the upload. */
  private async settleUnknownUpload(current: BulkJournalState): Promise<BulkJournalState> {
    this.report("checking an upload of unknown fate");
    if (await this.uploadSeen(current))
      return this.journal.save({ ...current, phase: "uploaded", uploadedAtMs: this.deps.clock.now() });
    this.log.warn(
      { uploads: current.uploads, unseenSeconds: this.deps.config.bulk.unseenSeconds },
      "the import status shows no sign of the interrupted upload: Genesys never had the file, so it is sent again",
    );
    return this.journal.save(beforeUpload(current));
  }

  /**
   * Records `uploading` with the import status before it, and sends the staged file: `uploaded`
   * when Genesys took it; still `uploading` when its fate is unknown; back before the upload when
   * Genesys cannot have it (after a wait, so the loop sends it again).
   */
  private async upload(previous: BulkJournalState): Promise<BulkJournalState> {
    const { deps, journal } = this;
    const before = await this.untilGenesysAnswers("reading the import status", () =>
      getImportStatus(deps.client, deps.contactListId),
    );
    const current = await journal.save({
      ...previous,
      phase: "uploading",
      before,
      uploads: previous.uploads + 1,
    });
    this.report("uploading");
    const { size } = await stat(journal.stagedPath);
    try {
      await uploadContactListCsv(deps.client, {
        contactListId: deps.contactListId,
        contactIdColumn: deps.config.idColumn,
        fileName: this.claim.name,
        size,
        open: () => createReadStream(journal.stagedPath, { highWaterMark: 256 * 1024 }),
        timeoutMs: deps.config.bulk.uploadTimeoutSeconds * 1000,
        signal: this.signal,
      });
    } catch (error) {
      return this.afterFailedUpload(current, error);
    }
    deps.metrics.bulkUploads.inc({ outcome: "sent" });
    this.log.info(
      { bytes: size, rows: current.counts.accepted },
      "uploaded the file; Genesys is importing it",
    );
    return journal.save({ ...current, phase: "uploaded", uploadedAtMs: deps.clock.now() });
  }

  private async afterFailedUpload(current: BulkJournalState, error: unknown): Promise<BulkJournalState> {
    const { deps } = this;
    if (error instanceof UploadCutShortError) {
      // Genesys saw an incomplete request, so it does not have the file: back a step, and
      // send it again now (or, on shutdown, the next pod does, without waiting to find out).
      deps.metrics.bulkUploads.inc({ outcome: "cut_short" });
      const back = await this.journal.save(beforeUpload(current));
      if (this.signal.aborted) throw new ImportStoppedError();
      await this.waitBeforeUploadingAgain(error, back.uploads);
      return back;
    }
    if (error instanceof UploadOutcomeUnknownError) {
      deps.metrics.bulkUploads.inc({ outcome: "unknown" });
      if (this.signal.aborted) throw new ImportStoppedError();
      this.log.warn(
        { err: { message: error.message } },
        "the upload ended without an answer; the import status will tell whether Genesys has the file",
      );
      return current; // still `uploading`: decided by the import status
    }
    deps.metrics.bulkUploads.inc({ outcome: "refused" });
    // Genesys answered with an error, so it does not have the file.
    const back = await this.journal.save(beforeUpload(current));
    const kind = failureClass(error);
    if (error instanceof GenesysHttpError && error.status === 403)
      // Only uploads lack the permission: the API path (and the gate's re-check, a GET that
      // would pass) still work, so the file is refused with the fix instead of holding deltas back.
      throw new FileRefusedError(
        `Genesys refused the upload: ${error.message}. Fix: ${targetFix(error, `contact list ${deps.contactListId}`)}, then drop the file in inbox/${this.lane}/ again`,
        error,
      );
    if (kind === "target-fatal") {
      deps.targetGate?.block(error);
      throw error;
    }
    if (kind === "request-fatal")
      throw new FileRefusedError(`Genesys refused the upload: ${(error as Error).message}`, error);
    await this.waitBeforeUploadingAgain(error, back.uploads);
    return back;
  }

  /** After an interrupted upload: true once the import status differs from the one before it. */
  private async uploadSeen(current: BulkJournalState): Promise<boolean> {
    const deadline = this.deps.clock.now() + this.deps.config.bulk.unseenSeconds * 1000;
    for (let delayMs = 2_000; ; delayMs = this.nextPoll(delayMs)) {
      const status = await this.readImportStatus();
      if (!sameStatus(status, current.before)) return true;
      const left = deadline - this.deps.clock.now();
      if (left <= 0) return false;
      await this.sleep(Math.min(delayMs, left));
    }
  }

  /** Polls the import status, backing off, until Genesys says done (no state, 100 %) or FAILED: `done`. */
  private async followImport(current: BulkJournalState): Promise<BulkJournalState> {
    const { deps, progress } = this;
    this.report("importing");
    // Until the status moves away from the one before the upload, a done or FAILED status may be
    // the previous load's; it counts only after IMPORT_BULK_UNSEEN_SECONDS without a change.
    const settledAt = (current.uploadedAtMs ?? deps.clock.now()) + deps.config.bulk.unseenSeconds * 1000;
    let moved = false;
    let lastLoggedTenth = -1;
    for (let delayMs = 2_000; ; delayMs = this.nextPoll(delayMs)) {
      const status = await this.readImportStatus();
      moved ||= !sameStatus(status, current.before);
      const percent = status.percentComplete ?? 0;
      progress.percentComplete = percent;
      progress.synced = status.completedRecords ?? 0;
      deps.metrics.bulkPercentComplete.set(percent);
      deps.onProgress?.(progress);
      const tenth = Math.floor(percent / 10);
      if (moved && status.state === "IN_PROGRESS" && tenth > lastLoggedTenth) {
        lastLoggedTenth = tenth;
        this.log.info(
          {
            percentComplete: percent,
            completedRecords: status.completedRecords,
            totalRecords: status.totalRecords,
          },
          "Genesys is importing the file",
        );
      }
      const final = status.state === "FAILED" || (status.state === undefined && percent >= 100);
      if (final && (moved || deps.clock.now() >= settledAt))
        return this.journal.save({ ...current, phase: "done", result: status });
      await this.sleep(delayMs);
    }
  }

  /** Summarises a load at `done`, moves the file to the archive (or rejects/, when Genesys failed it) and drops the journal. */
  private async finish(done: BulkJournalState): Promise<FileOutcome> {
    const { claim, deps, progress } = this;
    const result = done.result;
    const failed = result?.state === "FAILED";
    const status: FileStatus = failed
      ? "failed"
      : done.counts.rejected > 0
        ? "imported_with_rejects"
        : "imported";
    const reason = failed ? bulkFailureReason(result, deps.config.idColumn) : undefined;
    const standing = await claim.check();
    const changed = standing.state === "changed" ? changedReason(standing.reason, progress) : undefined;
    const movedTo =
      failed || changed
        ? path.join(deps.layout.rejects, `${timestampForName(deps.clock.now())}-${this.stored}`)
        : claim.archivePath();
    progress.synced = failed ? 0 : (result?.completedRecords ?? 0);
    progress.phase = "done";
    const bulk = bulkSummary(done);
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
      elapsedSeconds: (deps.clock.now() - this.started) / 1000,
    };
    // The journal says `done` until the file is in its final place: a crash in between finishes
    // here again, without another upload. The staged copy is no longer needed.
    await rm(this.journal.stagedPath, { force: true });
    deps.metrics.files.inc({ outcome: status });
    deps.metrics.bulkPercentComplete.set(0);
    if (!failed) deps.metrics.rows.inc({ outcome: "synced" }, progress.synced);
    await writeFile(`${movedTo}.summary.json`, `${JSON.stringify(outcome, null, 2)}\n`);
    if (standing.state !== "deleted") await claim.archive(movedTo);
    if (failed || changed) await writeFile(`${movedTo}.reason.txt`, `${reason ?? changed}\n`);
    await this.journal.remove();
    const fields = { ...progress, status, bulk, rejectsReport: done.rejectsReport };
    if (failed) this.log.error({ ...fields, reason }, "Genesys could not import the bulk load");
    else if (status === "imported") this.log.info(fields, "bulk load imported");
    else this.log.warn(fields, "bulk load imported; some rows are in the rejects report");
    return outcome;
  }

  async refuseWhole(reason: string): Promise<FileOutcome> {
    await this.journal.remove();
    return refuseClaimedFile(this.claim, reason, this.progress, this.deps, this.log, this.started);
  }

  private report(phase: string): void {
    this.progress.phase = phase;
    this.deps.onProgress?.(this.progress);
  }

  private readImportStatus(): Promise<ContactListImportStatus> {
    return this.untilGenesysAnswers("reading the import status", () =>
      getImportStatus(this.deps.client, this.deps.contactListId),
    );
  }

  /** Reads or clears until Genesys answers: waits out 429s, 5xx and resets; target-fatal goes to the gate. */
  private untilGenesysAnswers<T>(what: string, call: () => Promise<T>): Promise<T> {
    const retries = genesysWorkRetries(this.deps, ({ error, attempt, delayMs }) =>
      this.log.warn(
        { err: { message: (error as Error).message }, retryInMs: delayMs, attempt },
        `${what} failed; trying again`,
      ),
    );
    return untilAnswered(retries, call, this.signal, this.deps.targetGate);
  }

  /**
   * Before the upload is sent again: the wait Genesys named, else the work backoff, counted in
   * uploads (kept in the journal, so a restart does not start the backoff over).
   */
  private async waitBeforeUploadingAgain(error: unknown, uploads: number): Promise<void> {
    const waitMs =
      error instanceof RateLimitDeferredError
        ? error.retryAfterMs
        : backoffDelayMs(BACKOFF.genesysWork, uploads, this.deps.random);
    this.log.warn(
      { err: { message: (error as Error).message }, retryInMs: waitMs, attempt: uploads },
      "the upload failed; trying again",
    );
    await this.sleep(waitMs);
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await this.deps.clock.sleep(ms, this.signal);
    } catch {
      throw new ImportStoppedError();
    }
  }

  private nextPoll(delayMs: number): number {
    return Math.min(delayMs * 1.5, this.deps.config.bulk.pollMaxSeconds * 1000);
  }
}

/** The state as it was before the upload began: Genesys does not have the file. */
function beforeUpload(current: BulkJournalState): BulkJournalState {
  return { ...current, phase: current.cleared ? "cleared" : "staged" };
}

/** What the outcome says of the upload and of Genesys' import of it. */
function bulkSummary(done: BulkJournalState): BulkLoadSummary {
  const result = done.result;
  return {
    cleared: done.cleared,
    uploads: done.uploads,
    ...(result?.totalRecords !== undefined ? { totalRecords: result.totalRecords } : {}),
    ...(result?.completedRecords !== undefined ? { completedRecords: result.completedRecords } : {}),
    ...(result?.failureReason !== undefined ? { failureReason: result.failureReason } : {}),
  };
}

type StagedCounts = BulkJournalState["counts"];

type Staged =
  | { readonly refused: string }
  | { readonly failure: unknown }
  | {
      readonly counts: StagedCounts;
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
  const definition = preflight.definition;
  const stored = storageName(claim.name);
  const rejects = new RejectsReport(
    path.join(layout.rejects, `${timestampForName(clock.now())}-${stored}.rejects.csv`),
    path.join(layout.rejects, `.${stored}.rejects.csv.partial`),
    config.maxRejectedRows,
  );
  const staged = await StagedCsv.create(stagedPath);
  let counts: StagedCounts;
  try {
    const read = await validateRows(claim, deps, definition, staged, rejects, signal);
    if ("refused" in read) {
      await staged.drop();
      await rejects.discard();
      return read;
    }
    counts = read.counts;
    if (rejects.full && counts.rejected * 2 > counts.rowsRead) {
      await staged.drop();
      return { refused: mostlyBadReason(counts, config.maxRejectedRows, await rejects.finish()) };
    }
    await staged.complete();
  } catch (error) {
    await staged.drop().catch(() => undefined);
    await rejects.discard().catch(() => undefined);
    throw error;
  }
  await staged.moveIntoPlace();
  for (const outcome of ["read", "accepted", "rejected"] as const) {
    const value = counts[outcome === "read" ? "rowsRead" : outcome];
    if (value > 0) deps.metrics.rows.inc({ outcome }, value);
  }
  const warnings: string[] = [];
  // Replacing empties the list first, so only the file's own rows count.
  const warning =
    definition &&
    capacityWarning(lane === "replace" ? { ...definition, size: 0 } : definition, counts.accepted);
  if (warning) {
    warnings.push(warning);
    log.warn({ contactListId: deps.contactListId }, warning);
  }
  return { counts, rejectsReport: await rejects.finish(), warnings };
}

/**
 * Reads the file once: valid rows to the staged CSV, invalid ones to the rejects report. A header
 * that cannot go into the list, an empty file, or a line the reader cannot get past refuses it
 * whole: a whole list goes in whole, and half of it loaded (or a list cleared for half of it)
 * helps nobody.
 */
async function validateRows(
  claim: Claim,
  deps: ImportDependencies,
  definition: ContactListDefinition | undefined,
  staged: StagedCsv,
  rejects: RejectsReport,
  signal: AbortSignal,
): Promise<{ readonly refused: string } | { readonly counts: StagedCounts }> {
  const { config } = deps;
  const validator = new RowValidator(config, undefined, definition?.columnNames ?? []);
  const listColumns = definition?.columnNames.length ? definition.columnNames : config.columns;
  const mapper = new ColumnMapper(deps.columnMap ?? { route: "default", unmapped: "refuse" }, listColumns);
  const counts = { rowsRead: 0, accepted: 0, rejected: 0 };
  let header: readonly string[] | undefined;
  for await (const events of readContactsFileChunks(claim.path, "csv", {
    maxRecordBytes: config.maxRecordBytes,
  }))
    for (const event of events) {
      if (signal.aborted) throw new ImportStoppedError();
      if (event.type === "header") {
        const mapped = mapper.active ? mapper.mapHeader(event.columns) : undefined;
        if (mapped && mapped.problems.length > 0) return { refused: mapped.problems.join("; ") };
        // The staged CSV carries the list's names: Genesys reads the uploaded header as they are.
        header = mapped
          ? mapped.columns.filter((column): column is string => column !== null)
          : event.columns;
        const problems = fileHeaderProblems(header, validator, definition, config);
        if (problems.length > 0) return { refused: problems.join("; ") };
        await staged.writeLine(header.map(csvField).join(","));
        continue;
      }
      if (event.type === "stop")
        return {
          refused: `line ${event.line} ${event.reason}; a bulk load takes the whole file, so nothing was sent: fix that line and drop the file again`,
        };
      counts.rowsRead += 1;
      const verdict =
        event.type === "bad"
          ? ({ ok: false, reason: event.reason } as const)
          : validator.validate(event.line, mapper.record(event.record));
      if (!verdict.ok) {
        counts.rejected += 1;
        await rejects.add(event.line, `line ${event.line} ${verdict.reason}`, event.record);
        continue;
      }
      counts.accepted += 1;
      await staged.writeLine(csvLine(header!, verdict.data));
    }
  if (header === undefined) return { refused: "the file is empty: it has no header row" };
  return { counts };
}

/** The staged CSV as it is written: under a dot-name until complete, buffered 64 KB at a time. */
class StagedCsv {
  private pending = "";

  private constructor(
    private readonly output: FileHandle,
    private readonly partial: string,
    private readonly target: string,
  ) {}

  static async create(target: string): Promise<StagedCsv> {
    const partial = path.join(path.dirname(target), `.${path.basename(target)}.partial`);
    return new StagedCsv(await open(partial, "w"), partial, target);
  }

  async writeLine(line: string): Promise<void> {
    this.pending += `${line}\n`;
    if (this.pending.length >= 65_536) {
      await this.output.write(this.pending);
      this.pending = "";
    }
  }

  /** Writes what is buffered and syncs it to disk. */
  async complete(): Promise<void> {
    await this.output.write(this.pending);
    await this.output.sync();
    await this.output.close();
  }

  /** Gives the completed file its name: a staged CSV under its name is always whole. */
  async moveIntoPlace(): Promise<void> {
    await rename(this.partial, this.target);
  }

  async drop(): Promise<void> {
    await this.output.close();
    await rm(this.partial, { force: true });
  }
}

/** One row of the staged CSV, its fields in the header's order. */
function csvLine(columns: readonly string[], data: Readonly<Record<string, string>>): string {
  let line = csvField(data[columns[0]!] ?? "");
  for (let index = 1; index < columns.length; index += 1) line += `,${csvField(data[columns[index]!] ?? "")}`;
  return line;
}

/** Why a bulk file whose rows mostly fail is refused before anything is sent. */
function mostlyBadReason(counts: StagedCounts, maxRejectedRows: number, report: string | undefined): string {
  return `mostly bad: ${counts.rejected} of ${counts.rowsRead} rows were refused (more than half, and more than IMPORT_MAX_REJECTED_ROWS=${maxRejectedRows}), so nothing was sent: the file looks wrong as a whole (another export, a shifted column, the wrong delimiter?). Fix it using the rejects report (${report}) and drop it again`;
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
