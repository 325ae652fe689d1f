import { expect } from "chai";
import { generateCsv } from "../../support/contacts";
import { FakeClock } from "../../support/fake-clock";
import { startHarness, waitFor } from "../../support/harness";

type Harness = Awaited<ReturnType<typeof startHarness>>;

const POST = "POST /api/v2/outbound/contactlists/{id}/contacts";
const GET = "GET /api/v2/outbound/contactlists/{id}";

/**
 * A contact list that refuses every call (the OAuth client lost `outbound:contact:add`, or the
 * list was deleted): the import stops sending, says so once, re-checks slowly on the fake clock,
 * and resumes by itself once the list is fixed, with every row arriving exactly once.
 */
describe("contact import when the contact list refuses every call (simulator, fake clock)", function () {
  this.timeout(120_000);
  let h: Harness;
  let clock: FakeClock;
  afterEach(async () => h?.close());

  /** Advances the fake clock in steps, letting each re-check's real HTTP round trip finish. */
  async function advanceMinutes(minutes: number) {
    for (let minute = 0; minute < minutes; minute += 1) {
      await clock.advance(60_000);
      await waitFor(() => clock.pending() > 0, "the service to wait on the clock again");
      await clock.settleIo();
    }
  }

  for (const status of [403, 404] as const) {
    it(`${status}: a handful of requests an hour until it is fixed, then resumes with 0 lost and 0 duplicates`, async () => {
      clock = new FakeClock(Date.now());
      h = await startHarness({ clock });
      const listId = h.sim.contactListIds[0]!;
      await waitFor(() => h.service.client.hasValidToken(), "the first token");
      h.sim.faults.contactListFailure(listId, status);
      const file = generateCsv(3_000, {});
      h.drop("nightly.csv", file.content);

      // The first batch meets the refusal; the file goes back to the inbox with its journal.
      await clock.advanceUntil(
        () => h.service.importer.status().blocked !== undefined,
        "the import to hold back",
      );
      await waitFor(() => h.list("inbox").includes("nightly.csv"), "the file back in the inbox");
      const blocked = h.service.importer.status().blocked!;
      expect(blocked.status).to.equal(status);
      expect(blocked.fix).to.contain(
        status === 403 ? "outbound:contact:add" : `contact list ${listId} exists`,
      );

      // Said once: one error log, a warning on /readyz (still 200: the webhook and export work), a gauge.
      const errors = h.capture.lines
        .map((line) => JSON.parse(line) as { level: string; msg: string })
        .filter((line) => line.level === "error" && /refuses every call/.test(line.msg));
      expect(errors).to.have.length(1);
      const ready = await h.service.app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).to.equal(200);
      expect(ready.json().warnings[0]).to.contain(`contact list ${listId} refuses calls`);
      const metrics = (await h.service.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).to.contain(`import_target_blocked{contact_list="${listId}"} 1`);

      // An hour of refusals: a handful of cheap re-checks (an empty add when adding was refused, a
      // GET of the list when the list is gone), no contact sent.
      const calls = () =>
        [POST, GET].reduce((sum, route) => sum + h.sim.count(route, 200) + h.sim.count(route, status), 0);
      const before = calls();

      const writes = h.sim.stats().contactWrites;
      await advanceMinutes(60);
      expect(calls() - before).to.be.within(3, 8);
      expect(h.sim.stats().contactWrites).to.equal(writes);
      expect(h.list("inbox")).to.deep.equal(["nightly.csv"]);

      // Fixed: the next re-check passes and the file imports without a restart.
      h.sim.faults.contactListFailure(listId, undefined);
      await clock.advanceUntil(
        () => h.list("archive").some((name) => name.endsWith("nightly.csv")),
        "the import",
      );
      const contacts = h.sim.contacts(listId);
      expect(contacts.size).to.equal(file.goodIds.length);
      expect([...contacts.values()].every((contact) => contact.writes === 1)).to.equal(true);
      expect(h.service.importer.status().blocked).to.equal(undefined);
      expect((await h.service.app.inject({ method: "GET", url: "/metrics" })).body).to.contain(
        `import_target_blocked{contact_list="${listId}"} 0`,
      );
    });
  }

  it("401 even with a fresh token: held back the same way, and resumed once the API takes tokens again", async () => {
    clock = new FakeClock(Date.now());
    h = await startHarness({ clock });
    const listId = h.sim.contactListIds[0]!;
    await waitFor(() => h.service.client.hasValidToken(), "the first token");
    h.sim.faults.refuseEveryToken(true);
    const file = generateCsv(1_200, {});
    h.drop("after-disable.csv", file.content);
    await clock.advanceUntil(
      () => h.service.importer.status().blocked !== undefined,
      "the import to hold back",
    );
    expect(h.service.importer.status().blocked!.status).to.equal(401);
    expect(h.service.importer.status().blocked!.fix).to.contain("OAuth client is active");
    const onList = () => h.sim.count(GET, 401) + h.sim.count(POST, 401);
    const refusedBefore = onList();
    await advanceMinutes(60);
    // Each re-check is one call and, after its 401, one retry with a fresh token.
    expect(onList() - refusedBefore).to.be.within(3, 16);
    h.sim.faults.refuseEveryToken(false);
    await clock.advanceUntil(
      () => h.list("archive").some((name) => name.endsWith("after-disable.csv")),
      "the import",
    );
    expect(h.sim.contacts(listId).size).to.equal(file.goodIds.length);
  });

  it("403 on removals only: re-checked with a removal, not a read or an add that would pass, and resumed once granted", async () => {
    clock = new FakeClock(Date.now());
    h = await startHarness({ clock });
    const listId = h.sim.contactListIds[0]!;
    await waitFor(() => h.service.client.hasValidToken(), "the first token");
    h.drop("seed.csv", generateCsv(300, {}).content);
    await clock.advanceUntil(() => h.list("archive").some((name) => name.endsWith("seed.csv")), "the seed");
    h.sim.faults.contactListFailure(listId, 403, "outbound:contact:delete");
    h.drop("remove/opt-outs.txt", "c1\nc2\nc3\n");
    await clock.advanceUntil(
      () => h.service.importer.status().blocked !== undefined,
      "the removal to hold back",
    );
    expect(h.service.importer.status().blocked!.fix).to.contain("outbound:contact:delete");
    const DELETE = "DELETE /api/v2/outbound/contactlists/{id}/contacts";
    const refusedBefore = h.sim.count(DELETE, 403);
    await advanceMinutes(60);
    // Every re-check was a removal, refused as before: the gate never reopened onto the same refusal.
    expect(h.sim.count(DELETE, 403) - refusedBefore).to.be.within(3, 8);
    expect(h.sim.count(DELETE, 200)).to.equal(0);
    expect(h.service.importer.status().blocked).not.to.equal(undefined);
    h.sim.faults.contactListFailure(listId, undefined);
    await clock.advanceUntil(
      () => h.list("archive").some((name) => name.endsWith("opt-outs.txt")),
      "the removal after the permission is granted",
    );
    expect(["c1", "c2", "c3"].filter((id) => h.sim.contacts(listId).has(id))).to.deep.equal([]);
    expect(h.sim.contacts(listId).has("c4")).to.equal(true);
  });
});
