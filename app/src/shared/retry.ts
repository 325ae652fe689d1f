import type { Clock, Random } from "../time/clock";

/**
 * Resilience as small policies that compose (cockatiel's `wrap()`): a retry policy per kind of
 * failure (its backoff, the wait a failure names, a cap on attempts, on one wait and on the whole
 * call) and the circuit breaker (genesys/circuit-breaker.ts), each readable on its own. Unlike cockatiel, time and randomness are injected (the fake clock drives every test), and
 * a retry policy counts its attempts per call, across every layer: in
 * `wrap(rateLimits, transient)`, a 429 retried by the outer layer does not give the inner one a
 * fresh budget.
 *
 * A caller that retries what outlived the client's own retries, waiting out deferrals:
 *
 *     const batches = retryPolicy({
 *       clock, random, backoff: BACKOFF.genesysWork,
 *       shouldRetry: (error) => isTransient(error),
 *       delayFor: (error) => (error instanceof RateLimitDeferredError ? error.retryAfterMs : undefined),
 *       abortError: () => new ClientClosedError(),
 *       onRetry: ({ error, attempt, delayMs }) => log.warn({ attempt, retryInMs: delayMs }, "..."),
 *     });
 *     await batches.execute(() => send(batch), signal);
 */
export interface Policy {
  /** Runs `fn` under this policy; `signal` aborts the waits between attempts. */
  execute<T>(fn: (context: AttemptContext) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Runs the rest of a call already under way (how `wrap()` nests policies). */
  run<T>(next: () => Promise<T>, call: CallContext): Promise<T>;
}

export interface AttemptContext {
  /** The call's signal (never aborted when the caller gave none). */
  readonly signal: AbortSignal;
  /** Attempts started before this one, 0 for the first. */
  readonly attempt: number;
}

/** One call through a policy stack: its signal and each retry policy's failure count. */
export interface CallContext {
  readonly signal: AbortSignal;
  readonly failures: Map<Policy, number>;
  attemptsStarted: number;
  /** When the first retry policy saw the call start, on its clock (what `deadlineMs` counts from). */
  startedAtMs?: number;
}

/**
 * Exponential backoff: attempt n waits min(max, initial × 2ⁿ), with full jitter by default (a
 * uniform random time below that ceiling; AWS architecture blog, "Exponential Backoff And
 * Jitter"), which spreads many replicas' retries apart instead of synchronising them.
 */
export interface BackoffSettings {
  /** First delay ceiling in milliseconds. */
  readonly initialDelayMs: number;
  /** Ceiling that the doubling never passes, in milliseconds. */
  readonly maxDelayMs: number;
  /** Shortest wait, whatever the jitter draws, in milliseconds; default 0. */
  readonly minDelayMs?: number;
  /** "full" (default) or "none", for waits that must not shrink (rejected credentials). */
  readonly jitter?: "full" | "none";
}

/** Every backoff the service uses, in one place. */
export const BACKOFF = {
  /** Genesys API calls: 502/503/504, resets, timeouts, and 429s that name no wait. */
  genesysApi: { initialDelayMs: 500, maxDelayMs: 30_000 },
  /** Token requests the login server throttled or failed (5xx, network). */
  tokenRequest: { initialDelayMs: 1_000, maxDelayMs: 60_000 },
  /** Token requests with rejected credentials: slow and without jitter, no tight loop. */
  rejectedCredentials: { initialDelayMs: 30_000, maxDelayMs: 600_000, jitter: "none" },
  /** Work that outlived the client's own retries (an import batch, a bulk load's read), at least 1 s. */
  genesysWork: { initialDelayMs: 5_000, maxDelayMs: 60_000, minDelayMs: 1_000 },
} as const satisfies Record<string, BackoffSettings>;

/** The wait before retry number `attempt` (0 for the first retry). */
export function backoffDelayMs(backoff: BackoffSettings, attempt: number, random: Random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * 2 ** Math.max(0, attempt));
  const drawn = backoff.jitter === "none" ? ceiling : Math.floor(random() * ceiling);
  return Math.max(backoff.minDelayMs ?? 0, drawn);
}

/** What a retry policy knows about a failure it handles; every hook and event receives it. */
export interface RetryEvent<E = unknown> {
  /** The failure, of the type `shouldRetry` narrows to when it is a type guard. */
  readonly error: E;
  /** 0 for this policy's first retry of the call: the backoff's exponent. */
  readonly attempt: number;
  /** The wait before the next attempt (or, on giving up, the wait it would have needed). */
  readonly delayMs: number;
}

export interface GiveUpEvent<E = unknown> extends RetryEvent<E> {
  /** Failures this policy handled in the call, this one included. */
  readonly failures: number;
  /** `attempts`: maxAttempts reached; `delay`: the wait passes maxDelayMs; `deadline`: it passes deadlineMs. */
  readonly reason: "attempts" | "delay" | "deadline";
}

export interface RetryOptions<E = unknown> {
  readonly clock: Clock;
  readonly random: Random;
  /** The wait between attempts when `delayFor` names none. */
  readonly backoff: BackoffSettings;
  /**
   * The failures this policy retries; any other error passes through untouched. Default: all. A
   * type guard (`(error) => error instanceof X`) types the error in every hook below.
   */
  readonly shouldRetry?: ((error: unknown) => error is E) | ((error: unknown) => boolean);
  /** Tries of the call this policy allows, counting its failures (the first try included); default unlimited. */
  readonly maxAttempts?: number;
  /** A wait the failure itself names (Retry-After, a deferral), or undefined for the backoff. */
  readonly delayFor?: (error: E, attempt: number) => number | undefined;
  /** Give up instead of waiting longer than this, in milliseconds; default no limit. */
  readonly maxDelayMs?: number;
  /** Give up instead of retrying past this long after the call started, in milliseconds; default none. */
  readonly deadlineMs?: number;
  /** How to spend the delay; default the clock's sleep, aborted by the call's signal. */
  readonly wait?: (event: RetryEvent<E>, signal: AbortSignal) => Promise<void>;
  /** The error to throw on giving up; default the last failure itself. */
  readonly giveUpWith?: (event: GiveUpEvent<E>) => unknown;
  /** The error to throw when the call's signal aborts (before, during or after an attempt); default the signal's reason. */
  readonly abortError?: (signal: AbortSignal) => unknown;
  /** Before each wait: for metrics and logs. */
  readonly onRetry?: (event: RetryEvent<E>) => void;
  /** When the policy stops retrying a failure it handles: for metrics and logs. */
  readonly onGiveUp?: (event: GiveUpEvent<E>) => void;
}

const NEVER_ABORTED = new AbortController().signal;

/** A policy from its `run`: `execute` starts a fresh call whose attempts run `fn`. */
export function definePolicy(run: <T>(next: () => Promise<T>, call: CallContext) => Promise<T>): Policy {
  return {
    run,
    execute: (fn, signal) => {
      const call: CallContext = { signal: signal ?? NEVER_ABORTED, failures: new Map(), attemptsStarted: 0 };
      return run(() => fn({ signal: call.signal, attempt: call.attemptsStarted++ }), call);
    },
  };
}

/** Retries the failures it handles, waiting a backoff or the wait the failure names between tries. */
export function retryPolicy<E = unknown>(options: RetryOptions<E>): Policy {
  const { clock, random, backoff } = options;
  const abortError = options.abortError ?? ((signal: AbortSignal) => signal.reason);
  const self: Policy = definePolicy(async (next, call) => {
    const startedAtMs = (call.startedAtMs ??= clock.now());
    for (;;) {
      if (call.signal.aborted) throw abortError(call.signal);
      try {
        return await next();
      } catch (thrown) {
        // Whatever failed once the caller gave up (a request cut off by the abort) is the abort.
        if (call.signal.aborted) throw abortError(call.signal);
        if (options.shouldRetry && !options.shouldRetry(thrown)) throw thrown;
        const error = thrown as E;
        const failures = (call.failures.get(self) ?? 0) + 1;
        call.failures.set(self, failures);
        const retry = failures - 1;
        const delayMs = options.delayFor?.(error, retry) ?? backoffDelayMs(backoff, retry, random);
        const event: RetryEvent<E> = { error, attempt: retry, delayMs };
        const reason = giveUpReason(options, failures, delayMs, clock.now() + delayMs - startedAtMs);
        if (reason) {
          const giveUp: GiveUpEvent<E> = { ...event, failures, reason };
          options.onGiveUp?.(giveUp);
          throw options.giveUpWith ? options.giveUpWith(giveUp) : error;
        }
        options.onRetry?.(event);
        try {
          await (options.wait ? options.wait(event, call.signal) : clock.sleep(delayMs, call.signal));
        } catch (waitError) {
          if (call.signal.aborted) throw abortError(call.signal);
          throw waitError;
        }
      }
    }
  });
  return self;
}

function giveUpReason<E>(
  options: RetryOptions<E>,
  failures: number,
  delayMs: number,
  elapsedAfterWaitMs: number,
): GiveUpEvent["reason"] | undefined {
  if (failures >= (options.maxAttempts ?? Infinity)) return "attempts";
  if (delayMs > (options.maxDelayMs ?? Infinity)) return "delay";
  if (elapsedAfterWaitMs > (options.deadlineMs ?? Infinity)) return "deadline";
  return undefined;
}

/**
 * Nests policies, the first outermost: `wrap(retry, breaker).execute(fn)` retries calls that go
 * through the breaker. Every layer shares the call's signal and failure counts.
 */
export function wrap(...policies: readonly Policy[]): Policy {
  return definePolicy((next, call) =>
    policies.reduceRight<typeof next>((inner, layer) => () => layer.run(inner, call), next)(),
  );
}
