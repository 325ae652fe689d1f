import { expect } from "chai";
import { FakeClock } from "../support/fake-clock";
import { startHarness, waitFor } from "../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

/**
 * A Genesys Cloud outage is Genesys' problem, not the pod's: /readyz stays 200 (taking pods out of
 * the Service or restarting them fixes nothing there) but says what is going on, as it does for a
 * contact list that refuses calls.
 */
describe("/readyz during a Genesys Cloud outage (simulator, fake clock)", function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  let clock: FakeClock;
  // Shutdown waits for calls in flight, which wait on the fake clock while the breaker is open.
  afterEach(async () => {
    if (!h) return;
    h.sim.faults.serverErrors(0);
    let closed = false;
    const closing = h.close().finally(() => (closed = true));
    await clock.advanceUntil(() => closed, "the service to shut down", { stepMs: 1_000 });
    await closing;
    h = undefined;
  });

  it("stays 200 and warns of the outage and the open breaker until Genesys answers again", async () => {
    clock = new FakeClock(Date.now());
    const harness = await startHarness({ clock });
    h = harness;
    const { client } = harness.service;
    await waitFor(() => client.hasValidToken(), "the first token");
    const listPath = `/api/v2/outbound/contactlists/${harness.sim.contactListIds[0]!}`;

    harness.sim.faults.serverErrors(1_000_000, 503);
    const failing = client.request({ method: "GET", path: listPath }).catch((error: unknown) => error);
    await clock.advanceUntil(() => client.state().breaker === "open", "the breaker to open");

    const during = await harness.service.app.inject({ method: "GET", url: "/readyz" });
    expect(during.statusCode).to.equal(200);
    const body = during.json<{ status: string; warnings?: string[] }>();
    expect(body.status).to.equal("ready");
    const warning = body.warnings?.find((text) => text.includes("circuit breaker"));
    expect(warning, JSON.stringify(body)).to.be.a("string");
    expect(warning).to.contain("Genesys Cloud outage");
    const { openedAtMs } = client.breakerStatus();
    expect(openedAtMs).to.be.at.most(clock.now());
    expect(warning).to.contain(`open since ${new Date(openedAtMs!).toISOString()}`);
    expect(warning).to.contain(`goes through at ${new Date(openedAtMs! + 10_000).toISOString()}`);
    expect(warning).to.contain("last: server error, HTTP 503");
    expect(warning).to.contain("retries by itself");
    expect(warning).not.to.contain(harness.sim.clients[0]!.clientSecret);
    expect(warning).not.to.match(/bearer|token/i);
    const metrics = (await harness.service.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).to.match(/^genesys_circuit_breaker_state 2$/m);

    harness.sim.faults.serverErrors(0);
    const recovered = client.request({ method: "GET", path: listPath });
    await clock.advanceUntil(() => client.state().breaker === "closed", "the breaker to close");
    await recovered;
    await failing;

    const after = await harness.service.app.inject({ method: "GET", url: "/readyz" });
    expect(after.statusCode).to.equal(200);
    expect(after.json<{ warnings?: string[] }>().warnings ?? []).to.deep.equal([]);
    expect((await harness.service.app.inject({ method: "GET", url: "/metrics" })).body).to.match(
      /^genesys_circuit_breaker_state 0$/m,
    );
  });
});
