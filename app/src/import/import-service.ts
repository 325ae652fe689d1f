import type { Logger } from "pino";
import type { Clock } from "../time/clock";
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

/**
 * The import loop of one replica: every scan interval, take over stale claims, move files the
 * importer will not take to rejects/, then claim and import ready files one at a time (replicas
 * share the work file by file; batches within a file go several at a time).
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
    private readonly claims: ClaimStore,
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
    for (const claim of await this.claims.recoverStale()) {
      this.logger.warn(
        { file: claim.name },
        "took over a claim whose replica stopped heartbeating; resuming from its journal",
      );
      await this.importOne(claim);
      if (this.stopRequested()) return;
    }
    for (;;) {
      const scan = await this.claims.scanInbox();
      this.lastScanAt = this.clock.now();
      this.inboxFiles = scan.depth;
      this.oldestAgeSeconds = scan.oldestAgeSeconds;
      this.deps.metrics.inboxFiles.set(scan.depth);
      this.deps.metrics.oldestInboxFileAgeSeconds.set(scan.oldestAgeSeconds);
      for (const { name, reason } of scan.refused) {
        const movedTo = await this.claims.refuse(name, reason);
        if (movedTo) {
          this.deps.metrics.files.inc({ outcome: "rejected" });
          this.logger.warn({ file: name, reason, movedTo }, "file refused as a whole");
        }
      }
      let claimed: Claim | undefined;
      for (const name of scan.ready) {
        claimed = await this.claims.claim(name);
        if (claimed) break;
      }
      if (!claimed) return;
      await this.importOne(claimed);
      if (this.stopRequested()) return;
    }
  }

  private stopRequested(): boolean {
    return this.deps.signal.aborted || this.paused || this.deps.targetGate?.blocked !== undefined;
  }

  private async importOne(claim: Claim): Promise<void> {
    this.deps.metrics.filesInProgress.inc();
    this.current = newProgress(claim.name);
    try {
      const outcome = await importClaimedFile(claim, {
        ...this.deps,
        onProgress: (progress) => {
          this.current = { ...progress };
        },
      });
      this.recent.unshift(outcome);
      this.recent.splice(50);
    } finally {
      this.current = undefined;
      this.deps.metrics.filesInProgress.dec();
    }
  }
}
