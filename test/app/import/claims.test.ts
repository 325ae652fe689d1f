import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ClaimStore } from "../../../app/src/import/claims";
import { dataLayout, ensureLayout, parseStampedName, timestampForName } from "../../../app/src/shared/layout";
import { systemClock } from "../../../app/src/time/clock";

async function layoutWithFiles(names: string[]) {
  const layout = dataLayout(mkdtempSync(path.join(tmpdir(), "claims-")));
  await ensureLayout(layout);
  for (const name of names) writeFileSync(path.join(layout.inbox, name), "id,phone\n");
  return layout;
}

const store = (
  layout: ReturnType<typeof dataLayout>,
  replicaId: string,
  settleMs = 0,
  claimTimeoutMs = 60_000,
) => new ClaimStore(layout, { replicaId, claimTimeoutMs, settleMs }, systemClock);

describe("claims on the shared volume", () => {
  it("lets exactly one of many replicas claim each file", async () => {
    const names = Array.from({ length: 20 }, (_, index) => `f${index}.csv`);
    const layout = await layoutWithFiles(names);
    const replicas = Array.from({ length: 5 }, (_, index) => store(layout, `r${index}`));
    const won = await Promise.all(
      replicas.map((replica) => Promise.all(names.map((name) => replica.claim(name)))),
    );
    const claimedPerFile = names.map((_, file) => won.filter((claims) => claims[file] !== undefined).length);
    expect(claimedPerFile).to.deep.equal(names.map(() => 1));
    expect(readdirSync(layout.inbox)).to.deep.equal([]);
  });

  it("ignores dot-names and temporary names, and refuses symlinks, unsafe names and other types", async () => {
    const layout = await layoutWithFiles([
      ".hidden.csv",
      "upload.csv.part",
      "ok.csv",
      "a..b.csv",
      "notes.txt",
      "bad name.csv",
    ]);
    symlinkSync("/etc/passwd", path.join(layout.inbox, "link.csv"));
    const scan = await store(layout, "r1").scanInbox();
    expect(scan.ready).to.deep.equal(["ok.csv"]);
    const refused = Object.fromEntries(scan.refused.map(({ name, reason }) => [name, reason]));
    expect(Object.keys(refused).sort()).to.deep.equal(["a..b.csv", "bad name.csv", "link.csv", "notes.txt"]);
    expect(refused["link.csv"]).to.contain("symbolic links are not imported");
    expect(refused["a..b.csv"]).to.contain('contains ".."');
    const moved = await store(layout, "r1").refuse("link.csv", refused["link.csv"]!);
    expect(readFileSync(`${moved}.reason.txt`, "utf8")).to.contain("symbolic links");
  });

  it("leaves a file that is still being written until it settles", async () => {
    const layout = await layoutWithFiles([]);
    const replica = store(layout, "r1", 60_000);
    writeFileSync(path.join(layout.inbox, "growing.csv"), "id,phone\n");
    expect((await replica.scanInbox()).ready).to.deep.equal([]);
    const old = new Date(Date.now() - 120_000);
    utimesSync(path.join(layout.inbox, "growing.csv"), old, old);
    expect((await replica.scanInbox()).ready).to.deep.equal(["growing.csv"]);
  });

  it("takes over a claim whose holder stopped heartbeating, once", async () => {
    const layout = await layoutWithFiles(["x.csv"]);
    const dead = await store(layout, "dead").claim("x.csv");
    const stale = new Date(Date.now() - 120_000);
    utimesSync(dead!.path, stale, stale);
    const [first, second] = await Promise.all([
      store(layout, "a").recoverStale(),
      store(layout, "b").recoverStale(),
    ]);
    expect(first.length + second.length).to.equal(1);
    expect(await dead!.heartbeat()).to.equal(false);
  });
});

describe("stamped names in archive/ and rejects/", () => {
  it("give back the time and the original name they were made from", () => {
    const atMs = Date.parse("2026-11-21T08:09:10.123Z");
    expect(parseStampedName(`${timestampForName(atMs)}-contacts-2026-11.csv`)).to.deep.equal({
      atMs,
      original: "contacts-2026-11.csv",
    });
    expect(parseStampedName("contacts.csv")).to.equal(undefined);
  });
});
