import { expect } from "chai";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CONSOLE_ERROR_CODES, RequeueError } from "../../../app/src/console/errors";
import { archiveSummary, rejectedFiles, requeue } from "../../../app/src/console/files";
import { setAside } from "../../../app/src/import/claims";
import {
  dataLayout,
  dncLaneLayout,
  dncLayout,
  ensureDncLayout,
  ensureLayout,
  laneLayout,
  routeLayout,
  timestampForName,
  type DataLayout,
} from "../../../app/src/shared/layout";
import { ServiceError } from "../../../app/src/shared/errors";

/** The console's requeue action on a real data directory: what it moves, and what it refuses. */
describe("console: requeueing a rejected file", () => {
  const NOW = Date.parse("2026-11-21T09:00:00Z");
  const REFUSED = `${timestampForName(NOW - 60_000)}-contacts.csv`;
  let layout: DataLayout;

  beforeEach(async () => {
    layout = dataLayout(mkdtempSync(path.join(tmpdir(), "requeue-")));
    await ensureLayout(layout);
    writeFileSync(path.join(layout.rejects, REFUSED), "id,phone\n");
    writeFileSync(path.join(layout.rejects, `${REFUSED}.reason.txt`), "no phone column");
  });

  const refusal = (name: string) => requeue(layout, name, NOW).catch((caught: unknown) => caught);

  it("moves a refused file back into inbox/ under its original name", async () => {
    expect(await requeue(layout, REFUSED, NOW)).to.equal("contacts.csv");
    expect(existsSync(path.join(layout.inbox, "contacts.csv"))).to.equal(true);
  });

  it("a name that is not a rejected file is REQUEUE_NOT_REJECTED, not retryable", async () => {
    const error = await refusal("../state/export.json");
    expect(error).to.be.instanceOf(RequeueError).and.instanceOf(ServiceError);
    expect(error).to.include({ code: "REQUEUE_NOT_REJECTED", retryable: false });
    expect((error as Error).message).to.contain("is not a rejected file that can be requeued");
  });

  it("a file of the same name waiting in inbox/ is REQUEUE_INBOX_OCCUPIED, retryable once it is imported", async () => {
    writeFileSync(path.join(layout.inbox, "contacts.csv"), "id,phone\n");
    const error = await refusal(REFUSED);
    expect(error).to.include({ code: "REQUEUE_INBOX_OCCUPIED", retryable: true });
    expect((error as Error).message).to.contain("wait until it is imported, then requeue");
    expect(existsSync(path.join(layout.rejects, REFUSED)), "nothing moved").to.equal(true);
  });

  it("its codes are listed with what each means and what to do, in whole sentences", () => {
    expect(Object.keys(CONSOLE_ERROR_CODES).sort()).to.deep.equal([
      "REQUEUE_INBOX_OCCUPIED",
      "REQUEUE_LANE_UNKNOWN",
      "REQUEUE_NOT_REJECTED",
    ]);
    for (const [code, doc] of Object.entries(CONSOLE_ERROR_CODES)) {
      expect(doc.meaning, code).to.match(/^[A-Z].{20,}[.)]$/s);
      expect(doc.action, code).to.match(/^[A-Z].{10,}[.)]$/s);
    }
  });

  it("moves a route's refused file back into that route's inbox folder, and lists it as <route>/<name>", async () => {
    const spring = routeLayout(layout, "spring");
    await ensureLayout(spring);
    writeFileSync(path.join(spring.rejects, REFUSED), "Cust No,Mobile\n");
    writeFileSync(path.join(spring.rejects, `${REFUSED}.reason.txt`), '"Segment" is neither mapped');
    const listed = await rejectedFiles(layout, NOW);
    expect(listed.map((file) => [file.name, file.requeueAs])).to.deep.include.members([
      [REFUSED, "contacts.csv"],
      [`spring/${REFUSED}`, "spring/contacts.csv"],
    ]);
    expect(await requeue(layout, `spring/${REFUSED}`, NOW)).to.equal("spring/contacts.csv");
    expect(existsSync(path.join(spring.inbox, "contacts.csv"))).to.equal(true);
    expect(existsSync(path.join(layout.inbox, "contacts.csv"))).to.equal(false);
  });

  it("lists a DNC route's refused file as dnc/<route>/<name>, not requeueable: rejects/ does not say whether it came from add/ or remove/", async () => {
    const optOuts = dncLayout(layout, "opt-outs");
    await ensureDncLayout(optOuts);
    const refused = `${timestampForName(NOW - 30_000)}-opt-outs.csv`;
    writeFileSync(path.join(optOuts.rejects, refused), "Phone\n07911 100000\n");
    writeFileSync(path.join(optOuts.rejects, `${refused}.reason.txt`), "mostly bad: 3 of the first 4 lines");
    writeFileSync(path.join(optOuts.rejects, `${refused}.rejects.csv`), "line,reason\n");
    const listed = (await rejectedFiles(layout, NOW)).find((file) => file.name === `dnc/opt-outs/${refused}`);
    expect(listed, "listed beside the contact routes' refused files").to.not.equal(undefined);
    expect(listed).to.include({ reason: "mostly bad: 3 of the first 4 lines", requeueAs: undefined });
    expect(listed!.notRequeueable).to.contain("dnc/opt-outs/add/ or dnc/opt-outs/remove/");
    expect(
      (await rejectedFiles(layout, NOW)).map((file) => file.name),
      "the rejects report is for reading",
    ).to.not.include(`dnc/opt-outs/${refused}.rejects.csv`);

    const error = await refusal(`dnc/opt-outs/${refused}`);
    expect(error)
      .to.be.instanceOf(RequeueError)
      .and.include({ code: "REQUEUE_LANE_UNKNOWN", retryable: false });
    expect(existsSync(path.join(optOuts.rejects, refused)), "nothing moved").to.equal(true);
    for (const lane of ["add", "remove"])
      expect(existsSync(path.join(optOuts.inbox, lane, "opt-outs.csv")), lane).to.equal(false);
    expect(existsSync(path.join(layout.inbox, "dnc")), "nothing put below inbox/").to.equal(false);
  });

  it("counts a DNC route's archived files with the others", async () => {
    const optOuts = dncLayout(layout, "opt-outs");
    await ensureDncLayout(optOuts);
    const applied = `${timestampForName(NOW - 10_000)}-opt-outs.csv`;
    writeFileSync(path.join(optOuts.archive, applied), "Phone\n");
    writeFileSync(path.join(optOuts.archive, `${applied}.summary.json`), "{}\n");
    expect(await archiveSummary(layout, NOW)).to.deep.equal({ count: 1, lastAgeSeconds: 10 });
  });

  it("puts a file back in the lane it was dropped in (its reason's last line), a removal never into a contacts folder", async () => {
    const renewals = routeLayout(layout, "renewals");
    await ensureLayout(renewals);
    const removal = path.join(renewals.inbox, "remove", "opt-outs.csv");
    writeFileSync(removal, "id\nR1\n");
    await setAside(laneLayout(renewals, "remove"), NOW - 30_000, "opt-outs.csv", removal, "no id column");
    const optOuts = dncLayout(layout, "opt-outs");
    await ensureDncLayout(optOuts);
    const dncFile = path.join(optOuts.inbox, "add", "numbers.csv");
    writeFileSync(dncFile, "phone\n0851234567\n");
    await setAside(dncLaneLayout(optOuts, "add"), NOW - 20_000, "numbers.csv", dncFile, "no phone column");
    const listed = new Map((await rejectedFiles(layout, NOW)).map((file) => [file.requeueAs, file.reason]));
    expect(listed.get("renewals/remove/opt-outs.csv")).to.equal("no id column");
    expect(listed.get("dnc/opt-outs/add/numbers.csv")).to.equal("no phone column");
    const [removalName] = (await rejectedFiles(layout, NOW)).filter(
      (file) => file.requeueAs === "renewals/remove/opt-outs.csv",
    );
    await requeue(layout, removalName!.name, NOW);
    expect(existsSync(path.join(renewals.inbox, "remove", "opt-outs.csv"))).to.equal(true);
    const [dncName] = (await rejectedFiles(layout, NOW)).filter(
      (file) => file.requeueAs === "dnc/opt-outs/add/numbers.csv",
    );
    await requeue(layout, dncName!.name, NOW);
    expect(existsSync(path.join(optOuts.inbox, "add", "numbers.csv"))).to.equal(true);
  });

  it("ignores a last line that names a folder outside the file's own route lanes (the volume is shared)", async () => {
    writeFileSync(
      path.join(layout.rejects, `${REFUSED}.reason.txt`),
      "no phone column\ndropped in: state/\n",
    );
    const [file] = (await rejectedFiles(layout, NOW)).filter((entry) => entry.name === REFUSED);
    expect(file!.requeueAs).to.equal("contacts.csv");
    expect(file!.reason).to.equal("no phone column");
  });
});
