import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Leadership } from "../cluster/leader-election";
import type { Clock } from "../time/clock";
import type { EventLog } from "./event-log";
import { loadState } from "./export-state";
import { ExportMetrics } from "./metrics";
import type { PollResult, ResultsPoller } from "./poller";
import type { VolumeReplayGuard } from "./replay-guard";
import type { Rereader } from "./reread";

export interface ExportStatus {
  readonly enabled: boolean;
  readonly paused: boolean;
  readonly leader: boolean;
  readonly lastPoll: (PollResult & { readonly finishedAt: number }) | undefined;
  readonly lastError: string | undefined;
}

/**
 * The results export of one replica: the poll loop, which polls only while this replica leads
 * (and at once when it becomes the leader), and the rotation that publishes pushed events at
 * least every segment interval. Pause and resume are for operators (the console).
 */
export class ExportService {
  private paused = false;
  private lastPoll: ExportStatus["lastPoll"];
  private lastError: string | undefined;
  private wake: AbortController | undefined;
  private loops: Array<Promise<void>> = [];
  readonly metrics: ExportMetrics;

  constructor(
    private readonly deps: {
      readonly poller: ResultsPoller | undefined;
      /** Late data: re-reads exported conversations after each poll (reread.ts); undefined when off. */
      readonly rereader?: Rereader;
      /** The webhook's replay window on the shared volume, swept by the leader. */
      readonly replayGuard?: VolumeReplayGuard;
      readonly leadership: Leadership;
      readonly eventLog: EventLog | undefined;
      /** Where the export's metrics are registered. */
      readonly registry: Registry;
      readonly stateFile: string;
      readonly pollIntervalMs: number;
      readonly eventSegmentMs: number;
      readonly clock: Clock;
      readonly logger: Logger;
      readonly signal: AbortSignal;
    },
  ) {
    this.metrics = new ExportMetrics(
      deps.registry,
      () => this.watermarkMs(),
      () => deps.clock.now(),
    );
    deps.leadership.onChange((leading) => {
      this.metrics.leader.set(leading ? 1 : 0);
      if (leading) this.wake?.abort(); // poll now, not at the end of the interval
    });
    this.metrics.leader.set(deps.leadership.isLeader() ? 1 : 0);
  }

  start(): void {
    if (this.loops.length > 0) return;
    if (this.deps.poller) this.loops.push(this.pollLoop(this.deps.poller));
    if (this.deps.eventLog) this.loops.push(this.rotationLoop(this.deps.eventLog));
    if (this.deps.replayGuard) this.loops.push(this.sweepLoop(this.deps.replayGuard));
  }

  /** Resolves once the loops stopped (after the signal aborted) and pushed events were published. */
  async stopped(): Promise<void> {
    this.wake?.abort();
    await Promise.all(this.loops);
    if (this.deps.eventLog) {
      await this.deps.eventLog.rotate();
      await this.deps.eventLog.close();
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake?.abort();
  }

  async watermarkMs(): Promise<number | undefined> {
    return (await loadState(this.deps.stateFile)).watermarkMs;
  }

  status(): ExportStatus {
    return {
      enabled: this.deps.poller !== undefined,
      paused: this.paused,
      leader: this.deps.leadership.isLeader(),
      lastPoll: this.lastPoll,
      lastError: this.lastError,
    };
  }

  private async pollLoop(poller: ResultsPoller): Promise<void> {
    const { signal, clock, logger } = this.deps;
    const metrics = this.metrics;
    while (!signal.aborted) {
      if (!this.paused && this.deps.leadership.isLeader()) {
        // Before the poll, so an iteration ends with the poll and goes straight to sleep.
        if (this.deps.rereader) await this.reread(this.deps.rereader);
        try {
          const result = await poller.pollOnce();
          this.lastPoll = { ...result, finishedAt: clock.now() };
          this.lastError = undefined;
          metrics.polls.inc({ result: "ok" });
          metrics.conversations.inc({ method: result.method }, result.exported);
          metrics.lastPollTimestamp.set(clock.now() / 1000);
        } catch (error) {
          if (signal.aborted) break;
          this.lastError = error instanceof Error ? error.message : String(error);
          metrics.polls.inc({ result: "error" });
          logger.error(
            { err: { message: this.lastError, code: (error as { code?: string }).code } },
            "results poll failed; the next poll covers the window",
          );
        }
      }
      if (signal.aborted) break;
      await this.sleep(this.deps.pollIntervalMs);
    }
  }

  /** One step of the late-data re-read; its failure is logged and leaves the poll alone. */
  private async reread(rereader: Rereader): Promise<void> {
    try {
      const step = await rereader.step(this.deps.pollIntervalMs);
      this.metrics.rereadRequests.inc(step.requests);
      this.metrics.corrections.inc(step.corrections);
    } catch (error) {
      if (this.deps.signal.aborted) return;
      this.deps.logger.error(
        { err: { message: (error as Error).message, code: (error as { code?: string }).code } },
        "late-data re-read failed; the next step carries on where it stopped",
      );
    }
  }

  /** The leader keeps the shared replay window within its bounds, one shard at a time. */
  private async sweepLoop(guard: VolumeReplayGuard): Promise<void> {
    const { signal, clock, logger } = this.deps;
    while (!signal.aborted) {
      await clock.sleep(guard.sweepIntervalMs(), signal).catch(() => undefined);
      if (signal.aborted || !this.deps.leadership.isLeader()) continue;
      try {
        this.metrics.replayMarkersSwept.inc(await guard.sweepShard());
      } catch (error) {
        logger.error(
          { err: { message: (error as Error).message } },
          "could not sweep the webhook's replay window; trying again",
        );
      }
    }
  }

  private async rotationLoop(log: EventLog): Promise<void> {
    const { signal, logger } = this.deps;
    while (!signal.aborted) {
      await this.deps.clock.sleep(this.deps.eventSegmentMs, signal).catch(() => undefined);
      try {
        await log.rotate();
        // Segments of replicas that died: a live one publishes every interval, so 3 intervals is safe.
        const adopted = await log.recover(3 * this.deps.eventSegmentMs);
        if (adopted.length > 0)
          logger.warn(
            { events: adopted.length },
            "published pushed events a stopped replica left unpublished",
          );
      } catch (error) {
        logger.error(
          { err: { message: (error as Error).message } },
          "could not publish pushed events; trying again",
        );
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    this.wake = new AbortController();
    const onAbort = () => this.wake?.abort();
    this.deps.signal.addEventListener("abort", onAbort, { once: true });
    await this.deps.clock.sleep(ms, this.wake.signal).catch(() => undefined);
    this.deps.signal.removeEventListener("abort", onAbort);
  }
}
