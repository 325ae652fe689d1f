import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout, routeLayout } from "../../app/src/shared/layout";
import { generateCsv, writeSampleCsv } from "../demo/sample-contacts";
import { simulatorServiceEnv } from "../service-env";
import { startSimulator, type GenesysSimulator } from "../simulator";

/**
 * The routes part of `npm run bench` (issue 20, item 3), through the whole service: the real
 * service (app/src/main.ts, its own process) against the simulator, one token, the budget scaled
 * from 300 a minute to 300 per `windowMs`. A 1,000,000-row file runs on route A; once it is well
 * under way a 500-row delta is dropped on route B and a 500-id removal on route C. Printed: how
 * many budget windows B and C took from being dropped to archived, and the share of the budget the
 * service used in the whole windows from the drop while A ran (the pacer keeps a safety margin of
 * max(250 ms, 1 %) per window, so about 0.976 is the most here). The baseline, in the same process: the same three files without routes
 * (one list, one loop: files in the order they came), as a deployment before routes ran them.
 */
export interface RoutesBenchSettings {
  readonly requestsPerWindow: number;
  readonly windowMs: number;
  readonly bigRows: number;
  readonly deltaRows: number;
  readonly removalIds: number;
  /** A's requests before B and C are dropped: past the first window, whose whole budget a fresh start may spend at once. */
  readonly dropAfterRequests: number;
}

export const DEFAULT_ROUTES_BENCH: RoutesBenchSettings = {
  requestsPerWindow: 300,
  windowMs: 10_000,
  bigRows: 1_000_000,
  deltaRows: 500,
  removalIds: 500,
  dropAfterRequests: 450,
};

interface RoutesRun {
  readonly mode: "routes" | "one list (before routes)";
  /** Windows from being dropped to archived. */
  readonly deltaWindows: number;
  readonly removalWindows: number;
  /** Requests the service sent in the whole windows from the drop while A ran, over what the budget allowed. */
  readonly budgetShare: number;
  readonly bigSeconds: number;
}

const ROUTES = [
  { name: "a", contactListId: "list-a" },
  { name: "b", contactListId: "list-b" },
  { name: "c", contactListId: "list-c" },
];

/** Writes under a dot-name and renames into place, as writers are asked to. */
function drop(folder: string, name: string, content: string): void {
  writeFileSync(path.join(folder, `.${name}.tmp`), content);
  renameSync(path.join(folder, `.${name}.tmp`), path.join(folder, name));
}

const archived = (folder: string, name: string) =>
  existsSync(folder) && readdirSync(folder).some((entry) => entry.endsWith(`${name}.summary.json`));

async function until(condition: () => boolean, what: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`routes bench: timed out waiting for ${what}`);
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

async function runOnce(settings: RoutesBenchSettings, withRoutes: boolean): Promise<RoutesRun> {
  const { requestsPerWindow, windowMs } = settings;
  const sim = await startSimulator({
    rateLimit: { requestsPerWindow, windowMs },
    contactListIds: ["list-a", "list-b", "list-c"],
    retainContacts: false,
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), "bench-routes-"));
  const layout = dataLayout(dataDir);
  await ensureLayout(layout);
  const folders = ROUTES.map((route) => routeLayout(layout, withRoutes ? route.name : undefined));
  for (const folder of folders) await ensureLayout(folder);
  const routesFile = path.join(dataDir, "..", `${path.basename(dataDir)}-routes.json`);
  writeFileSync(routesFile, JSON.stringify(ROUTES));
  const [a, b, c] = folders as [(typeof folders)[0], (typeof folders)[0], (typeof folders)[0]];
  await writeSampleCsv(path.join(a.inbox, ".big.csv.tmp"), { rows: settings.bigRows });
  const service = startService(sim, dataDir, {
    GENESYS_CONTACT_LIST_ID: "list-a",
    GENESYS_RATE_LIMIT_PER_WINDOW: String(requestsPerWindow),
    GENESYS_RATE_LIMIT_WINDOW_MS: String(windowMs),
    LOG_LEVEL: "warn",
    ...(withRoutes ? { IMPORT_ROUTES_FILE: routesFile } : {}),
  });
  try {
    await until(() => sim.tokensIssued() > 0, "the service's token", 60_000);
    const startedRequests = sim.received.apiRequests;
    renameSync(path.join(a.inbox, ".big.csv.tmp"), path.join(a.inbox, "big.csv"));
    const startedAt = Date.now();
    await until(
      () => sim.received.apiRequests - startedRequests >= settings.dropAfterRequests,
      "A under way",
      600_000,
    );
    const delta = generateCsv(settings.deltaRows).content;
    const ids = Array.from({ length: settings.removalIds }, (_, index) => `opt-out-${index}`).join("\n");
    const droppedAt = Date.now();
    // Requests counted once per pacing period after the drop: the pacer sends a window's budget in
    // bursts that repeat every window plus its safety margin (the sliding log keeps the first
    // window's shape), so only whole periods compare; the allowance is the budget over that time.
    const periodMs = windowMs + Math.max(250, windowMs / 100);
    const counts = [sim.received.apiRequests];
    const sampler = setInterval(() => counts.push(sim.received.apiRequests), periodMs);
    drop(b.inbox, "delta.csv", delta);
    drop(path.join(c.inbox, "remove"), "opt-outs.txt", `${ids}\n`);
    const deltaDone = await until(() => archived(b.archive, "delta.csv"), "B's delta", 900_000);
    const removalDone = await until(() => archived(c.archive, "opt-outs.txt"), "C's removal", 900_000);
    const bigDone = await until(() => archived(a.archive, "big.csv"), "A's file", 900_000);
    clearInterval(sampler);
    // The whole periods from the drop while A still had work: what was sent against what was allowed.
    const periods = counts.length - 1;
    if (periods < 1) throw new Error("routes bench: A ended within a window of the drop; give it more rows");
    const sent = counts[periods]! - counts[0]!;
    const allowed = (requestsPerWindow * periods * periodMs) / windowMs;
    return {
      mode: withRoutes ? "routes" : "one list (before routes)",
      deltaWindows: (deltaDone - droppedAt) / windowMs,
      removalWindows: (removalDone - droppedAt) / windowMs,
      budgetShare: sent / allowed,
      bigSeconds: (bigDone - startedAt) / 1000,
    };
  } finally {
    await service.stop();
    await sim.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(routesFile, { force: true });
  }
}

export async function runRoutesBench(settings: RoutesBenchSettings = DEFAULT_ROUTES_BENCH): Promise<void> {
  console.log(
    `\n## Routes: a ${settings.deltaRows}-row delta (B) and a ${settings.removalIds}-id removal (C) dropped while a ${settings.bigRows.toLocaleString("en")}-row file runs on A`,
  );
  console.log(
    `budget ${settings.requestsPerWindow} requests per ${settings.windowMs / 1000} s window (Genesys' 300 a minute, scaled), one token, the service in its own process`,
  );
  const runs = [await runOnce(settings, true), await runOnce(settings, false)];
  console.log(
    "| mode | B done after (windows) | C done after (windows) | budget used (whole windows from the drop) | A took (s) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const run of runs)
    console.log(
      `| ${run.mode} | ${run.deltaWindows.toFixed(2)} | ${run.removalWindows.toFixed(2)} | ${run.budgetShare.toFixed(3)} | ${run.bigSeconds.toFixed(1)} |`,
    );
  const [routed, baseline] = runs as [RoutesRun, RoutesRun];
  console.log(
    `routes vs one list: B ${(baseline.deltaWindows / routed.deltaWindows).toFixed(1)}× sooner, C ${(baseline.removalWindows / routed.removalWindows).toFixed(1)}× sooner; ` +
      `the target: both within 2 windows (${routed.deltaWindows <= 2 && routed.removalWindows <= 2 ? "met" : "NOT met"}), budget used ≥ 0.95 (${routed.budgetShare >= 0.95 ? "met" : "NOT met"})`,
  );
}

if (require.main === module)
  runRoutesBench().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
