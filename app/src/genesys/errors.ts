import { ServiceError, type ErrorCodeDoc } from "../shared/errors";

export type { ErrorCodeDoc };

/**
 * Every code the Genesys client raises, with what it means and what to do: the one list the
 * troubleshooting page is made from. A class can only use a code listed here (the constructor's
 * type), and a test shows that every listed code has its class.
 */
export const GENESYS_ERROR_CODES = {
  GENESYS_INVALID_CLIENT: {
    meaning:
      "The login server rejected the OAuth client (invalid_client, unauthorized_client or unsupported_grant_type): no token, so no call to Genesys Cloud can succeed.",
    action:
      "Check GENESYS_CLIENT_ID and the client secret in the Secret, and that the OAuth client uses the Client Credentials grant in this region. The service retries slowly (30 s doubling to 10 min) and is not ready until a token arrives.",
  },
  GENESYS_TOKEN_REQUEST_FAILED: {
    meaning:
      "A token request failed for a reason that may pass: the login server throttled it (HTTP 400 rate limit exceeded, or 429), answered 5xx, or could not be reached.",
    action:
      "Nothing while it passes: the service retries with backoff (1 s doubling to 60 s, full jitter). If it lasts, check the egress path to login.<domain> (proxy, NetworkPolicy, NODE_EXTRA_CA_CERTS behind TLS inspection) and the Genesys Cloud status page.",
  },
  GENESYS_HTTP_ERROR: {
    meaning:
      "The API answered a status the client does not retry: a 4xx other than 429, a 401 even after a fresh token, or a 5xx other than 502/503/504. The message has Genesys' own code and text.",
    action:
      "By status: 400 or 413, the request is refused as it is and its rows are reported; 403, give the OAuth client's role the permission the message names; 404, check GENESYS_CONTACT_LIST_ID and the region; 401 after a refresh, check that the OAuth client is active and its role's division includes the list.",
  },
  GENESYS_RATE_LIMIT_DEFERRED: {
    meaning:
      "Genesys answered 429 and asked for a longer wait than GENESYS_MAX_RETRY_AFTER_SECONDS allows, or kept answering 429 through 10 retries: the request was handed back to be sent after the wait, not lost.",
    action:
      "Nothing for one occurrence. If it is frequent, look for other clients spending the organisation's rate limit, or lower the service's share (GENESYS_RATE_LIMIT_PER_WINDOW, the token pool, the replicas).",
  },
  GENESYS_REQUEST_TOO_LARGE: {
    meaning:
      "A JSON body was larger than Genesys accepts (request.bytes.max, 512,000 bytes); it was not sent.",
    action:
      "Send smaller batches. The import builds batches under the limit, so seeing this from it is a bug to report with the file's shape.",
  },
  GENESYS_RETRIES_EXHAUSTED: {
    meaning:
      "Every attempt the client allows for one request (5 by default) failed with 502/503/504, a connection reset or a timeout.",
    action:
      "The caller retries later by itself. If it lasts, check the Genesys Cloud status page, the circuit breaker on /readyz, and the egress path (proxy, NetworkPolicy); behind a slow proxy raise GENESYS_REQUEST_TIMEOUT_SECONDS.",
  },
  GENESYS_UPLOAD_OUTCOME_UNKNOWN: {
    meaning:
      "A file upload ended without an answer (the connection broke, timed out, or a 504 came back) after its body may have reached Genesys: Genesys may or may not have the file.",
    action:
      "Nothing: the bulk load finds out from the list's import status before it sends the file again, so the file is never loaded twice. If it is frequent, check the proxy's timeouts for uploads to apps.<domain>.",
  },
  GENESYS_UPLOAD_CUT_SHORT: {
    meaning:
      "A file upload was cut off before its whole body was sent (a shutdown or a broken connection mid-file): Genesys cannot have the file.",
    action:
      "Nothing: the upload is sent again at once. If it is frequent outside rolling updates, check the connection and the proxy to apps.<domain>.",
  },
  GENESYS_CLIENT_CLOSED: {
    meaning: "The Genesys Cloud client was closed while a call waited: the service is shutting down.",
    action:
      "Nothing during a shutdown or a rolling update; the work in flight is journalled and picked up again. At any other time it is a bug to report.",
  },
} as const satisfies Record<string, ErrorCodeDoc>;

export type GenesysErrorCode = keyof typeof GENESYS_ERROR_CODES;

/**
 * One base error with a stable `code`, a subclass per failure kind, `cause` kept, and structured
 * fields for metrics and logs (the undici `lib/core/errors.js` habit). Messages never carry a
 * token, a client secret or an Authorization header.
 */
export class GenesysError extends ServiceError<GenesysErrorCode> {}

/** The login server rejected the client id or secret (`invalid_client`). Retrying fast cannot help. */
export class InvalidClientCredentialsError extends GenesysError {
  readonly status: number;
  constructor(status: number, description: string) {
    super(
      "GENESYS_INVALID_CLIENT",
      `Genesys Cloud rejected the OAuth client credentials (HTTP ${status}, ${description}). ` +
        "Check GENESYS_CLIENT_ID and the client secret, and that the OAuth client uses the Client Credentials grant in this region.",
    );
    this.status = status;
  }
}

/** The token request failed for a reason that may pass: throttled login (HTTP 400), 5xx, network. */
export class TokenRequestError extends GenesysError {
  readonly status: number | undefined;
  readonly throttled: boolean;
  constructor(message: string, fields: { status?: number; throttled?: boolean; cause?: unknown }) {
    super("GENESYS_TOKEN_REQUEST_FAILED", message, { cause: fields.cause, retryable: true });
    this.status = fields.status;
    this.throttled = fields.throttled ?? false;
  }
}

/** An API call answered with a status that is not retried (4xx other than 401/429), or retries ran out. */
export class GenesysHttpError extends GenesysError {
  readonly status: number;
  readonly route: string;
  readonly genesysCode: string | undefined;
  readonly body: unknown;
  constructor(route: string, status: number, body: unknown, detail = "") {
    const genesysCode =
      typeof body === "object" && body !== null ? (body as { code?: unknown }).code : undefined;
    const message =
      typeof body === "object" && body !== null ? (body as { message?: unknown }).message : undefined;
    super(
      "GENESYS_HTTP_ERROR",
      `Genesys Cloud answered ${status} to ${route}` +
        (typeof genesysCode === "string" ? ` (${genesysCode})` : "") +
        (typeof message === "string" ? `: ${message}` : "") +
        detail,
      { retryable: status === 429 || status >= 500 },
    );
    this.status = status;
    this.route = route;
    this.genesysCode = typeof genesysCode === "string" ? genesysCode : undefined;
    this.body = body;
  }
}

/**
 * A 429 asked for a wait longer than the configured cap (Genesys' own SDKs give up past 180 s).
 * The request was not sent again; the caller should schedule it for later, not count it as lost.
 */
export class RateLimitDeferredError extends GenesysError {
  readonly route: string;
  readonly retryAfterMs: number;
  constructor(route: string, retryAfterMs: number, capMs: number) {
    super(
      "GENESYS_RATE_LIMIT_DEFERRED",
      `Genesys Cloud asked to wait ${Math.ceil(retryAfterMs / 1000)} s before retrying ${route}, ` +
        `more than the ${Math.round(capMs / 1000)} s cap: the request is handed back to be retried later`,
      { retryable: true },
    );
    this.route = route;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The request body is larger than Genesys accepts (`request.bytes.max`, 512,000 bytes); split it. */
export class RequestTooLargeError extends GenesysError {
  readonly bytes: number;
  readonly maxBytes: number;
  constructor(route: string, bytes: number, maxBytes: number) {
    super(
      "GENESYS_REQUEST_TOO_LARGE",
      `The body for ${route} is ${bytes} bytes; Genesys Cloud accepts at most ${maxBytes}. Send it in smaller batches.`,
    );
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** Transient failures (5xx, resets, timeouts) persisted through every allowed attempt. */
export class RetriesExhaustedError extends GenesysError {
  readonly route: string;
  readonly attempts: number;
  constructor(route: string, attempts: number, cause: unknown) {
    super("GENESYS_RETRIES_EXHAUSTED", `${route} failed after ${attempts} attempts: ${describe(cause)}`, {
      cause,
      retryable: true,
    });
    this.route = route;
    this.attempts = attempts;
  }
}

/**
 * An upload whose fate is unknown: the connection broke, timed out or was aborted after the body
 * may have reached Genesys. Sending it again blindly could load the file twice; the caller finds
 * out from the list's import status instead (import/bulk-load.ts).
 */
export class UploadOutcomeUnknownError extends GenesysError {
  readonly route: string;
  constructor(route: string, cause: unknown) {
    super(
      "GENESYS_UPLOAD_OUTCOME_UNKNOWN",
      `${route} ended without an answer (${describe(cause)}); Genesys may or may not have the file`,
      { cause, retryable: true },
    );
    this.route = route;
  }
}

/**
 * An upload cut off before its whole body was sent (aborted, or the connection broke while the
 * file was still being read): the request Genesys saw was incomplete, so it cannot have the file,
 * and it can be sent again at once.
 */
export class UploadCutShortError extends GenesysError {
  readonly route: string;
  constructor(route: string, sentBytes: number, totalBytes: number, cause: unknown) {
    super(
      "GENESYS_UPLOAD_CUT_SHORT",
      `${route} was cut off after ${sentBytes} of ${totalBytes} bytes (${describe(cause)}); Genesys cannot have the file`,
      { cause, retryable: true },
    );
    this.route = route;
  }
}

/** The client was closed while the call waited. */
export class ClientClosedError extends GenesysError {
  constructor() {
    super("GENESYS_CLIENT_CLOSED", "The Genesys Cloud client was closed");
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What a failed Genesys call means for whoever made it, in one place:
 * - `transient`: 429s, 5xx, resets and timeouts that outlasted the client's own retries; try again later.
 * - `deferred`: Genesys asked for a wait longer than the cap (RateLimitDeferredError); send after it.
 * - `request-fatal`: this request cannot succeed as it is (400, 413, other 4xx); split it and report
 *   the rows, never resend it unchanged.
 * - `target-fatal`: nothing sent to this target can succeed until someone fixes it: 401 after a
 *   fresh token, 403 (the OAuth client lacks a permission), 404 (the contact list is wrong or
 *   deleted), rejected client credentials. Stop sending, say so once, re-check slowly.
 */
export type FailureClass = "transient" | "deferred" | "request-fatal" | "target-fatal";

const TARGET_FATAL_STATUSES = new Set([401, 403, 404]);

export function failureClass(error: unknown): FailureClass {
  if (error instanceof RateLimitDeferredError) return "deferred";
  if (error instanceof InvalidClientCredentialsError) return "target-fatal";
  if (error instanceof RequestTooLargeError) return "request-fatal";
  if (error instanceof GenesysHttpError) {
    if (TARGET_FATAL_STATUSES.has(error.status)) return "target-fatal";
    if (error.status === 429 || error.status >= 500) return "transient";
    return "request-fatal";
  }
  return "transient";
}

/** The fix for a target-fatal answer, for the operator: the permission, the list id, the credentials. */
export function targetFix(error: unknown, target: string): string {
  if (error instanceof InvalidClientCredentialsError)
    return "check GENESYS_CLIENT_ID and the client secret in the Secret";
  if (error instanceof GenesysHttpError) {
    const permission = missingPermission(error.body);
    if (error.status === 403)
      return `give the OAuth client's role the permission ${permission ?? "the call needs (Genesys names it in the message)"}, in Genesys Cloud Admin > Roles`;
    if (error.status === 404)
      return `check that ${target} exists in this Genesys Cloud org and region, and fix GENESYS_CONTACT_LIST_ID (genesys.contactListId) if it was renamed or deleted`;
    if (error.status === 401)
      return "the token is refused even when fresh: check the OAuth client is active and its role has a division that includes the list";
  }
  return "see the error";
}

/** Genesys names a missing permission in the 403's message or messageParams. */
function missingPermission(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const fields = body as { message?: unknown; messageParams?: Record<string, unknown> };
  const fromParams = Object.values(fields.messageParams ?? {}).find(
    (value) => typeof value === "string" && /^[a-z]+:[A-Za-z]+:[a-z]+$/.test(value),
  );
  if (typeof fromParams === "string") return fromParams;
  const match = typeof fields.message === "string" ? /([a-z]+:[A-Za-z]+:[a-z]+)/.exec(fields.message) : null;
  return match?.[1];
}
