import { ClientClosedError } from "./errors";
import { definePolicy, type Policy } from "../shared/retry";
import type { Clock } from "../time/clock";

export type BreakerState = "closed" | "open" | "half-open";

/** The failures that count against the breaker: 429, 5xx, timeouts, other network failures. */
export type BreakerFailureKind = "rate_limited" | "server_error" | "timeout" | "network";

export interface BreakerFailure {
  readonly kind: BreakerFailureKind;
  /** What failed, as a status or an error code ("HTTP 503", "ECONNRESET"): never a body or a header. */
  readonly detail: string;
}

/** What the breaker knows, for /readyz and the logs; times are the injected clock's. */
export interface BreakerStatus {
  readonly state: BreakerState;
  /** Failures in a row so far (reset by any success). */
  readonly consecutiveFailures: number;
  /** When it last opened, in ms since the epoch; undefined while closed. */
  readonly openedAtMs?: number;
  /** When it lets one probe through, in ms since the epoch; undefined unless open. */
  readonly probeAtMs?: number;
  /** The failure that counted last; undefined while closed. */
  readonly lastFailure?: BreakerFailure;
}

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
  private lastFailure: BreakerFailure | undefined;
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

  status(): BreakerStatus {
    if (this.current === "closed") return { state: "closed", consecutiveFailures: this.consecutiveFailures };
    return {
      state: this.current,
      consecutiveFailures: this.consecutiveFailures,
      openedAtMs: this.openedAtMs,
      ...(this.current === "open" ? { probeAtMs: this.openedAtMs + this.settings.openDurationMs } : {}),
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
    };
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
  recordFailure(wasProbe: boolean, failure: BreakerFailure): void {
    this.consecutiveFailures += 1;
    this.lastFailure = failure;
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

/**
 * How a failed call counts: `answered` (Genesys answered, a success for the breaker), a
 * `failure` that counts against it, or `no-answer` (the call failed before reaching Genesys: it
 * says nothing, though a probe that never got through lets the breaker close rather than hold
 * every caller behind it).
 */
export type BreakerVerdict = "answered" | "no-answer" | { readonly failure: BreakerFailure };

/** The breaker as a policy for `wrap()`: each attempt waits to be admitted and reports its outcome. */
export function breakerPolicy(
  breaker: CircuitBreaker,
  verdictOf: (error: unknown) => BreakerVerdict,
): Policy {
  return definePolicy(async (next) => {
    const isProbe = await breaker.admit();
    try {
      const result = await next();
      breaker.recordSuccess(isProbe);
      return result;
    } catch (error) {
      const verdict = verdictOf(error);
      if (verdict === "answered" || (verdict === "no-answer" && isProbe)) breaker.recordSuccess(isProbe);
      else if (verdict !== "no-answer") breaker.recordFailure(isProbe, verdict.failure);
      throw error;
    }
  });
}

const FAILURE_KIND_TEXT: Record<BreakerFailureKind, string> = {
  rate_limited: "rate limit",
  server_error: "server error",
  timeout: "timeout",
  network: "network failure",
};

/**
 * The /readyz warning while the breaker is not closed, or undefined: what is wrong, since when,
 * that the service recovers by itself and when it tries next. It is a warning, not a reason to
 * be unready: taking pods out of the Service or restarting them fixes nothing on Genesys' side.
 */
export function breakerWarning(status: BreakerStatus, nowMs: number): string | undefined {
  if (status.state === "closed") return undefined;
  const openedAt = new Date(status.openedAtMs ?? nowMs).toISOString();
  const failure = status.lastFailure;
  const why = `${status.consecutiveFailures} failures in a row${failure ? `; last: ${FAILURE_KIND_TEXT[failure.kind]}, ${failure.detail}` : ""}`;
  const rateLimited = failure?.kind === "rate_limited";
  const state =
    status.state === "open"
      ? `the circuit breaker has been open since ${openedAt} (${why})`
      : `the circuit breaker is half-open (it opened at ${openedAt}; ${why})`;
  const next =
    status.state === "half-open"
      ? "one probe call is testing whether Genesys Cloud answers again"
      : status.probeAtMs !== undefined && status.probeAtMs > nowMs
        ? `one probe call goes through at ${new Date(status.probeAtMs).toISOString()}`
        : "the next call goes through as a probe";
  const hint = rateLimited
    ? "look for other clients spending this organisation's rate limit"
    : "check the Genesys Cloud status page and the egress path (proxy, network policy)";
  return (
    `${rateLimited ? "Genesys Cloud keeps answering 429 (rate limit)" : "Genesys Cloud outage"}: ${state}. ` +
    `Calls to Genesys Cloud wait instead of failing, and the service retries by itself: ${next}, and ` +
    `the breaker closes once Genesys Cloud answers. If it lasts, ${hint}.`
  );
}
