import { backoffDelayMs, type BackoffSettings } from "../shared/retry";
import type { Random } from "../time/clock";

/**
 * The import's two loops still call this; they move to `retryPolicy` with BACKOFF.genesysWork
 * (app/src/shared/retry.ts), after which this file goes.
 */
export function fullJitterDelayMs(attempt: number, settings: BackoffSettings, random: Random): number {
  return backoffDelayMs(settings, attempt, random);
}
