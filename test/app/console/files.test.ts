import { expect } from "chai";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CONSOLE_ERROR_CODES, RequeueError } from "../../../app/src/console/errors";
import { rejectedFiles, requeue } from "../../../app/src/console/files";
import {
  dataLayout,
  ensureLayout,
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
});
