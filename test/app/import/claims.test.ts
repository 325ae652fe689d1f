import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ClaimStore, replicaId } from "../../../app/src/import/claims";
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
    expect(
      readdirSync(layout.inbox, { withFileTypes: true }).filter((entry) => entry.isFile()),
    ).to.deep.equal([]);
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

  describe("after a crash (kill -9, then a restart)", () => {
    const settings = (id: string, extra: object = {}) => ({
      replicaId: id,
      claimTimeoutMs: 300_000,
      settleMs: 0,
      ...extra,
    });
    const fresh = async () => {
      const layout = await layoutWithFiles(["x.csv"]);
      // Just claimed, heartbeat fresh: only the timeout would free it otherwise.
      const held = await new ClaimStore(
        layout,
        settings(replicaId("pod-a", 1, "aaaaaaaa")),
        systemClock,
      ).claim("x.csv");
      return { layout, held: held! };
    };

    it("a restarted container resumes its own pod's claim at once", async () => {
      const { layout, held } = await fresh();
      const restarted = new ClaimStore(
        layout,
        settings(replicaId("pod-a", 1, "bbbbbbbb"), { hostIsPod: true }),
        systemClock,
      );
      const won = await restarted.recoverStale();
      expect(won.map((claim) => claim.name)).to.deep.equal(["x.csv"]);
      expect(await held.heartbeat()).to.equal(false);
    });

    it("a claim held by a different pod still waits for the timeout", async () => {
      const { layout } = await fresh();
      const other = new ClaimStore(
        layout,
        settings(replicaId("pod-b", 1, "bbbbbbbb"), { hostIsPod: true }),
        systemClock,
      );
      expect(await other.recoverStale()).to.deep.equal([]);
    });

    it("outside Kubernetes, a live process sharing the hostname keeps its claim; a dead one's is resumed", async () => {
      const layout = await layoutWithFiles(["live.csv", "dead.csv"]);
      const alive = new Set([4242]);
      const options = { isProcessAlive: (pid: number) => alive.has(pid) };
      const peer = new ClaimStore(layout, settings(replicaId("laptop", 4242, "aaaaaaaa")), systemClock);
      const gone = new ClaimStore(layout, settings(replicaId("laptop", 4343, "cccccccc")), systemClock);
      await peer.claim("live.csv");
      await gone.claim("dead.csv");
      const self = new ClaimStore(
        layout,
        settings(replicaId("laptop", 5000, "bbbbbbbb"), options),
        systemClock,
      );
      expect((await self.recoverStale()).map((claim) => claim.name)).to.deep.equal(["dead.csv"]);
      // The real check: this test's own process is alive, a pid past the kernel's maximum is not.
      const real = new ClaimStore(layout, settings(replicaId("laptop", 5000, "dddddddd")), systemClock);
      expect(real.isOwnPredecessor(replicaId("laptop", process.pid, "eeeeeeee"))).to.equal(false);
      expect(real.isOwnPredecessor(replicaId("laptop", 4_194_305, "eeeeeeee"))).to.equal(true);
    });

    it("never takes a claim under an id of another form before the timeout", async () => {
      const layout = await layoutWithFiles(["x.csv"]);
      await store(layout, "pod-a").claim("x.csv");
      const restarted = new ClaimStore(
        layout,
        settings(replicaId("pod-a", 1, "bbbbbbbb"), { hostIsPod: true }),
        systemClock,
      );
      expect(await restarted.recoverStale()).to.deep.equal([]);
    });
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
