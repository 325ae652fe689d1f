import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Registry } from "prom-client";
import { buildDncRoute } from "../../../app/src/dnc/routes";
import { ImportMetrics } from "../../../app/src/import/metrics";
import { dncLayout } from "../../../app/src/shared/layout";
import { systemClock } from "../../../app/src/time/clock";
import { capturedLogger } from "../../support/capture";
import { waitFor } from "../../support/harness";
import { CONFIG, dncFixture, e164, PATCH_PHONES, ukMobiles, type DncFixture } from "./support";

const ROOT = path.resolve(__dirname, "../../..");

/**
 * kill -9 of a process in the middle of a DNC file (a route's loop, as the service runs it), then
 * another replica's takeover: every entry on the list, at most the batch in flight sent twice.
 */
describe("a DNC route across kill -9 (separate processes, simulator)", function () {
  this.timeout(120_000);
  let f: DncFixture;
  let child: ReturnType<typeof spawn> | undefined;
  const stop = new AbortController();

  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await new Promise((resolve) => child!.once("exit", resolve));
    }
    stop.abort();
    await f?.close();
  });

  it("resumes from the journal after kill -9 mid-file: nothing lost, at most the batch in flight sent twice", async () => {
    f = await dncFixture(systemClock);
    const count = 30_000;
    const numbers = ukMobiles(count);
    const file = path.join(f.layout.inbox, "add", "nightly.txt");
    writeFileSync(`${file}.part`, `${numbers.join("\n")}\n`);
    renameSync(`${file}.part`, file);
    f.sim.faults.latency(40);
    child = spawnRoute(f);
    await waitFor(() => f.sim.count(PATCH_PHONES, 200) >= 5, "part of the file to be applied", 60_000);
    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    const atKill = f.sim.count(PATCH_PHONES, 200);
    expect(atKill, "killed mid-file").to.be.lessThan(count / 1_000);
    expect(existsSync(f.journalOf("add", "nightly.txt")), "its journal").to.equal(true);
    f.sim.faults.latency(0);

    // Another replica: takes the dead one's claim over once its lease is stale (1 s here).
    const run = await buildDncRoute(f.route, {
      client: f.client,
      config: { ...CONFIG, claimTimeoutSeconds: 1, scanIntervalSeconds: 0.2 },
      layout: f.root,
      metrics: new ImportMetrics(new Registry()),
      logger: capturedLogger("info").logger,
      clock: systemClock,
      random: Math.random,
      replicaId: "other-1-0a1b2c3d",
      hostIsPod: false,
      signal: stop.signal,
    });
    run.service.start();
    const archive = dncLayout(f.root, f.route.name).archive;
    await waitFor(
      () => readdirSync(archive).some((name) => name.endsWith("nightly.txt")),
      "the takeover to finish the file",
      60_000,
    );
    const outcome = run.service.status().recent[0]!;
    expect(outcome).to.deep.include({ status: "imported", rejected: 0 });
    expect(outcome.alreadySynced + outcome.synced).to.equal(count);
    expect(outcome.alreadySynced, "the journalled batches were skipped").to.be.at.least((atKill - 1) * 1_000);
    expect(f.sim.count(PATCH_PHONES, 200), "one batch in flight at most sent twice").to.be.at.most(
      count / 1_000 + 1,
    );
    expect(numbers.every((number) => f.onList(e164(number)))).to.equal(true);
    expect(run.index.size, "the index holds the whole file").to.equal(count);
  });

  /** A process running the fixture's DNC route with one batch in flight, until it is killed. */
  function spawnRoute(fixture: DncFixture) {
    const script = `
      const { GenesysClient } = require("./app/src/genesys/client");
      const { resolveEndpoints } = require("./app/src/shared/regions");
      const { ImportMetrics } = require("./app/src/import/metrics");
      const { buildDncRoute } = require("./app/src/dnc/routes");
      const { dataLayout } = require("./app/src/shared/layout");
      const { systemClock } = require("./app/src/time/clock");
      const { Registry } = require("prom-client");
      const pino = require("pino");
      const given = JSON.parse(process.env.DNC_ROUTE);
      (async () => {
        const logger = pino({ level: "silent" });
        const client = new GenesysClient({ ...given.client, endpoints: resolveEndpoints(given.endpoints), logger });
        client.start();
        await client.whenReady();
        const run = await buildDncRoute(given.route, { client, config: given.config, layout: dataLayout(given.root),
          metrics: new ImportMetrics(new Registry()), logger, clock: systemClock, random: Math.random,
          replicaId: "child-" + process.pid + "-01234567", hostIsPod: false, signal: new AbortController().signal });
        run.service.start();
      })();
    `;
    const given = {
      root: fixture.root.root,
      route: fixture.route,
      config: { ...CONFIG, batchesInFlight: 1, scanIntervalSeconds: 0.2 },
      endpoints: { apiBaseUrl: fixture.sim.apiBaseUrl, loginBaseUrl: fixture.sim.loginBaseUrl },
      client: {
        clientId: fixture.sim.clients[0]!.clientId,
        clientSecret: fixture.sim.clients[0]!.clientSecret,
      },
    };
    return spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", DNC_ROUTE: JSON.stringify(given) },
      stdio: "ignore",
    });
  }
});
