import type { Readable } from "node:stream";
import { request, type Dispatcher } from "undici";
import type { Logger } from "pino";
import { createLogger } from "../logging";
import { systemClock, type Clock, type Random } from "../time/clock";
import { fullJitterDelayMs, type BackoffSettings } from "./backoff";
import { genesysDispatcher, type ProxySettings } from "./dispatcher";
import {
  CircuitBreaker,
  type BreakerFailure,
  type BreakerSettings,
  type BreakerState,
  type BreakerStatus,
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
import { RequestPacer, type PacerSettings } from "./pacer";
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
  /** Backoff for transient failures and 429s without a wait; default 500 ms doubling to 30 s, full jitter. */
  readonly transientBackoff?: BackoffSettings;
  /** Per-token budget; default 300 requests per 60,000 ms (+ a safety margin), pausing below 10 % remaining. */
  readonly rateLimit?: Partial<PacerSettings>;
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

export interface ClientState {
  readonly tokens: readonly TokenState[];
  readonly breaker: BreakerState;
  readonly rateBudgetInUse: number;
  readonly rateBudgetPerWindow: number;
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
  private readonly pacing: PacerSettings;
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
      transientBackoff: options.transientBackoff ?? { initialDelayMs: 500, maxDelayMs: 30_000 },
      maxBodyBytes: options.maxBodyBytes ?? MAX_REQUEST_BYTES,
    };
    const windowMs = options.rateLimit?.windowMs ?? 60_000;
    this.pacing = {
      requestsPerWindow: options.rateLimit?.requestsPerWindow ?? 300,
      windowMs,
      lowWaterRatio: options.rateLimit?.lowWaterRatio ?? 0.1,
      safetyMarginMs: options.rateLimit?.safetyMarginMs ?? Math.max(250, windowMs / 100),
    };
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
      rateBudgetPerWindow: this.pacing.requestsPerWindow * this.slots.length,
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

  /** Sends one API request with every resilience policy applied; resolves with the parsed JSON body. */
  async request<T = unknown>(call: GenesysRequest): Promise<T> {
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
    const url = base + call.path + queryString(call.query);
    const contentHeaders: Record<string, string> = call.stream
      ? {
          "content-type": call.stream.contentType,
          "content-length": String(call.stream.contentLength),
        }
      : body === undefined
        ? {}
        : { "content-type": "application/json" };
    const timeoutMs = call.timeoutMs ?? this.settings.requestTimeoutMs;
    let retriedUnauthorized = false;
    let rateLimitRetries = 0;
    let transientAttempts = 0;

    for (;;) {
      if (this.closed) throw new ClientClosedError();
      const isProbe = await this.breaker.admit();
      const slot = this.pickSlot();
      let token: string;
      try {
        token = await slot.tokens.getToken();
        const queuedAt = this.clock.now();
        await slot.pacer.acquire();
        this.metrics.pacerWaitSeconds.inc((this.clock.now() - queuedAt) / 1000);
        token = await slot.tokens.getToken();
      } catch (error) {
        if (isProbe) this.breaker.recordSuccess(true);
        throw error;
      }

      const startedAt = this.clock.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await request(url, {
          method: call.method,
          dispatcher: this.dispatcher,
          headers: { authorization: `Bearer ${token}`, accept: "application/json", ...contentHeaders },
          body: call.stream ? call.stream.open() : body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          ...(call.signal ? { signal: call.signal } : {}),
        });
      } catch (error) {
        this.metrics.requests.inc({ route: routeLabel, method: call.method, status: "error" });
        if (call.stream) {
          // The body may have arrived: never send an upload again on a broken connection.
          this.breaker.recordFailure(isProbe, networkFailure(error));
          throw new UploadOutcomeUnknownError(route, error);
        }
        const code = (error as { code?: unknown }).code;
        if (typeof code !== "string" || !TRANSIENT_NETWORK_CODES.has(code)) {
          if (isProbe) this.breaker.recordSuccess(true);
          throw error;
        }
        const failure = networkFailure(error);
        this.breaker.recordFailure(isProbe, failure);
        transientAttempts += 1;
        if (transientAttempts >= this.settings.maxTransientAttempts) {
          throw new RetriesExhaustedError(route, transientAttempts, error);
        }
        await this.backoff(route, failure.kind, transientAttempts, networkReason(error));
        continue;
      }

      const status = response.statusCode;
      const success = status >= 200 && status < 300;
      const text =
        success && call.ignoreResponseBody ? (await response.body.dump(), "") : await response.body.text();
      this.metrics.requests.inc({ route: routeLabel, method: call.method, status: String(status) });
      this.metrics.requestDuration.observe({ route: routeLabel }, (this.clock.now() - startedAt) / 1000);
      const reading = readRateLimitHeaders(response.headers, this.clock.now());
      if (reading) slot.pacer.observe(reading);
      const parsed = parseBody(text);

      if (success) {
        this.breaker.recordSuccess(isProbe);
        return parsed as T;
      }
      if (status === 401) {
        this.breaker.recordSuccess(isProbe);
        if (retriedUnauthorized)
          throw new GenesysHttpError(route, status, parsed, " (after a token refresh and one retry)");
        retriedUnauthorized = true;
        this.metrics.retries.inc({ reason: "unauthorized" });
        this.logger.warn(
          { route, slot: slot.index },
          "Genesys Cloud answered 401; refreshing the token if it is still current, then retrying once",
        );
        await this.clock.sleep(this.settings.unauthorizedRetryDelayMs);
        await slot.tokens.invalidate(token);
        continue;
      }
      if (status === 429) {
        this.breaker.recordFailure(isProbe, { kind: "rate_limited", detail: "HTTP 429" });
        this.metrics.rateLimited.inc({ route: routeLabel });
        const asked = retryAfterMs(headerValue(response.headers["retry-after"]), parsed, this.clock.now());
        const waitMs =
          asked ?? fullJitterDelayMs(rateLimitRetries, this.settings.transientBackoff, this.random);
        if (waitMs > this.settings.maxRetryAfterMs || rateLimitRetries >= this.settings.maxRateLimitRetries) {
          this.metrics.deferred.inc({ route: routeLabel });
          this.logger.warn(
            { route, retryAfterMs: waitMs, rateLimitRetries },
            "Genesys Cloud rate limit: handing the request back as deferred",
          );
          throw new RateLimitDeferredError(route, waitMs, this.settings.maxRetryAfterMs);
        }
        rateLimitRetries += 1;
        this.metrics.retries.inc({ reason: "rate_limited" });
        this.metrics.retryAfterWaitSeconds.inc(waitMs / 1000);
        this.logger.info(
          {
            route,
            slot: slot.index,
            retryAfterMs: waitMs,
            source: asked === undefined ? "backoff" : "server",
          },
          "Genesys Cloud answered 429; waiting before retrying",
        );
        // Limits count per token: hold every request of this token, not just this one.
        slot.pacer.pauseUntil(this.clock.now() + waitMs);
        continue;
      }
      if (TRANSIENT_STATUSES.has(status)) {
        this.breaker.recordFailure(isProbe, { kind: "server_error", detail: `HTTP ${status}` });
        // A gateway timeout may come after the upload was taken: its fate is unknown.
        if (call.stream && status === 504)
          throw new UploadOutcomeUnknownError(route, new GenesysHttpError(route, status, parsed));
        transientAttempts += 1;
        if (transientAttempts >= this.settings.maxTransientAttempts) {
          throw new RetriesExhaustedError(
            route,
            transientAttempts,
            new GenesysHttpError(route, status, parsed),
          );
        }
        await this.backoff(route, "server_error", transientAttempts, `HTTP ${status}`);
        continue;
      }
      if (status >= 500)
        this.breaker.recordFailure(isProbe, { kind: "server_error", detail: `HTTP ${status}` });
      else this.breaker.recordSuccess(isProbe);
      throw new GenesysHttpError(route, status, parsed);
    }
  }

  private async backoff(route: string, reason: string, attempt: number, detail: string): Promise<void> {
    const delayMs = fullJitterDelayMs(attempt - 1, this.settings.transientBackoff, this.random);
    this.metrics.retries.inc({ reason });
    this.logger.warn(
      { route, reason, attempt, retryInMs: delayMs },
      `Genesys Cloud request failed (${detail}); retrying`,
    );
    await this.clock.sleep(delayMs);
  }

  /** The slot whose budget frees up first, preferring ones with a valid token; round-robin on ties. */
  private pickSlot(): Slot {
    if (this.slots.length === 1) return this.slots[0]!;
    const perRequestMs = this.pacing.windowMs / this.pacing.requestsPerWindow;
    let best: Slot | undefined;
    let bestScore = Infinity;
    for (let offset = 0; offset < this.slots.length; offset += 1) {
      const slot = this.slots[(this.nextSlot + offset) % this.slots.length]!;
      const score =
        slot.pacer.nextFreeAtMs() +
        slot.pacer.queued() * perRequestMs +
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
        transientBackoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 },
        credentialsBackoff: { initialDelayMs: 30_000, maxDelayMs: 600_000 },
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
