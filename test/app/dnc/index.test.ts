import { expect } from "chai";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { entryKey, KeyRecords } from "../../../app/src/dnc/entry-keys";
import { COMPACT_AFTER_DELTAS, DncIndex, INDEX_FOLDER } from "../../../app/src/dnc/index-store";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";

const minutes = (iso: string) => Date.parse(iso) / 60_000;

function records(entries: ReadonlyArray<string | readonly [string, string]>): KeyRecords {
  const out = new KeyRecords(2);
  for (const entry of entries)
    if (typeof entry === "string") out.push(entryKey(entry), 0);
    else out.push(entryKey(entry[0]), minutes(entry[1]));
  return out;
}

describe("a DNC route's index of the entries this service applied (dnc/index-store.ts)", () => {
  let state: string;
  let clock: FakeClock;
  let capture: ReturnType<typeof capturedLogger>;

  beforeEach(() => {
    state = mkdtempSync(path.join(tmpdir(), "dnc-index-"));
    clock = new FakeClock(Date.parse("2026-11-21T08:00:00Z"));
    capture = capturedLogger("info");
  });

  const index = () => new DncIndex(state, clock, capture.logger);

  it("holds what was added minus what was removed, across replicas sharing the volume", async () => {
    const a = index();
    const b = index();
    await a.record("add", records(["+447911123456", "+447911123457", "+353851234567"]), "0000000000000001");
    await clock.advance(1_000);
    await b.record("remove", records(["+447911123457"]), "0000000000000002");
    expect(await a.refresh()).to.equal(true);
    expect(await a.refresh(), "nothing changed since").to.equal(false);
    for (const view of [a, b]) {
      expect(view.has("+447911123456")).to.equal(true);
      expect(view.has("+447911123457")).to.equal(false);
      expect(view.has("+353851234567")).to.equal(true);
      expect(view.size).to.equal(2);
    }
  });

  it("counts an entry with an expiry until it expires, and a later add's expiry wins", async () => {
    const store = index();
    await store.record(
      "add",
      records([
        ["+447911123456", "2026-11-21T09:00Z"],
        ["+447911123457", "2026-11-21T09:00Z"],
      ]),
      "0000000000000001",
    );
    await clock.advance(1_000);
    await store.record("add", records([["+447911123457", "2026-11-22T09:00Z"]]), "0000000000000002");
    expect(store.has("+447911123456")).to.equal(true);
    await clock.advance(3_600_000);
    expect(store.has("+447911123456"), "expired at 09:00").to.equal(false);
    expect(store.has("+447911123457")).to.equal(true);
  });

  it("records a file once: a file resumed after it wrote its delta writes none", async () => {
    const store = index();
    await store.record("add", records(["+447911123456"]), "00000000000000aa");
    await clock.advance(1_000);
    await store.record("add", records(["+447911123456"]), "00000000000000aa");
    expect(
      readdirSync(path.join(state, INDEX_FOLDER)).filter((name) => name.endsWith(".delta")),
    ).to.have.length(1);
  });

  it("merges its deltas into base.idx once they are many, dropping expired entries, and reads the same after", async () => {
    const store = index();
    for (let file = 0; file < COMPACT_AFTER_DELTAS; file += 1) {
      await clock.advance(1_000);
      const entry = `+4479111${String(file).padStart(5, "0")}`;
      await store.record(
        "add",
        records(file === 3 ? [[entry, "2026-11-21T08:01Z"]] : [entry]),
        file.toString(16).padStart(16, "0"),
      );
    }
    await clock.advance(120_000);
    await store.compact();
    const names = readdirSync(path.join(state, INDEX_FOLDER));
    expect(names).to.deep.equal(["base.idx"]);
    const fresh = index();
    await fresh.refresh();
    expect(fresh.size).to.equal(COMPACT_AFTER_DELTAS - 1);
    expect(fresh.has("+447911100000")).to.equal(true);
    expect(fresh.has("+447911100003"), "expired, dropped").to.equal(false);
  });

  it("leaves out a file it cannot read, once in the log, and counts from the rest", async () => {
    const store = index();
    await store.record("add", records(["+447911123456"]), "0000000000000001");
    writeFileSync(
      path.join(state, INDEX_FOLDER, "2026-11-21T08-00-00-001Z-00000000000000ff.add.delta"),
      "{}\n1234",
    );
    const fresh = index();
    await fresh.refresh();
    await fresh.refresh();
    expect(fresh.has("+447911123456")).to.equal(true);
    expect(capture.lines.filter((line) => line.includes("DNC_INDEX_UNREADABLE"))).to.have.length(1);
  });

  it("keeps 8 bytes an entry that never expires and 12 for one that does, and answers 100,000 look-ups in well under a second", async () => {
    const store = index();
    const many = new KeyRecords();
    for (let entry = 0; entry < 100_000; entry += 1)
      many.push(entryKey(`+4479${String(entry).padStart(8, "0")}`), 0);
    await store.record("add", many, "0000000000000001");
    const arrays = store as unknown as { permanent: Uint32Array; expiring: Uint32Array };
    expect(arrays.permanent.byteLength).to.equal(100_000 * 8);
    expect(arrays.expiring.byteLength).to.equal(0);
    const started = process.hrtime.bigint();
    let found = 0;
    for (let entry = 0; entry < 100_000; entry += 1)
      if (store.has(`+4479${String(entry * 2).padStart(8, "0")}`)) found += 1;
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(found).to.equal(50_000);
    expect(elapsedMs).to.be.below(1_000);
  });
});
