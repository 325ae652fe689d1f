import type { Clock } from "../time/clock";

export interface Sample {
  readonly atMs: number;
  /** Share of the rate budget in use at that moment, 0..1. */
  readonly budgetInUse: number;
  /** 429 answers since the previous sample. */
  readonly rateLimited: number;
}

/**
 * The last hour of the rate budget and 429s, sampled every `intervalMs` (default 10 s) from the
 * numbers the client and its metrics already keep, for the console's chart.
 */
export class RateHistory {
  private readonly samples: Sample[] = [];
  private lastTotal: number | undefined;

  constructor(
    private readonly read: () => Promise<{ budgetInUse: number; rateLimitedTotal: number }>,
    private readonly clock: Clock,
    private readonly intervalMs = 10_000,
    private readonly keepMs = 3_600_000,
  ) {}

  async sample(): Promise<void> {
    const { budgetInUse, rateLimitedTotal } = await this.read();
    const now = this.clock.now();
    this.samples.push({
      atMs: now,
      budgetInUse,
      rateLimited: this.lastTotal === undefined ? 0 : Math.max(0, rateLimitedTotal - this.lastTotal),
    });
    this.lastTotal = rateLimitedTotal;
    while (this.samples.length > 0 && this.samples[0]!.atMs < now - this.keepMs) this.samples.shift();
  }

  start(signal: AbortSignal): Promise<void> {
    return (async () => {
      while (!signal.aborted) {
        await this.sample().catch(() => undefined);
        await this.clock.sleep(this.intervalMs, signal).catch(() => undefined);
      }
    })();
  }

  lastHour(): readonly Sample[] {
    return [...this.samples];
  }
}
