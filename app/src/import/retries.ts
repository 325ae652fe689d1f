import { failureClass, RateLimitDeferredError } from "../genesys/errors";
import { BACKOFF, retryPolicy, type Policy, type RetryEvent } from "../shared/retry";
import type { Clock, Random } from "../time/clock";
import { ImportStoppedError, isStop } from "./errors";
import type { TargetGate } from "./target-gate";

/**
 * How the import retries Genesys work that outlived the client's own retries (a batch, a bulk
 * load's reads and clear), by failure class (genesys/errors.ts): a deferred request waits its
 * Retry-After, a transient failure the BACKOFF.genesysWork backoff, and both are tried again until
 * they pass or the import stops. A request-fatal or target-fatal answer, and a stop, pass through
 * untouched for the caller to handle.
 */
export function genesysWorkRetries(
  deps: { readonly clock: Clock; readonly random: Random },
  onRetry: (event: RetryEvent) => void,
): Policy {
  return retryPolicy({
    clock: deps.clock,
    random: deps.random,
    backoff: BACKOFF.genesysWork,
    shouldRetry: (error) => !isStop(error) && isWorthRetrying(error),
    delayFor: (error) => (error instanceof RateLimitDeferredError ? error.retryAfterMs : undefined),
    abortError: () => new ImportStoppedError(),
    onRetry,
  });
}

/** Whether the same call may pass later without anyone changing anything. */
export function isWorthRetrying(error: unknown): boolean {
  const kind = failureClass(error);
  return kind === "transient" || kind === "deferred";
}

/**
 * Runs `call` under `policy` until it passes; a target-fatal failure goes to the gate on its way
 * out, so the import holds back until someone fixes the list or the permission.
 */
export async function untilAnswered<T>(
  policy: Policy,
  call: () => Promise<T>,
  signal: AbortSignal,
  targetGate: TargetGate | undefined,
): Promise<T> {
  try {
    return await policy.execute(call, signal);
  } catch (error) {
    if (!isStop(error) && failureClass(error) === "target-fatal") targetGate?.block(error);
    throw error;
  }
}
