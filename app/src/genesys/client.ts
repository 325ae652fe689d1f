import type { Readable } from "node:stream";
import { request as undiciRequest, type Dispatcher } from "undici";
import type { Logger } from "pino";
import { createLogger } from "../logging";
import { systemClock, type Clock, type Random } from "../time/clock";
import {
  BACKOFF,
  retryPolicy,
  wrap,
  type BackoffSettings,
  type Policy,
  type RetryEvent,
} from "../shared/retry";
import { genesysDispatcher, type ProxySettings } from "./dispatcher";
import {
  replicaBudgetPerWindow,
  tokenPacing,
  type BudgetInUse,
  type TokenPacing,
} from "../shared/rate-budget";
import {
  breakerPolicy,
  CircuitBreaker,
  type BreakerFailure,
  type BreakerSettings,
  type BreakerState,
  type BreakerStatus,
  type BreakerVerdict,
} from "./circuit-breaker";
import {
  ClientClosedError,
  GenesysHttpError,
  RateLimitDeferredError,
  RequestTooLargeError,
  RetriesExhaustedError,
  UploadOutcomeUnknownError,
} from "./errors";
import { BREAKER_STATE_VALUE, GenesysMetrics } from "./metrics";
import { RequestPacer } from "./pacer";
import { currentRequestShare, type RequestShare } from "./request-share";
import type { GenesysEndpoints } from "../shared/regions";
import { headerValue, readRateLimitHeaders, retryAfterMs } from "./retry-after";
import { networkReason, TokenManager, type TokenState } from "./token-manager";

/** Genesys' `request.bytes.max`. */
export const MAX_REQUEST_BYTES = 512_000;

export interface GenesysClientOptions {
  readonly endpoints: GenesysEndpoints;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Tokens held at once; each has its own rate budget (Genesys' Terraform provider pools up to 50). Default 1. */
  readonly tokenPoolSize?: number;
  /** Fetch the next token this long before expiry; default 60. */
  readonly refreshBufferSeconds?: number;
  /** Timeout for one HTTP attempt, in milliseconds; default 30,000. */
  readonly requestTimeoutMs?: number;
  /** Wait before retrying a request that got 401; default 1,000 (never less). */
  readonly unauthorizedRetryDelayMs?: number;
  /** Longest Retry-After honoured before the request is handed back as deferred; default 180,000. */
  readonly maxRetryAfterMs?: number;
  /** 429s retried for one request before it is handed back as deferred; default 10. */
  readonly maxRateLimitRetries?: number;
  /** Attempts for 502/503/504, resets and timeouts; default 5. */
  readonly maxTransientAttempts?: number;
  /** Backoff for transient failures and 429s without a wait; default BACKOFF.genesysApi (500 ms doubling to 30 s, full jitter). */
  readonly transientBackoff?: BackoffSettings;
  /** Per-token budget; default `tokenPacing` (300 requests per 60,000 ms + a safety margin, pausing below 10 % remaining). */
  readonly rateLimit?: Partial<TokenPacing>;
  /** Default: opens after 5 consecutive 429/5xx/network failures, probes after 10,000 ms. */
  readonly breaker?: Partial<BreakerSettings>;
  /** Largest request body sent; default 512,000 bytes. */
  readonly maxBodyBytes?: number;
  /** Forward proxy for token and API requests when no `dispatcher` is given; default none (direct). */
  readonly proxy?: ProxySettings;
  /** HTTP dispatcher; default a keep-alive undici Agent (through `proxy`) owned (and closed) by the client. */
  readonly dispatcher?: Dispatcher;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
  readonly metrics?: GenesysMetrics;
}

export interface GenesysRequest {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path below the API base URL, such as `/api/v2/outbound/contactlists/abc/contacts`. */
  readonly path: string;
  /** Route template for metrics; default: the path with id-like segments replaced by `{id}`. */
  readonly route?: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  /** A body already serialised as JSON (saves serialising large batches twice); wins over `body`. */
  readonly jsonBody?: string;
  /** Resolve with undefined instead of parsing a successful answer the caller does not read. */
  readonly ignoreResponseBody?: boolean;
  /** The host the path is on: the API (default) or the bulk upload host, `apps.<domain>`. */
  readonly host?: "api" | "apps";
  /**
   * A streamed body (a file upload), opened afresh for every attempt; wins over `jsonBody` and
   * `body`, and is not held to the 512,000-byte cap of JSON bodies.
   */
  readonly stream?: StreamedBody;
  /** Timeout of one attempt in milliseconds; default the client's `requestTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Aborts the call; an upload aborted mid-way ends in UploadOutcomeUnknownError. */
  readonly signal?: AbortSignal;
  /**
   * Whose work this is and how urgent, for sharing the rate budget; default the share of the
   * caller's `withRequestShare`, else none (an addition of its own key: see `RequestShare`).
   */
  readonly share?: RequestShare;
}

export interface StreamedBody {
  readonly contentType: string;
  /** Bytes the stream yields: sent as Content-Length, as a file upload needs. */
  readonly contentLength: number;
  readonly open: () => Readable;
}

interface Slot {
  readonly index: number;
  readonly tokens: TokenManager;
  readonly pacer: RequestPacer;
}

/** A request as every attempt sends it. */
interface PreparedRequest {
  readonly call: GenesysRequest;
  /** `GET /api/v2/things/{id}`, for errors and logs. */
  readonly route: string;
  /** The route template alone, the metrics label. */
  readonly routeLabel: string;
  readonly url: string;
  readonly body: string | undefined;
  readonly contentHeaders: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** The call's share, or the one around `request()`'s caller: read once, kept for every attempt. */
  readonly share: RequestShare | undefined;
}

/** An answer other than 2xx, and the slot and token that drew it. */
interface FailedAnswer {
  readonly slot: Slot;
  readonly token: string;
  readonly status: number;
  readonly headers: Dispatcher.ResponseData["headers"];
  readonly parsed: unknown;
}

export interface ClientState extends BudgetInUse {
  readonly tokens: readonly TokenState[];
  readonly breaker: BreakerState;
  readonly rateWindowMs: number;
}

const TRANSIENT_STATUSES = new Set([502, 503, 504]);
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * The Genesys Cloud Platform API client: client-credentials tokens (one refresh at a time,
 * before expiry), 401 → wait, refresh if still current, retry once; 429 → honour Retry-After
 * (seconds, HTTP-date or the body's "[N] seconds") up to a cap, then hand the request back as
 * deferred; 502/503/504 and resets → bounded exponential backoff with full jitter; per-token
 * pacing so normal operation draws almost no 429s; a breaker so an outage is not hammered.
 */
export class GenesysClient {
  readonly metrics: GenesysMetrics;
  private readonly slots: Slot[];
  private readonly breaker: CircuitBreaker;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly settings: Required<
    Pick<
      GenesysClientOptions,
      | "requestTimeoutMs"
      | "unauthorizedRetryDelayMs"
      | "maxRetryAfterMs"
      | "maxRateLimitRetries"
      | "maxTransientAttempts"
      | "transientBackoff"
      | "maxBodyBytes"
    >
  >;
  private readonly pacing: TokenPacing;
  private readonly policy: Policy;
  private nextSlot = 0;
  private closed = false;

  constructor(private readonly options: GenesysClientOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? createLogger();
    this.metrics = options.metrics ?? new GenesysMetrics();
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? genesysDispatcher(options.proxy);
    this.settings = {
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      unauthorizedRetryDelayMs: Math.max(1_000, options.unauthorizedRetryDelayMs ?? 1_000),
      maxRetryAfterMs: options.maxRetryAfterMs ?? 180_000,
      maxRateLimitRetries: options.maxRateLimitRetries ?? 10,
      maxTransientAttempts: options.maxTransientAttempts ?? 5,
      transientBackoff: options.transientBackoff ?? BACKOFF.genesysApi,
      maxBodyBytes: options.maxBodyBytes ?? MAX_REQUEST_BYTES,
    };
    this.pacing = tokenPacing(options.rateLimit);
    this.breaker = new CircuitBreaker(
      {
        failureThreshold: options.breaker?.failureThreshold ?? 5,
        openDurationMs: options.breaker?.openDurationMs ?? 10_000,
      },
      this.clock,
      (state) => {
        this.metrics.breakerState.set(BREAKER_STATE_VALUE[state]);
        this.logger.warn({ breaker: state }, `Genesys Cloud circuit breaker is ${state}`);
      },
    );
    this.metrics.breakerState.set(0);
    const poolSize = Math.max(1, Math.floor(options.tokenPoolSize ?? 1));
    this.slots = Array.from({ length: poolSize }, (_, index) => this.createSlot(index));
    this.policy = this.requestPolicy();
  }

  /** Starts fetching every pool slot's first token; returns at once. */
  start(): void {
    for (const slot of this.slots) slot.tokens.start();
  }

  /** Resolves once at least one token is held. */
  whenReady(): Promise<void> {
    return Promise.race(this.slots.map((slot) => slot.tokens.whenReady()));
  }

  /** True while at least one valid token is held. */
  hasValidToken(): boolean {
    return this.slots.some((slot) => slot.tokens.isValid());
  }

  state(): ClientState {
    return {
      tokens: this.slots.map((slot) => slot.tokens.state()),
      breaker: this.breaker.state,
      rateBudgetInUse: this.slots.reduce((sum, slot) => sum + slot.pacer.inUse(), 0),
      rateBudgetPerWindow: replicaBudgetPerWindow(this.pacing, this.slots.length),
      rateWindowMs: this.pacing.windowMs,
    };
  }

  /** The breaker's state, when it opened and probes, and the last failure's kind (what /readyz reports). */
  breakerStatus(): BreakerStatus {
    return this.breaker.status();
  }

  /** Refreshes the gauges that depend on the time (called before metrics are scraped). */
  updateGauges(): void {
    for (const slot of this.slots) {
      this.metrics.tokenExpirySeconds.set({ slot: String(slot.index) }, slot.tokens.secondsToExpiry());
      this.metrics.pacerInUse.set({ slot: String(slot.index) }, slot.pacer.inUse());
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      slot.tokens.close();
      slot.pacer.close();
    }
    this.breaker.close();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /**
   * The HTTP dispatcher the client sends through (the configured proxy, NO_PROXY), for requests
   * that are not API calls but must take the same way out: a list export's signed download URL.
   * Owned by the client when it made it: use it only until `close()`.
   */
  get httpDispatcher(): Dispatcher {
    return this.dispatcher;
  }

  /** Sends one API request with every resilience policy applied; resolves with the parsed JSON body. */
  async request<T = unknown>(call: GenesysRequest): Promise<T> {
    const prepared = this.prepare(call);
    return (await this.policy.execute(() => this.attempt(prepared))) as T;
  }

  /** The URL, body and headers every attempt sends; refuses a body Genesys would refuse. */
  private prepare(call: GenesysRequest): PreparedRequest {
    const routeLabel = call.route ?? routeTemplate(call.path);
    const route = `${call.method} ${routeLabel}`;
    const body = call.stream
      ? undefined
      : (call.jsonBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body)));
    if (body !== undefined) {
      const bytes = Buffer.byteLength(body, "utf8");
      if (bytes > this.settings.maxBodyBytes)
        throw new RequestTooLargeError(route, bytes, this.settings.maxBodyBytes);
    }
    const base =
      call.host === "apps" ? this.options.endpoints.appsBaseUrl : this.options.endpoints.apiBaseUrl;
    const contentHeaders: Record<string, string> = call.stream
      ? {
          "content-type": call.stream.contentType,
          "content-length": String(call.stream.contentLength),
        }
      : body === undefined
        ? {}
        : { "content-type": "application/json" };
    return {
      call,
      route,
      routeLabel,
      url: base + call.path + queryString(call.query),
      body,
      contentHeaders,
      timeoutMs: call.timeoutMs ?? this.settings.requestTimeoutMs,
      share: call.share ?? currentRequestShare(),
    };
  }

  /**
   * The request's policies, outermost first: one 401 retry after a token refresh, 429s waited
   * out on the token's pacer (or handed back as deferred), transient failures backed off, and
   * the breaker around each attempt. Each counts its retries per request.
   */
  private requestPolicy(): Policy {
    return wrap(
      this.unauthorizedRetry(),
      this.rateLimitRetry(),
      this.transientRetry(),
      breakerPolicy(this.breaker, breakerVerdict),
    );
  }

  /** 401 → wait, refresh the token if it is still the slot's current one, retry once. */
  private unauthorizedRetry(): Policy {
    const { clock, random, settings } = this;
    return retryPolicy({
      clock,
      random,
      backoff: settings.transientBackoff,
      shouldRetry: (error) => error instanceof UnauthorizedAnswer,
      maxAttempts: 2,
      delayFor: () => settings.unauthorizedRetryDelayMs,
      wait: async ({ error, delayMs }) => {
        await clock.sleep(delayMs);
        await error.refreshToken();
      },
      onRetry: ({ error }) => {
        const { route, slot } = error;
        this.metrics.retries.inc({ reason: "unauthorized" });
        this.logger.warn(
          { route, slot: slot.index },
          "Genesys Cloud answered 401; refreshing the token if it is still current, then retrying once",
        );
      },
      giveUpWith: ({ error }) => error.refused,
    });
  }

  /** 429 → Retry-After (or the backoff) up to a cap and a count, then handed back as deferred. */
  private rateLimitRetry(): Policy {
    const { clock, random, settings } = this;
    return retryPolicy({
      clock,
      random,
      backoff: settings.transientBackoff,
      shouldRetry: (error) => error instanceof RateLimitedAnswer,
      maxAttempts: settings.maxRateLimitRetries + 1,
      maxDelayMs: settings.maxRetryAfterMs,
      delayFor: (error) => error.askedMs,
      // Limits count per token: hold every request of this token, not just this one.
      wait: async ({ error, delayMs }) => error.slot.pacer.pauseUntil(clock.now() + delayMs),
      onRetry: (event) => this.onRateLimitRetry(event),
      onGiveUp: ({ error, delayMs, attempt }) => {
        const { route, routeLabel } = error;
        this.metrics.deferred.inc({ route: routeLabel });
        this.logger.warn(
          { route, retryAfterMs: delayMs, rateLimitRetries: attempt },
          "Genesys Cloud rate limit: handing the request back as deferred",
        );
      },
      giveUpWith: ({ error, delayMs }) =>
        new RateLimitDeferredError(error.route, delayMs, settings.maxRetryAfterMs),
    });
  }

  /** 502/503/504, resets and timeouts → bounded exponential backoff with full jitter. */
  private transientRetry(): Policy {
    const { clock, random, settings } = this;
    return retryPolicy({
      clock,
      random,
      backoff: settings.transientBackoff,
      shouldRetry: (error) => error instanceof TransientFailure,
      maxAttempts: settings.maxTransientAttempts,
      onRetry: ({ error, attempt, delayMs }) => {
        const { route, failure, detail } = error;
        this.metrics.retries.inc({ reason: failure.kind });
        this.logger.warn(
          { route, reason: failure.kind, attempt: attempt + 1, retryInMs: delayMs },
          `Genesys Cloud request failed (${detail}); retrying`,
        );
      },
      giveUpWith: ({ error, failures }) => {
        const { route, cause } = error;
        return new RetriesExhaustedError(route, failures, cause);
      },
    });
  }

  private onRateLimitRetry({ error, delayMs }: RetryEvent<RateLimitedAnswer>): void {
    const { route, slot, askedMs } = error;
    this.metrics.retries.inc({ reason: "rate_limited" });
    this.metrics.retryAfterWaitSeconds.inc(delayMs / 1000);
    this.logger.info(
      {
        route,
        slot: slot.index,
        retryAfterMs: delayMs,
        source: askedMs === undefined ? "backoff" : "server",
      },
      "Genesys Cloud answered 429; waiting before retrying",
    );
  }

  /** One try: a slot's token and a place in its budget, the HTTP exchange, and what the answer means. */
  private async attempt(request: PreparedRequest): Promise<unknown> {
    if (this.closed) throw new ClientClosedError();
    const { share } = request;
    const slot = this.pickSlot(share);
    await slot.tokens.getToken();
    const queuedAt = this.clock.now();
    await slot.pacer.acquire(share);
    this.metrics.pacerWaitSeconds.inc(
      { priority: share?.priority ?? "none" },
      (this.clock.now() - queuedAt) / 1000,
    );
    const token = await slot.tokens.getToken();
    const startedAt = this.clock.now();
    const response = await this.send(request, token);
    const { call, routeLabel } = request;
    const status = response.statusCode;
    const success = status >= 200 && status < 300;
    const text =
      success && call.ignoreResponseBody ? (await response.body.dump(), "") : await response.body.text();
    this.metrics.requests.inc({ route: routeLabel, method: call.method, status: String(status) });
    this.metrics.requestDuration.observe({ route: routeLabel }, (this.clock.now() - startedAt) / 1000);
    const reading = readRateLimitHeaders(response.headers, this.clock.now());
    if (reading) slot.pacer.observe(reading);
    const parsed = parseBody(text);
    if (success) return parsed;
    throw this.failedAnswer(request, { slot, token, status, headers: response.headers, parsed });
  }

  /** The HTTP exchange; a failure without an answer becomes a transient failure or an unknown upload. */
  private async send(request: PreparedRequest, token: string): Promise<Dispatcher.ResponseData> {
    const { call, url, body, contentHeaders, timeoutMs, route } = request;
    try {
      return await undiciRequest(url, {
        method: call.method,
        dispatcher: this.dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: "application/json", ...contentHeaders },
        body: call.stream ? call.stream.open() : body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(call.signal ? { signal: call.signal } : {}),
      });
    } catch (error) {
      this.metrics.requests.inc({ route: request.routeLabel, method: call.method, status: "error" });
      // The body may have arrived: never send an upload again on a broken connection.
      if (call.stream) throw new UploadOutcomeUnknownError(route, error);
      const code = (error as { code?: unknown }).code;
      if (typeof code !== "string" || !TRANSIENT_NETWORK_CODES.has(code)) throw error;
      throw new TransientFailure(route, networkFailure(error), networkReason(error), error);
    }
  }

  /** What an answer other than 2xx means: one of the retried kinds, or the error for the caller. */
  private failedAnswer(request: PreparedRequest, answer: FailedAnswer): Error {
    const { route, routeLabel, call } = request;
    const { status, parsed } = answer;
    if (status === 401) return new UnauthorizedAnswer(route, answer);
    if (status === 429) {
      this.metrics.rateLimited.inc({ route: routeLabel });
      const askedMs = retryAfterMs(headerValue(answer.headers["retry-after"]), parsed, this.clock.now());
      return new RateLimitedAnswer(route, routeLabel, answer.slot, askedMs);
    }
    const refused = new GenesysHttpError(route, status, parsed);
    if (!TRANSIENT_STATUSES.has(status)) return refused;
    // A gateway timeout may come after the upload was taken: its fate is unknown.
    if (call.stream && status === 504) return new UploadOutcomeUnknownError(route, refused);
    return new TransientFailure(route, serverError(status), `HTTP ${status}`, refused);
  }

  /**
   * The slot where a request with this share would be sent first, preferring ones with a valid
   * token; round-robin on ties. A request is bound to its slot's queue once chosen, so the
   * estimate counts only the waiters that slot would serve before it (`queuedAhead`: more urgent
   * classes and its own class's turns), not every waiter: a removal goes to the slot with the
   * fewest removals ahead, a new route to the one where its turn comes soonest, and a route's
   * own stream spreads over the slots as its queue grows on each, so no slot idles while
   * another holds that route's requests. With no shares this is the total queue, as before.
   */
  private pickSlot(share: RequestShare | undefined): Slot {
    if (this.slots.length === 1) return this.slots[0]!;
    const perRequestMs = this.pacing.windowMs / this.pacing.requestsPerWindow;
    let best: Slot | undefined;
    let bestScore = Infinity;
    for (let offset = 0; offset < this.slots.length; offset += 1) {
      const slot = this.slots[(this.nextSlot + offset) % this.slots.length]!;
      const score =
        slot.pacer.nextFreeAtMs() +
        slot.pacer.queuedAhead(share) * perRequestMs +
        (slot.tokens.isValid() ? 0 : this.pacing.windowMs);
      if (score < bestScore) {
        best = slot;
        bestScore = score;
      }
    }
    this.nextSlot = (best!.index + 1) % this.slots.length;
    return best!;
  }

  private createSlot(index: number): Slot {
    return {
      index,
      pacer: new RequestPacer(this.pacing, this.clock),
      tokens: new TokenManager({
        loginBaseUrl: this.options.endpoints.loginBaseUrl,
        clientId: this.options.clientId,
        clientSecret: this.options.clientSecret,
        dispatcher: this.dispatcher,
        clock: this.clock,
        random: this.random,
        logger: this.logger,
        metrics: this.metrics,
        slot: index,
        refreshBufferSeconds: this.options.refreshBufferSeconds ?? 60,
        requestTimeoutMs: Math.min(this.settings.requestTimeoutMs, 10_000),
      }),
    };
  }
}

const ID_SEGMENT =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+|[A-Za-z0-9_-]{20,})$/i;

/** `/api/v2/outbound/contactlists/1b2c…/contacts` → `/api/v2/outbound/contactlists/{id}/contacts`. */
export function routeTemplate(path: string): string {
  return path
    .split("?")[0]!
    .split("/")
    .map((segment) => (ID_SEGMENT.test(segment) ? "{id}" : segment))
    .join("/");
}

/*
 * What an attempt's failure means for the request's policies. These never leave `request()`:
 * each is retried by its policy or turned into the caller's error when the policy gives up.
 */

/** A 401: wait, refresh the token if it is still the slot's current one, and retry once. */
class UnauthorizedAnswer extends Error {
  readonly slot: Slot;
  /** What the caller gets when the retry is refused too. */
  readonly refused: GenesysHttpError;
  private readonly token: string;
  constructor(
    readonly route: string,
    answer: FailedAnswer,
  ) {
    super(`Genesys Cloud answered 401 to ${route}`);
    this.slot = answer.slot;
    this.token = answer.token;
    this.refused = new GenesysHttpError(route, 401, answer.parsed, " (after a token refresh and one retry)");
  }

  refreshToken(): Promise<void> {
    return this.slot.tokens.invalidate(this.token);
  }
}

/** A 429, with the wait Genesys asked for (Retry-After or the body's "[N] seconds"), if any. */
class RateLimitedAnswer extends Error {
  constructor(
    readonly route: string,
    readonly routeLabel: string,
    readonly slot: Slot,
    readonly askedMs: number | undefined,
  ) {
    super(`Genesys Cloud answered 429 to ${route}`);
  }
}

/** A 502/503/504, reset or timeout: backed off and retried a bounded number of times. */
class TransientFailure extends Error {
  constructor(
    readonly route: string,
    readonly failure: BreakerFailure,
    /** For the log: the status or the network error's kind and fix. */
    readonly detail: string,
    override readonly cause: unknown,
  ) {
    super(`${route} failed (${detail})`);
  }
}

/**
 * How an attempt counts for the breaker: 429, 5xx, resets and timeouts against it; any other
 * answer for it; and a failure before any answer (no token, a refused connection's own error)
 * not at all.
 */
function breakerVerdict(error: unknown): BreakerVerdict {
  if (error instanceof RateLimitedAnswer) return { failure: { kind: "rate_limited", detail: "HTTP 429" } };
  if (error instanceof TransientFailure) return { failure: error.failure };
  if (error instanceof UploadOutcomeUnknownError) {
    const cause = error.cause;
    return { failure: cause instanceof GenesysHttpError ? serverError(cause.status) : networkFailure(cause) };
  }
  if (error instanceof GenesysHttpError)
    return error.status >= 500 ? { failure: serverError(error.status) } : "answered";
  if (error instanceof UnauthorizedAnswer) return "answered";
  return "no-answer";
}

function serverError(status: number): BreakerFailure {
  return { kind: "server_error", detail: `HTTP ${status}` };
}

/** A failed request's kind and error code (`ECONNRESET`), for the breaker: never its message. */
function networkFailure(error: unknown): BreakerFailure {
  const code = (error as { code?: unknown }).code;
  const detail = typeof code === "string" ? code : "no error code";
  return { kind: detail.includes("TIMEOUT") ? "timeout" : "network", detail };
}

function queryString(query: GenesysRequest["query"]): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
