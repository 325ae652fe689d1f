import type { Logger } from "pino";
import { withRequestShare } from "../genesys/request-share";
import type { Claim, ClaimStore } from "../import/claims";
import type { FileProgress } from "../import/outcomes";
import { newProgress } from "../import/outcomes";
import { laneFormatOf, nameProblem, type DncLane } from "../shared/layout";
import type { Clock } from "../time/clock";
import { applyClaimedDncFile, type DncFileDependencies, type DncFileOutcome } from "./file";
import type { DncBlocked } from "./gate";

/** One folder of a DNC route (add/ or remove/) and the claims on its files. */
export interface DncInboxLane {
  readonly lane: DncLane;
  readonly claims: ClaimStore;
}

/** What the console and /readyz show of one DNC route's loop. */
export interface DncStatus {
  readonly paused: boolean;
  readonly inboxFiles: number;
  readonly oldestInboxFileAgeSeconds: number;
  readonly current: FileProgress | undefined;
  /** The most recent outcomes, newest first. */
  readonly recent: readonly DncFileOutcome[];
  readonly lastScanAt: number | undefined;
  readonly lastError: string | undefined;
  /** Set while the DNC list takes no entries: what Genesys said and the fix. */
  readonly blocked: DncBlocked | undefined;
}

/**
 * The loop of one DNC route on one replica, as ImportService is a contact route's: every scan
 * interval, take over stale claims, move files it will not take to rejects/dnc/<route>/, then
 * claim and apply ready files one at a time, oldest first across add/ and remove/ (an opt-out
 * lifted after it was recorded is lifted, not recorded again). Every request of a file runs in the
 * route's share at the `removal` rank, ahead of every route's contacts (genesys/request-share.ts).
 * While the route's list takes no entries (DncGate), nothing is claimed; the gate re-checks slowly.
 */
export class DncService {
  private paused = false;
  private current: FileProgress | undefined;
  private readonly recent: DncFileOutcome[] = [];
  private inboxFiles = 0;
  private oldestAgeSeconds = 0;
  private lastScanAt: number | undefined;
  private lastError: string | undefined;
  private loop: Promise<void> | undefined;
  private wake: AbortController | undefined;
  /** The last failure logged per file, so a file that keeps failing is logged once, not every scan. */
  private readonly fileFailures = new Map<string, string>();

  constructor(
    private readonly lanes: readonly DncInboxLane[],
    private readonly deps: Omit<DncFileDependencies, "onProgress">,
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

  status(): DncStatus {
    return {
      paused: this.paused,
      inboxFiles: this.inboxFiles,
      oldestInboxFileAgeSeconds: this.oldestAgeSeconds,
      current: this.current ? { ...this.current } : undefined,
      recent: [...this.recent],
      lastScanAt: this.lastScanAt,
      lastError: this.lastError,
      blocked: this.deps.gate.blocked,
    };
  }

  private async run(): Promise<void> {
    const { gate, signal } = this.deps;
    await gate.preflight(signal);
    while (!signal.aborted) {
      if (gate.blocked) {
        await gate.waitUntilOpen(signal).catch(() => undefined);
        continue;
      }
      if (!this.paused) {
        try {
          await this.deps.index.refresh();
          await this.scanOnce();
          this.lastError = undefined;
        } catch (error) {
          this.lastError = error instanceof Error ? error.message : String(error);
          this.logger.error(
            { err: { message: this.lastError } },
            "DNC scan failed; trying again at the next interval",
          );
        }
      }
      if (signal.aborted) break;
      this.wake = new AbortController();
      const onAbort = () => this.wake?.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      await this.clock.sleep(this.scanIntervalMs, this.wake.signal).catch(() => undefined);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** One pass: stale claims first, then both folders, oldest file first; each file tried at most once a pass. */
  async scanOnce(): Promise<void> {
    const tried = new Set<string>();
    for (const { lane, claims } of this.lanes) {
      const won = await claims.recoverStale();
      for (const [index, claim] of won.entries()) {
        if (this.stopRequested()) {
          for (const left of won.slice(index)) await left.release().catch(() => undefined);
          return;
        }
        this.logger.warn(
          { file: claim.name, dnc: lane },
          "took over a claim whose replica stopped heartbeating; resuming from its journal",
        );
        tried.add(`${lane}/${claim.name}`);
        await this.applyClaimed(claim, lane);
      }
    }
    for (;;) {
      if (this.stopRequested()) return;
      const ready = await this.scanLanes(tried);
      let claimed: { claim: Claim; lane: DncLane } | undefined;
      for (const file of ready) {
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
      await this.applyClaimed(claimed.claim, claimed.lane);
    }
  }

  /** Both folders' ready files, oldest first, after refusing the entries it will not take; updates the inbox gauges. */
  private async scanLanes(
    tried: Set<string>,
  ): Promise<Array<{ name: string; mtimeMs: number; lane: DncInboxLane }>> {
    const ready: Array<{ name: string; mtimeMs: number; lane: DncInboxLane }> = [];
    let depth = 0;
    let oldest = 0;
    for (const lane of this.lanes) {
      const scan = await lane.claims.scanInbox();
      depth += scan.depth;
      oldest = Math.max(oldest, scan.oldestAgeSeconds);
      for (const file of scan.readyFiles)
        if (!tried.has(`${lane.lane}/${file.name}`)) ready.push({ ...file, lane });
      for (const { name, reason } of scan.refused) {
        if (tried.has(`${lane.lane}/${name}`)) continue;
        tried.add(`${lane.lane}/${name}`);
        await this.perFile(name, lane.lane, "refuse", async () => {
          const why = dncNameReason(name, reason, lane.lane);
          const movedTo = await lane.claims.refuse(name, why);
          if (movedTo) {
            this.deps.metrics.files.inc({ outcome: "rejected" });
            this.logger.warn({ file: name, dnc: lane.lane, reason: why, movedTo }, "file refused as a whole");
          }
        });
      }
    }
    this.lastScanAt = this.clock.now();
    this.inboxFiles = depth;
    this.oldestAgeSeconds = oldest;
    this.deps.metrics.inboxFiles.set(depth);
    this.deps.metrics.oldestInboxFileAgeSeconds.set(oldest);
    // In the order they came, whatever their folder: a removal dropped after an addition goes after it.
    return ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
  }

  private stopRequested(): boolean {
    return this.deps.signal.aborted || this.paused || this.deps.gate.blocked !== undefined;
  }

  /** Applies a claimed file; one that fails unexpectedly goes back to its folder for the next scan. */
  private async applyClaimed(claim: Claim, lane: DncLane): Promise<void> {
    const done = await this.perFile(claim.name, lane, "import", async () => {
      await this.applyOne(claim, lane);
      return true;
    });
    if (!done) await claim.release().catch(() => undefined);
  }

  private async applyOne(claim: Claim, lane: DncLane): Promise<void> {
    const { deps } = this;
    deps.metrics.filesInProgress.inc();
    this.current = newProgress(claim.name);
    try {
      const outcome = await withRequestShare({ key: deps.route.name, priority: "removal" }, () =>
        applyClaimedDncFile(claim, lane, {
          ...deps,
          onProgress: (progress) => {
            this.current = { ...progress };
          },
        }),
      );
      this.recent.unshift(outcome);
      this.recent.splice(50);
    } finally {
      this.current = undefined;
      deps.metrics.filesInProgress.dec();
    }
  }

  /** Runs one file's step; a failure is counted and logged once per file and kind, and does not end the pass. */
  private async perFile<T>(
    name: string,
    lane: DncLane,
    step: "refuse" | "claim" | "import",
    work: () => Promise<T>,
  ): Promise<T | undefined> {
    const key = `${lane}/${name}`;
    try {
      const result = await work();
      if (step !== "claim") this.fileFailures.delete(key);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const code = (error as { code?: string }).code;
      this.deps.metrics.fileFailures.inc({ step });
      this.lastError = `${name}: ${message}`;
      const kind = `${step}:${code ?? message}`;
      if (this.fileFailures.get(key) !== kind) {
        this.fileFailures.set(key, kind);
        if (this.fileFailures.size > 1_000) this.fileFailures.delete(this.fileFailures.keys().next().value!);
        this.logger.error(
          { file: name, dnc: lane, step, err: { message, code } },
          "a DNC file could not be handled; the scan goes on with the others and tries it again at the next one",
        );
      }
      return undefined;
    }
  }
}

/**
 * The claim store judges names as the remove/ lane of a contact route does (.csv or .txt); its
 * words for another extension speak of contact ids, so a DNC route says its own.
 */
function dncNameReason(name: string, reason: string, lane: DncLane): string {
  if (laneFormatOf(name, "remove") !== undefined || nameProblem(name, "remove") !== reason) return reason;
  return `"${name}" is neither .csv nor .txt: drop the entries to ${lane} as CSV (a header row naming the phone or email column) or as .txt (one entry a line, no header)`;
}
