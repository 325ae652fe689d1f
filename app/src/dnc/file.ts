import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { changeDncEntries, getDncList } from "../genesys/dnc-api";
import type { GenesysClient } from "../genesys/client";
import { failureClass } from "../genesys/errors";
import { holdClaim, type ClaimHold } from "../import/claim-hold";
import type { Claim } from "../import/claims";
import type { ImportConfig } from "../import/config";
import { isStop } from "../import/errors";
import { fileIdentity, Journal } from "../import/journal";
import type { ImportMetrics } from "../import/metrics";
import {
  newProgress,
  refuseClaimedFile,
  releaseClaimedFile,
  vanishedFile,
  type FileOutcome,
  type FileProgress,
  type FileStatus,
} from "../import/outcomes";
import { RecentIds } from "../import/recent-ids";
import { RejectsReport } from "../import/rejects";
import { genesysWorkRetries, untilAnswered } from "../import/retries";
import { storageName, timestampForName, type DataLayout, type DncLane } from "../shared/layout";
import type { Policy } from "../shared/retry";
import type { Clock, Random } from "../time/clock";
import { ExpiryBatcher, type EntryBatch } from "./batches";
import { EntryNormaliser, parseExpiry } from "./entries";
import { entryKey, expiryMinutes, KeyRecords } from "./entry-keys";
import { DncListNotInternalError } from "./errors";
import type { DncGate } from "./gate";
import type { DncIndex } from "./index-store";
import { noun, readEntries, type EntryEvent } from "./reader";
import type { DncRoute } from "./resolution";

/**
 * Applies one claimed file of a DNC route: every entry of a file in dnc/<route>/add/ goes on the
 * route's DNC list (with the expiry its line gives, on a route with an expiryColumn), every entry
 * of one in dnc/<route>/remove/ comes off it. Entries are normalised as contacts' numbers are
 * (entries.ts), batched by expiry up to 1,000 a PATCH (batches.ts), several in flight, with the
 * claim hold, journal, rejects report and retries of an import (import/importer.ts,
 * import/removals.ts): a line that is no entry, or repeats one, goes to the rejects report with its
 * line and reason, and the rest is applied. A batch is journalled once Genesys acknowledged it,
 * with the lines Genesys refused on the same journal line, so a file resumed after a crash skips
 * it: nothing lost, nothing sent twice beyond the batches in flight.
 *
 * At the end the entries applied go to the route's index (index-store.ts), then the summary is
 * written and the file archived. The requests run in the route's share at the `removal` rank
 * (dnc/service.ts), so an opt-out is sent before any route's contacts.
 */

/** What applying a DNC file needs. */
export interface DncFileDependencies {
  readonly client: GenesysClient;
  readonly route: DncRoute;
  readonly config: Pick<
    ImportConfig,
    "claimTimeoutSeconds" | "batchesInFlight" | "maxRecordBytes" | "maxRejectedRows"
  >;
  /** The route's folders (shared/layout.ts dncLayout). */
  readonly layout: DataLayout;
  /** The route's view of the import's metrics (ImportMetrics.forRoute). */
  readonly metrics: ImportMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  /** Aborted on shutdown: stop reading, let batches in flight finish, keep the journal. */
  readonly signal: AbortSignal;
  readonly gate: DncGate;
  readonly index: DncIndex;
  readonly onProgress?: (progress: FileProgress) => void;
}

/** A DNC file's result in its summary, beside the counts every file has. */
export interface DncFileSummary {
  readonly dncListId: string;
  readonly action: "add" | "remove";
  readonly entries: "phone" | "email";
  /** Entries on the list (add) or off it (remove) now: this run's and those a resumed run had sent. */
  readonly applied: number;
  /** Of those added, the ones with an expiry. */
  readonly withExpiry: number;
}

/** A DNC file read to its end. `imported*` for add/, `removed*` for remove/: the statuses every route's files share. */
export type DncFileOutcome = FileOutcome & { readonly dnc?: DncFileSummary };

export async function applyClaimedDncFile(
  claim: Claim,
  lane: DncLane,
  deps: DncFileDependencies,
): Promise<DncFileOutcome> {
  const file = await DncFile.open(claim, lane, deps);
  const refused = await file.readAndApply();
  return refused ?? (await file.conclude());
}

/** Lines Genesys refused, with their reason, as a journal line keeps them. */
type Refused = ReadonlyArray<{ readonly line: number; readonly reason: string }>;

/** The words for what a lane does to its entries. */
const WORDS = {
  add: { done: "added", verb: "add" },
  remove: { done: "removed", verb: "remove" },
} as const;

/** Entries remembered to catch one repeated within a file, as many as the import remembers (rows.ts). */
const DUPLICATE_WINDOW = 200_000;

class DncFile {
  private readonly progress: FileProgress;
  private readonly batcher = new ExpiryBatcher();
  private readonly recent = new RecentIds(DUPLICATE_WINDOW);
  private readonly normaliser: EntryNormaliser;
  private readonly inFlight = new Set<Promise<void>>();
  /** Keys of the entries applied, for the route's index at the end. */
  private readonly applied = new KeyRecords();
  private readonly retries: Policy;
  private readonly unreported = { read: 0, rejected: 0, applied: 0 };
  private withExpiry = 0;
  private failure: unknown;
  private stoppedAt: { readonly line: number; readonly reason: string } | undefined;
  private mostlyBad = false;

  private constructor(
    private readonly claim: Claim,
    private readonly lane: DncLane,
    private readonly deps: DncFileDependencies,
    private readonly log: Logger,
    private readonly started: number,
    private readonly journal: Journal,
    private readonly rejects: RejectsReport,
    private readonly hold: ClaimHold,
  ) {
    this.progress = newProgress(claim.name);
    this.normaliser = new EntryNormaliser(deps.route.kind, deps.route.defaultCountry);
    this.retries = genesysWorkRetries(deps, ({ error, attempt, delayMs }) =>
      log.warn(
        {
          err: { message: (error as Error).message, code: (error as { code?: string }).code },
          retryInMs: delayMs,
          attempt,
        },
        "a DNC batch could not be sent yet; it will be sent again",
      ),
    );
  }

  /** Opens the journal (named by lane) and the rejects report, and holds the claim. */
  static async open(claim: Claim, lane: DncLane, deps: DncFileDependencies): Promise<DncFile> {
    const started = deps.clock.now();
    const stored = storageName(claim.name);
    const identity = await fileIdentity(claim.path, claim.name);
    const journal = await Journal.open(path.join(deps.layout.state, `${stored}.${lane}.journal`), identity);
    const rejects = new RejectsReport(
      path.join(deps.layout.rejects, `${timestampForName(started)}-${stored}.rejects.csv`),
      path.join(deps.layout.rejects, `.${stored}.${lane}.rejects.csv.partial`),
      deps.config.maxRejectedRows,
    );
    const log = deps.logger.child({ file: claim.name, dnc: lane });
    const file = new DncFile(claim, lane, deps, log, started, journal, rejects, holdClaim(claim, deps));
    if (journal.acknowledged.size > 0)
      log.info(
        { acknowledgedBatches: journal.acknowledged.size },
        "resuming after the batches the journal lists",
      );
    return file;
  }

  /**
   * Reads the file and sends its batches, then waits for those in flight. Returns the outcome
   * only when the file is refused whole before any entry is sent; any other stop is left to `conclude`.
   */
  async readAndApply(): Promise<FileOutcome | undefined> {
    let refusal: string | undefined;
    try {
      refusal = await this.readLines();
      if (refusal === undefined && !this.hold.signal.aborted && !this.failure)
        for (const batch of this.batcher.flush()) await this.dispatch(batch);
      await Promise.all(this.inFlight);
    } catch (error) {
      this.failure ??= error;
      await Promise.all(this.inFlight);
    } finally {
      this.reportCounts();
      await this.hold.end();
    }
    if (refusal === undefined) return undefined;
    await this.journal.remove();
    await this.rejects.discard();
    return refuseClaimedFile(this.claim, refusal, this.progress, this.deps, this.log, this.started);
  }

  private canGoOn(): boolean {
    return !this.hold.signal.aborted && !this.failure && !this.mostlyBad;
  }

  /** The reading loop: checks each line and dispatches each batch it fills. Returns why the file is refused, if it is. */
  private async readLines(): Promise<string | undefined> {
    const format = this.claim.name.toLowerCase().endsWith(".txt") ? "txt" : "csv";
    const { route, config } = this.deps;
    const events = readEntries(this.claim.path, format, {
      kind: route.kind,
      // Removals ignore expiry: an entry comes off the list whatever its expiry.
      expiryColumn: this.lane === "add" ? route.expiryColumn : undefined,
      maxRecordBytes: config.maxRecordBytes,
    });
    for await (const chunk of events)
      for (const event of chunk) {
        if (!this.canGoOn()) return undefined;
        if (event.type === "refused") return event.reason;
        if (event.type === "stop") {
          this.stoppedAt = event;
          return undefined;
        }
        this.progress.rowsRead += 1;
        this.unreported.read += 1;
        if (event.type === "bad")
          await this.reject(event.line, `line ${event.line} ${event.reason}`, event.record);
        else await this.accept(event);
        if (this.progress.rowsRead % 1_000 === 0) this.deps.onProgress?.(this.progress);
      }
    return undefined;
  }

  /** Takes an entry into its expiry's batch, or refuses its line: no entry, a bad expiry, or a repeat. */
  private async accept(event: Extract<EntryEvent, { type: "entry" }>): Promise<void> {
    const verdict = this.normaliser.normalise(event.value);
    if ("problem" in verdict)
      return this.reject(event.line, `line ${event.line} ${verdict.problem}`, event.record);
    let expiry: string | undefined;
    if (event.expiry !== undefined) {
      const parsed = parseExpiry(event.expiry, this.deps.route.expiryColumn!, this.deps.clock.now());
      if ("problem" in parsed)
        return this.reject(event.line, `line ${event.line} ${parsed.problem}`, event.record);
      expiry = parsed.expiry;
    }
    const first = this.recent.firstLine(verdict.entry, event.line);
    if (first !== undefined)
      return this.reject(
        event.line,
        `line ${event.line} repeats ${verdict.entry} from line ${first}: it is ${WORDS[this.lane].done} once, as line ${first} says`,
        event.record,
      );
    this.progress.accepted += 1;
    for (const batch of this.batcher.add(verdict.entry, event.line, expiry)) await this.dispatch(batch);
  }

  /** Sends a batch the journal does not list, once fewer than IMPORT_BATCHES_IN_FLIGHT are in flight. */
  private async dispatch(batch: EntryBatch): Promise<void> {
    const { deps, progress } = this;
    if (this.journal.acknowledged.has(batch.index)) {
      const refused = parseRefused(this.journal.details.get(batch.index));
      this.collect(batch, refused);
      progress.alreadySynced += batch.entries.length - refused.length;
      for (const { line, reason } of refused) await this.reject(line, reason);
      return;
    }
    while (this.inFlight.size >= deps.config.batchesInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const task = this.applyBatch(batch)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Sends a batch until Genesys answers, and journals it (with the lines it refused) before counting anything. */
  private async applyBatch(batch: EntryBatch): Promise<void> {
    const startedMs = this.deps.clock.now();
    const answer = await this.changeOrSplit(batch.entries, 0, batch.expiry);
    const refused: Refused = answer.map(({ index, message }) => ({
      line: batch.lines[index]!,
      reason: `line ${batch.lines[index]} was refused by Genesys Cloud: ${message}`,
    }));
    await this.journal.record(
      batch.index,
      refused.length > 0
        ? JSON.stringify({ refused: refused.map(({ line, reason }) => [line, reason]) })
        : undefined,
    );
    this.deps.metrics.batchDuration.observe((this.deps.clock.now() - startedMs) / 1000);
    this.collect(batch, refused);
    const applied = batch.entries.length - refused.length;
    this.progress.synced += applied;
    this.progress.batchesSent += 1;
    this.unreported.applied += applied;
    for (const { line, reason } of refused) await this.reject(line, reason);
    this.reportCounts();
    this.deps.onProgress?.(this.progress);
  }

  /**
   * Changes entries until Genesys answers. A bad-request answer first asks whether the list is
   * still internal (a list changed to another kind refuses every change that way: the route's gate
   * blocks and the file waits); else it halves the entries until it names those Genesys refuses. A
   * target-fatal answer goes to the gate and ends the file.
   */
  private async changeOrSplit(
    entries: readonly string[],
    offset: number,
    expiry: string | undefined,
    whole = true,
  ): Promise<Array<{ index: number; message: string }>> {
    const { client, route, gate } = this.deps;
    const change = {
      kind: route.kind,
      action: this.lane === "add" ? ("Add" as const) : ("Remove" as const),
      entries,
      ...(expiry !== undefined ? { expirationDateTime: expiry } : {}),
    };
    try {
      await untilAnswered(
        this.retries,
        () => changeDncEntries(client, route.dncListId, change),
        this.hold.signal,
        undefined,
      );
      return [];
    } catch (error) {
      if (isStop(error)) throw error;
      if (failureClass(error) === "target-fatal") {
        gate.block(error);
        throw error;
      }
      if (failureClass(error) !== "request-fatal") throw error;
      if (whole) await this.confirmInternal(error);
      if (entries.length === 1) return [{ index: offset, message: (error as Error).message }];
      const half = Math.ceil(entries.length / 2);
      return [
        ...(await this.changeOrSplit(entries.slice(0, half), offset, expiry, false)),
        ...(await this.changeOrSplit(entries.slice(half), offset + half, expiry, false)),
      ];
    }
  }

  /** After a bad-request answer: the list read again (retried like a batch); throws, the gate blocked, when it is no longer internal. */
  private async confirmInternal(cause: unknown): Promise<void> {
    const { client, route, gate } = this.deps;
    try {
      const list = await untilAnswered(
        this.retries,
        () => getDncList(client, route.dncListId),
        this.hold.signal,
        undefined,
      );
      gate.confirmInternal(list, cause);
    } catch (error) {
      if (failureClass(error) === "target-fatal") gate.block(error);
      throw error;
    }
  }

  /** Remembers the keys of a batch's applied entries (all but the refused lines) for the route's index. */
  private collect(batch: EntryBatch, refused: Refused): void {
    const refusedLines = new Set(refused.map(({ line }) => line));
    const minutes = this.lane === "add" ? expiryMinutes(batch.expiry) : 0;
    batch.entries.forEach((entry, index) => {
      if (refusedLines.has(batch.lines[index]!)) return;
      this.applied.push(entryKey(entry), minutes);
      if (minutes !== 0) this.withExpiry += 1;
    });
  }

  private async reject(
    line: number,
    reason: string,
    record?: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.progress.rejected += 1;
    this.unreported.rejected += 1;
    await this.rejects.add(line, reason, record);
    // A full report on a file where most lines fail: the file is wrong as a whole, not line by line.
    if (this.rejects.full && this.progress.rejected * 2 > this.progress.rowsRead) this.mostlyBad = true;
  }

  private reportCounts(): void {
    const outcomes = { read: "read", rejected: "rejected", applied: WORDS[this.lane].done } as const;
    for (const key of ["read", "rejected", "applied"] as const) {
      if (this.unreported[key] > 0)
        this.deps.metrics.dncEntries.inc({ outcome: outcomes[key] }, this.unreported[key]);
      this.unreported[key] = 0;
    }
  }

  /** The end of the file, or the stop before it: refused, vanished, handed back, or applied. */
  async conclude(): Promise<DncFileOutcome> {
    const { claim, deps, progress, log, started } = this;
    const standing = await this.hold.verify();
    const refusal =
      standing.state === "changed"
        ? changedReason(standing.reason, progress, this.lane)
        : this.mostlyBad
          ? mostlyBadReason(progress, deps.config.maxRejectedRows, this.lane)
          : undefined;
    if (refusal !== undefined) {
      await this.journal.remove();
      return refuseClaimedFile(claim, refusal, progress, deps, log, started, await this.rejects.finish());
    }
    if (standing.state === "deleted" && (this.failure || this.hold.interrupted || deps.signal.aborted)) {
      await this.journal.remove();
      await this.rejects.discard();
      return vanishedFile(claim, progress, deps, log, started, vanishedReason(progress, this.lane));
    }
    if (this.hold.lost || deps.signal.aborted || this.failure) return this.handBack();
    if (this.stoppedAt) {
      await this.journal.remove();
      const rejectsReport = await this.rejects.finish();
      return refuseClaimedFile(
        claim,
        stoppedReason(this.stoppedAt, progress, this.lane),
        progress,
        deps,
        log,
        started,
        rejectsReport,
      );
    }
    return this.finish(standing.state === "deleted");
  }

  /** Back to the route's folder with its journal: shutdown, a lost claim, or a list that takes no entries now. */
  private async handBack(): Promise<DncFileOutcome> {
    const { claim, deps, progress, log, started } = this;
    await this.journal.close();
    await this.rejects.discard();
    const message = `${WORDS[this.lane].verb} stopped before the end of the file; the batches sent are in the journal`;
    if (!(this.failure instanceof DncListNotInternalError))
      return releaseClaimedFile(
        claim,
        { claimLost: this.hold.lost, failure: this.failure },
        progress,
        deps,
        log,
        started,
        message,
      );
    // The gate has said why, once; the file waits in its folder until the list is internal again.
    if (!this.hold.lost) await claim.release();
    deps.metrics.files.inc({ outcome: "released" });
    log.warn({ ...progress, reason: this.failure.message }, message);
    return {
      ...progress,
      status: "released",
      reason: this.failure.message,
      elapsedSeconds: (deps.clock.now() - started) / 1000,
    };
  }

  /** A file read to its end: its entries in the route's index, summarised, archived. */
  private async finish(deleted: boolean): Promise<DncFileOutcome> {
    const { claim, deps, progress } = this;
    const rejectsReport = await this.rejects.finish();
    await this.recordInIndex();
    const status: FileStatus =
      this.lane === "add"
        ? progress.rejected > 0
          ? "imported_with_rejects"
          : "imported"
        : progress.rejected > 0
          ? "removed_with_rejects"
          : "removed";
    const movedTo = claim.archivePath();
    const warnings: string[] = [];
    if (progress.rowsRead === 0)
      warnings.push(
        `the file has a header but no ${noun(deps.route.kind)}s: nothing was ${WORDS[this.lane].done}`,
      );
    if (deleted)
      warnings.push(
        "the file was deleted from processing/ before it could be archived; every entry was read and sent, and this summary is all that is left of it",
      );
    const dnc: DncFileSummary = {
      dncListId: deps.route.dncListId,
      action: this.lane,
      entries: deps.route.kind,
      applied: progress.synced + progress.alreadySynced,
      withExpiry: this.withExpiry,
    };
    const outcome: DncFileOutcome = {
      ...progress,
      status,
      movedTo,
      dnc,
      ...(rejectsReport ? { rejectsReport } : {}),
      ...(this.rejects.notListed > 0 ? { rejectedNotListed: this.rejects.notListed } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      elapsedSeconds: (deps.clock.now() - this.started) / 1000,
    };
    // Journal first, as the import does: a crash after this sends the file's entries again from
    // the start (adding or removing an entry twice leaves the list the same).
    await this.journal.remove();
    await writeFile(`${movedTo}.summary.json`, `${JSON.stringify(outcome, null, 2)}\n`);
    if (!deleted) await claim.archive(movedTo);
    deps.metrics.files.inc({ outcome: status });
    const fields = { ...progress, status, dnc, rejectsReport };
    if (progress.rejected === 0) this.log.info(fields, `DNC entries ${WORDS[this.lane].done}`);
    else this.log.warn(fields, `DNC entries ${WORDS[this.lane].done}; some lines are in the rejects report`);
    return outcome;
  }

  /** The applied entries into the route's index: it only feeds counts, so a failure is said and the file goes on. */
  private async recordInIndex(): Promise<void> {
    const { claim } = this;
    const identity = createHash("sha256")
      .update(
        JSON.stringify([claim.name, claim.claimed.size, claim.claimed.mtimeMs, claim.claimed.ino, this.lane]),
      )
      .digest("hex")
      .slice(0, 16);
    try {
      await this.deps.index.record(this.lane, this.applied, identity);
    } catch (error) {
      this.log.warn(
        { err: { message: (error as Error).message, code: (error as { code?: string }).code } },
        "could not record the file's entries in the route's DNC index; checkDnc counts will miss them",
      );
    }
  }
}

function parseRefused(detail: string | undefined): Refused {
  if (detail === undefined) return [];
  try {
    const parsed = JSON.parse(detail) as { refused?: ReadonlyArray<readonly [number, string]> };
    return (parsed.refused ?? []).map(([line, reason]) => ({ line, reason }));
  } catch {
    return [];
  }
}

function appliedSoFar(progress: FileProgress): number {
  return progress.synced + progress.alreadySynced;
}

function entriesText(count: number): string {
  return `${count} ${count === 1 ? "entry" : "entries"}`;
}

function changedReason(change: string, progress: FileProgress, lane: DncLane): string {
  return (
    `the file changed after it was claimed (${change}): its writer did not follow write-then-rename, so entries written after the claim would have been missed. ` +
    `${entriesText(appliedSoFar(progress))} read before the change were ${WORDS[lane].done}. ` +
    `Fix: write the file under a dot-name or a .tmp/.part name and rename it into ${lane}/ once it is complete, then drop the whole file again (entries already ${WORDS[lane].done} stay so)`
  );
}

function mostlyBadReason(progress: FileProgress, maxRejectedRows: number, lane: DncLane): string {
  return (
    `mostly bad: ${progress.rejected} of the first ${progress.rowsRead} lines were refused (more than half, and the rejects report holds IMPORT_MAX_REJECTED_ROWS=${maxRejectedRows}), ` +
    `so the file stopped: it looks wrong as a whole (another export, the wrong column, the wrong default country?). ` +
    `${entriesText(appliedSoFar(progress))} read before that were ${WORDS[lane].done}. Fix the file, using the rejects report, and drop it again`
  );
}

function stoppedReason(
  stoppedAt: { readonly line: number; readonly reason: string },
  progress: FileProgress,
  lane: DncLane,
): string {
  return (
    `line ${stoppedAt.line} ${stoppedAt.reason}; the rest of the file from there was not read. ` +
    `${entriesText(appliedSoFar(progress))} before that line were ${WORDS[lane].done}. Fix that line and drop the whole file again (entries already ${WORDS[lane].done} stay so)`
  );
}

function vanishedReason(progress: FileProgress, lane: DncLane): string {
  return (
    `the file was deleted from processing/ while its entries were being ${WORDS[lane].done} (by someone other than this service); ` +
    `${entriesText(appliedSoFar(progress))} had been ${WORDS[lane].done}. Drop the file again to ${WORDS[lane].verb} the rest`
  );
}
