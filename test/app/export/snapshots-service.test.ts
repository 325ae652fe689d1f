import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startHarness, waitFor } from "../../support/harness";

/**
 * Contact-list snapshots as the running service wires them (issue 21, item 2): the schedule from
 * the settings, one snapshot per route (the default one and a declared route) into outbox/lists/,
 * the download from the simulator's second host, which never sees the Genesys token.
 */
describe("contact-list snapshots through the service (simulator)", function () {
  this.timeout(60_000);
  let h: Awaited<ReturnType<typeof startHarness>> | undefined;
  afterEach(async () => h?.close());

  it("publishes each route's list with the dialer's columns, under the route's name", async () => {
    const routesFile = path.join(mkdtempSync(path.join(tmpdir(), "snap-routes-")), "routes.json");
    writeFileSync(routesFile, JSON.stringify([{ name: "spring", contactListId: "spring-list" }]));
    h = await startHarness({
      sim: {
        contactListIds: ["default-list"],
        contactLists: [
          {
            id: "spring-list",
            name: "Spring",
            columnNames: ["id", "phone"],
            phoneColumns: [{ columnName: "phone", type: "cell" }],
          },
        ],
        listExportReadyMs: 50,
      },
      env: { IMPORT_ROUTES_FILE: routesFile, EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS: "3600" },
      start: false,
    });
    // The simulator's download host is a loopback port known only now: allowed as an extra host.
    await h.restart({ EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS: new URL(h.sim.downloadBaseUrl).host });
    await waitFor(
      () => h!.service.importer.running.some(({ route }) => route.name === "spring"),
      "the spring route to run",
    );
    h.drop("spring/crm.csv", "id,phone\nS1,0851234567\nS2,0851234568\n");
    const lists = () =>
      readdirSync(path.join(h!.dataDir, "outbox", "lists")).filter((name) => !name.startsWith("."));
    await waitFor(() => h!.sim.contacts("spring-list").size === 2, "the spring file");
    h.sim.recordCall("spring-list", "S1", {
      column: "phone",
      atMs: Date.now() - 60_000,
      result: "ININ-OUTBOUND-BUSY",
    });
    // At start only the default route was running (the others resolve after); the next look at
    // the schedule is a minute away, so run that look now: spring has never been taken, so it is due.
    await h.service.snapshots.runDue();
    await waitFor(() => lists().some((name) => name.startsWith("spring-")), "the spring snapshot");
    // The loop's own pass, run when this replica took the lead, may still be taking the default
    // route's snapshot beside the call above (the export's readiness polls back off): it may land
    // after spring's, so it is waited for, not expected at once.
    await waitFor(() => lists().some((name) => name.startsWith("default-")), "the default snapshot");
    const csv = readFileSync(
      path.join(
        h.dataDir,
        "outbox",
        "lists",
        lists().find((name) => name.startsWith("spring-"))!,
      ),
      "utf8",
    );
    expect(csv).to.contain("CallRecordLastResult-phone");
    expect(csv).to.contain("ININ-OUTBOUND-BUSY");
    expect(h.sim.stats().downloadsWithAuthorization ?? 0).to.equal(0);
  });
});
