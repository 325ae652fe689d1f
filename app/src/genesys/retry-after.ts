/**
 * How long a 429 asks the client to wait. Genesys sends `Retry-After` in seconds; RFC 9110 also
 * allows an HTTP-date; when the header is missing, the body's "Retry the request in [42] seconds"
 * still says it. Returns undefined when nothing says, so the caller falls back to backoff.
 */
export function retryAfterMs(
  headerValue: string | undefined,
  body: unknown,
  nowMs: number,
): number | undefined {
  const fromHeader = parseRetryAfterHeader(headerValue, nowMs);
  if (fromHeader !== undefined) return fromHeader;
  return parseRetryAfterBody(body);
}

export function parseRetryAfterHeader(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

const BODY_SECONDS = /\[(\d+)\]\s*seconds?/i;

export function parseRetryAfterBody(body: unknown): number | undefined {
  const message =
    typeof body === "string"
      ? body
      : typeof body === "object" && body !== null
        ? (body as { message?: unknown }).message
        : undefined;
  if (typeof message !== "string") return undefined;
  const match = BODY_SECONDS.exec(message);
  return match ? Number(match[1]) * 1000 : undefined;
}

export interface RateLimitHeaderReading {
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the window resets. */
  readonly resetInMs: number;
}

/**
 * Reads `inin-ratelimit-*` (allowed, count = used, reset = seconds) or `X-RateLimit-*` (limit,
 * remaining, reset). Genesys stopped sending these on success in 2021, but a proxy or an older
 * deployment may; where they appear the client uses them.
 */
export function readRateLimitHeaders(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number,
): RateLimitHeaderReading | undefined {
  const get = (name: string): number | undefined => {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value === undefined || value.trim() === "") return undefined;
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  };
  const allowed = get("inin-ratelimit-allowed");
  const used = get("inin-ratelimit-count");
  const ininReset = get("inin-ratelimit-reset");
  if (allowed !== undefined && used !== undefined && ininReset !== undefined) {
    return { limit: allowed, remaining: Math.max(0, allowed - used), resetInMs: ininReset * 1000 };
  }
  const limit = get("x-ratelimit-limit");
  const remaining = get("x-ratelimit-remaining");
  const reset = get("x-ratelimit-reset");
  if (limit !== undefined && remaining !== undefined && reset !== undefined) {
    // Some servers send seconds to reset, others an epoch time in seconds.
    const resetInMs = reset > 1_000_000_000 ? Math.max(0, reset * 1000 - nowMs) : reset * 1000;
    return { limit, remaining, resetInMs };
  }
  return undefined;
}

/** The first value of a header that may have been sent more than once. */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
