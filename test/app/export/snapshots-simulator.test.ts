import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Registry } from "prom-client";
import { addContacts } from "../../../app/src/genesys/api";
import { GenesysClient } from "../../../app/src/genesys/client";
import { genesysDispatcher } from "../../../app/src/genesys/dispatcher";
import { ListSnapshotMetrics } from "../../../app/src/export/metrics";
import { ListSnapshots, type SnapshotRoute } from "../../../app/src/export/snapshots";
import { downloadHosts } from "../../../app/src/shared/download-hosts";
import { resolveEndpoints } from "../../../app/src/shared/regions";
import { systemClock } from "../../../app/src/time/clock";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";

const ROOT = path.resolve(__dirname, "../../..");

/**
 * Contact-list snapshots against the simulator (simulator/list-exports.ts): Genesys' export with
 * the dialer's system columns, served by a second host at signed, expiring URLs that need no token.
 */
describe("contact-list snapshots through the simulator", function () {
  this.timeout(120_000);
  let sim: GenesysSimulator;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    sim = await startSimulator({
      rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
      listExportReadyMs: 300,
      contactLists: [
        {
          name: "Campaign A",
          columnNames: ["id", "phone", "name"],
          phoneColumns: [{ columnName: "phone", type: "cell" }],
        },
      ],
    });
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await sim.close();
  });

  function setUp(routes: SnapshotRoute[], readyTimeoutMs = 30_000) {
    const outbox = mkdtempSync(path.join(tmpdir(), "snapshots-sim-"));
    const dispatcher = genesysDispatcher(undefined);
    const { logger } = capturedLogger("debug");
    const client = new GenesysClient({
      endpoints: resolveEndpoints({ apiBaseUrl: sim.apiBaseUrl, loginBaseUrl: sim.loginBaseUrl }),
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      dispatcher,
      logger,
    });
    client.start();
    const shutdown = new AbortController();
    const registry = new Registry();
    const snapshots = new ListSnapshots({
      client,
      dispatcher,
      routes: () => routes,
      leadership: { isLeader: () => true, onChange: () => undefined },
      outboxDir: outbox,
      schedule: { kind: "interval", intervalMs: 3_600_000 },
      keep: 3,
      readyTimeoutMs,
      // The simulator's download host stands for api-downloads.<domain>: an extra host here.
      allowedHosts: downloadHosts({
        apiBaseUrl: sim.apiBaseUrl,
        extraHosts: [new URL(sim.downloadBaseUrl).host],
      }),
      metrics: new ListSnapshotMetrics(registry),
      clock: systemClock,
      random: () => 0,
      logger,
      signal: shutdown.signal,
    });
    closers.push(async () => {
      shutdown.abort();
      await snapshots.stopped();
      await client.close();
      await dispatcher.close();
    });
    return { snapshots, client, lists: path.join(outbox, "lists"), registry };
  }

  const listId = () => sim.contactListIds.at(-1)!;

  it("publishes the list with its system columns, filled from the dialer's calls; the token never reaches the download host", async () => {
    const { snapshots, client, lists } = setUp([{ name: "campaign-a", contactListId: listId() }]);
    await client.whenReady();
    await addContacts(client, listId(), [
      { id: "c-1", contactListId: listId(), data: { id: "c-1", phone: "+353850000001", name: "Aoife" } },
      { id: "c-2", contactListId: listId(), data: { id: "c-2", phone: "+353850000002", name: "Brian" } },
    ]);
    sim.recordCall(listId(), "c-1", {
      column: "phone",
      atMs: Date.parse("2026-11-20T10:00:00Z"),
      result: "ININ-OUTBOUND-NO-ANSWER",
      callable: false,
    });

    const result = await snapshots.snapshotRoute({ name: "campaign-a", contactListId: listId() });
    expect(result.outcome, result.error?.message).to.equal("ok");
    const files = readdirSync(lists);
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/^campaign-a-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.csv$/);
    const text = readFileSync(path.join(lists, files[0]!), "utf8");
    expect(text.charCodeAt(0), "the export's byte-order mark is kept, byte for byte").to.equal(0xfeff);
    const [header, ...rows] = text
      .replace(/^\uFEFF/, "")
      .trimEnd()
      .split(/\r?\n/);
    for (const column of [
      "inin-outbound-id",
      "phone",
      "ContactCallable",
      "CallRecordLastAttempt-phone",
      "CallRecordLastResult-phone",
      "Callable-phone",
    ])
      expect(header).to.contain(`"${column}"`);
    expect(rows).to.have.length(2);
    expect(rows.find((row) => row.includes('"c-1"'))).to.contain('"ININ-OUTBOUND-NO-ANSWER"');
    const stats = sim.stats() as Record<string, number>;
    expect(stats.downloadsCompleted).to.equal(1);
    expect(stats.downloadsWithAuthorization).to.equal(0);
  });

  it("a download cut short is tried again with a new signed URL; cut every time, no file is left and it counts a failure", async () => {
    const { snapshots, lists, registry } = setUp([{ name: "default", contactListId: listId() }]);
    sim.setSyntheticExportRows(listId(), 5_000);
    sim.faults.cutDownloads(1, 10_000);
    expect((await snapshots.snapshotRoute({ name: "default", contactListId: listId() })).outcome).to.equal(
      "ok",
    );
    expect((sim.stats() as Record<string, number>).downloadsCut).to.equal(1);
    expect(
      readFileSync(path.join(lists, readdirSync(lists)[0]!), "utf8")
        .trimEnd()
        .split(/\r?\n/),
    ).to.have.length(5_001);

    sim.faults.cutDownloads(4, 10_000);
    const failed = await snapshots.snapshotRoute({ name: "default", contactListId: listId() });
    expect(failed.outcome).to.equal("failed");
    expect(readdirSync(lists), "the first snapshot alone, no partial").to.have.length(1);
    const value = (await registry.getSingleMetric("export_list_snapshots_total")?.get())?.values.find(
      (entry) => entry.labels.outcome === "failed",
    )?.value;
    expect(value).to.equal(1);
  });

  it("an export that never becomes ready ends the snapshot as not_ready after the timeout", async () => {
    const { snapshots, lists } = setUp([{ name: "default", contactListId: listId() }], 3_000);
    sim.faults.exportsNeverReady(true);
    const started = Date.now();
    const outcome = await snapshots.snapshotRoute({ name: "default", contactListId: listId() });
    expect(outcome.outcome).to.equal("not_ready");
    expect(Date.now() - started).to.be.within(2_900, 10_000);
    expect(readdirSync(lists)).to.deep.equal([]);
  });
});

/**
 * The done-when figures: a 1,000,000-contact snapshot streams in bounded memory, and kill -9 in
 * the middle of a download leaves no half file. Each snapshot runs in a process of its own, as
 * the service would, against the simulator in this one.
 */
describe("contact-list snapshots in a process of their own: 1,000,000 contacts, and kill -9", function () {
  this.timeout(300_000);
  let sim: GenesysSimulator;
  const start = async (downloadBytesPerSecond?: number) => {
    sim = await startSimulator({
      rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
      listExportReadyMs: 200,
      retainContacts: false,
      ...(downloadBytesPerSecond ? { downloadBytesPerSecond } : {}),
    });
  };
  afterEach(async () => sim.close());

  /** A child that takes the default route's snapshot with the service's modules and prints its memory. */
  function childScript(outbox: string): string {
    const settings = {
      api: sim.apiBaseUrl,
      login: sim.loginBaseUrl,
      clientId: sim.clients[0]!.clientId,
      clientSecret: sim.clients[0]!.clientSecret,
      listId: sim.contactListIds[0]!,
      downloadHost: new URL(sim.downloadBaseUrl).host,
      outbox,
    };
    return `
      const { readFileSync, writeFileSync } = require("node:fs");
      const { Registry } = require("prom-client");
      const { GenesysClient } = require("./app/src/genesys/client");
      const { genesysDispatcher } = require("./app/src/genesys/dispatcher");
      const { ListSnapshots } = require("./app/src/export/snapshots");
      const { ListSnapshotMetrics } = require("./app/src/export/metrics");
      const { createLogger } = require("./app/src/logging");
      const { systemClock } = require("./app/src/time/clock");
      const s = ${JSON.stringify(settings)};
      const kb = (name) => Number(new RegExp("^" + name + ":[ \\\\t]+([0-9]+) kB", "m").exec(readFileSync("/proc/self/status", "utf8"))[1]) * 1024;
      (async () => {
        const dispatcher = genesysDispatcher(undefined);
        const logger = createLogger({ level: "warn" });
        const client = new GenesysClient({ endpoints: { apiBaseUrl: s.api, loginBaseUrl: s.login, appsBaseUrl: s.api }, clientId: s.clientId, clientSecret: s.clientSecret, dispatcher, logger });
        client.start();
        await client.whenReady();
        const snapshots = new ListSnapshots({
          client, dispatcher, routes: () => [{ name: "default", contactListId: s.listId }],
          leadership: { isLeader: () => true, onChange: () => undefined },
          outboxDir: s.outbox, schedule: { kind: "interval", intervalMs: 3600000 }, keep: 7,
          readyTimeoutMs: 600000, allowedHosts: [s.downloadHost], metrics: new ListSnapshotMetrics(new Registry()),
          clock: systemClock, random: () => 0, logger, signal: new AbortController().signal,
        });
        global.gc?.();
        // The peak so far is start-up's (ts-node compiling): reset it, and measure from the RSS now.
        try { writeFileSync("/proc/self/clear_refs", "5"); } catch {}
        const before = kb("VmRSS");
        await snapshots.runDue();
        const route = snapshots.status().routes[0];
        process.stdout.write(JSON.stringify({ before, peak: kb("VmHWM"), last: route.last, error: route.lastError }) + "\\n");
        await client.close();
        await dispatcher.close();
      })().catch((error) => { console.error(error); process.exit(1); });
    `;
  }

  function runChild(outbox: string) {
    let output = "";
    const child = spawn(
      process.execPath,
      ["--expose-gc", "-r", "ts-node/register/transpile-only", "-e", childScript(outbox)],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, exited, output: () => output };
  }

  it("streams a 1,000,000-contact export to disk with peak RSS within 64 MiB of where it started", async () => {
    await start();
    sim.setSyntheticExportRows(sim.contactListIds[0]!, 1_000_000);
    const outbox = mkdtempSync(path.join(tmpdir(), "snapshots-big-"));
    const run = runChild(outbox);
    expect(await run.exited, run.output()).to.equal(0);
    const measured = JSON.parse(run.output().trim().split("\n").at(-1)!) as {
      before: number;
      peak: number;
      last: { file: string; bytes: number };
    };
    const file = path.join(outbox, "lists", measured.last.file);
    const growth = `RSS ${Math.round(measured.before / 2 ** 20)} MiB before the download, peak ${Math.round(measured.peak / 2 ** 20)} MiB during it`;
    console.log(`      ${growth}, ${Math.round(measured.last.bytes / 2 ** 20)} MiB streamed`);
    expect(statSync(file).size).to.equal(measured.last.bytes);
    expect(measured.last.bytes, "about 100 MB").to.be.greaterThan(80_000_000);
    expect(measured.peak - measured.before, growth).to.be.below(64 * 2 ** 20);
    let lines = 0;
    for (const byte of readFileSync(file)) if (byte === 0x0a) lines += 1;
    expect(lines, "a header and a million contacts").to.equal(1_000_001);
  });

  it("kill -9 mid-download leaves only a dot-named partial, which the next leader's first pass removes", async () => {
    await start(20 * 2 ** 20); // 20 MiB/s: the kill lands in the middle
    sim.setSyntheticExportRows(sim.contactListIds[0]!, 600_000);
    const outbox = mkdtempSync(path.join(tmpdir(), "snapshots-kill-"));
    const lists = path.join(outbox, "lists");
    const partialSize = () => {
      const partial = existsSync(lists)
        ? readdirSync(lists).find((name) => name.endsWith(".partial"))
        : undefined;
      return partial ? statSync(path.join(lists, partial)).size : 0;
    };
    const run = runChild(outbox);
    const deadline = Date.now() + 60_000;
    while (partialSize() < 1_000_000 && Date.now() < deadline && run.child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(partialSize(), run.output()).to.be.at.least(1_000_000);
    run.child.kill("SIGKILL");
    await run.exited;
    const left = readdirSync(lists);
    expect(
      left.filter((name) => !name.startsWith(".")),
      "no file under a final name",
    ).to.deep.equal([]);
    expect(left.filter((name) => name.endsWith(".csv.partial"))).to.have.length(1);

    const again = runChild(outbox);
    expect(await again.exited, again.output()).to.equal(0);
    const after = readdirSync(lists);
    expect(
      after.filter((name) => name.endsWith(".partial")),
      "the orphan is gone",
    ).to.deep.equal([]);
    expect(after).to.have.length(1);
    expect(after[0]).to.match(/^default-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.csv$/);
  });
});
