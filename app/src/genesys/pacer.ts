import { ClientClosedError } from "./errors";
import type { Clock } from "../time/clock";
import type { RateLimitHeaderReading } from "./retry-after";
import type { TokenPacing } from "../shared/rate-budget";

/**
 * Paces one token's requests so it never sends more than its budget (`tokenPacing` in
 * shared/rate-budget.ts) in any window: a sliding log of send times (at most `requestsPerWindow`
 * entries). A sliding window bounds every fixed window the server might count in, so normal operation draws no 429s, while still allowing a
 * full burst when the budget is unused. Waiters are served first come, first served.
 *
 * Written here rather than taken from p-queue or bottleneck: those read the real clock, and this
 * one must also pause on demand (a 429's Retry-After, low rate-limit headers) under a fake clock.
 */
export class RequestPacer {
  private readonly sent: number[] = [];
  private sentHead = 0;
  private pausedUntilMs = 0;
  private readonly waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private pumping = false;
  private wake: AbortController | undefined;
  private closed = false;

  constructor(
    private readonly settings: TokenPacing,
    private readonly clock: Clock,
  ) {}

  /** Resolves when a request may be sent now; the send is counted against the budget. */
  acquire(): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      void this.pump();
    });
  }

  /** Holds every request on this token until `untilMs` (a 429's Retry-After applies to the token). */
  pauseUntil(untilMs: number): void {
    if (untilMs <= this.pausedUntilMs) return;
    this.pausedUntilMs = untilMs;
    this.wake?.abort();
  }

  /** Uses rate-limit headers where a proxy or older deployment sends them. */
  observe(reading: RateLimitHeaderReading): void {
    if (reading.limit > 0 && reading.remaining < reading.limit * this.settings.lowWaterRatio) {
      this.pauseUntil(this.clock.now() + reading.resetInMs);
    }
  }

  /** Requests counted in the current window. */
  inUse(): number {
    this.prune(this.clock.now());
    return this.sent.length - this.sentHead;
  }

  /** Requests waiting for a slot. */
  queued(): number {
    return this.waiters.length;
  }

  /** The earliest time a new request could be sent, ignoring those already queued. */
  nextFreeAtMs(): number {
    const now = this.clock.now();
    this.prune(now);
    const full = this.sent.length - this.sentHead >= this.settings.requestsPerWindow;
    const windowFreeAt = full ? this.sent[this.sentHead]! + this.spanMs() : now;
    return Math.max(now, this.pausedUntilMs, windowFreeAt);
  }

  close(): void {
    this.closed = true;
    this.wake?.abort();
    for (const waiter of this.waiters.splice(0)) waiter.reject(new ClientClosedError());
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        const freeAt = this.nextFreeAtMs();
        const now = this.clock.now();
        if (freeAt <= now) {
          this.sent.push(now);
          this.waiters.shift()!.resolve();
          continue;
        }
        this.wake = new AbortController();
        try {
          await this.clock.sleep(freeAt - now, this.wake.signal);
        } catch {
          // Woken early: a pause changed or the pacer closed; the loop re-reads both.
        }
        this.wake = undefined;
      }
    } finally {
      this.pumping = false;
    }
  }

  private spanMs(): number {
    return this.settings.windowMs + this.settings.safetyMarginMs;
  }

  private prune(now: number): void {
    const horizon = now - this.spanMs();
    while (this.sentHead < this.sent.length && this.sent[this.sentHead]! <= horizon) this.sentHead += 1;
    if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) {
      this.sent.splice(0, this.sentHead);
      this.sentHead = 0;
    }
  }
}
