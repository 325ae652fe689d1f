import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { addContacts, type ContactListDefinition } from "../genesys/api";
import type { GenesysClient } from "../genesys/client";
import { failureClass } from "../genesys/errors";
import { formatOf, storageName, timestampForName, type DataLayout, type FileFormat } from "../shared/layout";
import type { Policy } from "../shared/retry";
import type { Clock, Random } from "../time/clock";
import { batchBody, Batcher, contactJson, type Batch } from "./batcher";
import { holdClaim, type ClaimHold } from "./claim-hold";
import type { Claim } from "./claims";
import type { ImportConfig } from "./config";
import { ColumnMapper, type ColumnMapSpec } from "./column-map";
import { capacityWarning, fileHeaderProblems, readListDefinition } from "./contact-list";
import { isStop } from "./errors";
import { fileIdentity, Journal } from "./journal";
import type { ImportMetrics } from "./metrics";
import {
  changedReason,
  newProgress,
  refuseClaimedFile,
  releaseClaimedFile,
  vanishedFile,
  type FileOutcome,
  type FileProgress,
  type FileStatus,
} from "./outcomes";
import { readContactsFileChunks, type ReadEvent } from "./readers";
import { csvField, RejectsReport } from "./rejects";
import { genesysWorkRetries, untilAnswered } from "./retries";
import { RowValidator } from "./rows";
import type { TargetGate } from "./target-gate";

export interface ImportDependencies {
  readonly client: GenesysClient;
  readonly contactListId: string;
  readonly config: ImportConfig;
  readonly layout: DataLayout;
  readonly metrics: ImportMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  /** Aborted on shutdown: stop reading, let batches in flight finish, keep the journal. */
  readonly signal: AbortSignal;
  /** Called with progress as rows are read and batches acknowledged. */
  readonly onProgress?: (progress: FileProgress) => void;
  /** Told when the contact list refuses every call, so the import holds back until it is fixed. */
  readonly targetGate?: TargetGate;
  /** The route's column mapping (import/column-map.ts); undefined: the file's names are the list's. */
  readonly columnMap?: ColumnMapSpec;
  /** The DNC routes the route checks (its checkDnc): the summary counts imported contacts on their lists. */
  readonly dncCheck?: DncCheck;
}

/**
 * Whether a contact has a number on a DNC list this service keeps (app/src/dnc/): a contact on one
 * is still imported (Genesys suppresses it when dialling), and the file's summary counts them.
 */
export interface DncCheck {
  /** The DNC routes looked in, for the summary. */
  readonly routes: readonly string[];
  /** Whether any of the contact's numbers (its data, phone columns in E.164) is on their lists. */
  listed(data: Readonly<Record<string, string>>): boolean;
}

/**
 * Imports one claimed file into the contact list: reads it as a stream, validates every row,
 * posts batches (several in flight, paced by the client), and records each acknowledged batch in
 * the journal before counting it. Bad rows go to the rejects report with their line; the good
 * rows of the same file still sync. On shutdown the file goes back to the inbox with its journal,
 * so whichever replica takes it next resumes after the last acknowledged batch.
 */
export async function importClaimedFile(claim: Claim, deps: ImportDependencies): Promise<FileOutcome> {
  const file = await FileImport.open(claim, deps);
  const refused = await file.readAndSend();
  return refused ?? (await file.conclude());
}

/**
 * One file's import, in the order it runs: `open` (journal, rejects report, claim hold and the
 * list's definition), `readAndSend` (the reading loop, which dispatches batches as they fill),
 * then `conclude` (what the end of the file, or the stop before it, makes of the file).
 */
class FileImport {
  private readonly stamp: string;
  private readonly stored: string;
  private readonly format: FileFormat;
  private readonly progress: FileProgress;
  private readonly batcher = new Batcher();
  private readonly contactListIdJson: string;
  private readonly inFlight = new Set<Promise<void>>();
  /** Row counts not yet in Prometheus: reported once per batch, as an increment per row costs as much as parsing it. */
  private readonly unreported = { read: 0, accepted: 0, rejected: 0 };
  private readonly warnings: string[] = [];
  private failure: unknown;
  private header: readonly string[] | undefined;
  private stoppedAt: Extract<ReadEvent, { type: "stop" }> | undefined;
  private mostlyBad = false;
  private readonly validator: RowValidator;
  private readonly mapper: ColumnMapper;
  /** Lines of accepted contacts on a checked DNC list, until their batch is acknowledged. */
  private readonly onDnc = new Set<number>();
  private contactsOnDnc = 0;

  private constructor(
    private readonly claim: Claim,
    private readonly deps: ImportDependencies,
    private readonly log: Logger,
    private readonly started: number,
    private readonly journal: Journal,
    private readonly rejects: RejectsReport,
    private readonly hold: ClaimHold,
    private readonly definition: ContactListDefinition | undefined,
  ) {
    this.stamp = timestampForName(started);
    this.stored = storageName(claim.name);
    this.format = formatOf(claim.name)!;
    this.progress = newProgress(claim.name);
    this.contactListIdJson = JSON.stringify(deps.contactListId);
    this.validator = new RowValidator(deps.config, undefined, definition?.columnNames ?? []);
    const listColumns = definition?.columnNames.length ? definition.columnNames : deps.config.columns;
    this.mapper = new ColumnMapper(deps.columnMap ?? { route: "default", unmapped: "refuse" }, listColumns);
  }

  /** Opens the journal and the rejects report, holds the claim, and reads the list's definition (preflight). */
  static async open(claim: Claim, deps: ImportDependencies): Promise<FileImport> {
    const { layout, config } = deps;
    const started = deps.clock.now();
    const stored = storageName(claim.name);
    const identity = await fileIdentity(claim.path, claim.name);
    const journal = await Journal.open(path.join(layout.state, `${stored}.journal`), identity);
    const rejects = new RejectsReport(
      path.join(layout.rejects, `${timestampForName(started)}-${stored}.rejects.csv`),
      path.join(layout.rejects, `.${stored}.rejects.csv.partial`),
      config.maxRejectedRows,
    );
    const hold = holdClaim(claim, deps);
    const log = deps.logger.child({ file: claim.name });
    // The list's definition (columns, phone columns, size), read again for every file.
    const preflight = await readDefinitionForFile(deps, hold.signal, log);
    const file = new FileImport(claim, deps, log, started, journal, rejects, hold, preflight.definition);
    file.failure = preflight.failure;
    await file.warnOfCapacity();
    if (journal.acknowledged.size > 0)
      log.info(
        { acknowledgedBatches: journal.acknowledged.size },
        "resuming after the batches the journal lists",
      );
    return file;
  }

  private async warnOfCapacity(): Promise<void> {
    if (!this.definition || this.failure) return;
    const warning = capacityWarning(this.definition, await countRows(this.claim.path, this.format));
    if (!warning) return;
    this.warnings.push(warning);
    this.log.warn({ contactListId: this.deps.contactListId }, warning);
  }

  /**
   * Reads the file and sends its batches, then waits for those in flight. Returns the outcome
   * only when the file's header refuses it; any other stop is left to `conclude`.
   */
  async readAndSend(): Promise<FileOutcome | undefined> {
    try {
      const headerRefusal = await this.readRows();
      if (headerRefusal !== undefined) return await this.refuseWhole(headerRefusal);
      // A mostly bad file still sends the good rows it accepted: they are part of what its summary says was sent.
      if (!this.hold.signal.aborted && !this.failure) {
        const last = this.batcher.flush();
        if (last) await this.dispatch(last);
      }
      await Promise.all(this.inFlight);
    } catch (error) {
      this.failure ??= error;
      await Promise.all(this.inFlight);
    } finally {
      this.reportCounts();
      await this.hold.end();
    }
    return undefined;
  }

  /** The reading loop: validates each row and dispatches each batch it fills. Returns why the header is refused, if it is. */
  private async readRows(): Promise<string | undefined> {
    const { config } = this.deps;
    const progress = this.progress;
    for await (const events of readContactsFileChunks(this.claim.path, this.format, {
      maxRecordBytes: config.maxRecordBytes,
    }))
      for (const event of events) {
        if (this.hold.signal.aborted || this.failure || this.mostlyBad) return undefined;
        if (event.type === "header") {
          const refusal = this.checkHeader(event.columns);
          if (refusal !== undefined) return refusal;
          continue;
        }
        if (event.type === "stop") {
          this.stoppedAt = event;
          return undefined;
        }
        progress.rowsRead += 1;
        this.unreported.read += 1;
        if (event.type === "bad") {
          await this.reject(event.line, `line ${event.line} ${event.reason}`, event.record);
          continue;
        }
        const verdict = this.validator.validate(event.line, this.mapper.record(event.record));
        if (!verdict.ok) {
          await this.reject(event.line, `line ${event.line} ${verdict.reason}`, event.record);
          continue;
        }
        progress.accepted += 1;
        this.unreported.accepted += 1;
        if (this.deps.dncCheck?.listed(verdict.data)) this.onDnc.add(event.line);
        const batch = this.batcher.add(
          contactJson(verdict.id, this.contactListIdJson, verdict.data),
          event.line,
        );
        if (batch) {
          this.reportCounts();
          await this.dispatch(batch);
        }
        if (progress.rowsRead % 1_000 === 0) this.deps.onProgress?.(progress);
      }
    return undefined;
  }

  /**
   * Checks a CSV header, under the list's names when the route maps columns: why the file is
   * refused, or undefined (and the header kept) when it is not.
   */
  private checkHeader(columns: readonly string[]): string | undefined {
    let header = columns;
    if (this.mapper.active) {
      const mapped = this.mapper.mapHeader(columns);
      if (mapped.problems.length > 0) return mapped.problems.join("; ");
      header = mapped.columns.filter((column): column is string => column !== null);
    }
    const problems = fileHeaderProblems(header, this.validator, this.definition, this.deps.config);
    if (problems.length > 0) return problems.join("; ");
    this.header = columns;
    return undefined;
  }

  /** Sends a batch the journal does not list, once fewer than IMPORT_BATCHES_IN_FLIGHT are in flight. */
  private async dispatch(batch: Batch): Promise<void> {
    const { deps, progress } = this;
    if (this.journal.acknowledged.has(batch.index)) {
      progress.alreadySynced += batch.json.length;
      this.countOnDnc(batch.lines, []);
      return;
    }
    while (this.inFlight.size >= deps.config.batchesInFlight) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const task = sendWithRetries(batch, deps, this.hold.signal)
      .then(async (refused) => {
        await this.journal.record(batch.index);
        const synced = batch.json.length - refused.length;
        progress.synced += synced;
        progress.batchesSent += 1;
        deps.metrics.rows.inc({ outcome: "synced" }, synced);
        this.countOnDnc(batch.lines, refused);
        for (const { line, reason } of refused) await this.reject(line, reason);
        deps.onProgress?.(progress);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Counts a batch's contacts on a checked DNC list, but those Genesys refused. */
  private countOnDnc(lines: readonly number[], refused: ReadonlyArray<{ readonly line: number }>): void {
    if (this.onDnc.size === 0) return;
    const notImported = new Set(refused.map(({ line }) => line));
    for (const line of lines) if (this.onDnc.delete(line) && !notImported.has(line)) this.contactsOnDnc += 1;
  }

  private async reject(
    line: number,
    reason: string,
    record?: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.progress.rejected += 1;
    this.unreported.rejected += 1;
    await this.rejects.add(line, reason, record);
    // A full report on a file where most rows fail: the file is wrong as a whole, not row by row.
    if (this.rejects.full && this.progress.rejected * 2 > this.progress.rowsRead) this.mostlyBad = true;
  }

  private reportCounts(): void {
    for (const outcome of ["read", "accepted", "rejected"] as const) {
      if (this.unreported[outcome] > 0) this.deps.metrics.rows.inc({ outcome }, this.unreported[outcome]);
      this.unreported[outcome] = 0;
    }
  }

  /** The end of the file, or the stop before it: refused, vanished, handed back, or imported. */
  async conclude(): Promise<FileOutcome> {
    const { claim, deps, progress, log, started } = this;
    // The file as it is now against the file as claimed: the heartbeat looks only now and then.
    const standing = await this.hold.verify();
    if (standing.state === "changed" || this.mostlyBad) {
      await this.journal.remove();
      const rejectsReport = await this.rejects.finish();
      const reason =
        standing.state === "changed"
          ? changedReason(standing.reason, progress)
          : mostlyBadReason(progress, deps.config.maxRejectedRows);
      return refuseClaimedFile(claim, reason, progress, deps, log, started, rejectsReport);
    }
    if (standing.state === "deleted" && (this.failure || this.hold.interrupted || deps.signal.aborted)) {
      await this.journal.remove();
      await this.rejects.discard();
      return vanishedFile(claim, progress, deps, log, started);
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
        "import stopped before the end of the file; acknowledged batches are in the journal",
      );
    }
    const empty = this.emptyFileReason();
    if (empty !== undefined) return this.refuseWhole(empty);
    return this.finishImported(standing.state === "deleted");
  }

  /** Why a file read to its end holds nothing to import, if it does not. */
  private emptyFileReason(): string | undefined {
    const stoppedAt = this.stoppedAt;
    if (this.header === undefined && this.format === "csv")
      return stoppedAt
        ? `the header row (line ${stoppedAt.line}) ${stoppedAt.reason}`
        : "the file is empty: it has no header row";
    if (this.format === "ndjson" && this.progress.rowsRead === 0)
      return "the file has no contacts: it is empty";
    return undefined;
  }

  /** A file read to its end (or to a line it cannot read past): summarised and archived. */
  private async finishImported(deleted: boolean): Promise<FileOutcome> {
    const { claim, deps, progress, stoppedAt } = this;
    const remainder = stoppedAt ? await this.setRemainderAside(stoppedAt) : undefined;
    const rejectsReport = await this.rejects.finish();
    const status: FileStatus = stoppedAt
      ? "partial"
      : progress.rejected > 0
        ? "imported_with_rejects"
        : "imported";
    const movedTo = claim.archivePath();
    const dropped = this.mapper.dropped;
    if (dropped.length > 0)
      this.warnings.push(
        `columns dropped (neither mapped by route ${this.deps.columnMap?.route} nor columns of its list): ${dropped.map((column) => `"${column}"`).join(", ")}`,
      );
    if (deleted)
      this.warnings.push(
        "the file was deleted from processing/ before it could be archived; every row was read and sent, and this summary is all that is left of it",
      );
    const outcome: FileOutcome = {
      ...progress,
      status,
      movedTo,
      ...(rejectsReport ? { rejectsReport } : {}),
      ...(this.rejects.notListed > 0 ? { rejectedNotListed: this.rejects.notListed } : {}),
      ...(remainder ? { remainder } : {}),
      ...(this.deps.dncCheck
        ? { onDncLists: { routes: this.deps.dncCheck.routes, contacts: this.contactsOnDnc } }
        : {}),
      ...(stoppedAt ? { reason: `line ${stoppedAt.line} ${stoppedAt.reason}` } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
      elapsedSeconds: (deps.clock.now() - this.started) / 1000,
    };
    // Journal first: a crash after this re-imports the file from the start (harmless upserts),
    // never leaves a journal that would skip batches of an identical file dropped again later.
    await this.journal.remove();
    await writeFile(`${movedTo}.summary.json`, `${JSON.stringify(outcome, null, 2)}\n`);
    if (!deleted) await claim.archive(movedTo);
    deps.metrics.files.inc({ outcome: status });
    const fields = { ...progress, status, rejectsReport, remainder };
    if (progress.rowsRead === 0) this.log.warn(fields, "file had a header but no rows");
    else if (status === "imported") this.log.info(fields, "file imported");
    else this.log.warn(fields, "file imported; some rows are in the rejects report");
    return outcome;
  }

  /** Reports the line the reader could not get past and copies the rest of the file to rejects/. */
  private async setRemainderAside(stoppedAt: Extract<ReadEvent, { type: "stop" }>): Promise<string> {
    await this.reject(
      stoppedAt.line,
      `line ${stoppedAt.line} ${stoppedAt.reason}; the rest of the file from this line was not read`,
    );
    const csv = this.format === "csv";
    const remainder = path.join(
      this.deps.layout.rejects,
      `${this.stamp}-${this.stored}.remainder${csv ? ".csv" : ".ndjson"}`,
    );
    await copyRemainder(this.claim.path, stoppedAt.offset, remainder, csv ? this.header : undefined);
    return remainder;
  }

  private async refuseWhole(reason: string): Promise<FileOutcome> {
    await this.journal.remove();
    await this.rejects.discard();
    return refuseClaimedFile(this.claim, reason, this.progress, this.deps, this.log, this.started);
  }
}

/** Why a file whose rows mostly fail was stopped. */
function mostlyBadReason(progress: FileProgress, maxRejectedRows: number): string {
  return (
    `mostly bad: ${progress.rejected} of the first ${progress.rowsRead} rows were refused (more than half, and the rejects report holds IMPORT_MAX_REJECTED_ROWS=${maxRejectedRows}), ` +
    `so the import stopped: the file looks wrong as a whole (another export, a shifted column, the wrong delimiter?). ` +
    `${progress.synced + progress.alreadySynced} good row(s) read before that were sent and stay in Genesys. Fix the file, using the rejects report, and drop it again`
  );
}

/**
 * Posts one batch until Genesys acknowledges it, by failure class (genesys/errors.ts): a deferred
 * request waits its Retry-After; transient failures that outlast the client's own retries wait
 * and try again; a request-fatal answer (400, 413) splits the batch to find the contacts Genesys
 * refuses, which are returned (with their line) to be reported while the rest sync. A
 * target-fatal answer (403, 404, 401 after a fresh token) is never retried here: it goes to the
 * target gate and ends the file's import, the file kept with its journal. Shutdown ends it too.
 */
async function sendWithRetries(
  batch: Batch,
  deps: ImportDependencies,
  signal: AbortSignal,
): Promise<Array<{ line: number; reason: string }>> {
  const started = deps.clock.now();
  const retries = genesysWorkRetries(deps, ({ error, attempt, delayMs }) =>
    deps.logger.warn(
      {
        err: { message: (error as Error).message, code: (error as { code?: string }).code },
        retryInMs: delayMs,
        attempt,
      },
      "a batch could not be sent yet; it stays in the file and will be sent again",
    ),
  );
  const refused = await sendPart(batch.json, batch.lines, deps, retries, signal);
  deps.metrics.batchDuration.observe((deps.clock.now() - started) / 1000);
  return refused;
}

/** Sends contacts until Genesys takes them; a request-fatal answer halves them until it names the ones refused. */
async function sendPart(
  json: readonly string[],
  lines: readonly number[],
  deps: ImportDependencies,
  retries: Policy,
  signal: AbortSignal,
): Promise<Array<{ line: number; reason: string }>> {
  try {
    await untilAnswered(
      retries,
      () => addContacts(deps.client, deps.contactListId, { json: batchBody({ json }) }),
      signal,
      deps.targetGate,
    );
    return [];
  } catch (error) {
    if (isStop(error) || failureClass(error) !== "request-fatal") throw error;
    if (json.length === 1)
      return [
        {
          line: lines[0]!,
          reason: `line ${lines[0]} was refused by Genesys Cloud: ${(error as Error).message}`,
        },
      ];
    const half = Math.ceil(json.length / 2);
    return [
      ...(await sendPart(json.slice(0, half), lines.slice(0, half), deps, retries, signal)),
      ...(await sendPart(json.slice(half), lines.slice(half), deps, retries, signal)),
    ];
  }
}

/**
 * The list's definition for one file's preflight. A target-fatal answer goes to the gate and comes
 * back as `failure` (the file waits); any other failure only means the file is not checked
 * against the list.
 */
export async function readDefinitionForFile(
  deps: ImportDependencies,
  signal: AbortSignal,
  log: Logger,
): Promise<{ definition?: ContactListDefinition; failure?: unknown }> {
  try {
    return { definition: await readListDefinition(deps.client, deps.contactListId, deps.clock, signal) };
  } catch (error) {
    if (failureClass(error) === "target-fatal") {
      deps.targetGate?.block(error);
      return { failure: error };
    }
    if (!isStop(error) && !signal.aborted)
      log.warn(
        { err: { message: (error as Error).message } },
        "could not read the contact list's definition; importing without checking the file against it",
      );
    return {};
  }
}

/** Rows in a file, counted by line ends (the header excluded for CSV): for the capacity warning. */
async function countRows(file: string, format: string): Promise<number> {
  const input = await open(file, "r");
  try {
    const buffer = Buffer.alloc(1 << 20);
    let lines = 0;
    let last = 10;
    for (let position = 0; ;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      for (
        let index = buffer.indexOf(10, 0);
        index >= 0 && index < bytesRead;
        index = buffer.indexOf(10, index + 1)
      )
        lines += 1;
      last = buffer[bytesRead - 1]!;
      position += bytesRead;
    }
    if (last !== 10) lines += 1;
    return Math.max(0, format === "csv" ? lines - 1 : lines);
  } finally {
    await input.close();
  }
}

/** Copies the unread part of a file, after the header row for CSV, so it can be fixed and dropped again. */
async function copyRemainder(
  source: string,
  offset: number,
  target: string,
  header: readonly string[] | undefined,
): Promise<void> {
  const input = await open(source, "r");
  const output = await open(target, "w");
  try {
    if (header) await output.write(`${header.map(csvField).join(",")}\n`);
    const buffer = Buffer.alloc(1 << 20);
    for (let position = offset; ;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      await output.write(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    await output.sync();
  } finally {
    await input.close();
    await output.close();
  }
}
