import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout } from "../../../app/src/shared/layout";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { generateCsv } from "../../support/contacts";
import { killAll, listFolder, serviceEnv, spawnService, waitFor } from "../../support/harness";

const ROOT = path.resolve(__dirname, "../../..");

/** The pod's user and group (the chart's securityContext). */
const POD = { uid: 500, gid: 500 };
/** Another system that writes the shared volume: an SFTP account, a CRM export job. */
const WRITER = { uid: 1001, gid: 1001 };

/** A free loopback port, so the test can ask the service's /readyz and /metrics. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A data dir as the volume is in the pod: owned by the pod's group, setgid, group-writable. */
async function podDataDir(dir: string): Promise<string> {
  await ensureLayout(dataLayout(dir));
  const chownTree = (at: string) => {
    chownSync(at, POD.uid, POD.gid);
    chmodSync(at, 0o2775);
    for (const entry of readdirSync(at, { withFileTypes: true }))
      if (entry.isDirectory()) chownTree(path.join(at, entry.name));
  };
  chownTree(dir);
  return dir;
}

/** Writes a file as another system would: under a dot-name, owned by that system, then renamed in. */
function dropAs(
  owner: { uid: number; gid: number },
  mode: number,
  dataDir: string,
  name: string,
  content: string,
) {
  const temporary = path.join(dataDir, "inbox", `.${name.slice(0, 200)}.tmp`);
  writeFileSync(temporary, content);
  chownSync(temporary, owner.uid, owner.gid);
  chmodSync(temporary, mode);
  renameSync(temporary, path.join(dataDir, "inbox", name));
}

/**
 * The service as the pod runs it, uid 500, on files it did not create: other owners, other modes,
 * long names, pipes and folders, and a volume that fills up. These run only as root (to change
 * owners, switch user and mount a small volume), as CI and the cluster kit do.
 */
describe("the service as the pod runs it (uid 500) on files of other systems", function () {
  this.timeout(180_000);
  let sim: GenesysSimulator;
  const children: Array<ReturnType<typeof spawnService>> = [];
  const mounts: string[] = [];

  /** Folders above the checkout given traverse permission for the test, with their modes before. */
  const opened: Array<{ dir: string; mode: number }> = [];

  before(function () {
    if (process.getuid?.() !== 0)
      throw new Error(
        "these tests switch to uid 500, chown files and mount a small tmpfs: run npm test as root (as CI does)",
      );
    // uid 500 runs the service from this checkout, which may sit below a private folder (mktemp -d
    // makes 0700): such folders get traverse permission (o+x, no listing) until the tests end.
    for (let dir = ROOT; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode } = statSync(dir);
      if ((mode & 0o001) === 0) {
        opened.push({ dir, mode: mode & 0o7777 });
        chmodSync(dir, (mode & 0o7777) | 0o001);
      }
    }
    const probe = spawnSync(
      process.execPath,
      ["-e", `require("fs").accessSync(${JSON.stringify(ROOT)} + "/app/src/main.ts", 4)`],
      POD,
    );
    if (probe.status !== 0)
      throw new Error(
        `uid 500 cannot read the checkout at ${ROOT}: make it readable by others (chmod -R o+rX)`,
      );
  });
  after(() => {
    for (const { dir, mode } of opened.splice(0).reverse()) chmodSync(dir, mode);
  });
  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
  });
  afterEach(async () => {
    await killAll(children);
    await sim.close();
    for (const mount of mounts.splice(0)) execFileSync("umount", ["-l", mount]);
  });

  const start = (dataDir: string, extra: Record<string, string> = {}) => {
    const spawned = spawnService(
      serviceEnv(sim, dataDir, { LOG_LEVEL: "info", GENESYS_RATE_LIMIT_PER_WINDOW: "100000", ...extra }),
      [],
      POD,
    );
    children.push(spawned);
    return spawned;
  };
  const archived = (dataDir: string) =>
    listFolder(dataDir, "archive").filter(
      (name) => !name.endsWith(".json") && !name.endsWith(".rejects.csv"),
    );

  it("imports files of other owners (644, 666) and of any name length, refuses what it cannot take with the reason, and never stalls", async () => {
    const dataDir = await podDataDir(mkdtempSync(path.join(tmpdir(), "sync-pod-")));
    chmodSync(dataDir, 0o2775);
    const files = {
      "sftp-644.csv": generateCsv(3_000, { idPrefix: "a-" }),
      "shared-666.csv": generateCsv(3_000, { idPrefix: "b-" }),
      [`${"x".repeat(250)}.csv`]: generateCsv(10, { idPrefix: "c-" }),
      [`${"y".repeat(220)}.csv`]: generateCsv(10, { idPrefix: "d-" }),
      "behind-the-long-ones.csv": generateCsv(10, { idPrefix: "e-" }),
    };
    // Heartbeats every 250 ms, on files the pod does not own: the claim must not touch them.
    dropAs(WRITER, 0o644, dataDir, "sftp-644.csv", files["sftp-644.csv"].content);
    dropAs({ uid: 0, gid: 0 }, 0o666, dataDir, "shared-666.csv", files["shared-666.csv"].content);
    for (const name of Object.keys(files).slice(2))
      dropAs(WRITER, 0o644, dataDir, name, files[name]!.content);
    dropAs(WRITER, 0o600, dataDir, "private.csv", "id,phone\n1,+353851234567\n");
    mkdirSync(path.join(dataDir, "inbox", "a-folder.csv"));
    execFileSync("mkfifo", [path.join(dataDir, "inbox", "a-pipe.csv")]);

    const service = start(dataDir, {
      IMPORT_CLAIM_TIMEOUT_SECONDS: "1",
      // Slow enough that heartbeats happen while the files are held.
      GENESYS_RATE_LIMIT_PER_WINDOW: "5",
      GENESYS_RATE_LIMIT_WINDOW_MS: "1000",
      POD_NAME: "genesys-sync-7d9f8b6c5d-abcde".padEnd(63, "z"),
    });
    await waitFor(() => archived(dataDir).length === 5, "the five readable files to be archived", 120_000);
    const goodIds = Object.values(files).flatMap((file) => file.goodIds);
    expect(sim.contacts().size).to.equal(goodIds.length);
    for (const id of goodIds) expect(sim.contacts().has(id), id).to.equal(true);

    await waitFor(
      () => listFolder(dataDir, "rejects").filter((n) => n.endsWith(".reason.txt")).length === 3,
      "three refusals",
    );
    const reasons = Object.fromEntries(
      listFolder(dataDir, "rejects")
        .filter((name) => name.endsWith(".reason.txt"))
        .map((name) => [
          name.replace(/^.*?Z-/, "").replace(/\.reason\.txt$/, ""),
          readFileSync(path.join(dataDir, "rejects", name), "utf8"),
        ]),
    );
    expect(reasons["private.csv"]).to.contain("the service (uid 500) may not read it");
    // A folder of another user cannot be moved by uid 500: it stays, its reason written once.
    expect(reasons["a-folder.csv"]).to.contain("it is a folder, not a file");
    expect(reasons["a-folder.csv"]).to.contain("may not move it out of inbox/ (EACCES): remove it by hand");
    expect(existsSync(path.join(dataDir, "inbox", "a-folder.csv"))).to.equal(true);
    expect(reasons["a-pipe.csv"]).to.contain("not a regular file");
    expect(listFolder(dataDir, "inbox")).to.deep.equal([]);
    expect(service.output()).to.not.match(/EPERM|ENAMETOOLONG|EACCES/);
    // The files keep their owners and their times: the service set nothing on them.
    const longArchived = archived(dataDir).find((name) => name.includes("xxxxxxxx"))!;
    expect(Buffer.byteLength(longArchived)).to.be.at.most(230);
    const summary = JSON.parse(
      readFileSync(path.join(dataDir, "archive", `${longArchived}.summary.json`), "utf8"),
    );
    expect(summary.name).to.equal(`${"x".repeat(250)}.csv`);
  });

  it("files of another owner that are still growing: one waits in inbox/ until it settles, one written to after its claim is put aside with the rows already sent", async () => {
    const dataDir = await podDataDir(mkdtempSync(path.join(tmpdir(), "sync-pod-")));
    const inbox = path.join(dataDir, "inbox");
    // Written in place, without a rename, by uid 1001: the writers the settle time exists for.
    const slow = generateCsv(3_000, { idPrefix: "slow-" });
    const slowLines = slow.content.split("\n").filter((line) => line !== "");
    const slowFile = path.join(inbox, "slow-writer.csv");
    writeFileSync(slowFile, `${slowLines.slice(0, 1_000).join("\n")}\n`);
    chownSync(slowFile, WRITER.uid, WRITER.gid);
    const service = start(dataDir, {
      IMPORT_SETTLE_SECONDS: "1",
      IMPORT_CLAIM_TIMEOUT_SECONDS: "1",
      GENESYS_RATE_LIMIT_PER_WINDOW: "5",
      GENESYS_RATE_LIMIT_WINDOW_MS: "1000",
    });
    for (const part of [slowLines.slice(1_000, 2_000), slowLines.slice(2_000)]) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(readdirSync(inbox), "not claimed while it grows").to.include("slow-writer.csv");
      appendFileSync(slowFile, `${part.join("\n")}\n`);
    }
    await waitFor(
      () => archived(dataDir).some((name) => name.endsWith("slow-writer.csv")),
      "the settled file",
    );
    for (const id of slow.goodIds) expect(sim.contacts().has(id), id).to.equal(true);

    const late = generateCsv(20_000, { idPrefix: "late-" });
    dropAs(WRITER, 0o644, dataDir, "late-writer.csv", late.content);
    await waitFor(() => sim.contacts().size >= slow.goodIds.length + 2_000, "part of late-writer.csv");
    const folder = readdirSync(path.join(dataDir, "processing")).find((name) =>
      existsSync(path.join(dataDir, "processing", name, "late-writer.csv")),
    )!;
    appendFileSync(
      path.join(dataDir, "processing", folder, "late-writer.csv"),
      "late-x,+353851111111,Late,x\n",
    );
    const reasonOf = () =>
      listFolder(dataDir, "rejects")
        .filter((name) => name.endsWith("late-writer.csv.reason.txt"))
        .map((name) => readFileSync(path.join(dataDir, "rejects", name), "utf8"))
        .find((text) => text !== "");
    await waitFor(() => reasonOf() !== undefined, "late-writer.csv to be put aside");
    const reason = reasonOf()!;
    expect(reason).to.match(/^the file changed after it was claimed \(it grew from \d+ to \d+ bytes\)/);
    const sent = Number(/(\d+) row\(s\) read before the change were sent/.exec(reason)![1]);
    expect(sim.contacts().size - slow.goodIds.length).to.be.at.least(sent);
    expect(service.output()).to.not.match(/EPERM|EACCES/);
  });

  it("a full volume stops the import with a named condition, writes nothing more, and resumes once space is freed", async () => {
    const mount = mkdtempSync(path.join(tmpdir(), "sync-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount]);
    mounts.push(mount);
    const dataDir = await podDataDir(mount);
    const file = generateCsv(2_000);
    dropAs(WRITER, 0o644, dataDir, "contacts.csv", file.content);
    // Another system filled the volume to the last byte.
    const filler = path.join(dataDir, "someone-elses-export.bin");
    try {
      execFileSync("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { stdio: "ignore" });
    } catch {
      // dd ends with "No space left on device": that is the point
    }
    const port = await freePort();
    const service = start(dataDir, { PORT: String(port) });
    const get = async (url: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${url}`).catch(() => undefined);
      return response ? { status: response.status, body: await response.text() } : undefined;
    };
    await waitFor(
      () => service.output().includes("the shared volume is full"),
      "the full volume to be noticed",
      60_000,
    );
    let ready: { status: number; body: string } | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      ready = await get("/readyz");
      if (ready?.body.includes("the shared volume is full")) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ready!.body).to.contain("the shared volume is full");
    expect(ready!.body).to.contain("free space on it");
    expect((await get("/metrics"))!.body).to.match(/^import_volume_full 1$/m);
    // A few scan intervals on a full volume: said once, nothing sent, nothing retried in a loop.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(service.output().split("the shared volume is full").length - 1).to.equal(1);
    expect(sim.contacts().size).to.equal(0);

    rmSync(filler);
    await waitFor(
      () => archived(dataDir).length === 1,
      "the file to be imported once space was freed",
      60_000,
    );
    expect(sim.contacts().size).to.equal(file.goodIds.length);
    expect((await get("/metrics"))!.body).to.match(/^import_volume_full 0$/m);
    expect(service.output()).to.contain("the shared volume has room again");
    expect(existsSync(path.join(dataDir, "inbox", "contacts.csv"))).to.equal(false);
  });
});
