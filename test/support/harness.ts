import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/src/config";
import { buildService, type Service } from "../../app/src/service";
import type { Clock } from "../../app/src/time/clock";
import { startSimulator, type GenesysSimulator, type SimulatorOptions } from "../../simulator/simulator";
import { simulatorServiceEnv } from "../../simulator/service-env";
import { capturedLogger } from "./capture";

const ROOT = path.resolve(__dirname, "../..");

/** Environment for a service pointed at `sim`, with fast scans for tests. */
export const serviceEnv = simulatorServiceEnv;

/**
 * A simulator, a temporary data dir and the service in this process, started (listening on a
 * loopback port, loops running) unless `start: false`. With `clock`, every wait of the service
 * (scans, polls, rotations, election, the client's timers) is on that clock: pass a FakeClock and
 * advance it instead of sleeping.
 */
export async function startHarness(
  options: {
    sim?: SimulatorOptions;
    env?: Record<string, string>;
    beforeService?: (sim: GenesysSimulator) => void;
    clock?: Clock;
    start?: boolean;
  } = {},
) {
  const sim = await startSimulator({
    rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 },
    ...options.sim,
  });
  options.beforeService?.(sim);
  const dataDir = mkdtempSync(path.join(tmpdir(), "sync-test-"));
  const capture = capturedLogger("info");
  const env = serviceEnv(sim, dataDir, { GENESYS_RATE_LIMIT_PER_WINDOW: "100000", ...options.env });
  const service: Service = await buildService(loadConfig(env), {
    logger: capture.logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const port = options.start === false ? undefined : (await service.start()).port;
  const harness = {
    sim,
    dataDir,
    service,
    /** The port the service listens on; undefined when built with `start: false`. */
    port,
    capture,
    drop: (name: string, content: string | Buffer) => dropFile(dataDir, name, content),
    list: (folder: string) => listFolder(dataDir, folder),
    read: (folder: string, name: string) => readFileSync(path.join(dataDir, folder, name), "utf8"),
    /** Shuts the service down (as a rollout does) and starts a new one on the same data dir and clock. */
    async restart(extraEnv: Record<string, string> = {}) {
      await harness.service.shutdown();
      harness.service = await buildService(loadConfig({ ...env, ...extraEnv }), {
        logger: capture.logger,
        ...(options.clock ? { clock: options.clock } : {}),
      });
      await harness.service.start();
    },
    async close() {
      await harness.service.shutdown();
      await sim.close();
    },
  };
  return harness;
}

/** Writes under a dot-name and renames into inbox/ (or a folder of it: `bulk/x.csv`), as writers are asked to. */
export function dropFile(dataDir: string, name: string, content: string | Buffer): void {
  const folder = path.join(dataDir, "inbox", path.dirname(name));
  const temporary = path.join(folder, `.${path.basename(name)}.tmp`);
  writeFileSync(temporary, content);
  renameSync(temporary, path.join(folder, path.basename(name)));
}

export function listFolder(dataDir: string, folder: string): string[] {
  try {
    // Files only: inbox/ and processing/ hold the bulk lanes' folders (bulk/, replace/).
    return readdirSync(path.join(dataDir, folder), { withFileTypes: true })
      .filter((entry) => !entry.isDirectory() && !entry.name.startsWith("."))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** Polls `condition` until it holds (real time: these tests run real processes and I/O). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The real service as its own process (`app/src/main.ts` through ts-node), for kill -9 and multi-process tests. */
export function spawnService(
  env: Record<string, string>,
  args: readonly string[] = [],
  /** Run as this user and group, as the pod does (uid 500); the test must run as root. */
  user?: { readonly uid: number; readonly gid: number },
): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  let output = "";
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(ROOT, "app/src/main.ts"), ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(user ?? {}),
    },
  );
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** SIGKILLs every service process a test started that is still running, and empties the list. */
export async function killAll(children: Array<ReturnType<typeof spawnService>>): Promise<void> {
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  }
}
