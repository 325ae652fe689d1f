import type { Logger } from "pino";
import type { Clock } from "../time/clock";
import type { ImportLane } from "../shared/layout";
import { bulkLoadClaimedFile } from "./bulk-load";
import type { ClaimStore } from "./claims";
import { type Claim } from "./claims";
import type { BlockedTarget } from "./target-gate";
import {
  importClaimedFile,
  newProgress,
  type FileOutcome,
  type FileProgress,
  type ImportDependencies,
} from "./importer";

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
}

/** One folder of the inbox and the claims on its files: inbox/ (the contacts API), inbox/bulk/, inbox/replace/. */
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

  constructor(
    private readonly lanes: readonly InboxLane[],
    private readonly deps: Omit<ImportDependencies, "onProgress">,
    private readonly scanIntervalMs: number,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

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
      if (!this.paused) {
        try {
          await this.scanOnce();
          this.lastError = undefined;
        } catch (error) {
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

  /** One pass: stale claims first, then the inbox, oldest file first. */
  async scanOnce(): Promise<void> {
    for (const { lane, claims } of this.lanes) {
      for (const claim of await claims.recoverStale()) {
        this.logger.warn(
          { file: claim.name, mode: lane },
          "took over a claim whose replica stopped heartbeating; resuming from its journal",
        );
        await this.importOne(claim, lane);
        if (this.stopRequested()) return;
      }
    }
    for (;;) {
      const ready: Array<{ name: string; mtimeMs: number; lane: InboxLane }> = [];
      let depth = 0;
      let oldestAgeSeconds = 0;
      for (const lane of this.lanes) {
        const scan = await lane.claims.scanInbox();
        depth += scan.depth;
        oldestAgeSeconds = Math.max(oldestAgeSeconds, scan.oldestAgeSeconds);
        for (const file of scan.readyFiles) ready.push({ ...file, lane });
        for (const { name, reason } of scan.refused) {
          const movedTo = await lane.claims.refuse(name, reason);
          if (movedTo) {
            this.deps.metrics.files.inc({ outcome: "rejected" });
            this.logger.warn({ file: name, mode: lane.lane, reason, movedTo }, "file refused as a whole");
          }
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
        const claim = await file.lane.claims.claim(file.name);
        if (claim) {
          claimed = { claim, lane: file.lane.lane };
          break;
        }
      }
      if (!claimed) return;
      await this.importOne(claimed.claim, claimed.lane);
      if (this.stopRequested()) return;
    }
  }

  private stopRequested(): boolean {
    return this.deps.signal.aborted || this.paused || this.deps.targetGate?.blocked !== undefined;
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
      const outcome =
        lane === "api" ? await importClaimedFile(claim, deps) : await bulkLoadClaimedFile(claim, lane, deps);
      this.recent.unshift(outcome);
      this.recent.splice(50);
    } finally {
      this.current = undefined;
      this.deps.metrics.filesInProgress.dec();
    }
  }
}
