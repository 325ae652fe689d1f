import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout, routeLayout } from "../../../app/src/shared/layout";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { generateCsv } from "../../support/contacts";
import { dropFile, killAll, listFolder, serviceEnv, spawnService, waitFor } from "../../support/harness";

/**
 * Routes as the pod runs them: the real service (`app/src/main.ts`) as a separate process, killed
 * with SIGKILL while files on two routes are half sent, then started again under the same pod
 * name (a container restart), against the simulator.
 */
describe("import routes across kill -9 (separate processes, simulator)", function () {
  this.timeout(180_000);
  let sim: GenesysSimulator;
  let dataDir: string;
  const children: Array<ReturnType<typeof spawnService>> = [];
  const ROUTES = [
    { name: "spring", contactListId: "spring-list" },
    { name: "renewals", contactListId: "renewals-list", columns: { Customer: "id", Tel: "phone" } },
  ];

  beforeEach(async () => {
    sim = await startSimulator({
      rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
      contactListIds: ["default-list", "spring-list", "renewals-list"],
    });
    dataDir = mkdtempSync(path.join(tmpdir(), "sync-routes-proc-"));
    const layout = dataLayout(dataDir);
    await ensureLayout(layout);
    for (const route of ROUTES) await ensureLayout(routeLayout(layout, route.name));
  });
  afterEach(async () => {
    await killAll(children);
    await sim.close();
  });

  const start = (extra: Record<string, string> = {}) => {
    const routesFile = path.join(dataDir, "..", `${path.basename(dataDir)}-routes.json`);
    writeFileSync(routesFile, JSON.stringify(ROUTES));
    const spawned = spawnService(
      serviceEnv(sim, dataDir, {
        IMPORT_ROUTES_FILE: routesFile,
        LOG_LEVEL: "info",
        POD_NAME: "genesys-sync-7d9f-routes",
        // Paced so that the kill lands with both files half sent: 20 batches a second for both routes.
        GENESYS_RATE_LIMIT_PER_WINDOW: "20",
        GENESYS_RATE_LIMIT_WINDOW_MS: "1000",
        ...extra,
      }),
    );
    children.push(spawned);
    return spawned;
  };
  const writes = (list: string) =>
    [...sim.contacts(list).values()].reduce((sum, contact) => sum + contact.writes, 0);
  const archived = (route: string) =>
    listFolder(dataDir, path.join("archive", route)).filter((name) => name.endsWith(".csv"));

  it("imports on two routes at once: nothing lost, at most the batches in flight sent twice, resumed in seconds", async () => {
    const spring = generateCsv(30_000);
    const renewals = generateCsv(30_000);
    const crmHeader = renewals.content.replace(/^id,phone,/, "Customer,Tel,");
    expect(crmHeader).not.to.equal(renewals.content);
    dropFile(dataDir, "spring/spring.csv", spring.content);
    dropFile(dataDir, "renewals/renewals.csv", crmHeader);
    const first = start();
    await waitFor(
      () => sim.contacts("spring-list").size >= 5_000 && sim.contacts("renewals-list").size >= 5_000,
      "both routes' files to be under way",
      60_000,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const stalled = sim.contacts("spring-list").size + sim.contacts("renewals-list").size;
    expect(stalled).to.be.lessThan(spring.goodIds.length + renewals.goodIds.length);
    expect(listFolder(dataDir, "state/routes/spring")).to.include("spring.csv.journal");
    expect(listFolder(dataDir, "state/routes/renewals")).to.include("renewals.csv.journal");

    const restartedAt = Date.now();
    const second = start({ GENESYS_RATE_LIMIT_PER_WINDOW: "100000" });
    await waitFor(
      () => sim.contacts("spring-list").size + sim.contacts("renewals-list").size > stalled,
      "the restarted container to resume",
      60_000,
    );
    // Seconds (a process start, the routes looked up, one scan), not the 300 s claim timeout.
    expect((Date.now() - restartedAt) / 1000).to.be.lessThan(30);
    await waitFor(
      () => archived("spring").length === 1 && archived("renewals").length === 1,
      "both files to be finished",
      90_000,
    );
    for (const [list, file] of [
      ["spring-list", spring],
      ["renewals-list", renewals],
    ] as const) {
      expect(sim.contacts(list).size, list).to.equal(file.goodIds.length);
      for (const id of file.goodIds) expect(sim.contacts(list).has(id), `${list} ${id}`).to.equal(true);
      // IMPORT_BATCHES_IN_FLIGHT (4) batches of 1,000 per route at most were in flight at the kill.
      expect(
        writes(list) - sim.contacts(list).size,
        `${list}: only batches in flight sent again`,
      ).to.be.at.most(4 * 1_000);
    }
    expect(sim.contacts("renewals-list").get(renewals.goodIds[0]!)!.data).to.have.keys(
      "id",
      "phone",
      "firstName",
      "note",
    );
    expect(sim.contacts("default-list").size).to.equal(0);
    expect(second.output()).to.contain("took over a claim");
  });
});
