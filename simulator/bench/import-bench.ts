import { spawn, spawnSync } from "node:child_process";
import { createReadStream, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "csv-parse";
import { writeSampleCsv } from "../demo/sample-contacts";
import { dataLayout, ensureLayout } from "../../app/src/shared/layout";

/**
 * The import part of `npm run bench`. The simulator runs in its own process, so the CPU and
 * memory measured here are the sync service's alone.
 *
 * 1. End-to-end rows/s as a share of the budget (simulator budget × 1,000 contacts per request),
 *    with the share of requests answered 429, at token pool sizes 1, 4 and 16.
 * 2. CPU seconds per 100,000 rows, against a bare csv-parse pass over the same file.
 * 3. Peak RSS while importing a 1 GB file (BENCH_IMPORT_MB changes the size).
 *
 * The service runs compiled, in its own process, as in the container; its CPU time and peak RSS
 * (VmHWM) are read from /proc.
 */
interface SimulatorProcess {
  readonly env: Record<string, string>;
  stats(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

async function spawnSimulator(
  budget: { requestsPerWindow: number; windowMs: number },
  retainContacts: boolean,
  extraEnv: Record<string, string> = {},
): Promise<SimulatorProcess> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "../cli.ts")],
    {
      env: {
        PATH: process.env.PATH ?? "",
        SIM_API_PORT: "0",
        SIM_LOGIN_PORT: "0",
        SIM_BUDGET: String(budget.requestsPerWindow),
        SIM_WINDOW_MS: String(budget.windowMs),
        SIM_RETAIN_CONTACTS: String(retainContacts),
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let output = "";
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes("Ctrl-C")) return;
      const pairs = [...output.matchAll(/^(GENESYS_[A-Z_]+)=(\S+)/gm)].map((match) => [match[1]!, match[2]!]);
      resolve(Object.fromEntries(pairs));
    });
    child.once("exit", (code) => reject(new Error(`simulator exited with ${code}: ${output}`)));
  });
  return {
    env,
    stats: async () =>
      (await (await fetch(`${env.GENESYS_API_BASE_URL}/__simulator/stats`)).json()) as Record<string, number>,
    close: async () => {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

interface ImportRun {
  readonly synced: number;
  readonly elapsedSeconds: number;
  readonly cpuSeconds: number;
  readonly rssBeforeBytes: number;
  readonly peakRssBytes: number;
}

const ROOT = path.resolve(__dirname, "../..");

/** Compiles the service once, so it is measured as it runs in the image: plain JavaScript, no TypeScript compiler in memory. */
function buildService(): void {
  const result = spawnSync(
    path.join(ROOT, "node_modules/.bin/tsc"),
    ["-p", path.join(ROOT, "app/tsconfig.build.json")],
    { stdio: "inherit" },
  );
  if (result.status !== 0) throw new Error("the service did not compile");
}

/** CPU seconds (user + system) and memory of a process, from /proc (Linux). */
function processFigures(pid: number): { cpuSeconds: number; rssBytes: number; peakRssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticksPerSecond = 100;
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { cpuSeconds, rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
}

/**
 * Runs the compiled service (`node app/dist/main.js`) on a fresh data dir, drops `file` in
 * `inbox/<folder>` (inbox/ itself by default), and measures it until the file is archived.
 * `onTick` is called every 20 ms with the seconds elapsed, to time steps along the way.
 */
async function importOnce(
  sim: SimulatorProcess,
  file: string,
  env: Record<string, string>,
  nodeOptions: string[] = [],
  folder = "",
  onTick?: (elapsedSeconds: number) => void,
): Promise<ImportRun> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-import-"));
  await ensureLayout(dataLayout(dataDir));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [...nodeOptions, path.join(ROOT, "app/dist/main.js")], {
    env: {
      PATH: process.env.PATH ?? "",
      ...sim.env,
      SYNC_DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      IMPORT_DEFAULT_COUNTRY: "IE",
      IMPORT_SETTLE_SECONDS: "0",
      IMPORT_SCAN_INTERVAL_SECONDS: "0.05",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const before = processFigures(child.pid!);
  const started = performance.now();
  const name = path.basename(file).replace(/\.\d+\.csv$/, ".csv");
  renameSync(file, path.join(dataDir, "inbox", folder, name));
  const summaryName = () =>
    readdirSync(path.join(dataDir, "archive")).find((entry) => entry.endsWith(`${name}.summary.json`));
  const archivedName = () =>
    readdirSync(path.join(dataDir, "archive")).find((entry) => entry.endsWith(`-${name}`));
  while (!archivedName()) {
    onTick?.((performance.now() - started) / 1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  const after = processFigures(child.pid!);
  const summary = JSON.parse(readFileSync(path.join(dataDir, "archive", summaryName()!), "utf8")) as {
    synced: number;
  };
  child.kill("SIGTERM");
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
  return {
    synced: summary.synced,
    elapsedSeconds,
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    rssBeforeBytes: before.rssBytes,
    peakRssBytes: after.peakRssBytes,
  };
}

/** CPU of a bare csv-parse pass over `file`; with `rows`, the file is written first (and removed after). */
async function bareCsvParseCpuSeconds(
  file: string,
  rows?: number,
): Promise<{ cpuSeconds: number; records: number }> {
  if (rows !== undefined) await writeSampleCsv(file, { rows });
  const before = process.cpuUsage();
  let records = 0;
  for await (const _record of createReadStream(file).pipe(parse({ bom: true }))) records += 1;
  const cpu = process.cpuUsage(before);
  if (rows !== undefined) rmSync(file, { force: true });
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, records };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** `BENCH_IMPORT_PARTS=modes,budget,cpu,memory` picks the parts (default: all). */
export async function runImportBench(): Promise<void> {
  const parts = new Set((process.env.BENCH_IMPORT_PARTS ?? "modes,budget,cpu,memory").split(","));
  const work = mkdtempSync(path.join(tmpdir(), "bench-files-"));
  buildService();
  if (parts.has("modes")) await modesSideBySide(work);
  if (parts.has("budget")) await budgetByPoolSize(work);
  if (parts.has("cpu")) await cpuAgainstBareParse(work);
  if (parts.has("memory")) await peakMemory(work);
  rmSync(work, { recursive: true, force: true });
}

/**
 * One file of BENCH_MODES_ROWS rows (default 1,000,000, the most a list holds) through each mode,
 * in one run, against the simulator at Genesys' per-token budget (300 requests a minute):
 * - the API path (inbox/), 1,000 contacts a request, with BENCH_MODES_POOL tokens (default 1, the chart's default);
 * - the bulk path (inbox/bulk/): one validation pass into a staged CSV, one streamed upload, then
 *   polling the import status while "Genesys" imports it. How fast Genesys imports an uploaded
 *   file is not documented; the simulator's rate (BENCH_MODES_IMPORT_RATE, default 20,000
 *   records/s) sets that part of the wall time, so the time until the upload was taken is
 *   reported on its own.
 */
async function modesSideBySide(work: string): Promise<void> {
  const rows = Number(process.env.BENCH_MODES_ROWS ?? 1_000_000);
  const poolSize = Number(process.env.BENCH_MODES_POOL ?? 1);
  const importRate = Number(process.env.BENCH_MODES_IMPORT_RATE ?? 20_000);
  console.log(`\n## Import: ${rows.toLocaleString("en")} rows, API path against bulk path\n`);
  const budget = { requestsPerWindow: 300, windowMs: 60_000 };
  const file = path.join(work, "modes.csv");
  const results = [];
  for (const mode of ["api", "bulk"] as const) {
    const sim = await spawnSimulator(budget, false, {
      SIM_UPLOAD_RECORDS_PER_SECOND: String(importRate),
    });
    await writeSampleCsv(file, { rows });
    let uploadedAt: number | undefined;
    let polling = false;
    const run = await importOnce(
      sim,
      file,
      {
        GENESYS_TOKEN_POOL_SIZE: String(mode === "api" ? poolSize : 1),
        GENESYS_RATE_LIMIT_PER_WINDOW: String(budget.requestsPerWindow),
        GENESYS_RATE_LIMIT_WINDOW_MS: String(budget.windowMs),
      },
      [],
      mode === "api" ? "" : "bulk",
      (elapsed) => {
        if (mode !== "bulk" || uploadedAt !== undefined || polling) return;
        polling = true;
        void sim
          .stats()
          .then((stats) => {
            if ((stats.uploadsReceived ?? 0) > 0) uploadedAt ??= elapsed;
          })
          .finally(() => {
            polling = false;
          });
      },
    );
    const stats = await sim.stats();
    await sim.close();
    results.push({
      mode: mode === "api" ? `API (inbox/, pool ${poolSize})` : "bulk (inbox/bulk/)",
      rows: run.synced,
      "wall s": Number(run.elapsedSeconds.toFixed(1)),
      "until upload taken s": uploadedAt === undefined ? "-" : Number(uploadedAt.toFixed(1)),
      requests: stats.apiRequests,
      "CPU s": Number(run.cpuSeconds.toFixed(1)),
      "peak RSS": mb(run.peakRssBytes),
    });
  }
  const bare = await bareCsvParseCpuSeconds(file.replace(/\.csv$/, ".bare.csv"), rows);
  console.table(results);
  for (const result of results)
    console.log(
      `${result.mode}: ${(result["CPU s"] / bare.cpuSeconds).toFixed(2)}× the CPU of a bare csv-parse pass over the same rows (${bare.cpuSeconds.toFixed(1)} s)`,
    );
  console.log(
    `API wall time follows the budget: ${rows.toLocaleString("en")} rows = ${Math.ceil(rows / 1_000)} requests at ` +
      `${budget.requestsPerWindow * poolSize} a minute. Bulk wall time is the upload plus Genesys' import ` +
      `(simulated at ${importRate.toLocaleString("en")} records/s).`,
  );
}

/**
 * End-to-end rows/s as a share of the budget at token pool sizes 1, 4 and 16. Genesys counts its
 * limit per token, so a pool of N tokens has N budgets; the client must spread its requests over
 * them and pace each. The total budget is kept the same at every size (48 requests per 10 s
 * window, 4,800 contacts/s: Genesys' 300 a minute per token is 5 a second) so what is measured
 * is the spreading and pacing, not how fast this machine's CPU parses: at 16 real budgets
 * (80,000 contacts/s) the parser would be the limit. Windows of 10 s instead of 60 s keep a run
 * near a minute; shorter windows exaggerate the small lag each window adds (see the README).
 */
async function budgetByPoolSize(work: string): Promise<void> {
  console.log("\n## Import: end-to-end against the budget, by token pool size\n");
  const totalPerWindow = 48;
  const windowMs = 10_000;
  // Six windows' worth, so the last window begun is a full one and the share is not diluted by a partial one.
  const rows = 6 * totalPerWindow * 1_000;
  const results = [];
  for (const poolSize of [1, 4, 16]) {
    const budget = { requestsPerWindow: totalPerWindow / poolSize, windowMs };
    const sim = await spawnSimulator(budget, false);
    const file = path.join(work, `throughput-${poolSize}.csv`);
    await writeSampleCsv(file, { rows });
    const run = await importOnce(sim, file, {
      GENESYS_TOKEN_POOL_SIZE: String(poolSize),
      GENESYS_RATE_LIMIT_PER_WINDOW: String(budget.requestsPerWindow),
      GENESYS_RATE_LIMIT_WINDOW_MS: String(windowMs),
      // The margin is left at its default, max(250 ms, 1 % of the window), as in production.
    });
    const stats = await sim.stats();
    await sim.close();
    const windows = Math.floor((run.elapsedSeconds * 1000) / windowMs) + 1;
    const share = run.synced / (windows * totalPerWindow * 1_000);
    results.push({
      "pool size": poolSize,
      "budget per token": `${budget.requestsPerWindow} / ${windowMs / 1000} s`,
      rows: run.synced,
      "elapsed s": Number(run.elapsedSeconds.toFixed(1)),
      "rows/s": Math.round(run.synced / run.elapsedSeconds),
      "budget rows/s": (totalPerWindow * 1_000) / (windowMs / 1000),
      "÷ budget (windows begun)": Number(share.toFixed(3)),
      "rows/s ÷ budget rows/s": Number(
        (run.synced / run.elapsedSeconds / ((totalPerWindow * 1_000) / (windowMs / 1000))).toFixed(3),
      ),
      requests: stats.apiRequests,
      "429s": stats.rateLimited,
      "429 share": `${((stats.rateLimited! / Math.max(1, stats.apiRequests!)) * 100).toFixed(2)} %`,
    });
  }
  console.table(results);
  console.log("target: ≥ 0.95 of the budget with ≤ 0.5 % of requests answered 429, at every pool size");
}

/**
 * CPU of the whole import (parse, validate, E.164, batch, send, journal) against a bare
 * csv-parse pass over the same file in this process. Each is run five times and the least
 * CPU taken, since other work on the machine only ever adds to a figure.
 */
async function cpuAgainstBareParse(work: string): Promise<void> {
  console.log("\n## Import: CPU per 100,000 rows against a bare csv-parse pass\n");
  const cpuSim = await spawnSimulator({ requestsPerWindow: 1_000_000, windowMs: 60_000 }, false);
  const cpuFile = path.join(work, "cpu.csv");
  const bares = [];
  const imports = [];
  for (let run = 0; run < 5; run += 1) {
    await writeSampleCsv(cpuFile, { rows: 100_000 });
    bares.push(await bareCsvParseCpuSeconds(cpuFile));
    imports.push(await importOnce(cpuSim, cpuFile, { GENESYS_RATE_LIMIT_PER_WINDOW: "1000000" }));
  }
  await cpuSim.close();
  const bare = Math.min(...bares.map((pass) => pass.cpuSeconds));
  const imported = Math.min(...imports.map((run) => run.cpuSeconds));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const bareMedian = median(bares.map((pass) => pass.cpuSeconds));
  const importedMedian = median(imports.map((run) => run.cpuSeconds));
  console.table([
    {
      pass: "bare csv-parse (baseline)",
      "CPU s (least of 5)": Number(bare.toFixed(2)),
      runs: bares.map((pass) => pass.cpuSeconds.toFixed(2)).join(", "),
      rows: bares[0]!.records - 1,
    },
    {
      pass: "import (parse, validate, E.164, batch, send, journal)",
      "CPU s (least of 5)": Number(imported.toFixed(2)),
      runs: imports.map((run) => run.cpuSeconds.toFixed(2)).join(", "),
      rows: imports[0]!.synced,
    },
  ]);
  // The bare pass is short and swings with the machine's load, so the least alone can flatter or
  // darken the ratio: both are printed.
  console.log(
    `ratio: ${(imported / bare).toFixed(2)}× the bare parse by the least of each, ` +
      `${(importedMedian / bareMedian).toFixed(2)}× by the medians (target ≤ 1.5×)`,
  );
}

/** Peak RSS while importing a large file (BENCH_IMPORT_MB, default 1,024), with Node's default heap and with it capped. */
async function peakMemory(work: string): Promise<void> {
  const sizeMb = Number(process.env.BENCH_IMPORT_MB ?? 1024);
  console.log(`\n## Import: peak memory while importing a ${sizeMb} MB file\n`);
  const bigSim = await spawnSimulator({ requestsPerWindow: 1_000_000, windowMs: 60_000 }, false);
  const bigFile = path.join(work, "big.csv");
  const written = await writeSampleCsv(bigFile, { minBytes: sizeMb * 1024 * 1024 }, { noteLength: 150 });
  const bigRuns: Array<[string, ImportRun]> = [];
  for (const heap of ["", "--max-old-space-size=128"]) {
    const copy = `${bigFile}.${bigRuns.length}.csv`;
    renameSync(bigFile, copy);
    const run = await importOnce(
      bigSim,
      copy,
      { GENESYS_RATE_LIMIT_PER_WINDOW: "1000000" },
      heap ? [heap] : [],
    );
    bigRuns.push([heap || "node defaults", run]);
    if (bigRuns.length < 2)
      await writeSampleCsv(bigFile, { minBytes: sizeMb * 1024 * 1024 }, { noteLength: 150 });
  }
  await bigSim.close();
  console.table(
    bigRuns.map(([heap, run]) => ({
      heap,
      file: mb(written.bytes),
      rows: written.rows,
      synced: run.synced,
      "elapsed s": Number(run.elapsedSeconds.toFixed(1)),
      "rows/s": Math.round(run.synced / run.elapsedSeconds),
      "CPU s": Number(run.cpuSeconds.toFixed(1)),
      "RSS before": mb(run.rssBeforeBytes),
      "peak RSS": mb(run.peakRssBytes),
    })),
  );
  console.log(`target: peak RSS ≤ 200 MB whatever the file size`);
}
