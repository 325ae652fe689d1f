import type { Dispatcher } from "undici";
import { request } from "undici";
import type { Logger } from "pino";
import type { Clock, Random } from "../time/clock";
import {
  BACKOFF,
  backoffDelayMs,
  retryPolicy,
  type BackoffSettings,
  type Policy,
  type RetryEvent,
} from "../shared/retry";
import { ClientClosedError, GenesysError, InvalidClientCredentialsError, TokenRequestError } from "./errors";
import type { GenesysMetrics } from "./metrics";
import { headerValue, parseRetryAfterHeader } from "./retry-after";

export interface TokenManagerOptions {
  readonly loginBaseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly metrics: GenesysMetrics;
  /** Which pool slot this manager serves (label for metrics and logs). */
  readonly slot: number;
  /** Fetch the next token this long before the current one expires; default 60. */
  readonly refreshBufferSeconds: number;
  /** Timeout for one token request, in milliseconds; default 10,000. */
  readonly requestTimeoutMs: number;
  /** Backoff for throttled, 5xx and network failures; default BACKOFF.tokenRequest (1 s doubling to 60 s, full jitter). */
  readonly transientBackoff?: BackoffSettings;
  /** Backoff for rejected credentials, slow: no tight loop; default BACKOFF.rejectedCredentials (30 s doubling to 10 min). */
  readonly credentialsBackoff?: BackoffSettings;
}

interface CurrentToken {
  readonly value: string;
  readonly expiresAtMs: number;
  readonly refreshAtMs: number;
}

export interface TokenState {
  readonly slot: number;
  readonly valid: boolean;
  readonly expiresAtMs: number | undefined;
  readonly consecutiveFailures: number;
  readonly lastError: string | undefined;
}

/**
 * Owns one client-credentials access token. The grant has no refresh token, so "refreshing"
 * means asking the login server for a new token, `refreshBufferSeconds` before the current one
 * expires. However many callers wait, one token request is in flight. Failures never end the
 * process: rejected credentials are retried slowly and reported; a throttled login server (HTTP
 * 400 "rate limit exceeded"), 5xx and network errors back off exponentially with full jitter.
 */
export class TokenManager {
  private current: CurrentToken | undefined;
  private inFlight: Promise<void> | undefined;
  private started = false;
  private closed = false;
  private readonly closing = new AbortController();
  private scheduleWake: AbortController | undefined;
  private consecutiveFailures = 0;
  private lastError: string | undefined;
  private warnedBufferClamp = false;
  private readyWaiters: Array<() => void> = [];
  private readonly retries: Policy;

  constructor(private readonly options: TokenManagerOptions) {
    this.retries = this.retryPolicy();
  }

  /** Fetches the first token and keeps the next one coming; returns at once. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.keepFresh();
  }

  /** Resolves once a valid token is held (the service reports ready only after this). */
  whenReady(): Promise<void> {
    if (this.isValid()) return Promise.resolve();
    if (this.closed) return Promise.reject(new ClientClosedError());
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** A valid token, waiting for the request in flight if there is none. */
  async getToken(): Promise<string> {
    for (;;) {
      if (this.closed) throw new ClientClosedError();
      const token = this.current;
      if (token && this.options.clock.now() < token.expiresAtMs) return token.value;
      await this.refresh();
    }
  }

  /**
   * The API answered 401 to `token`. Fetch a new one only if that token is still the current
   * one: when many requests fail with the same expired token, one refresh serves them all.
   */
  async invalidate(token: string): Promise<void> {
    if (this.current?.value === token) {
      this.current = undefined;
      await this.refresh();
    }
  }

  isValid(): boolean {
    return this.current !== undefined && this.options.clock.now() < this.current.expiresAtMs;
  }

  /** Seconds until the current token expires, 0 when there is none. */
  secondsToExpiry(): number {
    if (!this.current) return 0;
    return Math.max(0, (this.current.expiresAtMs - this.options.clock.now()) / 1000);
  }

  state(): TokenState {
    return {
      slot: this.options.slot,
      valid: this.isValid(),
      expiresAtMs: this.current?.expiresAtMs,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
    };
  }

  close(): void {
    this.closed = true;
    this.closing.abort(new ClientClosedError());
    this.scheduleWake?.abort();
  }

  /** One refresh at a time: every caller shares the request in flight. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetchUntilSuccess().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async keepFresh(): Promise<void> {
    while (!this.closed) {
      const token = this.current;
      const now = this.options.clock.now();
      if (!token || now >= token.refreshAtMs) {
        await this.refresh().catch(() => undefined);
        continue;
      }
      this.scheduleWake = new AbortController();
      try {
        await this.options.clock.sleep(token.refreshAtMs - now, this.scheduleWake.signal);
      } catch {
        // Woken: a new token arrived early (after a 401) or the manager closed.
      }
    }
  }

  /** Asks until the login server hands out a token; only closing the manager ends it otherwise. */
  private async fetchUntilSuccess(): Promise<void> {
    let sentAtMs = 0;
    const { accessToken, expiresInSeconds } = await this.retries.execute(() => {
      sentAtMs = this.options.clock.now();
      return this.requestToken();
    }, this.closing.signal);
    this.install(accessToken, sentAtMs, expiresInSeconds);
    this.options.metrics.tokenRefreshes.inc({ result: "success" });
    this.consecutiveFailures = 0;
    this.lastError = undefined;
    this.options.logger.info(
      { slot: this.options.slot, expiresInSeconds },
      "obtained a Genesys Cloud access token",
    );
  }

  /**
   * Every failure is retried: rejected credentials slowly and without jitter, anything else with
   * jittered backoff, never sooner than a 429's Retry-After.
   */
  private retryPolicy(): Policy {
    const { clock, random } = this.options;
    const transient = this.options.transientBackoff ?? BACKOFF.tokenRequest;
    const credentials = this.options.credentialsBackoff ?? BACKOFF.rejectedCredentials;
    return retryPolicy({
      clock,
      random,
      backoff: transient,
      delayFor: (error, attempt) => {
        if (error instanceof InvalidClientCredentialsError)
          return backoffDelayMs(credentials, attempt, random);
        if (error instanceof TokenRetryAfter)
          return Math.max(backoffDelayMs(transient, attempt, random), error.retryAfterMs);
        return undefined;
      },
      abortError: () => new ClientClosedError(),
      onRetry: (event) => this.recordFailure(event),
    });
  }

  private recordFailure({ error, delayMs }: RetryEvent): void {
    const { logger, metrics, slot } = this.options;
    const result =
      error instanceof InvalidClientCredentialsError
        ? "invalid_client"
        : error instanceof TokenRequestError && error.throttled
          ? "throttled"
          : "error";
    metrics.tokenRefreshes.inc({ result });
    this.consecutiveFailures += 1;
    this.lastError = error instanceof Error ? error.message : String(error);
    const fields = {
      slot,
      result,
      code: error instanceof GenesysError ? error.code : undefined,
      status:
        error instanceof TokenRequestError || error instanceof InvalidClientCredentialsError
          ? error.status
          : undefined,
      retryInMs: delayMs,
      consecutiveFailures: this.consecutiveFailures,
    };
    if (result === "invalid_client") logger.error(fields, this.lastError);
    else logger.warn(fields, `Genesys Cloud token request failed: ${this.lastError}`);
  }

  private install(value: string, sentAtMs: number, expiresInSeconds: number): void {
    const lifetimeMs = expiresInSeconds * 1000;
    let bufferMs = this.options.refreshBufferSeconds * 1000;
    if (bufferMs >= lifetimeMs / 2) {
      // A 60 s buffer is fine for the 300 s minimum lifetime; a larger one would refresh in a loop.
      bufferMs = lifetimeMs / 2;
      if (!this.warnedBufferClamp) {
        this.warnedBufferClamp = true;
        this.options.logger.warn(
          { refreshBufferSeconds: this.options.refreshBufferSeconds, expiresInSeconds },
          "token refresh buffer is not well below the token lifetime; refreshing at half the lifetime instead. Lower TOKEN_REFRESH_BUFFER_SECONDS",
        );
      }
    }
    this.current = {
      value,
      expiresAtMs: sentAtMs + lifetimeMs,
      refreshAtMs: sentAtMs + lifetimeMs - bufferMs,
    };
    this.scheduleWake?.abort();
    for (const resolve of this.readyWaiters.splice(0)) resolve();
  }

  private async requestToken(): Promise<{ accessToken: string; expiresInSeconds: number }> {
    const { loginBaseUrl, clientId, clientSecret, dispatcher, requestTimeoutMs, clock } = this.options;
    const basic = Buffer.from(`${clientId}:${clientSecret}`, "utf8").toString("base64");
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${loginBaseUrl}/oauth/token`, {
        method: "POST",
        dispatcher,
        headers: {
          authorization: `Basic ${basic}`,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: "grant_type=client_credentials",
        headersTimeout: requestTimeoutMs,
        bodyTimeout: requestTimeoutMs,
        signal: this.closing.signal,
      });
    } catch (error) {
      throw new TokenRequestError(`token request to ${loginBaseUrl} failed: ${networkReason(error)}`, {
        cause: error,
      });
    }
    const text = await response.body.text().catch(() => "");
    const body = parseJson(text);
    const status = response.statusCode;
    if (status === 200) {
      const accessToken = body?.access_token;
      const expiresIn = Number(body?.expires_in);
      if (
        typeof accessToken !== "string" ||
        accessToken === "" ||
        !Number.isFinite(expiresIn) ||
        expiresIn <= 0
      ) {
        throw new TokenRequestError("the login server answered 200 without an access_token and expires_in", {
          status,
        });
      }
      return { accessToken, expiresInSeconds: expiresIn };
    }
    const error = typeof body?.error === "string" ? body.error : undefined;
    const description =
      typeof body?.description === "string" ? body.description : (body?.error_description ?? "");
    if (error === "invalid_client" || error === "unauthorized_client" || error === "unsupported_grant_type") {
      throw new InvalidClientCredentialsError(status, `${error}: ${String(description)}`);
    }
    if (status === 429) {
      const retryAfterMs =
        parseRetryAfterHeader(headerValue(response.headers["retry-after"]), clock.now()) ?? 0;
      throw new TokenRetryAfter(retryAfterMs);
    }
    const throttled = status === 400 && /rate limit/i.test(String(description));
    throw new TokenRequestError(
      throttled
        ? "the login server is throttling token requests (HTTP 400 rate limit exceeded)"
        : `the login server answered ${status}${error ? ` (${error})` : ""}`,
      { status, throttled },
    );
  }
}

/** A 429 from the login server with a Retry-After to honour. */
class TokenRetryAfter extends TokenRequestError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super("the login server answered 429", { status: 429, throttled: true });
    this.retryAfterMs = retryAfterMs;
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Certificate chains that end at a CA this process does not trust. */
const UNTRUSTED_CA_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/**
 * A network error's kind, without anything from the request (no headers, no body), with the fix
 * for the failures of a corporate network path (private CA, TLS inspection, a refusing proxy).
 */
export function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const reason = typeof code === "string" ? `${code} ${error.message}` : error.message;
  if (typeof code === "string" && UNTRUSTED_CA_CODES.has(code))
    return `${reason}: the server's certificate is not signed by a CA this process trusts; if a private CA or a TLS-inspecting proxy signs it, give that CA's PEM file in NODE_EXTRA_CA_CERTS`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `${reason}: the certificate does not list this host name; use a base URL whose host the certificate names`;
  const refused = /^Proxy response \((\d+)\)/.exec(error.message)?.[1];
  if (refused === "407")
    return `${reason}: the proxy asks for a login, which is not supported; have it admit this service by address`;
  if (refused !== undefined)
    return `${reason}: the proxy refused the tunnel; allow this host and port on the proxy, or list the host in NO_PROXY if it is reachable directly`;
  return reason;
}
