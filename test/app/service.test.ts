import { expect } from "chai";
import { existsSync } from "node:fs";
import path from "node:path";
import { request } from "undici";
import { ServiceStoppedError } from "../../app/src/service";
import { ServiceError } from "../../app/src/shared/errors";
import { FakeClock } from "../support/fake-clock";
import { startHarness, waitFor } from "../support/harness";

/**
 * The service's wiring, as fastify's guide has it: `buildService` returns the app with its plugins
 * registered and nothing running; `start()` listens and starts the loops.
 */
describe("the service: built, then started (simulator, service in this process)", function () {
  this.timeout(30_000);
  let harness: Awaited<ReturnType<typeof startHarness>> | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  const webhookEnv = { WEBHOOK_USERNAME: "genesys", WEBHOOK_PASSWORD: "webhook-password-for-tests" };

  it("built, it answers every route through inject, listens nowhere and calls nobody", async () => {
    harness = await startHarness({ start: false, env: webhookEnv, clock: new FakeClock(Date.now()) });
    const { service, sim, dataDir } = harness;
    expect(service.app.server.listening, "not listening").to.equal(false);
    expect((await service.app.inject({ method: "GET", url: "/healthz" })).json()).to.deep.equal({
      status: "ok",
    });
    const ready = await service.app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).to.equal(503);
    expect(ready.json().reasons).to.deep.equal(["no valid Genesys Cloud access token yet"]);
    expect((await service.app.inject({ method: "GET", url: "/metrics" })).body).to.contain("export_leader 1");
    const unauthorized = await service.app.inject({
      method: "POST",
      url: "/webhooks/genesys",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    expect(unauthorized.statusCode, "the webhook plugin is registered").to.equal(401);
    expect(existsSync(path.join(dataDir, "inbox")), "the data directory is laid out").to.equal(true);
    expect(sim.received.tokenRequests, "no token fetched").to.deep.equal([]);
    expect(sim.received.apiRequests, "no poll, no import").to.equal(0);
    expect(service.importer.status().lastScanAt, "no scan").to.equal(undefined);
    expect(service.exporter.status().lastPoll, "no poll").to.equal(undefined);
  });

  it("start() listens, fetches a token and starts the loops; a second call is the same start", async () => {
    harness = await startHarness({ start: false, clock: new FakeClock(Date.now()) });
    const { service, sim } = harness;
    const [first, second] = await Promise.all([service.start(), service.start()]);
    expect(second.port).to.equal(first.port);
    expect(service.app.server.listening).to.equal(true);
    const answer = await request(`http://127.0.0.1:${first.port}/healthz`);
    expect(answer.statusCode).to.equal(200);
    await answer.body.dump();
    await waitFor(() => service.exporter.status().lastPoll !== undefined, "the first poll");
    await waitFor(() => service.importer.status().lastScanAt !== undefined, "the first scan");
    expect(sim.tokensIssued()).to.be.at.least(1);
  });

  it("shuts down without having started, and cannot start after that (SERVICE_STOPPED)", async () => {
    harness = await startHarness({ start: false, env: webhookEnv });
    const { service } = harness;
    await service.shutdown("not needed");
    const error = await service.start().catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(ServiceStoppedError).and.instanceOf(ServiceError);
    expect(error).to.include({ code: "SERVICE_STOPPED", retryable: false });
    expect(service.app.server.listening).to.equal(false);
    expect(harness.capture.text())
      .to.contain('"reason":"not needed"')
      .and.not.contain("sync service started");
  });
});
