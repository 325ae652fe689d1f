import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Circuit breaker state as the gauge reports it. */
export const BREAKER_STATE_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * The client's Prometheus metrics, registered on a registry that the caller owns (never the
 * global one, so tests and several clients in one process do not collide). Labels carry routes
 * as templates (`/api/v2/outbound/contactlists/{id}/contacts`), never ids, tokens or secrets.
 */
export class GenesysMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"route" | "method" | "status">;
  readonly requestDuration: Histogram<"route">;
  readonly retries: Counter<"reason">;
  readonly rateLimited: Counter<"route">;
  readonly retryAfterWaitSeconds: Counter;
  readonly deferred: Counter<"route">;
  readonly tokenRefreshes: Counter<"result">;
  readonly tokenExpirySeconds: Gauge<"slot">;
  readonly breakerState: Gauge;
  readonly pacerWaitSeconds: Counter<"priority">;
  readonly pacerInUse: Gauge<"slot">;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.requests = new Counter({
      name: "genesys_requests_total",
      help: "Genesys Cloud API responses by route template, method and HTTP status (status 'error' for network failures)",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "genesys_request_duration_seconds",
      help: "Time from sending a Genesys Cloud API request to its response, per attempt",
      labelNames: ["route"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.retries = new Counter({
      name: "genesys_retries_total",
      help: "Requests sent again, by reason (unauthorized, rate_limited, server_error, network, timeout)",
      labelNames: ["reason"],
      registers,
    });
    this.rateLimited = new Counter({
      name: "genesys_rate_limited_total",
      help: "HTTP 429 answers from Genesys Cloud by route template",
      labelNames: ["route"],
      registers,
    });
    this.retryAfterWaitSeconds = new Counter({
      name: "genesys_retry_after_wait_seconds_total",
      help: "Seconds spent waiting because a 429 asked for it (Retry-After, body, or backoff)",
      registers,
    });
    this.deferred = new Counter({
      name: "genesys_deferred_requests_total",
      help: "Requests handed back to the caller because Retry-After exceeded the cap",
      labelNames: ["route"],
      registers,
    });
    this.tokenRefreshes = new Counter({
      name: "genesys_token_refreshes_total",
      help: "Token requests to the login server by result (success, invalid_client, throttled, error)",
      labelNames: ["result"],
      registers,
    });
    this.tokenExpirySeconds = new Gauge({
      name: "genesys_token_expiry_seconds",
      help: "Seconds until the current access token of each pool slot expires (0 when there is none)",
      labelNames: ["slot"],
      registers,
    });
    this.breakerState = new Gauge({
      name: "genesys_circuit_breaker_state",
      help: "Circuit breaker state: 0 closed, 1 half-open, 2 open",
      registers,
    });
    this.pacerWaitSeconds = new Counter({
      name: "genesys_pacer_wait_seconds_total",
      help: "Seconds requests waited for the per-token rate budget before being sent, by priority (removal, addition, background; none: no share, ranked with additions)",
      labelNames: ["priority"],
      registers,
    });
    this.pacerInUse = new Gauge({
      name: "genesys_rate_budget_in_use",
      help: "Requests sent in the current budget window, per token pool slot",
      labelNames: ["slot"],
      registers,
    });
  }
}
