import { expect } from "chai";
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ClaimStore, LEASE_FILE, replicaId } from "../../../app/src/import/claims";
import { ReplicaIdError } from "../../../app/src/import/errors";
import {
  dataLayout,
  ensureLayout,
  NAME_MAX,
  nameProblem,
  parseStampedName,
  storageName,
  timestampForName,
} from "../../../app/src/shared/layout";
import { FakeClock } from "../../support/fake-clock";
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
    utimesSync(path.join(layout.processing, "dead", LEASE_FILE), stale, stale);
    const [first, second] = await Promise.all([
      store(layout, "a").recoverStale(),
      store(layout, "b").recoverStale(),
    ]);
    expect(first.length + second.length).to.equal(1);
    // The dead replica's folder held nothing more, so it is gone.
    expect(readdirSync(layout.processing)).to.not.include("dead");
    expect(await dead!.check()).to.deep.equal({ state: "lost" });
  });

  it("never sets anything on the claimed file: its times stay as its writer left them", async () => {
    const layout = await layoutWithFiles(["x.csv"]);
    const written = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(layout.inbox, "x.csv"), written, written);
    const clock = new FakeClock(Date.now());
    const replica = new ClaimStore(layout, { replicaId: "r1", claimTimeoutMs: 60_000, settleMs: 0 }, clock);
    const claim = (await replica.claim("x.csv"))!;
    await clock.advance(30_000);
    expect(await claim.check()).to.deep.equal({ state: "held" });
    expect(Math.round(statSync(claim.path).mtimeMs)).to.equal(written.getTime());
    // Its liveness is the replica's own lease.
    expect(Math.round(statSync(path.join(layout.processing, "r1", LEASE_FILE)).mtimeMs)).to.equal(
      clock.now(),
    );
  });

  it("keeps a claimed file's name as dropped, however long, and shortens only the names derived from it", async () => {
    const long = `${"a".repeat(250)}.csv`;
    const layout = await layoutWithFiles([long, "next.csv"]);
    const replica = store(layout, replicaId("x".repeat(63), 123456, "abcdef01"));
    expect((await replica.scanInbox()).ready).to.deep.equal([long, "next.csv"]);
    const claim = (await replica.claim(long))!;
    expect(path.basename(claim.path)).to.equal(long);
    const archived = path.basename(claim.archivePath());
    expect(Buffer.byteLength(`${archived}.summary.json`)).to.be.at.most(NAME_MAX);
    expect(archived).to.match(/\.csv$/);
    expect(storageName(long)).to.not.equal(storageName(`${"a".repeat(249)}b.csv`));
    const rejected = await claim.reject("test");
    expect(readFileSync(`${rejected}.reason.txt`, "utf8")).to.contain(`file name as dropped: ${long}`);
    expect(await replica.claim("next.csv")).to.not.equal(undefined);
  });

  it("refuses a replica id that cannot name a folder, with a code to alert on", async () => {
    const layout = await layoutWithFiles([]);
    for (const make of [() => store(layout, "a/b"), () => replicaId("pod", 1, "not-hex")])
      expect(make).to.throw(ReplicaIdError).with.property("code", "IMPORT_REPLICA_ID_INVALID");
  });

  it("says 'too long' for a name past what filesystems take", () => {
    expect(nameProblem(`${"a".repeat(300)}.csv`)).to.match(
      /^the name is too long \(304 bytes; at most 255\)/,
    );
    expect(nameProblem(`${"a".repeat(226)}.csv`)).to.equal(undefined);
  });

  it("refuses a folder or a pipe named like a data file, and leaves other folders alone", async () => {
    const layout = await layoutWithFiles([]);
    mkdirSync(path.join(layout.inbox, "folder.csv"));
    mkdirSync(path.join(layout.inbox, "some-folder"));
    execFileSync("mkfifo", [path.join(layout.inbox, "pipe.csv")]);
    const refused = Object.fromEntries(
      (await store(layout, "r1").scanInbox()).refused.map(({ name, reason }) => [name, reason]),
    );
    expect(Object.keys(refused).sort()).to.deep.equal(["folder.csv", "pipe.csv"]);
    expect(refused["folder.csv"]).to.contain("it is a folder, not a file");
    expect(refused["pipe.csv"]).to.contain("not a regular file");
    const moved = await store(layout, "r1").refuse("pipe.csv", refused["pipe.csv"]!);
    expect(readFileSync(`${moved}.reason.txt`, "utf8")).to.contain("pipe");
  });

  it("tells a file written to after its claim, and one deleted, from one taken over", async () => {
    const layout = await layoutWithFiles(["grows.csv", "shrinks.csv", "replaced.csv", "deleted.csv"]);
    const replica = store(layout, "r1");
    const grows = (await replica.claim("grows.csv"))!;
    appendFileSync(grows.path, "1,+353850000001\n");
    expect(await grows.check()).to.deep.equal({ state: "changed", reason: "it grew from 9 to 25 bytes" });
    const shrinks = (await replica.claim("shrinks.csv"))!;
    writeFileSync(shrinks.path, "id\n");
    expect((await shrinks.check()).state).to.equal("changed");
    const replaced = (await replica.claim("replaced.csv"))!;
    writeFileSync(`${replaced.path}.new`, "id,phone\n");
    renameSync(`${replaced.path}.new`, replaced.path);
    expect(await replaced.check()).to.deep.equal({
      state: "changed",
      reason: "it was replaced by another file",
    });
    const deleted = (await replica.claim("deleted.csv"))!;
    rmSync(deleted.path);
    expect(await deleted.check()).to.deep.equal({ state: "deleted" });
  });

  it("takes over a claim of the version before per-replica folders once it is stale", async () => {
    const layout = await layoutWithFiles([]);
    const legacy = path.join(layout.processing, "old.csv~pod-a-1-aaaaaaaa");
    writeFileSync(legacy, "id,phone\n");
    expect(await store(layout, "r1").recoverStale()).to.deep.equal([]);
    const stale = new Date(Date.now() - 120_000);
    utimesSync(legacy, stale, stale);
    const won = await store(layout, "r1").recoverStale();
    expect(won.map((claim) => claim.name)).to.deep.equal(["old.csv"]);
    expect(won[0]!.path).to.equal(path.join(layout.processing, "r1", "old.csv"));
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
      expect((await held.check()).state).to.equal("lost");
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
