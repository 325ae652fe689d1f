import type { Random } from "../time/clock";

export interface BackoffSettings {
  /** First delay ceiling in milliseconds; default 500. */
  readonly initialDelayMs: number;
  /** Ceiling that the doubling never passes, in milliseconds; default 30,000. */
  readonly maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): attempt n waits a uniform random time in [0, min(max, initial × 2ⁿ)). Full jitter
 * spreads many replicas' retries apart instead of synchronising them.
 */
export function fullJitterDelayMs(attempt: number, settings: BackoffSettings, random: Random): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Exponential ceiling without jitter, used where a floor matters (credential failures). */
export function exponentialDelayMs(attempt: number, settings: BackoffSettings): number {
  return Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** Math.max(0, attempt));
}
