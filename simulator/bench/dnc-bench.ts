import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, dncLayout, ensureDncLayout, ensureLayout } from "../../app/src/shared/layout";
import { writeSampleCsv } from "../demo/sample-contacts";
import { simulatorServiceEnv } from "../service-env";
import { startSimulator, type GenesysSimulator } from "../simulator";

/**
 * The DNC part of `npm run bench` (issue 21, item 1, "opt-outs come first"), through the service:
 * the service in its own process against the simulator, one token, the budget scaled from 300 a
 * minute to 300 per `windowMs`. A 1,000,000-row file runs on the default route; once it is well
 * under way a 1,000-number file is dropped in dnc/opt-outs/add/. Printed: how many budget windows
 * the opt-outs took from being dropped to archived, and the share of the budget the service used
 * in the whole pacing periods from the drop while the import ran (the pacer keeps a safety margin
 * of max(250 ms, 1 %) per window, so about 0.976 is the most). The baseline, in the same process:
 * the same opt-outs dropped on an idle service, with the whole budget to themselves.
 *
 * The service is app/src/main.ts with a routes file (IMPORT_ROUTES_FILE) that declares the DNC
 * route: service.ts runs it beside the default route on the one client and pacer, so the opt-outs
 * compete with the import for the same budget.
 */
export interface DncBenchSettings {
  readonly requestsPerWindow: number;
  readonly windowMs: number;
  readonly importRows: number;
  readonly optOuts: number;
  /** Import requests before the opt-outs are dropped: past the first window, whose whole budget a fresh start may spend at once. */
  readonly dropAfterRequests: number;
}

export const DEFAULT_DNC_BENCH: DncBenchSettings = {
  requestsPerWindow: 300,
  windowMs: 10_000,
  importRows: 1_000_000,
  optOuts: 1_000,
  dropAfterRequests: 450,
};

interface DncRun {
  readonly mode: string;
  /** Windows from being dropped to archived. */
  readonly optOutWindows: number;
  /** Requests sent in the whole periods from the drop while the import ran, over what the budget allowed; undefined when idle. */
  readonly budgetShare: number | undefined;
}

const DNC_LIST = {
  id: "dnc-opt-outs",
  name: "Opt-outs",
  dncSourceType: "rds",
  contactMethod: "Phone",
} as const;
const DNC_ROUTES = [{ name: "opt-outs", dncListId: DNC_LIST.id, defaultCountry: "GB" }];

function drop(folder: string, name: string, content: string): void {
  writeFileSync(path.join(folder, `.${name}.tmp`), content);
  renameSync(path.join(folder, `.${name}.tmp`), path.join(folder, name));
}

const archived = (folder: string, name: string) =>
  existsSync(folder) && readdirSync(folder).some((entry) => entry.endsWith(`${name}.summary.json`));

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`dnc bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now();
}

function startService(sim: GenesysSimulator, dataDir: string, env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "../../app/src/main.ts")],
    {
      cwd: path.join(__dirname, "../.."),
      env: { PATH: process.env.PATH ?? "", ...simulatorServiceEnv(sim, dataDir, env) },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  return {
    stop: async () => {
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

/** 1,000 UK mobile numbers, national form: the route's default country makes them E.164. */
function optOutFile(count: number): string {
  return `Phone\n${Array.from({ length: count }, (_, index) => `07911 ${String(100_000 + index)}`).join("\n")}\n`;
}

async function runOnce(settings: DncBenchSettings, loaded: boolean): Promise<DncRun> {
  const { requestsPerWindow, windowMs } = settings;
  const sim = await startSimulator({
    rateLimit: { requestsPerWindow, windowMs },
    retainContacts: false,
    dncLists: [DNC_LIST],
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-dnc-"));
  const layout = dataLayout(dataDir);
  await ensureLayout(layout);
  const dnc = dncLayout(layout, "opt-outs");
  await ensureDncLayout(dnc);
  if (loaded) await writeSampleCsv(path.join(layout.inbox, ".big.csv.tmp"), { rows: settings.importRows });
  const routesFile = path.join(dataDir, "..", `${path.basename(dataDir)}-routes.json`);
  writeFileSync(routesFile, JSON.stringify(DNC_ROUTES));
  const service = startService(sim, dataDir, {
    GENESYS_RATE_LIMIT_PER_WINDOW: String(requestsPerWindow),
    GENESYS_RATE_LIMIT_WINDOW_MS: String(windowMs),
    LOG_LEVEL: "warn",
    IMPORT_ROUTES_FILE: routesFile,
  });
  try {
    await until(() => sim.tokensIssued() > 0, "the service's token", 60_000);
    const startedRequests = sim.received.apiRequests;
    if (loaded) {
      renameSync(path.join(layout.inbox, ".big.csv.tmp"), path.join(layout.inbox, "big.csv"));
      await until(
        () => sim.received.apiRequests - startedRequests >= settings.dropAfterRequests,
        "the import under way",
        600_000,
      );
    } else await new Promise((resolve) => setTimeout(resolve, windowMs));
    const periodMs = windowMs + Math.max(250, windowMs / 100);
    const counts = [sim.received.apiRequests];
    const sampler = setInterval(() => counts.push(sim.received.apiRequests), periodMs);
    const droppedAt = Date.now();
    drop(path.join(dnc.inbox, "add"), "opt-outs.csv", optOutFile(settings.optOuts));
    const done = await until(() => archived(dnc.archive, "opt-outs.csv"), "the opt-outs", 900_000);
    // The whole pacing periods from the drop while the import still ran, as the routes bench counts them.
    if (loaded) await until(() => archived(layout.archive, "big.csv"), "the import", 900_000);
    clearInterval(sampler);
    const periods = counts.length - 1;
    const onList = Array.from({ length: settings.optOuts }, (_, index) => `+447911${100_000 + index}`).filter(
      (number) => sim.isOnDnc(DNC_LIST.id, number),
    ).length;
    if (onList !== settings.optOuts)
      throw new Error(`dnc bench: ${onList} of ${settings.optOuts} opt-outs on the list`);
    return {
      mode: loaded
        ? `while a ${settings.importRows.toLocaleString("en")}-row import runs`
        : "idle service (baseline)",
      optOutWindows: (done - droppedAt) / windowMs,
      budgetShare:
        loaded && periods >= 1
          ? (counts[periods]! - counts[0]!) / ((requestsPerWindow * periods * periodMs) / windowMs)
          : undefined,
    };
  } finally {
    await service.stop();
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(routesFile, { force: true });
  }
}

export async function runDncBench(settings: DncBenchSettings = DEFAULT_DNC_BENCH): Promise<void> {
  console.log(
    `\n## DNC: ${settings.optOuts.toLocaleString("en")} opt-outs dropped in dnc/opt-outs/add/ while a ${settings.importRows.toLocaleString("en")}-row file imports`,
  );
  console.log(
    `budget ${settings.requestsPerWindow} requests per ${settings.windowMs / 1000} s window (Genesys' 300 a minute, scaled), one token, the service in its own process`,
  );
  const runs = [await runOnce(settings, true), await runOnce(settings, false)];
  console.log("| mode | opt-outs applied after (windows) | budget used (whole windows from the drop) |");
  console.log("| --- | ---: | ---: |");
  for (const run of runs)
    console.log(
      `| ${run.mode} | ${run.optOutWindows.toFixed(2)} | ${run.budgetShare === undefined ? "-" : run.budgetShare.toFixed(3)} |`,
    );
  const [loaded, idle] = runs as [DncRun, DncRun];
  console.log(
    `under load vs idle: ${(loaded.optOutWindows / Math.max(idle.optOutWindows, 0.001)).toFixed(1)}× the time; ` +
      `the target: applied within 1 window (${loaded.optOutWindows <= 1 ? "met" : "NOT met"}), budget used ≥ 0.95 (${(loaded.budgetShare ?? 0) >= 0.95 ? "met" : "NOT met"})`,
  );
}

if (require.main === module)
  runDncBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
