import { expect } from "chai";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BreakerStatus } from "../../app/src/genesys/circuit-breaker";
import type { ImportStatus } from "../../app/src/import/import-service";
import type { BlockedTarget } from "../../app/src/import/target-gate";
import { readinessCheck, type ReadinessSources } from "../../app/src/service";
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

/** Readiness from its sources, each a plain object: which facts are reasons and which are warnings. */
describe("/readyz: reasons and warnings (readinessCheck, fake sources)", () => {
  const NOW = Date.parse("2026-12-07T10:00:00Z");
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "readiness-"));
  });

  const sources = (change: {
    token?: boolean;
    breaker?: BreakerStatus;
    blocked?: BlockedTarget;
    volumeFull?: ImportStatus["volumeFull"];
    probeFile?: string;
    shuttingDown?: boolean;
  }): ReadinessSources => {
    const shutdown = new AbortController();
    if (change.shuttingDown) shutdown.abort();
    return {
      client: {
        hasValidToken: () => change.token ?? true,
        breakerStatus: () => change.breaker ?? { state: "closed", consecutiveFailures: 0 },
      },
      targetGate: { blocked: change.blocked },
      importer: { status: () => ({ volumeFull: change.volumeFull }) as ImportStatus },
      dataDir: dir,
      probeFile: change.probeFile ?? path.join(dir, ".ready-replica-1"),
      clock: new FakeClock(NOW),
      signal: shutdown.signal,
    };
  };

  it("is ready with a token and a writable data dir, and leaves no probe file behind", async () => {
    expect(await readinessCheck(sources({}))()).to.deep.equal({ ready: true, reasons: [], warnings: [] });
    expect(readdirSync(dir)).to.deep.equal([]);
  });

  it("a refused contact list, an open breaker and a full volume are warnings: still ready", async () => {
    const answer = await readinessCheck(
      sources({
        blocked: {
          contactListId: "list-1",
          status: 403,
          message: "missing permission",
          fix: "grant outbound:contact:edit",
          sinceMs: NOW - 60_000,
        },
        breaker: { state: "open", consecutiveFailures: 5, openedAtMs: NOW - 5_000, probeAtMs: NOW + 5_000 },
        volumeFull: { sinceMs: NOW - 120_000, message: "ENOSPC: no space left on device" },
      }),
    )();
    expect(answer.ready).to.equal(true);
    expect(answer.reasons).to.deep.equal([]);
    const warnings = answer.warnings ?? [];
    expect(warnings).to.have.length(3);
    expect(warnings[0]).to.equal(
      "the import is holding back: contact list list-1 refuses calls (missing permission). Fix: grant outbound:contact:edit",
    );
    expect(warnings[1]).to.contain("Genesys Cloud outage");
    expect(warnings[2]).to.equal(
      "the import is stopped: the shared volume is full (ENOSPC: no space left on device) since 2026-12-07T09:58:00.000Z. Fix: free space on it; imports resume by themselves",
    );
  });

  it("shutting down, no token and a data dir that takes no write are reasons: not ready", async () => {
    const answer = await readinessCheck(
      sources({ shuttingDown: true, token: false, probeFile: path.join(dir, "missing", ".ready-replica-1") }),
    )();
    expect(answer.ready).to.equal(false);
    expect(answer.reasons).to.deep.equal([
      "shutting down",
      "no valid Genesys Cloud access token yet",
      `the data directory ${dir} is not writable (ENOENT)`,
    ]);
  });
});
