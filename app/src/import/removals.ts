import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import { TextDecoder } from "node:util";
import type { Logger } from "pino";
import { MAX_CONTACT_IDS_PER_REMOVAL, readContacts, removeContacts } from "../genesys/api";
import { failureClass } from "../genesys/errors";
import { laneFormatOf, storageName, timestampForName } from "../shared/layout";
import type { Policy } from "../shared/retry";
import { holdClaim, type ClaimHold } from "./claim-hold";
import type { Claim } from "./claims";
import { ImportStoppedError, isStop } from "./errors";
import type { ImportDependencies } from "./importer";
import { fileIdentity, Journal } from "./journal";
import { LIST_LIMITS } from "./list-limits";
import {
  newProgress,
  refuseClaimedFile,
  releaseClaimedFile,
  vanishedFile,
  type FileOutcome,
  type FileProgress,
  type FileStatus,
  type RemovalSummary,
} from "./outcomes";
import { lineChunks, readContactsFileChunks } from "./readers";
import { RecentIds } from "./recent-ids";
import { RejectsReport } from "./rejects";
import { genesysWorkRetries, untilAnswered } from "./retries";

/**
 * Removes the contacts a file lists by id (inbox/remove/, or inbox/<route>/remove/) from the
 * route's contact list. The file is a CSV whose header names the list's id column (or the CRM's
 * name that the route's column map maps to it; other columns are ignored), or a .txt of one id a
 * line. Ids go in batches of at most 100 (`DELETE .../contacts?contactIds=`), several in flight,
 * with the claim hold, journal, rejects report and retries of an import (importer.ts).
 *
 * Genesys leaves a contact that a campaign is using at that moment, and does not say which: after
 * each removal the batch's ids are read back (`POST .../contacts/bulk`), and those still there are
 * kept. A batch is journalled only after both calls, with its kept ids on the same journal line,
 * so a file resumed after a crash skips it and still knows what it kept. After the file's batches
 * the kept ids are tried again after each wait of keptRetryDelaysMs; the ones still there at
 * the end are named in the summary, and all of them written to a .txt beside the rejects report,
 * ready to drop in remove/ again.
 *
 * Whether an id was in the list at all is not asked: telling "removed" from "never there" would
 * cost a read of every batch before its removal (half as many requests again, from the budget the
 * imports share), and neither needs anything done. The summary counts them together.
 *
 * Memory holds the kept ids and the window of recent ids that catches repeats, never the file.
 */

/**
 * The waits before each new try of the ids Genesys kept, after the file's batches, as multiples of
 * the first (IMPORT_REMOVAL_RETRY_SECONDS, default 30): 30 s, 2 min, 5 min, 7.5 min in all. A
 * campaign holds a contact while it dials it and the agent wraps up, mostly a few minutes; tries
 * spread over several minutes let most of them go, and a file never holds its claim for long.
 * What is still kept after the last is reported by id.
 */
export const KEPT_RETRY_FACTORS: readonly number[] = [1, 4, 10];

/** The waits, in ms, for a first wait of `firstSeconds`. */
export function keptRetryDelaysMs(firstSeconds: number): number[] {
  return KEPT_RETRY_FACTORS.map((factor) => factor * firstSeconds * 1000);
}

/** The waits with the default setting (30 s, 2 min, 5 min). */
export const KEPT_RETRY_DELAYS_MS: readonly number[] = keptRetryDelaysMs(30);

/** Kept ids named in the summary itself; all of them are in its `keptIdsFile`. */
export const MAX_KEPT_IDS_LISTED = 1_000;

/**
 * URL-encoded bytes of the ids one removal names (each with its encoded comma). 100 UUIDs take
 * about 3,900; long ids close a batch sooner, so the request line stays well under the 8 KB that
 * proxies and gateways commonly accept. One id of the longest kind (512 characters) always fits.
 */
export const MAX_REMOVAL_ID_BYTES = 6_000;

/** A contact's id is a value of the list's id column, which Genesys keeps to 512 characters. */
const MAX_ID_CHARS = LIST_LIMITS.valueChars;

/** Ids remembered to catch one repeated within a file, as many as the import remembers (rows.ts). */
const DUPLICATE_WINDOW = 200_000;

/** What a removal needs: an import's dependencies, the route's column map read for the id column only. */
export type RemovalDependencies = Omit<ImportDependencies, "columnMap"> & {
  /**
   * The route's column map, as the import takes it (column-map.ts): the CRM's column name
   * (matched case-insensitively) → the list's column. A CSV's id column may go by the CRM's name.
   */
  readonly columnMap?: { readonly columns?: Readonly<Record<string, string>> };
};

/**
 * Removes the contacts one claimed file of the remove/ lane lists. Reads it as a stream, refuses
 * lines whose id cannot be a contact's or repeats one (rejects report, with the line), removes the
 * rest 100 at a time, then retries the ids Genesys kept. Ends archived with a summary
 * (`removed`, `removed_with_rejects`, `removed_with_kept`), refused whole (no id column, empty,
 * a line the reader cannot get past, mostly bad, changed after its claim), or, on shutdown, a lost
 * claim or a list that refuses every call, handed back to the inbox with its journal.
 */
export async function removeClaimedFile(claim: Claim, deps: RemovalDependencies): Promise<FileOutcome> {
  const file = await FileRemoval.open(claim, deps);
  const refused = await file.readAndRemove();
  return refused ?? (await file.conclude());
}

/** What reading a file of ids yields, in file order. */
type IdEvent =
  | {
      readonly type: "id";
      readonly line: number;
      /** Trimmed, as the import trims ids. */
      readonly id: string;
      /** The CSV column it came from; undefined for a .txt. */
      readonly column?: string;
      readonly record?: Readonly<Record<string, string>>;
    }
  | {
      readonly type: "bad";
      readonly line: number;
      readonly reason: string;
      readonly record?: Readonly<Record<string, string>>;
    }
  /** The reader cannot get past this line (an unterminated quote, a record over the size limit). */
  | { readonly type: "stop"; readonly line: number; readonly reason: string }
  /** The file cannot be read as ids at all: why, and the fix. */
  | { readonly type: "refused"; readonly reason: string };

interface IdBatch {
  /** Position in the file, the same on every read of the same file: the journal's key. */
  readonly index: number;
  readonly ids: readonly string[];
  readonly lines: readonly number[];
}

/** Lines Genesys refused to take as ids, with their reason, as a journal line keeps them. */
type Refused = ReadonlyArray<{ readonly line: number; readonly reason: string }>;

/** What the journal says of one acknowledged batch beyond its index: the ids kept, the lines refused. */
interface BatchDetail {
  readonly kept?: readonly string[];
  readonly refused?: ReadonlyArray<readonly [number, string]>;
}

/**
 * One file's removal, in the order it runs: `open` (journal, rejects report, claim hold),
 * `readAndRemove` (the reading loop, which sends batches as they fill, then the retries of what
 * Genesys kept), then `conclude` (what the end of the file, or the stop before it, makes of it).
 */
class FileRemoval {
  private readonly progress: FileProgress;
  private readonly batcher = new IdBatcher();
  private readonly recent = new RecentIds(DUPLICATE_WINDOW);
  private readonly inFlight = new Set<Promise<void>>();
  /** Ids still in the list after their removal: a campaign was using them. */
  private readonly kept = new Set<string>();
  /** IMPORT_REMOVAL_RETRY_SECONDS's waits (keptRetryDelaysMs). */
  private readonly retryDelaysMs: readonly number[];
  /** What the journal recorded of each acknowledged batch that kept ids or had lines refused. */
  private readonly journalled = new Map<number, BatchDetail>();
  private readonly retries: Policy;
  /** Counts not yet in Prometheus: reported once per batch, as the import does. */
  private readonly unreported = { removed: 0, rejected: 0 };
  private failure: unknown;
  private stoppedAt: { readonly line: number; readonly reason: string } | undefined;
  private mostlyBad = false;
  private retryRounds = 0;

  private constructor(
    private readonly claim: Claim,
    private readonly deps: RemovalDependencies,
    private readonly log: Logger,
    private readonly started: number,
    private readonly journal: Journal,
    private readonly rejects: RejectsReport,
    private readonly hold: ClaimHold,
  ) {
    this.progress = { ...newProgress(claim.name), mode: "remove" };
    this.retryDelaysMs = keptRetryDelaysMs(deps.config.removalRetrySeconds ?? 30);
    this.retries = genesysWorkRetries(deps, ({ error, attempt, delayMs }) =>
      log.warn(
        {
          err: { message: (error as Error).message, code: (error as { code?: string }).code },
          retryInMs: delayMs,
          attempt,
        },
        "a removal could not be sent yet; it will be sent again",
      ),
    );
    for (const [index, text] of journal.details) {
      const detail = parseDetail(text);
      if (!detail) continue;
      this.journalled.set(index, detail);
      for (const id of detail.kept ?? []) this.kept.add(id);
    }
  }

  /** Opens the journal (named apart from an import's of the same name) and the rejects report, and holds the claim. */
  static async open(claim: Claim, deps: RemovalDependencies): Promise<FileRemoval> {
    const { layout } = deps;
    const started = deps.clock.now();
    const stored = storageName(claim.name);
    const identity = await fileIdentity(claim.path, claim.name);
    const journal = await Journal.open(path.join(layout.state, `${stored}.remove.journal`), identity);
    const rejects = new RejectsReport(
      path.join(layout.rejects, `${timestampForName(started)}-${stored}.rejects.csv`),
      path.join(layout.rejects, `.${stored}.remove.rejects.csv.partial`),
      deps.config.maxRejectedRows,
    );
    const log = deps.logger.child({ file: claim.name, mode: "remove" });
    const removal = new FileRemoval(claim, deps, log, started, journal, rejects, holdClaim(claim, deps));
    if (journal.acknowledged.size > 0)
      log.info(
        { acknowledgedBatches: journal.acknowledged.size, kept: removal.kept.size },
        "resuming after the batches the journal lists",
      );
    return removal;
  }

  /**
   * Reads the file and removes its ids, waits for the batches in flight, then retries the kept
   * ones. Returns the outcome only when the file is refused whole before any id is sent (its
   * header, or nothing to read); any other stop is left to `conclude`.
   */
  async readAndRemove(): Promise<FileOutcome | undefined> {
    let refusal: string | undefined;
    try {
      refusal = await this.readIds();
      // A mostly bad file still removes the ids it accepted: its reason counts them as removed.
      if (refusal === undefined && !this.hold.signal.aborted && !this.failure) {
        const last = this.batcher.flush();
        if (last) await this.dispatch(last);
      }
      await Promise.all(this.inFlight);
      if (refusal === undefined && this.canGoOn() && !this.stoppedAt) await this.retryKept();
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

  /** The reading loop: checks each id and dispatches each batch it fills. Returns why the file is refused, if it is. */
  private async readIds(): Promise<string | undefined> {
    const format = laneFormatOf(this.claim.name, "remove");
    const { idColumn, maxRecordBytes } = this.deps.config;
    const events =
      format === "csv"
        ? csvIds(this.claim.path, idColumn, this.deps.columnMap?.columns, maxRecordBytes)
        : format === "txt"
          ? textIds(this.claim.path, idColumn, maxRecordBytes)
          : undefined;
    if (!events)
      return "a removal takes a .csv (with the list's id column) or a .txt (one id a line): rename the file";
    for await (const chunk of events)
      for (const event of chunk) {
        if (!this.canGoOn()) return undefined;
        if (event.type === "refused") return event.reason;
        if (event.type === "stop") {
          this.stoppedAt = event;
          return undefined;
        }
        this.progress.rowsRead += 1;
        if (event.type === "bad")
          await this.reject(event.line, `line ${event.line} ${event.reason}`, event.record);
        else await this.accept(event);
        if (this.progress.rowsRead % 1_000 === 0) this.deps.onProgress?.(this.progress);
      }
    return undefined;
  }

  /** Takes an id into the next batch, or refuses its line: empty, impossible for a contact, or a repeat. */
  private async accept(event: Extract<IdEvent, { type: "id" }>): Promise<void> {
    const problem = idProblem(event.id, event.column) ?? repeatProblem(this.recent, event.id, event.line);
    if (problem !== undefined) return this.reject(event.line, `line ${event.line} ${problem}`, event.record);
    this.progress.accepted += 1;
    const batch = this.batcher.add(event.id, event.line);
    if (batch) await this.dispatch(batch);
  }

  /** Sends a batch the journal does not list, once fewer than IMPORT_BATCHES_IN_FLIGHT are in flight. */
  private async dispatch(batch: IdBatch): Promise<void> {
    const { deps, progress } = this;
    if (this.journal.acknowledged.has(batch.index)) {
      const detail = this.journalled.get(batch.index);
      const refused = detail?.refused ?? [];
      progress.alreadySynced += batch.ids.length - (detail?.kept?.length ?? 0) - refused.length;
      for (const [line, reason] of refused) await this.reject(line, reason);
      return;
    }
    while (this.inFlight.size >= deps.config.batchesInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const task = this.removeBatch(batch)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Removes a batch, reads back what stayed, and journals both before counting anything. */
  private async removeBatch(batch: IdBatch): Promise<void> {
    const { deps, progress } = this;
    const answer = await removeAndCheck(batch.ids, deps, this.retries, this.hold.signal);
    const refused: Refused = answer.refused.map(({ index, message }) => ({
      line: batch.lines[index]!,
      reason: `line ${batch.lines[index]} was refused by Genesys Cloud: ${message}`,
    }));
    await this.journal.record(batch.index, detailLine(answer.kept, refused));
    for (const id of answer.kept) this.kept.add(id);
    const gone = batch.ids.length - answer.kept.length - refused.length;
    progress.synced += gone;
    progress.batchesSent += 1;
    this.unreported.removed += gone;
    for (const { line, reason } of refused) await this.reject(line, reason);
    this.reportCounts();
    deps.onProgress?.(progress);
  }

  /**
   * The rounds for the ids Genesys kept: after each wait of keptRetryDelaysMs, remove them
   * again and read back what stayed, until none is left or the waits run out. Not journalled: a
   * resumed file tries its kept ids again from the first round (removing an absent id is harmless).
   */
  private async retryKept(): Promise<void> {
    for (const delayMs of this.retryDelaysMs) {
      if (this.kept.size === 0) return;
      this.log.info(
        { kept: this.kept.size, retryInMs: delayMs, round: this.retryRounds + 1 },
        "Genesys kept contacts a campaign is using; removing them again after a wait",
      );
      await this.sleep(delayMs);
      this.retryRounds += 1;
      const batcher = new IdBatcher();
      for (const id of [...this.kept]) await this.retryBatch(batcher.add(id, 0));
      await this.retryBatch(batcher.flush());
      this.reportCounts();
      this.deps.onProgress?.(this.progress);
    }
  }

  private async retryBatch(batch: IdBatch | undefined): Promise<void> {
    if (!batch) return;
    const answer = await removeAndCheck(batch.ids, this.deps, this.retries, this.hold.signal);
    const still = new Set([...answer.kept, ...answer.refused.map(({ index }) => batch.ids[index]!)]);
    for (const id of batch.ids)
      if (!still.has(id)) {
        this.kept.delete(id);
        this.progress.synced += 1;
        this.unreported.removed += 1;
      }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await this.deps.clock.sleep(ms, this.hold.signal);
    } catch {
      throw new ImportStoppedError();
    }
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
    for (const outcome of ["removed", "rejected"] as const) {
      if (this.unreported[outcome] > 0) this.deps.metrics.rows.inc({ outcome }, this.unreported[outcome]);
      this.unreported[outcome] = 0;
    }
  }

  /** The end of the file, or the stop before it: refused, vanished, handed back, or removed. */
  async conclude(): Promise<FileOutcome> {
    const { claim, deps, progress, log, started } = this;
    const standing = await this.hold.verify();
    const refusal =
      standing.state === "changed"
        ? changedReason(standing.reason, progress)
        : this.mostlyBad
          ? mostlyBadReason(progress, deps.config.maxRejectedRows)
          : undefined;
    if (refusal !== undefined) {
      await this.journal.remove();
      const rejectsReport = await this.rejects.finish();
      return refuseClaimedFile(claim, refusal, progress, deps, log, started, rejectsReport);
    }
    if (standing.state === "deleted" && (this.failure || this.hold.interrupted || deps.signal.aborted)) {
      await this.journal.remove();
      await this.rejects.discard();
      return vanishedFile(claim, progress, deps, log, started, vanishedReason(progress));
    }
    if (this.hold.lost || deps.signal.aborted || this.failure) {
      await this.journal.close();
      await this.rejects.discard();
      return releaseClaimedFile(
        claim,
        { claimLost: this.hold.lost, failure: this.failure },
        progress,
        deps,
        log,
        started,
        "removal stopped before the end of the file; the batches removed, and the ids Genesys kept, are in the journal",
      );
    }
    if (this.stoppedAt) {
      await this.journal.remove();
      const rejectsReport = await this.rejects.finish();
      const reason = stoppedReason(this.stoppedAt, progress);
      return refuseClaimedFile(claim, reason, progress, deps, log, started, rejectsReport);
    }
    return this.finish(standing.state === "deleted");
  }

  /** A file read to its end: summarised, its kept ids written out, archived. */
  private async finish(deleted: boolean): Promise<FileOutcome> {
    const { claim, deps, progress } = this;
    const rejectsReport = await this.rejects.finish();
    const keptIdsFile = this.kept.size > 0 ? await this.writeKeptIds() : undefined;
    const status: FileStatus =
      this.kept.size > 0 ? "removed_with_kept" : progress.rejected > 0 ? "removed_with_rejects" : "removed";
    const movedTo = claim.archivePath();
    const warnings: string[] = [];
    if (progress.rowsRead === 0) warnings.push("the file has a header but no ids: nothing was removed");
    if (deleted)
      warnings.push(
        "the file was deleted from processing/ before it could be archived; every id was read and sent, and this summary is all that is left of it",
      );
    const removal: RemovalSummary = {
      removedOrAbsent: progress.synced + progress.alreadySynced,
      kept: this.kept.size,
      keptByGenesys: Array.from(this.kept).slice(0, MAX_KEPT_IDS_LISTED),
      ...(keptIdsFile ? { keptIdsFile } : {}),
      retryRounds: this.retryRounds,
    };
    const outcome: FileOutcome = {
      ...progress,
      status,
      movedTo,
      removal,
      ...(keptIdsFile
        ? { reason: keptReason(this.kept.size, this.retryDelaysMs.slice(0, this.retryRounds), keptIdsFile) }
        : {}),
      ...(rejectsReport ? { rejectsReport } : {}),
      ...(this.rejects.notListed > 0 ? { rejectedNotListed: this.rejects.notListed } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      elapsedSeconds: (deps.clock.now() - this.started) / 1000,
    };
    // Journal first, as the import does: a crash after this removes the file's ids again from the
    // start (harmless: absent ids are ignored), never skips batches of an identical file dropped later.
    await this.journal.remove();
    await writeFile(`${movedTo}.summary.json`, `${JSON.stringify(outcome, null, 2)}\n`);
    if (!deleted) await claim.archive(movedTo);
    deps.metrics.files.inc({ outcome: status });
    if (this.kept.size > 0) deps.metrics.rows.inc({ outcome: "kept" }, this.kept.size);
    const fields = { ...progress, status, removal: { ...removal, keptByGenesys: undefined }, rejectsReport };
    if (status === "removed") this.log.info(fields, "contacts removed");
    else if (status === "removed_with_kept")
      this.log.warn(fields, "contacts removed; Genesys kept some that a campaign is using");
    else this.log.warn(fields, "contacts removed; some lines are in the rejects report");
    return outcome;
  }

  /** Every kept id, one a line, in rejects/: a file to drop in remove/ again. */
  private async writeKeptIds(): Promise<string> {
    const target = path.join(
      this.deps.layout.rejects,
      `${timestampForName(this.started)}-${storageName(this.claim.name)}.kept.txt`,
    );
    const output = await open(target, "w");
    try {
      let text = "";
      for (const id of this.kept) {
        text += `${id}\n`;
        if (text.length >= 65_536) {
          await output.write(text);
          text = "";
        }
      }
      await output.write(text);
      await output.sync();
    } finally {
      await output.close();
    }
    return target;
  }
}

/**
 * Removes ids until Genesys answers, then reads back which are still in the list. A request-fatal
 * answer to the removal halves the ids until it names the ones Genesys refuses (their index and
 * message); those are not read back. A target-fatal answer goes to the gate and ends the file.
 */
async function removeAndCheck(
  ids: readonly string[],
  deps: RemovalDependencies,
  retries: Policy,
  signal: AbortSignal,
): Promise<{ kept: string[]; refused: Array<{ index: number; message: string }> }> {
  const refused = await removeOrSplit(ids, 0, deps, retries, signal);
  const refusedAt = new Set(refused.map(({ index }) => index));
  const asked = ids.filter((_, index) => !refusedAt.has(index));
  if (asked.length === 0) return { kept: [], refused };
  const still = await untilAnswered(
    retries,
    () => readContacts(deps.client, deps.contactListId, asked),
    signal,
    deps.targetGate,
  );
  const present = new Set(still.map((contact) => contact.id));
  return { kept: asked.filter((id) => present.has(id)), refused };
}

async function removeOrSplit(
  ids: readonly string[],
  offset: number,
  deps: RemovalDependencies,
  retries: Policy,
  signal: AbortSignal,
): Promise<Array<{ index: number; message: string }>> {
  try {
    await untilAnswered(
      retries,
      () => removeContacts(deps.client, deps.contactListId, ids),
      signal,
      deps.targetGate,
    );
    return [];
  } catch (error) {
    if (isStop(error) || failureClass(error) !== "request-fatal") throw error;
    if (ids.length === 1) return [{ index: offset, message: (error as Error).message }];
    const half = Math.ceil(ids.length / 2);
    return [
      ...(await removeOrSplit(ids.slice(0, half), offset, deps, retries, signal)),
      ...(await removeOrSplit(ids.slice(half), offset + half, deps, retries, signal)),
    ];
  }
}

/** The journal's detail for a batch: its kept ids and refused lines, or none when it has neither. */
function detailLine(kept: readonly string[], refused: Refused): string | undefined {
  if (kept.length === 0 && refused.length === 0) return undefined;
  const detail: BatchDetail = {
    ...(kept.length > 0 ? { kept } : {}),
    ...(refused.length > 0 ? { refused: refused.map(({ line, reason }) => [line, reason] as const) } : {}),
  };
  return JSON.stringify(detail);
}

function parseDetail(text: string): BatchDetail | undefined {
  try {
    const detail = JSON.parse(text) as BatchDetail;
    return typeof detail === "object" && detail !== null ? detail : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Groups ids into removals of at most MAX_CONTACT_IDS_PER_REMOVAL ids and MAX_REMOVAL_ID_BYTES of
 * URL. Boundaries depend only on the ids and these limits, so a restart recomputes the same
 * batches and the journal's indices still name them.
 */
class IdBatcher {
  private ids: string[] = [];
  private lines: number[] = [];
  private bytes = 0;
  private nextIndex = 0;

  add(id: string, line: number): IdBatch | undefined {
    const size = encodeURIComponent(id).length + 3;
    const completed =
      this.ids.length > 0 && this.bytes + size > MAX_REMOVAL_ID_BYTES ? this.take() : undefined;
    this.ids.push(id);
    this.lines.push(line);
    this.bytes += size;
    // One id never fills a batch of bytes alone, so at most one batch completes here.
    return completed ?? (this.ids.length >= MAX_CONTACT_IDS_PER_REMOVAL ? this.take() : undefined);
  }

  flush(): IdBatch | undefined {
    return this.ids.length > 0 ? this.take() : undefined;
  }

  private take(): IdBatch {
    const batch: IdBatch = { index: this.nextIndex++, ids: this.ids, lines: this.lines };
    this.ids = [];
    this.lines = [];
    this.bytes = 0;
    return batch;
  }
}

/** Why `id` is refused as a repeat within the window; undefined (and `id` remembered) when it is not one. */
function repeatProblem(recent: RecentIds, id: string, line: number): string | undefined {
  const first = recent.firstLine(id, line);
  return first === undefined
    ? undefined
    : `repeats id ${id} from line ${first}: it is removed once, for that line`;
}

// eslint-disable-next-line no-control-regex -- control characters are what a contact id cannot hold
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Why `id` (trimmed) cannot be a contact's, with the fix; undefined when it can. */
function idProblem(id: string, column: string | undefined): string | undefined {
  if (id === "")
    return column === undefined
      ? "holds only spaces, not an id: write one contact id a line"
      : `has no contact id (its "${column}" is empty): fill it in, or take the line out`;
  if (id.length > MAX_ID_CHARS)
    return (
      `has an id of ${id.length} characters; a contact id is a value of the list's id column, which Genesys keeps to ${MAX_ID_CHARS}, ` +
      `so no contact has it: check that ${column === undefined ? "the file" : `column "${column}"`} holds contact ids`
    );
  if (CONTROL_CHARACTER.test(id))
    return `has a control character (a tab, NUL or other invisible character) in id ${JSON.stringify(id)}: contact ids hold none, remove it`;
  if (id.includes(","))
    return (
      `has a comma in id "${id}": a removal names its ids comma-separated, so Genesys would read it as ${id.split(",").length} other ids. ` +
      `Remove this contact in Genesys Cloud Admin > Outbound > Contact Lists instead`
    );
  return undefined;
}

/** The ids of a CSV: the column the header names as the list's id column, directly or through the route's map. */
async function* csvIds(
  file: string,
  idColumn: string,
  columnMap: Readonly<Record<string, string>> | undefined,
  maxRecordBytes: number,
): AsyncGenerator<IdEvent[]> {
  let column: string | undefined;
  for await (const events of readContactsFileChunks(file, "csv", { maxRecordBytes })) {
    const out: IdEvent[] = [];
    for (const event of events) {
      if (event.type === "header") {
        const found = idColumnOf(event.columns, idColumn, columnMap);
        if ("reason" in found) {
          yield [found];
          return;
        }
        column = found.column;
      } else if (event.type === "row")
        out.push({
          type: "id",
          line: event.line,
          id: (event.record[column!] ?? "").trim(),
          column,
          record: event.record,
        });
      else out.push(event);
    }
    if (out.length > 0) yield out;
  }
  if (column === undefined)
    yield [
      {
        type: "refused",
        reason: `the file is empty: it has no header row. Give it a header naming the list's id column "${idColumn}", or drop the ids as a .txt, one a line`,
      },
    ];
}

/** The header's column that holds the list's id column (Genesys matches names case-insensitively), or why there is none. */
function idColumnOf(
  header: readonly string[],
  idColumn: string,
  columnMap: Readonly<Record<string, string>> | undefined,
): { readonly column: string } | { readonly type: "refused"; readonly reason: string } {
  const mapped = new Map(Object.entries(columnMap ?? {}).map(([from, to]) => [from.toLowerCase(), to]));
  const wanted = idColumn.toLowerCase();
  const holders = header.filter(
    (column) => (mapped.get(column.toLowerCase()) ?? column).toLowerCase() === wanted,
  );
  if (holders.length === 1) return { column: holders[0]! };
  const quoted = (names: readonly string[]) => names.map((name) => `"${name}"`).join(", ");
  if (holders.length > 1)
    return {
      type: "refused",
      reason: `the header has ${quoted(holders)}, which all name the list's id column "${idColumn}" (Genesys matches column names case-insensitively, and the route's column map counts too): keep one, so that each line names one contact`,
    };
  const aliases = Object.entries(columnMap ?? {})
    .filter(([, to]) => to.toLowerCase() === wanted)
    .map(([from]) => from);
  const shown = header.length > 12 ? `${quoted(header.slice(0, 12))}, …` : quoted(header);
  return {
    type: "refused",
    reason:
      `the header has no "${idColumn}" column, the list's id column` +
      (aliases.length > 0 ? ` (nor ${quoted(aliases)}, which the route's column map maps to it)` : "") +
      `; its columns are ${shown}. Fix: name the column of contact ids "${idColumn}"` +
      (aliases.length > 0 ? "" : ", or map the CRM's name for it to it in the route's columns") +
      `; ids without a header go in a .txt file, one a line`,
  };
}

/**
 * The ids of a .txt: one a line, trimmed; empty lines are skipped, as csv-parse skips them, and a
 * first line that is the id column's name is taken for a header.
 */
async function* textIds(file: string, idColumn: string, maxRecordBytes: number): AsyncGenerator<IdEvent[]> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 0;
  let entries = 0;
  for await (const lines of lineChunks(file, maxRecordBytes)) {
    const out: IdEvent[] = [];
    for (const raw of lines) {
      line += 1;
      let text = raw === "too-long" ? undefined : decoded(decoder, raw);
      if (text === undefined) {
        entries += 1;
        const reason =
          raw === "too-long"
            ? `is longer than ${maxRecordBytes} bytes (IMPORT_MAX_RECORD_BYTES): write one id a line`
            : "is not valid UTF-8: save the file as UTF-8";
        out.push({ type: "bad", line, reason });
        continue;
      }
      if (line === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
      if (text === "") continue;
      const id = text.trim();
      if (line === 1 && id.toLowerCase() === idColumn.toLowerCase()) continue;
      entries += 1;
      out.push({ type: "id", line, id });
    }
    if (out.length > 0) yield out;
  }
  if (entries === 0)
    yield [
      { type: "refused", reason: "the file holds no contact ids: write one id a line, then drop it again" },
    ];
}

/** The text of a line, or undefined when it is not UTF-8. */
function decoded(decoder: TextDecoder, raw: Buffer): string | undefined {
  try {
    return decoder.decode(raw);
  } catch {
    return undefined;
  }
}

/** Why a file written to after its claim was put aside, and what of it was already removed. */
function changedReason(change: string, progress: FileProgress): string {
  return (
    `the file changed after it was claimed (${change}): its writer did not follow write-then-rename, so ids written after the claim would have been missed. ` +
    `${removedSoFar(progress)} id(s) read before the change were removed. ` +
    `Fix: write the file under a dot-name or a .tmp/.part name and rename it into remove/ once it is complete, then drop the whole file again (ids already removed are simply no longer in the list)`
  );
}

/** Why a file whose lines mostly fail was stopped. */
function mostlyBadReason(progress: FileProgress, maxRejectedRows: number): string {
  return (
    `mostly bad: ${progress.rejected} of the first ${progress.rowsRead} lines were refused (more than half, and the rejects report holds IMPORT_MAX_REJECTED_ROWS=${maxRejectedRows}), ` +
    `so the removal stopped: the file looks wrong as a whole (another export, the wrong column?). ` +
    `${removedSoFar(progress)} id(s) read before that were removed. Fix the file, using the rejects report, and drop it again`
  );
}

/** Why a file the reader could not read to its end was put aside, though the ids before that line were removed. */
function stoppedReason(
  stoppedAt: { readonly line: number; readonly reason: string },
  progress: FileProgress,
): string {
  return (
    `line ${stoppedAt.line} ${stoppedAt.reason}; the rest of the file from there was not read. ` +
    `${removedSoFar(progress)} id(s) before that line were removed. Fix that line and drop the whole file again (ids already removed are simply no longer in the list)`
  );
}

function vanishedReason(progress: FileProgress): string {
  return (
    `the file was deleted from processing/ while its ids were being removed (by someone other than this service); ` +
    `${removedSoFar(progress)} id(s) had been removed. Drop the file again to remove the rest (ids already removed are simply no longer in the list)`
  );
}

function keptReason(kept: number, waitedMs: readonly number[], keptIdsFile: string): string {
  const rounds = waitedMs.length;
  const minutes = waitedMs.reduce((sum, ms) => sum + ms, 0) / 60_000;
  return (
    `${kept} contact(s) stayed in the list: Genesys does not remove a contact a campaign is using, and they were still in use after ${rounds} more tries over ${minutes} min. ` +
    `Their ids are in ${keptIdsFile}: drop that file in the route's remove/ folder again once the campaign is done with them, or take them out of the campaign in Genesys Cloud`
  );
}

function removedSoFar(progress: FileProgress): number {
  return progress.synced + progress.alreadySynced;
}
