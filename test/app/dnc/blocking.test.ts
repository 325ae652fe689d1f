import { expect } from "chai";
import { existsSync } from "node:fs";
import { applyClaimedDncFile } from "../../../app/src/dnc/file";
import { FakeClock } from "../../support/fake-clock";
import { dncFixture, e164, GET_LIST, LISTS, PATCH_PHONES, ukMobiles, type DncFixture } from "./support";

/** What the simulator keeps of a list: its kind can be changed here as an admin would in Genesys Cloud. */
function setSourceType(f: DncFixture, dncListId: string, dncSourceType: string): void {
  const lists = (f.sim.dnc as unknown as { lists: Map<string, { dncSourceType: string }> }).lists;
  lists.get(dncListId)!.dncSourceType = dncSourceType;
}

/**
 * A DNC list that takes no entries (a missing permission, a wrong id, a list that is not
 * internal): the route's gate (dnc/gate.ts) holds the file back with its journal, says why and the
 * fix, re-checks with the kind of call that was refused, and lets the file resume once it is fixed.
 */
describe("a DNC route whose list takes no entries (simulator, fake clock)", function () {
  this.timeout(60_000);
  let f: DncFixture;
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock(Date.now() + 3_600_000);
  });
  afterEach(async () => f?.close());

  /** Runs the gate's wait, moving the fake clock a minute at a time until it opens. */
  async function waitOpen(minutes: number): Promise<boolean> {
    let open = false;
    const waiting = f.gate.waitUntilOpen(new AbortController().signal).then(() => (open = true));
    for (let minute = 0; minute < minutes && !open; minute += 1) {
      await clock.advance(60_000);
      await clock.settleIo();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (open) await waiting;
    return open;
  }

  it("403 on changing entries: the file waits with its journal; re-checked with a removal that changes nothing, then resumes", async () => {
    f = await dncFixture(clock);
    f.sim.faults.dncListFailure(LISTS.phone.id, 403, "outbound:dnc:edit");
    const numbers = ukMobiles(1_500);
    f.drop("add", "optouts.txt", `${numbers.join("\n")}\n`);
    const held = await applyClaimedDncFile(await f.claim("add", "optouts.txt"), "add", f.deps());
    expect(held.status).to.equal("released");
    expect(f.gate.blocked).to.deep.include({ reason: "refused", status: 403, dncListId: LISTS.phone.id });
    expect(f.gate.blocked!.fix).to.contain("outbound:dnc:edit");
    expect(existsSync(f.inLane("add", "optouts.txt")), "back in add/").to.equal(true);
    expect(existsSync(f.journalOf("add", "optouts.txt")), "with its journal").to.equal(true);
    expect(await f.registry.metrics()).to.contain(
      `import_target_blocked{contact_list="${LISTS.phone.id}",route="opt-outs"} 1`,
    );
    expect(f.capture.lines.filter((line) => line.includes("takes no entries"))).to.have.length(1);

    // Still refused: the re-check is a PATCH (a read of the list would pass and reopen onto the refusal).
    expect(await waitOpen(5)).to.equal(false);
    expect(f.sim.count(PATCH_PHONES, 403)).to.be.within(2, 4);
    f.sim.faults.dncListFailure(LISTS.phone.id, undefined);
    expect(await waitOpen(20)).to.equal(true);
    expect(await f.registry.metrics()).to.contain(
      `import_target_blocked{contact_list="${LISTS.phone.id}",route="opt-outs"} 0`,
    );

    const resumed = await applyClaimedDncFile(await f.claim("add", "optouts.txt"), "add", f.deps());
    expect(resumed).to.deep.include({ status: "imported", synced: 1_500 });
    expect(numbers.every((number) => f.onList(e164(number)))).to.equal(true);
    expect(f.onList("+15555550100"), "the re-check's number never lands on the list").to.equal(false);
  });

  it("404: the route's list id is wrong; the fix names the route's fields, re-checked with a read of the list", async () => {
    f = await dncFixture(clock);
    f.sim.faults.dncListFailure(LISTS.phone.id, 404);
    expect(await f.gate.preflight(new AbortController().signal)).to.equal(undefined);
    expect(f.gate.blocked).to.deep.include({ reason: "refused", status: 404 });
    expect(f.gate.blocked!.fix).to.contain(`check that DNC list ${LISTS.phone.id} exists`);
    expect(f.gate.blocked!.fix).to.contain("dncListId or dncListName");
    f.sim.faults.dncListFailure(LISTS.phone.id, undefined);
    expect(await waitOpen(5)).to.equal(true);
    expect(f.sim.count(PATCH_PHONES, 200), "a read proves a list exists").to.equal(0);
  });

  it("a list that is not internal is held back from the start, with the fix, and nothing is sent to it", async () => {
    f = await dncFixture(clock, { route: { dncListId: LISTS.external.id } });
    await f.gate.preflight(new AbortController().signal);
    expect(f.gate.blocked).to.deep.include({
      reason: "not-internal",
      status: undefined,
      dncListId: LISTS.external.id,
    });
    expect(f.gate.blocked!.message).to.contain("dncSourceType dnc.com");
    expect(f.gate.blocked!.fix).to.contain("internal DNC list");
    expect(await waitOpen(5)).to.equal(false);
    expect(f.sim.count(PATCH_PHONES, 200) + f.sim.count(PATCH_PHONES, 400)).to.equal(0);
  });

  it("a list changed to another kind while the route runs: Genesys' refusal blocks the route, and it resumes once the list is internal again", async () => {
    f = await dncFixture(clock);
    const numbers = ukMobiles(2_500);
    f.drop("add", "nightly.txt", `${numbers.join("\n")}\n`);
    setSourceType(f, LISTS.phone.id, "rds_custom");
    const held = await applyClaimedDncFile(await f.claim("add", "nightly.txt"), "add", f.deps());
    expect(held.status).to.equal("released");
    expect(held.reason).to.contain("is not an internal DNC list (dncSourceType rds_custom)");
    expect(f.gate.blocked?.reason).to.equal("not-internal");
    expect(f.sim.count(GET_LIST, 200), "one read per refused batch, not one per split").to.be.at.most(4);
    expect(f.sim.count(PATCH_PHONES, 400), "no batch split against a list that takes nothing").to.be.at.most(
      4,
    );
    expect(existsSync(f.journalOf("add", "nightly.txt"))).to.equal(true);

    setSourceType(f, LISTS.phone.id, "rds");
    expect(await waitOpen(5)).to.equal(true);
    const resumed = await applyClaimedDncFile(await f.claim("add", "nightly.txt"), "add", f.deps());
    expect(resumed).to.deep.include({ status: "imported", rejected: 0 });
    expect(numbers.every((number) => f.onList(e164(number)))).to.equal(true);
  });
});
