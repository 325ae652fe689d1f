/*
 * The DNC routes through the whole service (buildService and app/src/main.ts), against the
 * simulator.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RouteSpec } from "../../../app/src/shared/routes";
import { killAll, listFolder, serviceEnv, spawnService, startHarness, waitFor } from "../../support/harness";
import { LISTS, PATCH_PHONES, ukMobiles } from "./support";

const ROUTES: RouteSpec[] = [
  { name: "spring", contactListId: "spring-list", checkDnc: ["opt-outs"] },
  { name: "opt-outs", dncListName: LISTS.phone.name, defaultCountry: "GB", expiryColumn: "Until" },
  { name: "email-opt-outs", dncListId: LISTS.email.id },
  { name: "scrub", dncListId: LISTS.external.id },
];

const SIM = {
  contactListIds: ["default-list", "spring-list"],
  dncLists: Object.values(LISTS),
};

function routesFile(routes: readonly RouteSpec[]): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "dnc-routes-")), "routes.json");
  writeFileSync(file, JSON.stringify(routes));
  return file;
}

/** Writes under a dot-name and renames into dnc/<route>/<lane>/ (or any folder below the data dir). */
function dropInto(dataDir: string, folder: string, name: string, content: string): void {
  const temporary = path.join(dataDir, folder, `.${name}.tmp`);
  writeFileSync(temporary, content);
  renameSync(temporary, path.join(dataDir, folder, name));
}

describe("DNC routes through the service (simulator)", function () {
  this.timeout(180_000);

  it("applies opt-outs on their route, counts the contacts of a checking route that are on them, and holds back only the route whose list is not internal", async () => {
    const h = await startHarness({ sim: SIM, env: { IMPORT_ROUTES_FILE: routesFile(ROUTES) } });
    try {
      await waitFor(() => existsSync(path.join(h.dataDir, "dnc/scrub/add")), "the DNC routes' folders");
      dropInto(
        h.dataDir,
        "dnc/opt-outs/add",
        "optouts.csv",
        "Phone,Until\n07911 100000,\n07911 100001,2099-01-01T00:00Z\n",
      );
      dropInto(h.dataDir, "dnc/scrub/add", "scrub.txt", "07911 100002\n");
      await waitFor(
        () => listFolder(h.dataDir, "archive/dnc/opt-outs").some((name) => name.endsWith("optouts.csv")),
        "the opt-outs",
      );
      expect(h.sim.isOnDnc(LISTS.phone.id, "+447911100000")).to.equal(true);
      expect(
        h.sim.dncEntries(LISTS.phone.id).find((entry) => entry.value === "+447911100001")?.expiresAtMs,
      ).to.equal(Date.parse("2099-01-01T00:00Z"));

      // A contact file dropped later: every contact imported, the two on the list counted.
      h.drop("spring/campaign.csv", "id,phone\nc1,+447911100000\nc2,+447911100001\nc3,+447911100009\n");
      await waitFor(
        () => listFolder(h.dataDir, "archive/spring").some((name) => name.endsWith("campaign.csv")),
        "the campaign",
      );
      expect(h.sim.contacts("spring-list").size).to.equal(3);
      const summary = listFolder(h.dataDir, "archive/spring").find((name) =>
        name.endsWith("campaign.csv.summary.json"),
      )!;
      expect(JSON.parse(h.read("archive/spring", summary)).onDncLists).to.deep.equal({
        routes: ["opt-outs"],
        contacts: 2,
      });

      // The external list's route alone is held back, on /readyz and /metrics; its file waits.
      const ready = await h.service.app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).to.equal(200);
      expect(ready.json().warnings.join("\n")).to.contain(
        `DNC route scrub is holding back: DNC list ${LISTS.external.id} is not an internal DNC list`,
      );
      const metrics = (await h.service.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).to.contain(
        `import_target_blocked{contact_list="${LISTS.external.id}",route="scrub"} 1`,
      );
      expect(metrics).to.contain('import_dnc_entries_total{outcome="added",route="opt-outs"} 2');
      expect(h.list("dnc/scrub/add")).to.deep.equal(["scrub.txt"]);
    } finally {
      await h.close();
    }
  });

  it("refuses at start, naming the route and the fix, a DNC route whose list name matches no list (main.ts exits 78 on it)", async () => {
    const h = await startHarness({
      sim: SIM,
      env: { IMPORT_ROUTES_FILE: routesFile([{ name: "typo", dncListName: "Opt outs" }]) },
    });
    try {
      await waitFor(
        () => h.capture.text().includes('no DNC list is named \\"Opt outs\\"'),
        "the route to be refused",
      );
    } finally {
      await h.close();
    }
  });

  it("kill -9 of the pod's container during a DNC file: the restart resumes it from its journal, nothing lost, at most the batch in flight twice", async () => {
    const { startSimulator } = await import("../../../simulator/simulator");
    const sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 }, ...SIM });
    const children: Array<ReturnType<typeof spawnService>> = [];
    try {
      const dataDir = mkdtempSync(path.join(tmpdir(), "dnc-kill-"));
      const env = serviceEnv(sim, dataDir, {
        IMPORT_ROUTES_FILE: routesFile(ROUTES.slice(1, 2)),
        POD_NAME: "genesys-sync-7d9f-dnc",
        IMPORT_BATCHES_IN_FLIGHT: "1",
        LOG_LEVEL: "info",
      });
      children.push(spawnService(env));
      await waitFor(() => existsSync(path.join(dataDir, "dnc/opt-outs/add")), "the DNC route's folders");
      const numbers = ukMobiles(30_000);
      sim.faults.latency(40);
      dropInto(dataDir, "dnc/opt-outs/add", "nightly.txt", `${numbers.join("\n")}\n`);
      await waitFor(() => sim.count(PATCH_PHONES, 200) >= 5, "part of the file", 60_000);
      await killAll(children);
      const atKill = sim.count(PATCH_PHONES, 200);
      sim.faults.latency(0);
      children.push(spawnService(env));
      await waitFor(
        () => listFolder(dataDir, "archive/dnc/opt-outs").some((name) => name.endsWith("nightly.txt")),
        "the restart to finish the file",
        60_000,
      );
      expect(atKill).to.be.lessThan(30);
      expect(sim.count(PATCH_PHONES, 200)).to.be.at.most(31);
      expect(
        numbers.every((number) => sim.isOnDnc(LISTS.phone.id, `+44${number.replace(/\s/g, "").slice(1)}`)),
      ).to.equal(true);
      const summary = listFolder(dataDir, "archive/dnc/opt-outs").find((name) =>
        name.endsWith(".summary.json"),
      )!;
      const outcome = JSON.parse(readFileSync(path.join(dataDir, "archive/dnc/opt-outs", summary), "utf8"));
      expect(outcome.alreadySynced + outcome.synced).to.equal(30_000);
    } finally {
      await killAll(children);
      await sim.close();
    }
  });
});
