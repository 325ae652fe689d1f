import { expect } from "chai";
import { GenesysMetrics } from "../../../app/src/genesys/metrics";
import { TokenManager, type TokenManagerOptions } from "../../../app/src/genesys/token-manager";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { connectionReset, ScriptedGenesys, SCRIPTED_ENDPOINTS } from "../../support/scripted-genesys";

const SECRET = "s3cr3t-value-that-must-never-be-logged";

function setup(overrides: Partial<TokenManagerOptions> = {}) {
  const clock = new FakeClock();
  const genesys = new ScriptedGenesys();
  const capture = capturedLogger();
  const metrics = new GenesysMetrics();
  const manager = new TokenManager({
    loginBaseUrl: SCRIPTED_ENDPOINTS.loginBaseUrl,
    clientId: "client-id",
    clientSecret: SECRET,
    dispatcher: genesys.agent,
    clock,
    random: () => 0.5,
    logger: capture.logger,
    metrics,
    slot: 0,
    refreshBufferSeconds: 60,
    requestTimeoutMs: 10_000,
    ...overrides,
  });
  return { clock, genesys, capture, metrics, manager };
}

describe("TokenManager (fake clock, scripted login server)", () => {
  it("asks for a token exactly as Genesys expects: POST, Basic auth, form body, no scope", async () => {
    const { clock, genesys, manager } = setup();
    expect(await clock.run(manager.getToken())).to.equal("token-1");
    const [sent] = genesys.tokenRequests();
    expect(sent!.method).to.equal("POST");
    expect(sent!.headers["authorization"]).to.equal(
      `Basic ${Buffer.from(`client-id:${SECRET}`).toString("base64")}`,
    );
    expect(sent!.headers["content-type"]).to.equal("application/x-www-form-urlencoded");
    expect(sent!.body).to.equal("grant_type=client_credentials");
    manager.close();
  });

  it("refreshes a 86,400 s token 60 s before it expires, and not before", async () => {
    const { clock, genesys, manager } = setup();
    genesys.issueTokens(86_400);
    manager.start();
    await clock.run(manager.whenReady());
    expect(genesys.tokenRequests()).to.have.length(1);
    await clock.advance((86_400 - 60) * 1000 - 1);
    expect(genesys.tokenRequests()).to.have.length(1);
    await clock.advance(1);
    expect(genesys.tokenRequests()).to.have.length(2);
    expect(await manager.getToken()).to.equal("token-2");
    await clock.advance((86_400 - 60) * 1000);
    expect(genesys.tokenRequests()).to.have.length(3);
    manager.close();
  });

  it("refreshes a 300 s token (the minimum lifetime) at 240 s, keeping the old one usable meanwhile", async () => {
    const { clock, genesys, manager } = setup();
    genesys.issueTokens(300);
    manager.start();
    await clock.run(manager.whenReady());
    await clock.advance(239_999);
    expect(genesys.tokenRequests()).to.have.length(1);
    expect(await manager.getToken()).to.equal("token-1");
    await clock.advance(1);
    expect(genesys.tokenRequests()).to.have.length(2);
    await clock.advance(240_000);
    expect(genesys.tokenRequests()).to.have.length(3);
    expect(manager.secondsToExpiry()).to.equal(300);
    manager.close();
  });

  it("refreshes at half the lifetime when the buffer is not well below it, and says so", async () => {
    const { clock, genesys, manager, capture } = setup({ refreshBufferSeconds: 600 });
    genesys.issueTokens(300);
    manager.start();
    await clock.run(manager.whenReady());
    await clock.advance(149_999);
    expect(genesys.tokenRequests()).to.have.length(1);
    await clock.advance(1);
    expect(genesys.tokenRequests()).to.have.length(2);
    expect(capture.text()).to.contain("TOKEN_REFRESH_BUFFER_SECONDS");
    manager.close();
  });

  it("sends one token request however many callers wait (50 at start, 50 after expiry)", async () => {
    const { clock, genesys, manager } = setup();
    genesys.issueTokens(300);
    const first = await clock.run(Promise.all(Array.from({ length: 50 }, () => manager.getToken())));
    expect(new Set(first)).to.deep.equal(new Set(["token-1"]));
    expect(genesys.tokenRequests()).to.have.length(1);
    await clock.advance(300_000);
    const second = await clock.run(Promise.all(Array.from({ length: 50 }, () => manager.getToken())));
    expect(new Set(second)).to.deep.equal(new Set(["token-2"]));
    expect(genesys.tokenRequests()).to.have.length(2);
    manager.close();
  });

  it("refreshes after a 401 only when the failing token is still the current one", async () => {
    const { clock, genesys, manager } = setup();
    genesys.issueTokens(86_400);
    await clock.run(manager.getToken());
    await clock.run(Promise.all(Array.from({ length: 10 }, () => manager.invalidate("token-1"))));
    expect(genesys.tokenRequests()).to.have.length(2);
    await clock.run(manager.invalidate("token-1"));
    expect(genesys.tokenRequests()).to.have.length(2);
    expect(await manager.getToken()).to.equal("token-2");
    manager.close();
  });

  it("reports rejected credentials clearly and retries them slowly, never in a tight loop", async () => {
    const { clock, genesys, manager, capture, metrics } = setup();
    genesys.login = () => ({
      status: 401,
      body: { error: "invalid_client", description: "authentication failed" },
    });
    manager.start();
    await clock.advance(30 * 60 * 1000);
    // 30 s, 60 s, 120 s, 240 s, 480 s, then 600 s: 7 attempts in 30 minutes.
    expect(genesys.tokenRequests()).to.have.length(7);
    expect(clock.sleeps.slice(0, 6)).to.deep.equal([30_000, 60_000, 120_000, 240_000, 480_000, 600_000]);
    const errorLine = capture.lines.find((line) => line.includes("GENESYS_INVALID_CLIENT"));
    expect(errorLine, "an error line names the failure").to.be.a("string");
    expect(errorLine).to.contain("GENESYS_CLIENT_ID");
    expect(JSON.parse(errorLine!).level).to.equal("error");
    expect(manager.isValid()).to.equal(false);
    expect(await metrics.registry.getSingleMetricAsString("genesys_token_refreshes_total")).to.contain(
      'result="invalid_client"} 7',
    );
    // The credentials come back: the manager recovers on its own, no restart.
    genesys.issueTokens(300);
    await clock.advance(600_000);
    expect(manager.isValid()).to.equal(true);
    expect(capture.text()).not.to.contain(SECRET);
    manager.close();
  });

  it("tells a throttled login server (HTTP 400 rate limit exceeded) from bad credentials and backs off with jitter", async () => {
    const { clock, genesys, manager, metrics } = setup();
    let calls = 0;
    genesys.login = () => {
      calls += 1;
      if (calls <= 4)
        return {
          status: 400,
          body: { error: "invalid_request", description: "rate limit exceeded; try later" },
        };
      return { status: 200, body: { access_token: "token-ok", token_type: "bearer", expires_in: 86_400 } };
    };
    expect(await clock.run(manager.getToken())).to.equal("token-ok");
    // Full jitter with random() = 0.5: half of 1 s, 2 s, 4 s, 8 s.
    expect(clock.sleeps.slice(0, 4)).to.deep.equal([500, 1_000, 2_000, 4_000]);
    const text = await metrics.registry.getSingleMetricAsString("genesys_token_refreshes_total");
    expect(text).to.contain('result="throttled"} 4');
    expect(text).not.to.contain('result="invalid_client"');
    manager.close();
  });

  it("keeps trying through 5xx and network errors and never gives up on its own", async () => {
    const { clock, genesys, manager } = setup();
    let calls = 0;
    genesys.login = () => {
      calls += 1;
      if (calls <= 20)
        return calls % 2 === 0 ? { status: 503, body: {} } : { status: 0, error: connectionReset() };
      return { status: 200, body: { access_token: "finally", token_type: "bearer", expires_in: 300 } };
    };
    expect(await clock.run(manager.getToken())).to.equal("finally");
    expect(calls).to.equal(21);
    expect(Math.max(...clock.sleeps)).to.be.at.most(60_000);
    manager.close();
  });
});
