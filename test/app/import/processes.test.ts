import { expect } from "chai";
import { mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout } from "../../../app/src/shared/layout";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { generateCsv } from "../../support/contacts";
import { writeSampleCsv } from "../../../simulator/demo/sample-contacts";
import { dropFile, killAll, listFolder, serviceEnv, spawnService, waitFor } from "../../support/harness";

/**
 * The service as real, separate processes (`app/src/main.ts`) sharing one data dir, against the
 * simulator: what happens to a pod that is killed, or to replicas that race for files.
 */
describe("the service as separate processes on one data dir", function () {
  this.timeout(180_000);
  let sim: GenesysSimulator;
  let dataDir: string;
  const children: Array<ReturnType<typeof spawnService>> = [];

  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
    dataDir = mkdtempSync(path.join(tmpdir(), "sync-proc-"));
    await ensureLayout(dataLayout(dataDir));
  });
  afterEach(async () => {
    await killAll(children);
    await sim.close();
  });

  const start = (extra: Record<string, string> = {}) => {
    const spawned = spawnService(
      serviceEnv(sim, dataDir, { IMPORT_CLAIM_TIMEOUT_SECONDS: "1", LOG_LEVEL: "info", ...extra }),
    );
    children.push(spawned);
    return spawned;
  };
  const archived = () => listFolder(dataDir, "archive").filter((name) => name.endsWith(".csv"));
  const totalWrites = () => [...sim.contacts().values()].reduce((sum, contact) => sum + contact.writes, 0);
  // Paced at 10 batches per 1.25 s so that a kill lands in the middle of the file.
  const SLOW = { GENESYS_RATE_LIMIT_PER_WINDOW: "10", GENESYS_RATE_LIMIT_WINDOW_MS: "1000" };

  it("kill -9 in the middle of a file, then a restart: every good row arrives, at most the in-flight batches twice", async () => {
    const file = generateCsv(60_000, { badEvery: 500 });
    dropFile(dataDir, "crash.csv", file.content);
    const first = start(SLOW);
    await waitFor(() => sim.contacts().size >= 15_000, "part of the file to be imported", 60_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const before = sim.contacts().size;
    expect(before).to.be.lessThan(file.goodIds.length);
    expect(listFolder(dataDir, "state")).to.include("crash.csv.journal");

    const second = start();
    await waitFor(() => archived().length === 1, "the file to be finished after the restart", 90_000);
    expect(sim.contacts().size).to.equal(file.goodIds.length);
    for (const id of file.goodIds) expect(sim.contacts().has(id)).to.equal(true);
    const resent = totalWrites() - sim.contacts().size;
    expect(resent, "only batches in flight at the kill are sent again").to.be.at.most(4 * 1_000);
    const summary = JSON.parse(
      readFileSync(path.join(dataDir, "archive", `${archived()[0]}.summary.json`), "utf8"),
    );
    expect(summary.alreadySynced, "the restart skipped what the journal listed").to.be.at.least(
      before - 4 * 1_000,
    );
    expect(second.output()).to.contain("took over a claim whose replica stopped heartbeating");
  });

  it("three kill -9s of a pod's container during 50,000 rows: each restart resumes in seconds, every row arrives", async () => {
    // The claim timeout stays at its default (300 s): only the pod's own name lets a restart resume.
    const file = generateCsv(50_000);
    dropFile(dataDir, "restarts.csv", file.content);
    const pod = { POD_NAME: "genesys-sync-7d9f-abcde", IMPORT_CLAIM_TIMEOUT_SECONDS: "300" };
    const paced = { GENESYS_RATE_LIMIT_PER_WINDOW: "4", GENESYS_RATE_LIMIT_WINDOW_MS: "1000" };
    const resumeSeconds: number[] = [];
    let current = start({ ...paced, ...pod });
    for (const threshold of [8_000, 20_000, 32_000]) {
      await waitFor(() => sim.contacts().size >= threshold, `${threshold} contacts`, 60_000);
      current.child.kill("SIGKILL");
      await current.exited;
      const stalledAt = sim.contacts().size;
      const restartedAt = Date.now();
      current = start({ ...paced, ...pod });
      await waitFor(() => sim.contacts().size > stalledAt, "the restarted container to resume", 60_000);
      resumeSeconds.push((Date.now() - restartedAt) / 1000);
      expect(current.output()).to.contain("took over a claim");
    }
    await waitFor(() => archived().length === 1, "the file to be finished", 90_000);
    expect(sim.contacts().size).to.equal(file.goodIds.length);
    expect(
      totalWrites() - sim.contacts().size,
      "at most the batches in flight re-sent per crash",
    ).to.be.at.most(3 * 4 * 1_000);
    // Seconds (a process start and one scan), not the 300 s claim timeout.
    for (const seconds of resumeSeconds) expect(seconds).to.be.lessThan(30);
  });

  it("a 1,000,000-row bulk load survives kill -9 mid-upload: one upload reaches Genesys, every row arrives", async () => {
    // Genesys' side: 25 MB/s read from the client (a kill lands mid-upload), a fast import, and
    // only counts kept, not a million contact objects.
    await sim.close();
    sim = await startSimulator({
      rateLimit: { requestsPerWindow: 300, windowMs: 60_000 },
      retainContacts: false,
      uploadBytesPerSecond: 25_000_000,
      uploadRecordsPerSecond: 500_000,
    });
    const rows = 1_000_000;
    const written = await writeSampleCsv(path.join(dataDir, "inbox", "bulk", ".nightly.csv.tmp"), { rows });
    renameSync(
      path.join(dataDir, "inbox", "bulk", ".nightly.csv.tmp"),
      path.join(dataDir, "inbox", "bulk", "nightly.csv"),
    );
    const bulkEnv = { IMPORT_BULK_UNSEEN_SECONDS: "2", POD_NAME: "genesys-sync-7d9f-bulk1" };
    const first = start(bulkEnv);
    await waitFor(
      () => sim.uploads.stats().uploadBytesInFlight > 5_000_000,
      "the upload to be under way",
      120_000,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    expect(sim.uploads.received, "the cut-off upload never reached an import").to.have.length(0);
    expect(listFolder(dataDir, "state")).to.include.members([
      "nightly.csv.bulk.json",
      "nightly.csv.bulk.csv",
    ]);

    const second = start(bulkEnv);
    await waitFor(() => archived().length === 1, "the bulk load to finish after the restart", 120_000);
    expect(sim.uploads.received, "one upload reached Genesys").to.have.length(1);
    expect(sim.uploads.aborted).to.equal(1);
    expect(sim.stats().contactWrites).to.equal(written.good);
    expect(second.output()).to.contain("resuming a bulk load from its journal");
    expect(second.output()).to.contain("Genesys is importing the file");
    const summary = JSON.parse(
      readFileSync(path.join(dataDir, "archive", `${archived()[0]}.summary.json`), "utf8"),
    ) as {
      status: string;
      rowsRead: number;
      synced: number;
      bulk: { uploads: number; completedRecords: number };
    };
    expect(summary).to.deep.include({ status: "imported", rowsRead: rows, synced: written.good });
    expect(summary.bulk.completedRecords).to.equal(written.good);
    expect(summary.bulk.uploads, "begun twice: the first was cut off before Genesys had it").to.equal(2);
  });

  it("two processes on one data dir import each file exactly once", async () => {
    const files = Array.from({ length: 12 }, (_, index) => generateCsv(1_500, { idPrefix: `f${index}-` }));
    start();
    start();
    files.forEach((file, index) => dropFile(dataDir, `batch-${index}.csv`, file.content));
    await waitFor(() => archived().length === files.length, "all files to be archived", 90_000);
    const expected = files.reduce((sum, file) => sum + file.goodIds.length, 0);
    expect(sim.contacts().size).to.equal(expected);
    expect(totalWrites(), "no contact was posted twice").to.equal(expected);
    expect(listFolder(dataDir, "processing")).to.deep.equal([]);
  });

  it("SIGTERM mid-file: exits within the grace period, hands the file back, and the next process resumes it", async () => {
    const file = generateCsv(40_000);
    dropFile(dataDir, "handover.csv", file.content);
    const first = start({ ...SLOW, SHUTDOWN_GRACE_SECONDS: "10" });
    await waitFor(() => sim.contacts().size >= 10_000, "part of the file to be imported", 60_000);
    const signalledAt = Date.now();
    first.child.kill("SIGTERM");
    expect(await first.exited).to.equal(0);
    expect(Date.now() - signalledAt).to.be.lessThan(10_000);
    expect(listFolder(dataDir, "inbox")).to.deep.equal(["handover.csv"]);
    expect(listFolder(dataDir, "state")).to.include("handover.csv.journal");
    expect(first.output()).to.contain("shutting down");

    start();
    await waitFor(() => archived().length === 1, "the file to be finished by the next process", 90_000);
    expect(sim.contacts().size).to.equal(file.goodIds.length);
    expect(totalWrites() - sim.contacts().size).to.be.at.most(4 * 1_000);
  });

  it("exits with every configuration problem listed when the environment is wrong", async () => {
    const broken = spawnService({
      GENESYS_REGION: "atlantis",
      SYNC_DATA_DIR: dataDir,
      GENESYS_CLIENT_SECRET: "hidden-value-xyz",
    });
    children.push(broken);
    expect(await broken.exited).to.equal(78);
    const output = broken.output();
    expect(output).to.contain('unknown Genesys Cloud region \\"atlantis\\"');
    expect(output).to.contain("GENESYS_CLIENT_ID is required");
    expect(output).not.to.contain("hidden-value-xyz");
  });
});
