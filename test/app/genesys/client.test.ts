import { expect } from "chai";
import { GenesysClient, type GenesysClientOptions } from "../../../app/src/genesys/client";
import {
  GenesysHttpError,
  RateLimitDeferredError,
  RequestTooLargeError,
  RetriesExhaustedError,
} from "../../../app/src/genesys/errors";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { connectionReset, ScriptedGenesys, SCRIPTED_ENDPOINTS } from "../../support/scripted-genesys";

function setup(overrides: Partial<GenesysClientOptions> = {}) {
  const clock = new FakeClock();
  const genesys = new ScriptedGenesys();
  const capture = capturedLogger();
  const client = new GenesysClient({
    endpoints: SCRIPTED_ENDPOINTS,
    clientId: "client-id",
    clientSecret: "client-secret-for-tests",
    dispatcher: genesys.agent,
    clock,
    random: () => 0.5,
    logger: capture.logger,
    ...overrides,
  });
  const get = (path = "/api/v2/things") => client.request({ method: "GET", path });
  return { clock, genesys, capture, client, get };
}

const RATE_LIMITED = (seconds: number) => ({
  status: 429,
  headers: { "retry-after": String(seconds) },
  body: {
    message: `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`,
    code: "too.many.requests.retry.after",
    status: 429,
  },
});

/** An API script answering from a queue, then 200 for the rest. */
function answers(
  ...queue: Array<
    | ReturnType<typeof RATE_LIMITED>
    | { status: number; body?: unknown; headers?: Record<string, string>; error?: Error }
  >
) {
  return () => queue.shift() ?? { status: 200, body: { ok: true } };
}

describe("GenesysClient request policies (fake clock, scripted Genesys)", () => {
  describe("401", () => {
    it("waits 1 s, refreshes the token and retries once", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.issueTokens(86_400);
      genesys.api = (request) =>
        request.headers["authorization"] === "Bearer token-1"
          ? { status: 401, body: { code: "credentials.expired", message: "expired" } }
          : { status: 200, body: { ok: true } };
      const pending = get();
      await clock.advance(999);
      expect(genesys.apiRequests()).to.have.length(1);
      expect(genesys.tokenRequests()).to.have.length(1);
      await clock.advance(1);
      expect(await clock.run(pending)).to.deep.equal({ ok: true });
      expect(genesys.tokenRequests()).to.have.length(2);
      expect(genesys.apiRequests().map((request) => request.headers["authorization"])).to.deep.equal([
        "Bearer token-1",
        "Bearer token-2",
      ]);
      await client.close();
    });

    it("gives up after the one retry when the new token is refused too", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.issueTokens(86_400);
      genesys.api = () => ({
        status: 401,
        body: { code: "bad.credentials", message: "Invalid login credentials." },
      });
      const error = await clock.run(get()).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(GenesysHttpError);
      expect((error as GenesysHttpError).status).to.equal(401);
      expect(genesys.apiRequests()).to.have.length(2);
      await client.close();
    });

    it("ten requests failing with the same token share one refresh", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.issueTokens(86_400);
      genesys.api = (request) =>
        request.headers["authorization"] === "Bearer token-1"
          ? { status: 401, body: {} }
          : { status: 200, body: {} };
      await clock.run(Promise.all(Array.from({ length: 10 }, () => get())));
      expect(genesys.tokenRequests()).to.have.length(2);
      expect(genesys.apiRequests()).to.have.length(20);
      await client.close();
    });

    it("uses a configurable wait that is never shorter than 1 s", async () => {
      const { clock, genesys, client, get } = setup({ unauthorizedRetryDelayMs: 10 });
      genesys.issueTokens(86_400);
      genesys.api = answers({ status: 401, body: {} });
      await clock.run(get());
      expect(clock.sleeps).to.include(1_000);
      await client.close();
    });
  });

  describe("429", () => {
    it("waits Retry-After given in seconds before sending again", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers(RATE_LIMITED(7));
      const pending = get();
      await clock.advance(6_999);
      expect(genesys.apiRequests()).to.have.length(1);
      await clock.advance(1);
      await clock.run(pending);
      expect(genesys.apiRequests()).to.have.length(2);
      await client.close();
    });

    it("waits Retry-After given as an HTTP-date", async () => {
      const { clock, genesys, client, get } = setup();
      const retryAt = new Date(clock.now() + 12_000).toUTCString();
      genesys.api = answers({
        status: 429,
        headers: { "retry-after": retryAt },
        body: { code: "too.many.requests" },
      });
      const pending = get();
      await clock.advance(11_999);
      expect(genesys.apiRequests()).to.have.length(1);
      await clock.advance(1);
      await clock.run(pending);
      expect(genesys.apiRequests()).to.have.length(2);
      await client.close();
    });

    it('reads the wait from the body\'s "[N] seconds" when the header is missing', async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers({
        status: 429,
        body: {
          message: "Rate limit exceeded the maximum. Retry the request in [42] seconds",
          code: "too.many.requests.retry.after",
        },
      });
      const pending = get();
      await clock.advance(41_999);
      expect(genesys.apiRequests()).to.have.length(1);
      await clock.advance(1);
      await clock.run(pending);
      expect(genesys.apiRequests()).to.have.length(2);
      await client.close();
    });

    it("backs off exponentially when neither header nor body says how long", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers({ status: 429, body: {} }, { status: 429, body: {} }, { status: 429, body: {} });
      await clock.run(get());
      // Full jitter, random() = 0.5: half of 500 ms, 1 s, 2 s.
      const requestTimes = genesys.apiRequests().length;
      expect(requestTimes).to.equal(4);
      expect(clock.sleeps.filter((ms) => ms === 250 || ms === 500 || ms === 1_000)).to.deep.equal([
        250, 500, 1_000,
      ]);
      await client.close();
    });

    it("holds every request of the token, not just the one that got the 429", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers(RATE_LIMITED(5));
      const first = get("/api/v2/first");
      await clock.advance(10);
      const second = get("/api/v2/second");
      await clock.advance(4_000);
      expect(genesys.apiRequests().map((request) => request.path)).to.deep.equal(["/api/v2/first"]);
      await clock.run(Promise.all([first, second]));
      expect(genesys.apiRequests()).to.have.length(3);
      await client.close();
    });

    it("hands a request back as deferred when Retry-After exceeds the cap (default 180 s)", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers(RATE_LIMITED(3_600));
      const error = await clock.run(get()).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(RateLimitDeferredError);
      expect((error as RateLimitDeferredError).retryAfterMs).to.equal(3_600_000);
      expect(genesys.apiRequests()).to.have.length(1);
      expect(
        await client.metrics.registry.getSingleMetricAsString("genesys_deferred_requests_total"),
      ).to.match(/ 1$/m);
      await client.close();
    });
  });

  describe("502/503/504 and connection failures", () => {
    it("retries with exponential backoff and full jitter, then succeeds", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers(
        { status: 503 },
        { status: 502 },
        { status: 0, error: connectionReset() },
        { status: 504 },
      );
      expect(await clock.run(get())).to.deep.equal({ ok: true });
      expect(clock.sleeps).to.deep.equal([250, 500, 1_000, 2_000]);
      await client.close();
    });

    it("stops after the bounded number of attempts", async () => {
      const { clock, genesys, client, get } = setup({
        maxTransientAttempts: 3,
        breaker: { failureThreshold: 100 },
      });
      genesys.api = () => ({ status: 503, body: { code: "service.unavailable" } });
      const error = await clock.run(get()).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(RetriesExhaustedError);
      expect(genesys.apiRequests()).to.have.length(3);
      await client.close();
    });

    it("does not retry other client errors", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = () => ({ status: 400, body: { code: "bad.request", message: "nope" } });
      const error = await clock.run(get()).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(GenesysHttpError);
      expect((error as Error).message).to.contain("bad.request");
      expect(genesys.apiRequests()).to.have.length(1);
      await client.close();
    });
  });

  describe("circuit breaker", () => {
    it("opens after consecutive failures, queues callers while open, and closes after a good probe", async () => {
      const { clock, genesys, client, get } = setup({
        breaker: { failureThreshold: 3, openDurationMs: 10_000 },
        maxTransientAttempts: 10,
        transientBackoff: { initialDelayMs: 2, maxDelayMs: 2 },
      });
      let failing = true;
      genesys.api = () => (failing ? { status: 503, body: {} } : { status: 200, body: { ok: true } });
      const first = get();
      await clock.advance(100);
      expect(client.state().breaker).to.equal("open");
      const sentWhileOpen = genesys.apiRequests().length;
      const queued = Array.from({ length: 5 }, () => get());
      await clock.advance(9_000);
      expect(genesys.apiRequests()).to.have.length(sentWhileOpen);
      failing = false;
      await clock.advance(1_000);
      expect(client.state().breaker).to.equal("closed");
      await clock.run(Promise.all([first, ...queued]));
      expect(await client.metrics.registry.getSingleMetricAsString("genesys_circuit_breaker_state")).to.match(
        / 0$/m,
      );
      await client.close();
    });

    it("goes back to open when the half-open probe fails", async () => {
      const { clock, genesys, client, get } = setup({
        breaker: { failureThreshold: 2, openDurationMs: 5_000 },
        maxTransientAttempts: 10,
        transientBackoff: { initialDelayMs: 2, maxDelayMs: 2 },
      });
      genesys.api = () => ({ status: 503, body: {} });
      const pending = get().catch(() => undefined);
      await clock.advance(10);
      expect(client.state().breaker).to.equal("open");
      const before = genesys.apiRequests().length;
      await clock.advance(5_000);
      expect(genesys.apiRequests()).to.have.length(before + 1);
      expect(client.state().breaker).to.equal("open");
      await client.close();
      await pending;
    });
  });

  describe("pacing", () => {
    it("never sends more than the per-token budget in any window (plus the 1 % safety margin)", async () => {
      const { clock, genesys, client, get } = setup({
        rateLimit: { requestsPerWindow: 300, windowMs: 60_000 },
      });
      const all = Promise.all(Array.from({ length: 301 }, () => get()));
      await clock.advance(60_599);
      expect(genesys.apiRequests()).to.have.length(300);
      await clock.advance(1);
      await clock.run(all);
      expect(genesys.apiRequests()).to.have.length(301);
      await client.close();
    });

    it("a pool of tokens multiplies the budget", async () => {
      const { clock, genesys, client, get } = setup({
        tokenPoolSize: 3,
        rateLimit: { requestsPerWindow: 10, windowMs: 60_000 },
      });
      genesys.issueTokens(86_400);
      client.start();
      await clock.run(client.whenReady());
      await clock.advance(1);
      const all = Promise.all(Array.from({ length: 30 }, () => get()));
      await clock.advance(10);
      expect(genesys.apiRequests()).to.have.length(30);
      expect(new Set(genesys.apiRequests().map((request) => request.headers["authorization"])).size).to.equal(
        3,
      );
      await clock.run(all);
      await client.close();
    });

    it("pauses while rate-limit headers report less than 10 % remaining, until the reset", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers({
        status: 200,
        body: {},
        headers: {
          "inin-ratelimit-allowed": "300",
          "inin-ratelimit-count": "280",
          "inin-ratelimit-reset": "20",
        },
      });
      await clock.run(get());
      const next = get();
      await clock.advance(19_999);
      expect(genesys.apiRequests()).to.have.length(1);
      await clock.advance(1);
      await clock.run(next);
      expect(genesys.apiRequests()).to.have.length(2);
      await client.close();
    });

    it("understands X-RateLimit-* headers too", async () => {
      const { clock, genesys, client, get } = setup();
      genesys.api = answers({
        status: 200,
        body: {},
        headers: { "x-ratelimit-limit": "300", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "8" },
      });
      await clock.run(get());
      const next = get();
      await clock.advance(7_999);
      expect(genesys.apiRequests()).to.have.length(1);
      await clock.run(next);
      await client.close();
    });
  });

  it("puts no token and no secret in any error it throws", async () => {
    const { clock, genesys, client, get } = setup({
      maxTransientAttempts: 2,
      breaker: { failureThreshold: 100 },
    });
    genesys.issueTokens(86_400);
    const errors: unknown[] = [];
    for (const answer of [
      { status: 401, body: { code: "bad.credentials", message: "Invalid login credentials." } },
      { status: 400, body: { code: "bad.request", message: "invalid contact" } },
      RATE_LIMITED(3_600),
      { status: 503, body: {} },
    ]) {
      genesys.api = () => answer;
      errors.push(await clock.run(get()).catch((caught: unknown) => caught));
    }
    expect(errors.every((error) => error instanceof Error)).to.equal(true);
    const text = errors
      .map((error) => `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`)
      .join("\n");
    expect(text).to.contain("401");
    for (const token of ["token-1", "token-2", "token-3", "client-secret-for-tests"])
      expect(text).not.to.contain(token);
    await client.close();
  });

  it("counts the time requests waited for the rate budget", async () => {
    const { clock, client, get } = setup({
      rateLimit: { requestsPerWindow: 1, windowMs: 10_000, safetyMarginMs: 0 },
    });
    await clock.run(Promise.all([get(), get()]));
    expect(
      await client.metrics.registry.getSingleMetricAsString("genesys_pacer_wait_seconds_total"),
    ).to.match(/ 10$/m);
    await client.close();
  });

  it("refuses a body over 512,000 bytes before sending it", async () => {
    const { genesys, client } = setup();
    const contacts = Array.from({ length: 1_000 }, (_, index) => ({
      id: `c-${index}`,
      data: { note: "x".repeat(600) },
    }));
    const error = await client
      .request({ method: "POST", path: "/api/v2/outbound/contactlists/list/contacts", body: contacts })
      .catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(RequestTooLargeError);
    expect((error as Error).message).to.contain("smaller batches");
    expect(genesys.requests).to.have.length(0);
    await client.close();
  });
});
