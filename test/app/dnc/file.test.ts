import { expect } from "chai";
import { parse } from "csv-parse/sync";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { applyClaimedDncFile } from "../../../app/src/dnc/file";
import { fileIdentity, Journal } from "../../../app/src/import/journal";
import { FakeClock } from "../../support/fake-clock";
import {
  dncFixture,
  e164,
  GET_LIST,
  LISTS,
  PATCH_EMAILS,
  PATCH_PHONES,
  ukMobiles,
  type DncFixture,
} from "./support";

/**
 * Applying one DNC file (dnc/file.ts) against the simulator over loopback HTTP: Genesys' PATCH of
 * an internal DNC list's phone numbers or email addresses, 1,000 a request, one expiry a request.
 */
describe("applying a DNC route's file (simulator)", function () {
  this.timeout(60_000);
  let f: DncFixture;
  let clock: FakeClock;

  beforeEach(async () => {
    // An hour ahead of the files' real mtimes; expiries are judged on this clock.
    clock = new FakeClock(Date.now() + 3_600_000);
  });
  afterEach(async () => f?.close());

  const report = (file: string) =>
    (parse(readFileSync(file, "utf8"), { from_line: 2 }) as string[][]).map(
      ([line, reason]) => [Number(line), reason!] as const,
    );

  it("adds a CSV's national numbers in E.164 with the route's country, and a .txt's, then removes them", async () => {
    f = await dncFixture(clock);
    const numbers = ukMobiles(2_500);
    f.drop(
      "add",
      "optouts.csv",
      `Customer,Phone\n${numbers.map((number, index) => `c${index},${number}`).join("\n")}\n`,
    );
    const added = await applyClaimedDncFile(await f.claim("add", "optouts.csv"), "add", f.deps());
    expect(added).to.deep.include({
      status: "imported",
      rowsRead: 2_500,
      accepted: 2_500,
      synced: 2_500,
      rejected: 0,
    });
    expect(added.dnc).to.deep.equal({
      dncListId: LISTS.phone.id,
      action: "add",
      entries: "phone",
      applied: 2_500,
      withExpiry: 0,
    });
    expect(f.sim.count(PATCH_PHONES, 200), "1,000 a request").to.equal(3);
    expect(numbers.every((number) => f.onList(e164(number)))).to.equal(true);
    expect(f.sim.dncEntries(LISTS.phone.id)[0]!.value).to.equal("+447911100000");
    expect(existsSync(`${added.movedTo}.summary.json`)).to.equal(true);
    expect(path.dirname(added.movedTo!)).to.equal(f.layout.archive);
    expect(f.index.has("+447911100000"), "in the route's index").to.equal(true);

    f.drop("remove", "lifted.txt", `phone\n${numbers.slice(0, 1_000).join("\n")}\n`);
    const removed = await applyClaimedDncFile(await f.claim("remove", "lifted.txt"), "remove", f.deps());
    expect(removed).to.deep.include({ status: "removed", rowsRead: 1_000, synced: 1_000 });
    expect(numbers.filter((number) => f.onList(e164(number)))).to.deep.equal(numbers.slice(1_000));
    expect(f.index.has("+447911100000"), "off the index too").to.equal(false);
    expect(f.index.has(e164(numbers[1_000]!))).to.equal(true);
    const metrics = await f.registry.metrics();
    expect(metrics).to.contain('import_dnc_entries_total{outcome="added",route="opt-outs"} 2500');
    expect(metrics).to.contain('import_dnc_entries_total{outcome="removed",route="opt-outs"} 1000');
    expect(metrics).to.contain('import_files_total{outcome="imported",route="opt-outs"} 1');
  });

  it("gives each entry the expiry of its line, one expiry a request, and refuses lines with a bad one", async () => {
    f = await dncFixture(clock, { route: { expiryColumn: "Opted out until" } });
    const until = new Date(clock.now() + 30 * 86_400_000).toISOString().slice(0, 16);
    const rows = [
      "phone,Opted out until",
      `07911 100000,${until}Z`,
      "07911 100001,",
      `07911 100002,${until}:00+00:00`,
      "07911 100003,2020-01-01T00:00Z",
      "07911 100004,2027-01-31",
      "07911 100005,",
    ];
    f.drop("add", "expiring.csv", `${rows.join("\n")}\n`);
    const outcome = await applyClaimedDncFile(await f.claim("add", "expiring.csv"), "add", f.deps());
    expect(outcome).to.deep.include({ status: "imported_with_rejects", synced: 4, rejected: 2 });
    expect(outcome.dnc!.withExpiry).to.equal(2);
    expect(f.sim.count(PATCH_PHONES, 200), "one request per expiry").to.equal(2);
    const entries = new Map(
      f.sim.dncEntries(LISTS.phone.id).map((entry) => [entry.value, entry.expiresAtMs]),
    );
    expect(entries.get("+447911100000")).to.equal(Date.parse(`${until}Z`));
    expect(entries.get("+447911100002")).to.equal(Date.parse(`${until}Z`));
    expect(entries.get("+447911100001")).to.equal(undefined);
    expect(
      report(outcome.rejectsReport!).map(([line, reason]) => [line, reason.split(": ")[0]]),
    ).to.deep.equal([
      [5, 'line 5 has Opted out until "2020-01-01T00:00Z", which is already past'],
      [6, 'line 6 has Opted out until "2027-01-31" without a time zone'],
    ]);
    await clock.advance(31 * 86_400_000);
    expect(f.index.has("+447911100000"), "expired in the index").to.equal(false);
    expect(f.index.has("+447911100001")).to.equal(true);
  });

  it("reports each bad line with its line and reason, and applies the rest", async () => {
    f = await dncFixture(clock);
    const lines = [
      "07911 100000",
      "",
      "+44 20 7946 0958 ext. 12",
      "not a number",
      "07911100000",
      "+353 85 123 4567",
    ];
    f.drop("add", "mixed.txt", `${lines.join("\n")}\n`);
    const outcome = await applyClaimedDncFile(await f.claim("add", "mixed.txt"), "add", f.deps());
    expect(outcome).to.deep.include({ status: "imported_with_rejects", rowsRead: 5, synced: 2, rejected: 3 });
    expect(report(outcome.rejectsReport!)).to.deep.equal([
      [
        3,
        'line 3 "+44 20 7946 0958 ext. 12" has an extension (12): a DNC list holds numbers only, and Genesys compares the number it dials; drop the extension',
      ],
      [
        4,
        'line 4 "not a number" is not a valid phone number (default country GB): write it in E.164 (+44...) or as a national number of GB',
      ],
      [5, "line 5 repeats +447911100000 from line 1: it is added once, as line 1 says"],
    ]);
    expect(f.onList("+353851234567")).to.equal(true);
  });

  it("adds and removes email addresses, lower-cased, on a route of emails", async () => {
    f = await dncFixture(clock, {
      route: { name: "email-opt-outs", dncListId: LISTS.email.id, kind: "email" },
    });
    f.drop(
      "add",
      "emails.csv",
      'Name,E-mail,Email\n"Doe, Jane",x,Jane.Doe@Example.com\nJoe,y,Joe <joe@example.com>\nAnn,z,ann@example.org\n',
    );
    const outcome = await applyClaimedDncFile(await f.claim("add", "emails.csv"), "add", f.deps());
    expect(outcome).to.deep.include({ status: "imported_with_rejects", synced: 2, rejected: 1 });
    expect(f.sim.count(PATCH_EMAILS, 200)).to.equal(1);
    expect(f.sim.dncEntries(LISTS.email.id).map((entry) => entry.value)).to.deep.equal([
      "jane.doe@example.com",
      "ann@example.org",
    ]);
    expect(report(outcome.rejectsReport!)[0]![1]).to.contain("line 3 ");
    expect(report(outcome.rejectsReport!)[0]![1]).to.contain("display name");

    f.drop("remove", "emails.txt", "ANN@example.org\n");
    await applyClaimedDncFile(await f.claim("remove", "emails.txt"), "remove", f.deps());
    expect(f.sim.dncEntries(LISTS.email.id).map((entry) => entry.value)).to.deep.equal([
      "jane.doe@example.com",
    ]);
  });

  it("refuses a file as a whole when its header has no entry column, or lacks the route's expiry column, saying how to fix it", async () => {
    f = await dncFixture(clock, { route: { expiryColumn: "Until" } });
    f.drop("add", "wrong.csv", "Customer,Mobile\nc1,07911 100000\n");
    const wrong = await applyClaimedDncFile(await f.claim("add", "wrong.csv"), "add", f.deps());
    expect(wrong.status).to.equal("rejected");
    expect(wrong.reason).to.contain(
      'the header names no column of phone numbers (one of "phone", "phonenumber"',
    );
    expect(wrong.reason).to.contain('its columns are "Customer", "Mobile"');
    expect(readdirSync(f.layout.rejects)).to.include.members([
      path.basename(wrong.movedTo!),
      `${path.basename(wrong.movedTo!)}.reason.txt`,
    ]);

    f.drop("add", "no-expiry.csv", "Phone\n07911 100000\n");
    const noExpiry = await applyClaimedDncFile(await f.claim("add", "no-expiry.csv"), "add", f.deps());
    expect(noExpiry.reason).to.contain(
      'the header has no "Until" column, which the route\'s expiryColumn names',
    );

    f.drop("remove", "lift.csv", "Phone\n07911 100000\n");
    const lift = await applyClaimedDncFile(await f.claim("remove", "lift.csv"), "remove", f.deps());
    expect(lift.status, "a removal needs no expiry column").to.equal("removed");
    expect(f.sim.count(PATCH_PHONES, 200)).to.equal(1);
  });

  it("resumes after a crash: the batches the journal lists are not sent again, and their lines Genesys refused stay reported", async () => {
    f = await dncFixture(clock);
    const numbers = ukMobiles(3_500);
    f.drop("add", "big.txt", `${numbers.join("\n")}\n`);
    // As a crash leaves it: batches 0 and 1 acknowledged, the second with a line Genesys refused.
    const journal = await Journal.open(
      f.journalOf("add", "big.txt"),
      await fileIdentity(f.inLane("add", "big.txt"), "big.txt"),
    );
    await journal.record(0);
    await journal.record(
      1,
      JSON.stringify({ refused: [[1_500, "line 1500 was refused by Genesys Cloud: invalid.value"]] }),
    );
    await journal.close();

    const outcome = await applyClaimedDncFile(await f.claim("add", "big.txt"), "add", f.deps());
    expect(f.sim.count(PATCH_PHONES, 200), "only batches 2 and 3").to.equal(2);
    expect(outcome).to.deep.include({
      status: "imported_with_rejects",
      alreadySynced: 1_999,
      synced: 1_500,
      batchesSent: 2,
      rejected: 1,
    });
    expect(outcome.dnc!.applied).to.equal(3_499);
    expect(
      numbers.slice(0, 2_000).some((number) => f.onList(e164(number))),
      "the journalled batches were skipped",
    ).to.equal(false);
    expect(numbers.slice(2_000).every((number) => f.onList(e164(number)))).to.equal(true);
    expect(f.index.size, "the index holds what the journal says was applied, and this run's").to.equal(3_499);
    expect(existsSync(f.journalOf("add", "big.txt"))).to.equal(false);
  });

  it("splits a batch Genesys refuses as a bad request, after one read of the list shows it still internal, and applies every entry", async () => {
    f = await dncFixture(clock, { sim: { maxDncEntriesPerRequest: 400 } });
    const numbers = ukMobiles(1_000);
    f.drop("add", "big.txt", `${numbers.join("\n")}\n`);
    const outcome = await applyClaimedDncFile(await f.claim("add", "big.txt"), "add", f.deps());
    expect(outcome).to.deep.include({ status: "imported", synced: 1_000, rejected: 0 });
    expect(f.sim.count(PATCH_PHONES, 400), "1,000 then twice 500").to.equal(3);
    expect(f.sim.count(PATCH_PHONES, 200), "four of 250").to.equal(4);
    expect(f.sim.count(GET_LIST, 200), "the list read once, for the whole batch").to.equal(1);
    expect(numbers.every((number) => f.onList(e164(number)))).to.equal(true);
    expect(f.gate.blocked, "a refused batch blocks nothing").to.equal(undefined);
  });
});
