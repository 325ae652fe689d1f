import { ClientClosedError } from "./errors";
import type { Clock } from "../time/clock";

export type BreakerState = "closed" | "open" | "half-open";

export interface BreakerSettings {
  /** Consecutive 429/5xx/network failures that open the breaker; default 5. */
  readonly failureThreshold: number;
  /** How long it stays open before one probe is let through, in milliseconds; default 10,000. */
  readonly openDurationMs: number;
}

/**
 * A consecutive-failure circuit breaker whose callers queue instead of failing: while open,
 * `admit()` waits; after `openDurationMs` one probe goes through (half-open); its success closes
 * the breaker and releases everyone, its failure opens it again. Hammering Genesys during an
 * outage or a rate-limit storm is what the deployment guide warns against; failing every caller
 * fast would lose work instead.
 *
 * cockatiel's CircuitBreakerPolicy was the first choice, but it reads `Date.now()` directly and
 * rejects callers with BrokenCircuitError while open; both fight the fake clock and the queueing
 * this service needs, so the state machine is kept here, small and tested on its own.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private consecutiveFailures = 0;
  private openedAtMs = 0;
  private probeInFlight = false;
  private waiters: Array<() => void> = [];
  private halfOpenTimer: AbortController | undefined;
  private closed = false;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly clock: Clock,
    private readonly onStateChange: (state: BreakerState) => void = () => undefined,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /**
   * Waits until a call may go through. Resolves with `true` when this call is the half-open
   * probe, so the caller reports its outcome like any other call.
   */
  async admit(): Promise<boolean> {
    for (;;) {
      if (this.closed) throw new ClientClosedError();
      if (this.current === "closed") return false;
      if (this.current === "half-open" && !this.probeInFlight) {
        this.probeInFlight = true;
        return true;
      }
      if (this.current === "open") this.armHalfOpenTimer();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** A call through the breaker succeeded (any answer that is not 429/5xx/network failure). */
  recordSuccess(wasProbe: boolean): void {
    this.consecutiveFailures = 0;
    if (wasProbe) this.probeInFlight = false;
    if (this.current !== "closed") this.transition("closed");
  }

  /** A call failed in the way that counts: 429, 5xx, reset, timeout. */
  recordFailure(wasProbe: boolean): void {
    this.consecutiveFailures += 1;
    if (wasProbe) this.probeInFlight = false;
    if (this.current === "half-open" || this.consecutiveFailures >= this.settings.failureThreshold) {
      if (this.current !== "open" || wasProbe) {
        this.openedAtMs = this.clock.now();
        this.transition("open");
      }
    }
  }

  close(): void {
    this.closed = true;
    this.release();
  }

  /** One timer for all waiters: when it fires the breaker turns half-open and lets one probe through. */
  private armHalfOpenTimer(): void {
    if (this.halfOpenTimer) return;
    const timer = new AbortController();
    this.halfOpenTimer = timer;
    const delayMs = Math.max(0, this.openedAtMs + this.settings.openDurationMs - this.clock.now());
    this.clock.sleep(delayMs, timer.signal).then(
      () => {
        if (this.halfOpenTimer === timer) this.halfOpenTimer = undefined;
        if (this.current === "open") this.transition("half-open");
      },
      () => undefined,
    );
  }

  private transition(next: BreakerState): void {
    if (next === this.current) return;
    this.current = next;
    this.onStateChange(next);
    this.release();
  }

  private release(): void {
    this.halfOpenTimer?.abort();
    this.halfOpenTimer = undefined;
    for (const resolve of this.waiters.splice(0)) resolve();
  }
}
