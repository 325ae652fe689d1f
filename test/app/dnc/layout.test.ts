import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { archiveSummary, rejectedFiles } from "../../../app/src/console/files";
import { ClaimStore, LEASE_FILE, replicaId } from "../../../app/src/import/claims";
import {
  dataLayout,
  dncLaneLayout,
  dncLayout,
  ensureDncLayout,
  ensureLayout,
  laneLayout,
  routeLayout,
  timestampForName,
} from "../../../app/src/shared/layout";
import { FakeClock } from "../../support/fake-clock";

/**
 * A DNC route's folders (shared/layout.ts dncLayout) sit beside the contact routes' and are never
 * taken for theirs: not a file of inbox/, not a replica's claims in processing/, not a route's
 * folder in archive/ or rejects/ for the console.
 */
describe("a DNC route's folders on the volume", () => {
  const root = () => dataLayout(mkdtempSync(path.join(tmpdir(), "dnc-layout-")));

  it("puts dnc/<route>/add/ and remove/ beside inbox/, its claims below processing/routes/dnc/, and the rest under dnc/<route>/", async () => {
    const layout = root();
    const dnc = dncLayout(layout, "opt-outs");
    const relative = (folder: string) => path.relative(layout.root, folder);
    expect([dnc.inbox, dnc.processing, dnc.archive, dnc.rejects, dnc.state].map(relative)).to.deep.equal([
      "dnc/opt-outs",
      "processing/routes/dnc/opt-outs",
      "archive/dnc/opt-outs",
      "rejects/dnc/opt-outs",
      "state/dnc/opt-outs",
    ]);
    expect(relative(dncLaneLayout(dnc, "remove").inbox)).to.equal("dnc/opt-outs/remove");
    expect(relative(dncLaneLayout(dnc, "add").processing)).to.equal("processing/routes/dnc/opt-outs/add");
    await ensureDncLayout(dnc);
    expect(readdirSync(dnc.inbox).sort()).to.deep.equal(["add", "remove"]);
  });

  it("is left alone by the contact routes' claim stores: a DNC claim of a dead replica is never taken over by them", async () => {
    const layout = root();
    await ensureLayout(layout);
    const clock = new FakeClock(Date.now() + 3_600_000);
    const dnc = dncLaneLayout(dncLayout(layout, "opt-outs"), "add");
    const held = path.join(dnc.processing, "other-1-0a1b2c3d");
    mkdirSync(held, { recursive: true });
    writeFileSync(path.join(held, "optouts.txt"), "07911 100000\n");
    writeFileSync(path.join(held, LEASE_FILE), "");
    const old = new Date(Date.now() - 86_400_000);
    utimesSync(path.join(held, LEASE_FILE), old, old);
    for (const folder of [
      layout.processing,
      path.join(layout.processing, "routes"),
      path.join(layout.processing, "routes", "dnc"),
    ])
      utimesSync(folder, old, old);
    await ensureDncLayout(dncLayout(layout, "opt-outs"));
    writeFileSync(path.join(layout.root, "dnc", "opt-outs", "add", "waiting.csv"), "phone\n");

    const settings = {
      replicaId: replicaId("me", process.pid, "01234567"),
      claimTimeoutMs: 1_000,
      settleMs: 0,
    };
    const contactStores = [
      new ClaimStore(layout, settings, clock),
      new ClaimStore(laneLayout(layout, "remove"), { ...settings, lane: "remove" }, clock),
      new ClaimStore(routeLayout(layout, "spring"), settings, clock),
    ];
    await ensureLayout(routeLayout(layout, "spring"));
    for (const store of contactStores) {
      expect(await store.recoverStale()).to.deep.equal([]);
      expect((await store.scanInbox()).depth).to.equal(0);
    }
    expect(readdirSync(held).sort(), "still the dead replica's, for the DNC route's store").to.deep.equal([
      LEASE_FILE,
      "optouts.txt",
    ]);
    const dncStore = new ClaimStore(dnc, { ...settings, lane: "remove" }, clock);
    expect((await dncStore.recoverStale()).map((claim) => claim.name)).to.deep.equal(["optouts.txt"]);
  });

  it("is counted and listed by the console as the DNC route's own, never as a contact route's", async () => {
    const layout = root();
    await ensureLayout(layout);
    const dnc = dncLayout(layout, "opt-outs");
    await ensureDncLayout(dnc);
    const stamp = timestampForName(Date.now());
    writeFileSync(path.join(dnc.archive, `${stamp}-optouts.txt`), "07911 100000\n");
    writeFileSync(path.join(dnc.rejects, `${stamp}-bad.json`), "{}");
    writeFileSync(path.join(dnc.rejects, `${stamp}-bad.json.reason.txt`), "neither .csv nor .txt");
    expect((await archiveSummary(layout, Date.now())).count).to.equal(1);
    // Without the lane it was dropped in (an old reason file), it is listed but not requeued.
    const listed = await rejectedFiles(layout, Date.now());
    expect(listed.map((file) => [file.name, file.requeueAs])).to.deep.equal([
      [`dnc/opt-outs/${stamp}-bad.json`, undefined],
    ]);
  });
});
