import { stat, statfs } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Clock } from "../time/clock";
import type { ImportLane } from "../shared/layout";
import { bulkLoadClaimedFile } from "./bulk-load";
import type { ClaimStore } from "./claims";
import { howItChanged, setAside, type Claim, type ClaimedFileState } from "./claims";
import type { BlockedTarget } from "./target-gate";
import { importClaimedFile, type ImportDependencies } from "./importer";
import { removeClaimedFile } from "./removals";
import { currentRequestShare, withRequestShare } from "../genesys/request-share";
import { DEFAULT_ROUTE } from "../shared/routes";
import { changedReason, newProgress, type FileOutcome, type FileProgress } from "./outcomes";

export interface ImportStatus {
  readonly paused: boolean;
  readonly inboxFiles: number;
  readonly oldestInboxFileAgeSeconds: number;
  readonly current: FileProgress | undefined;
  /** The most recent outcomes, newest first. */
  readonly recent: readonly FileOutcome[];
  readonly lastScanAt: number | undefined;
  readonly lastError: string | undefined;
  /** Set while the contact list refuses every call: what Genesys said and the fix. */
  readonly blocked: BlockedTarget | undefined;
  /** Set while the shared volume is full: nothing is claimed until space is freed. */
  readonly volumeFull: VolumeFull | undefined;
}

interface ArchivedFile {
  readonly name: string;
  readonly path: string;
  readonly claimed: ClaimedFileState;
  readonly progress: FileProgress;
  readonly untilMs: number;
}

/** The shared volume refused a write for lack of space (ENOSPC) or quota (EDQUOT). */
export interface VolumeFull {
  readonly sinceMs: number;
  readonly message: string;
}

/** Free space a full volume needs before imports start again: 16 MiB, or a tenth of a smaller volume. */
export const VOLUME_FREE_BYTES_TO_RESUME = 16 * 1024 * 1024;

/** The volume's free and total bytes, as statfs tells them. */
export type VolumeSpace = (dir: string) => Promise<{ readonly free: number; readonly total: number }>;

const statfsSpace: VolumeSpace = async (dir) => {
  const stats = await statfs(dir);
  return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
};

function isVolumeFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Lanes whose files must not run beside an older or newer file of their route (waitsForOlder). */
const ORDERED_LANES: ReadonlySet<ImportLane> = new Set(["remove", "replace"]);

/** One folder of the inbox and the claims on its files: inbox/ (the contacts API), inbox/bulk/, inbox/replace/, inbox/remove/. */
export interface InboxLane {
  readonly lane: ImportLane;
  readonly claims: ClaimStore;
}

/**
 * The import loop of one replica: every scan interval, take over stale claims, move files the
 * importer will not take to rejects/, then claim and import ready files one at a time, oldest
 * first across the inbox's folders (replicas share the work file by file; batches within a file
 * go several at a time). Files in inbox/ go through the contacts API; those in inbox/bulk/ and
 * inbox/replace/ through the bulk upload (bulk-load.ts).
 */
export class ImportService {
  private paused = false;
  private current: FileProgress | undefined;
  private readonly recent: FileOutcome[] = [];
  private inboxFiles = 0;
  private oldestAgeSeconds = 0;
  private lastScanAt: number | undefined;
  private lastError: string | undefined;
  private loop: Promise<void> | undefined;
  private wake: AbortController | undefined;
  private volumeFull: VolumeFull | undefined;
  /** The last failure logged per file, so a file that keeps failing is logged once, not every scan. */
  private readonly fileFailures = new Map<string, string>();
  /** Files archived a moment ago, watched for a writer that was not done (see watchArchived). */
  private readonly archived: ArchivedFile[] = [];

  constructor(
    private readonly lanes: readonly InboxLane[],
    private readonly deps: Omit<ImportDependencies, "onProgress">,
    private readonly scanIntervalMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly space: VolumeSpace = statfsSpace,
  ) {}

  /** How long an archived file is watched for a writer that was not done: 10 settle times, at least a minute. */
  private get archiveWatchMs(): number {
    return Math.max(60_000, 10 * this.deps.config.settleSeconds * 1000);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves when the loop has stopped (after the signal aborted and the file in hand was released). */
  async stopped(): Promise<void> {
    this.wake?.abort();
    await this.loop;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.abort();
  }

  status(): ImportStatus {
    return {
      paused: this.paused,
      inboxFiles: this.inboxFiles,
      oldestInboxFileAgeSeconds: this.oldestAgeSeconds,
      current: this.current ? { ...this.current } : undefined,
      recent: [...this.recent],
      lastScanAt: this.lastScanAt,
      lastError: this.lastError,
      blocked: this.deps.targetGate?.blocked,
      volumeFull: this.volumeFull,
    };
  }

  private async run(): Promise<void> {
    await this.deps.targetGate?.preflight(this.deps.signal);
    while (!this.deps.signal.aborted) {
      const gate = this.deps.targetGate;
      if (gate?.blocked) {
        // Claims nothing while the list refuses calls; re-checks slowly, resumes once it is fixed.
        await gate.waitUntilOpen(this.deps.signal).catch(() => undefined);
        continue;
      }
      if (this.volumeFull && !(await this.volumeHasRoom())) {
        // Claims nothing while the volume is full: every file would fail at its first write.
      } else if (!this.paused) {
        try {
          await this.scanOnce();
          this.lastError = undefined;
        } catch (error) {
          if (isVolumeFull(error)) this.markVolumeFull(error);
          this.lastError = error instanceof Error ? error.message : String(error);
          this.logger.error(
            { err: { message: this.lastError } },
            "import scan failed; trying again at the next interval",
          );
        }
      }
      if (this.deps.signal.aborted) break;
      this.wake = new AbortController();
      const onAbort = () => this.wake?.abort();
      this.deps.signal.addEventListener("abort", onAbort, { once: true });
      await this.clock.sleep(this.scanIntervalMs, this.wake.signal).catch(() => undefined);
      this.deps.signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * A writer that paused for longer than the settle time may have its file claimed and imported
   * before it writes the rest; the rest would land in the archived file unread. For a while after
   * archiving (ARCHIVE_WATCH), each scan compares the archived file with the file as claimed, and
   * moves a changed one to rejects/ with the reason, so those rows are never lost without a word.
   */
  private async watchArchived(): Promise<void> {
    const now = this.clock.now();
    for (let index = this.archived.length - 1; index >= 0; index -= 1) {
      const file = this.archived[index]!;
      let info;
      try {
        info = await stat(file.path);
      } catch {
        this.archived.splice(index, 1); // moved or removed by someone: no longer ours to watch
        continue;
      }
      const change = howItChanged(file.claimed, info);
      if (change === undefined) {
        if (now >= file.untilMs) this.archived.splice(index, 1);
        continue;
      }
      this.archived.splice(index, 1);
      const reason = changedReason(`${change}, after it was imported and archived`, file.progress);
      const target = await setAside(this.deps.layout, now, file.name, file.path, reason);
      this.deps.metrics.files.inc({ outcome: "changed_after_import" });
      this.logger.error(
        { file: file.name, movedTo: target, reason },
        "an archived file was written to after its import",
      );
    }
  }

  /**
   * One pass: stale claims first, then the inbox, oldest file first. A failure of one file (its
   * refusal, claim or import) is logged once, counted, and the pass goes on with the others; each
   * file is tried at most once a pass.
   */
  async scanOnce(): Promise<void> {
    const tried = new Set<string>();
    await this.watchArchived().catch((error: unknown) => {
      if (isVolumeFull(error)) this.markVolumeFull(error);
      else this.logger.warn({ err: { message: (error as Error).message } }, "could not check archived files");
    });
    for (const { lane, claims } of this.lanes) {
      const won = await claims.recoverStale();
      for (const [index, claim] of won.entries()) {
        if (this.stopRequested()) {
          // Back to the inbox for whoever scans next, rather than waiting out the claim timeout.
          for (const left of won.slice(index)) await left.release().catch(() => undefined);
          return;
        }
        this.logger.warn(
          { file: claim.name, mode: lane },
          "took over a claim whose replica stopped heartbeating; resuming from its journal",
        );
        tried.add(`${lane}/${claim.name}`);
        await this.importClaimed(claim, lane);
      }
    }
    for (;;) {
      if (this.stopRequested()) return;
      const ready: Array<{ name: string; mtimeMs: number; lane: InboxLane }> = [];
      let depth = 0;
      let oldestAgeSeconds = 0;
      for (const lane of this.lanes) {
        const scan = await lane.claims.scanInbox();
        depth += scan.depth;
        oldestAgeSeconds = Math.max(oldestAgeSeconds, scan.oldestAgeSeconds);
        for (const file of scan.readyFiles)
          if (!tried.has(`${lane.lane}/${file.name}`)) ready.push({ ...file, lane });
        for (const { name, reason } of scan.refused) {
          if (tried.has(`${lane.lane}/${name}`)) continue;
          tried.add(`${lane.lane}/${name}`);
          await this.perFile(name, lane.lane, "refuse", async () => {
            const movedTo = await lane.claims.refuse(name, reason);
            if (movedTo) {
              this.deps.metrics.files.inc({ outcome: "rejected" });
              this.logger.warn({ file: name, mode: lane.lane, reason, movedTo }, "file refused as a whole");
            }
          });
        }
      }
      this.lastScanAt = this.clock.now();
      this.inboxFiles = depth;
      this.oldestAgeSeconds = oldestAgeSeconds;
      this.deps.metrics.inboxFiles.set(depth);
      this.deps.metrics.oldestInboxFileAgeSeconds.set(oldestAgeSeconds);
      // In the order they came, whatever their folder: a delta dropped after a replacement goes after it.
      ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
      let claimed: { claim: Claim; lane: ImportLane } | undefined;
      for (const file of ready) {
        // Newer files wait with it: none may overtake it. All are tried again at the next scan.
        if (await this.waitsForOlder(file.lane.lane, file.mtimeMs)) break;
        tried.add(`${file.lane.lane}/${file.name}`);
        const claim = await this.perFile(file.name, file.lane.lane, "claim", () =>
          file.lane.claims.claim(file.name),
        );
        if (claim) {
          claimed = { claim, lane: file.lane.lane };
          break;
        }
      }
      if (!claimed) return;
      await this.importClaimed(claimed.claim, claimed.lane);
    }
  }

  /**
   * Whether a file must wait because another replica holds an older file of this route and the
   * order of the two matters: a removal or a replacement against anything else. Within this
   * replica files go one at a time, oldest first; this keeps that order across replicas, so a
   * removal never runs before (or beside) the import that adds its contacts. Deltas and bulk
   * loads among themselves still run side by side on several replicas, as they always did.
   */
  private async waitsForOlder(lane: ImportLane, mtimeMs: number): Promise<boolean> {
    const ordered = ORDERED_LANES.has(lane);
    for (const other of this.lanes) {
      if (!ordered && !ORDERED_LANES.has(other.lane)) continue;
      const held = await other.claims.heldElsewhere();
      const older = held.find((file) => file.mtimeMs < mtimeMs);
      if (older) {
        this.logger.debug(
          { mode: lane, waitsFor: older.name, heldIn: other.lane },
          "a file waits for an older file of its route that another replica is loading",
        );
        return true;
      }
    }
    return false;
  }

  private stopRequested(): boolean {
    return (
      this.deps.signal.aborted ||
      this.paused ||
      this.deps.targetGate?.blocked !== undefined ||
      this.volumeFull !== undefined
    );
  }

  /** Imports a claimed file; one that fails unexpectedly goes back to the inbox for the next scan. */
  private async importClaimed(claim: Claim, lane: ImportLane): Promise<void> {
    const done = await this.perFile(claim.name, lane, "import", async () => {
      await this.importOne(claim, lane);
      return true;
    });
    if (!done) await claim.release().catch(() => undefined);
  }

  /**
   * Runs one file's step; a failure is counted, logged once per file and message (a file that
   * fails the same way every scan does not flood the log), and does not end the pass. A full
   * volume is the exception: it stops the pass and becomes a named condition.
   */
  private async perFile<T>(
    name: string,
    lane: ImportLane,
    step: "refuse" | "claim" | "import",
    work: () => Promise<T>,
  ): Promise<T | undefined> {
    const key = `${lane}/${name}`;
    try {
      const result = await work();
      // A claim that succeeds says nothing of the import after it, which may fail as before.
      if (step !== "claim") this.fileFailures.delete(key);
      return result;
    } catch (error) {
      if (isVolumeFull(error)) {
        this.markVolumeFull(error);
        return undefined;
      }
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: string }).code;
      this.deps.metrics.fileFailures.inc({ step });
      this.lastError = `${name}: ${message}`;
      // The same kind of failure again (its message may name a new timestamped path) is not news.
      const kind = `${step}:${code ?? message}`;
      if (this.fileFailures.get(key) !== kind) {
        this.fileFailures.set(key, kind);
        if (this.fileFailures.size > 1_000) this.fileFailures.delete(this.fileFailures.keys().next().value!);
        this.logger.error(
          { file: name, mode: lane, step, err: { message, code } },
          "a file could not be handled; the scan goes on with the others and tries it again at the next one",
        );
      }
      return undefined;
    }
  }

  private markVolumeFull(error: unknown): void {
    if (this.volumeFull) return;
    this.volumeFull = {
      sinceMs: this.clock.now(),
      message: (error as Error).message,
    };
    this.deps.metrics.volumeFull.set(1);
    this.logger.error(
      { err: { message: (error as Error).message, code: (error as { code?: string }).code } },
      "the shared volume is full: imports stop (nothing more is written) until space is freed, then resume by themselves",
    );
  }

  /** Whether a full volume has room again; clears the condition when it has. */
  private async volumeHasRoom(): Promise<boolean> {
    const { free, total } = await this.space(this.deps.layout.root).catch(() => ({ free: 0, total: 0 }));
    if (free < Math.min(VOLUME_FREE_BYTES_TO_RESUME, total / 10)) return false;
    this.logger.info({ freeBytes: free }, "the shared volume has room again: imports resume");
    this.volumeFull = undefined;
    this.deps.metrics.volumeFull.set(0);
    return true;
  }

  /**
   * One file through its lane. A removal's requests go before any route's additions: the loop
   * runs in its route's share (route-set.ts), and a removal takes the same key at a higher rank.
   */
  private load(claim: Claim, lane: ImportLane, deps: ImportDependencies): Promise<FileOutcome> {
    if (lane === "api") return importClaimedFile(claim, deps);
    if (lane !== "remove") return bulkLoadClaimedFile(claim, lane, deps);
    const route = currentRequestShare()?.key ?? DEFAULT_ROUTE;
    return withRequestShare({ key: route, priority: "removal" }, () => removeClaimedFile(claim, deps));
  }

  private async importOne(claim: Claim, lane: ImportLane): Promise<void> {
    this.deps.metrics.filesInProgress.inc();
    this.current = { ...newProgress(claim.name), ...(lane === "api" ? {} : { mode: lane }) };
    try {
      const deps = {
        ...this.deps,
        onProgress: (progress: FileProgress) => {
          this.current = { ...progress };
        },
      };
      const outcome = await this.load(claim, lane, deps);
      this.recent.unshift(outcome);
      this.recent.splice(50);
      if (outcome.movedTo?.startsWith(this.deps.layout.archive + path.sep) && outcome.status !== "rejected")
        this.archived.push({
          name: claim.name,
          path: outcome.movedTo,
          claimed: claim.claimed,
          progress: outcome,
          untilMs: this.clock.now() + this.archiveWatchMs,
        });
    } finally {
      this.current = undefined;
      this.deps.metrics.filesInProgress.dec();
    }
  }
}
