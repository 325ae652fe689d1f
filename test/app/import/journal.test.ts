import { expect } from "chai";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileIdentity, Journal } from "../../../app/src/import/journal";

describe("import journal", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "journal-"));
  const data = path.join(dir, "contacts.csv");
  writeFileSync(data, "id,phone\n1,0851234567\n");

  it("remembers acknowledged batches across a reopen, ignoring a torn last line", async () => {
    const identity = await fileIdentity(data, "contacts.csv");
    const file = path.join(dir, "a.journal");
    const journal = await Journal.open(file, identity);
    await Promise.all([journal.record(0), journal.record(2), journal.record(1)]);
    await journal.close();
    appendFileSync(file, "7"); // a crash in the middle of writing "7\n"
    const reopened = await Journal.open(file, identity);
    expect([...reopened.acknowledged].sort()).to.deep.equal([0, 1, 2]);
    await reopened.record(3);
    await reopened.close();
    const again = await Journal.open(file, identity);
    expect([...again.acknowledged].sort()).to.deep.equal([0, 1, 2, 3]);
    await again.remove();
  });

  it("ignores a journal written for other content", async () => {
    const file = path.join(dir, "b.journal");
    const first = await Journal.open(file, await fileIdentity(data, "contacts.csv"));
    await first.record(0);
    await first.close();
    writeFileSync(data, "id,phone\n2,0851234568\n");
    const second = await Journal.open(file, await fileIdentity(data, "contacts.csv"));
    expect(second.acknowledged.size).to.equal(0);
    await second.close();
    expect(readFileSync(file, "utf8").split("\n").filter(Boolean)).to.have.length(1);
  });

  it("writes a record made right after the one before it resolved (the next record must not wait on a flush that is over)", async () => {
    const identity = await fileIdentity(data, "contacts.csv");
    const file = path.join(dir, "c.journal");
    const journal = await Journal.open(file, identity);
    // Back to back, each awaited: the second record() runs in the continuation of the first.
    for (let index = 0; index < 5; index += 1) await journal.record(index);
    await journal.close();
    const reopened = await Journal.open(file, identity);
    expect([...reopened.acknowledged].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    await reopened.remove();
  });
});
