import { expect } from "chai";
import { addContacts } from "../../../app/src/genesys/api";
import { GenesysClient, type GenesysClientOptions } from "../../../app/src/genesys/client";
import { RetriesExhaustedError } from "../../../app/src/genesys/errors";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../../simulator/simulator";
import { systemClock } from "../../../app/src/time/clock";
import { capturedLogger } from "../../support/capture";
import { runPool } from "../../support/pool";

/**
 * The client against the simulator over real loopback HTTP with the real clock: what a run
 * against Genesys Cloud looks like, with budgets and lifetimes scaled down so it takes seconds.
 */
describe("GenesysClient against the simulator (real HTTP, real clock)", function () {
  this.timeout(120_000);
  let sim: GenesysSimulator;
  let client: GenesysClient;
  let capture: ReturnType<typeof capturedLogger>;

  async function setup(simOptions: SimulatorOptions, clientOptions: Partial<GenesysClientOptions> = {}) {
    sim = await startSimulator(simOptions);
    capture = capturedLogger("debug");
    client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      logger: capture.logger,
      ...clientOptions,
    });
    client.start();
    await client.whenReady();
  }

  afterEach(async () => {
    await client?.close();
    await sim?.close();
  });

  const listId = () => sim.contactListIds[0]!;
  const addOne = (index: number) =>
    addContacts(client, listId(), [
      { id: `contact-${index}`, contactListId: listId(), data: { phone: `+3538500${index}` } },
    ]);

  /** The run's logs and metrics hold no token, no secret and no Basic credential. */
  async function expectNothingLeaked() {
    client.updateGauges();
    const metrics = await client.metrics.registry.metrics();
    const secret = sim.clients[0]!.clientSecret;
    const basic = Buffer.from(`${sim.clients[0]!.clientId}:${secret}`).toString("base64");
    const logs = capture.text();
    expect(capture.lines.length, "the run logged something to check").to.be.greaterThan(0);
    for (const haystack of [logs, metrics]) {
      expect(haystack).not.to.contain(secret);
      expect(haystack).not.to.contain(basic);
      for (const token of sim.issuedTokens())
        expect(haystack.includes(token), "an access token leaked").to.equal(false);
    }
  }

  it("10,000 requests across five forced token expiries: none failed, one token request per expiry, nothing leaked", async () => {
    // Paced at 1,000 per 1.25 s, 1,500 completions take over 1.5 s: every request caught by one
    // revocation has had its 1 s wait and its single retry before the next revocation.
    const pacing = { requestsPerWindow: 1_000, windowMs: 1_000, safetyMarginMs: 250 };
    await setup({ rateLimit: { requestsPerWindow: 1_000_000, windowMs: 60_000 } }, { rateLimit: pacing });
    let revoked = 0;
    const run = runPool(10_000, 64, async (index) => {
      if (index > 0 && index % 1_500 === 0 && revoked < 5) {
        revoked += 1;
        sim.faults.revokeAllTokens();
      }
      await addOne(index);
    });
    const { completed, failures } = await run;
    expect(failures).to.deep.equal([]);
    expect(completed).to.equal(10_000);
    expect(revoked).to.equal(5);
    expect(sim.received.unauthorized).to.be.greaterThan(0);
    expect(sim.tokensIssued()).to.equal(1 + 5);
    expect(sim.contacts(listId()).size).to.equal(10_000);
    await expectNothingLeaked();
  });

  it("refreshes short-lived tokens before they expire, so 10,000 paced requests see no 401 at all", async () => {
    await setup(
      { tokenLifetimeSeconds: 3, rateLimit: { requestsPerWindow: 1_000, windowMs: 1_000 } },
      {
        refreshBufferSeconds: 1,
        rateLimit: { requestsPerWindow: 1_000, windowMs: 1_000, safetyMarginMs: 250 },
        tokenPoolSize: 1,
      },
    );
    const started = systemClock.now();
    const { completed, failures } = await runPool(10_000, 32, addOne);
    const elapsedSeconds = (systemClock.now() - started) / 1000;
    expect(failures).to.deep.equal([]);
    expect(completed).to.equal(10_000);
    expect(sim.received.unauthorized, "a 401 means a request raced an expiring token").to.equal(0);
    // One token request every 2 s (3 s lifetime, 1 s buffer): at least five expiries crossed, no extra requests.
    expect(sim.tokensIssued()).to.be.at.least(5);
    expect(sim.tokensIssued()).to.be.at.most(Math.ceil(elapsedSeconds / 2) + 1);
    expect(sim.received.rateLimited, "pacing keeps normal operation free of 429s").to.equal(0);
    await expectNothingLeaked();
  });

  for (const format of ["seconds", "http-date", "body-only"] as const) {
    it(`rides out a 429 storm (wait given as ${format}) with no request re-sent before Retry-After`, async () => {
      // The server's budget is a tenth of what the client was told, and a storm is injected too.
      await setup(
        { rateLimit: { requestsPerWindow: 100, windowMs: 1_000 } },
        {
          rateLimit: { requestsPerWindow: 1_000, windowMs: 1_000 },
          maxRateLimitRetries: 50,
          breaker: { openDurationMs: 200 },
        },
      );
      sim.faults.rateLimitStorm(40, 1, format);
      const { completed, failures } = await runPool(500, 32, addOne);
      expect(failures).to.deep.equal([]);
      expect(completed).to.equal(500);
      expect(sim.received.rateLimited).to.be.greaterThan(40);
      expect(sim.received.earlyRetries).to.deep.equal([]);
      expect(sim.contacts(listId()).size).to.equal(500);
      await expectNothingLeaked();
    });
  }

  it("loses nothing through 5xx bursts and connection resets", async () => {
    await setup(
      { rateLimit: { requestsPerWindow: 10_000, windowMs: 60_000 } },
      {
        rateLimit: { requestsPerWindow: 10_000 },
        breaker: { openDurationMs: 100 },
        transientBackoff: { initialDelayMs: 20, maxDelayMs: 200 },
        maxTransientAttempts: 8,
      },
    );
    const { completed, failures } = await runPool(300, 16, async (index) => {
      if (index === 50) sim.faults.serverErrors(12, 503);
      if (index === 150) sim.faults.connectionResets(6);
      if (index === 250) sim.faults.serverErrors(5, 504);
      await addOne(index);
    });
    expect(failures).to.deep.equal([]);
    expect(completed).to.equal(300);
    expect(sim.contacts(listId()).size).to.equal(300);
    expect(sim.received.resets).to.equal(6);
  });

  it("cuts off an answer slower than the request timeout and retries it as a timeout", async () => {
    // undici arms header timeouts on timers that tick about every 0.5 s: durations here stay well above that.
    await setup(
      {},
      {
        requestTimeoutMs: 500,
        maxTransientAttempts: 2,
        transientBackoff: { initialDelayMs: 10, maxDelayMs: 10 },
      },
    );
    sim.faults.latency(5_000);
    const started = Date.now();
    const error = await addOne(1).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(RetriesExhaustedError);
    expect(((error as RetriesExhaustedError).cause as { code?: string }).code).to.equal(
      "UND_ERR_HEADERS_TIMEOUT",
    );
    expect(Date.now() - started, "two attempts cut at the timeout, not two full answers").to.be.lessThan(
      5_000,
    );
    expect(await client.metrics.registry.getSingleMetricAsString("genesys_retries_total")).to.contain(
      'reason="timeout"} 1',
    );
    sim.faults.latency(0);
    await addOne(2);
  });

  it("keeps retrying while the login server throttles or fails, and becomes ready when it recovers", async () => {
    sim = await startSimulator({});
    sim.faults.throttleTokenRequests(2);
    sim.faults.tokenServerErrors(1);
    capture = capturedLogger();
    client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      logger: capture.logger,
      random: () => 0.05,
    });
    client.start();
    await client.whenReady();
    expect(client.hasValidToken()).to.equal(true);
    expect(sim.received.tokenRequests.map((record) => record.outcome)).to.deep.equal([
      "fault",
      "throttled",
      "throttled",
      "issued",
    ]);
    expect(capture.text()).to.contain("throttling token requests");
  });
});
