import { createWriteStream, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../app/src/config";
import { createLogger } from "../../app/src/logging";
import { startService } from "../../app/src/service";
import { simulatorServiceEnv } from "../service-env";
import { startSimulator } from "../simulator";
import { writeSampleCsv } from "./sample-contacts";

/**
 * `npm run demo`, on embedded defaults: no Genesys account, no cluster. Starts the Genesys Cloud
 * simulator and the sync service on a temporary data dir, drops a generated file of 50,500
 * contacts (1 % bad rows) into inbox/, revokes the token and throws a 429 storm at the service
 * half-way, shows progress, and ends with what arrived, what was rejected and what it cost.
 *
 * The budget is Genesys' 300 requests per minute, counted in 6-second windows of 30 so that the
 * pacing shows within a short run.
 */
const ROWS = 50_500;
const BUDGET = { requestsPerWindow: 30, windowMs: 6_000 };

async function main(): Promise<void> {
  const sim = await startSimulator({ rateLimit: BUDGET });
  const dataDir = mkdtempSync(path.join(tmpdir(), "genesys-sync-demo-"));
  const logFile = path.join(dataDir, "service.log");
  const logger = createLogger({ level: "info", destination: createWriteStream(logFile) as never });
  const config = loadConfig(
    simulatorServiceEnv(sim, dataDir, {
      GENESYS_RATE_LIMIT_PER_WINDOW: String(BUDGET.requestsPerWindow),
      GENESYS_RATE_LIMIT_WINDOW_MS: String(BUDGET.windowMs),
      IMPORT_SCAN_INTERVAL_SECONDS: "0.5",
    }),
  );
  const service = await startService(config, { logger });
  console.log(`Genesys Cloud simulator: API ${sim.apiBaseUrl}, login ${sim.loginBaseUrl}`);
  console.log(
    `Sync service: http://127.0.0.1:${service.port} (/healthz /readyz /metrics), data dir ${dataDir}`,
  );
  console.log(
    `Budget: ${BUDGET.requestsPerWindow} requests per ${BUDGET.windowMs / 1000} s per token (Genesys' 300/min); logs in ${logFile}\n`,
  );

  const staged = path.join(dataDir, "inbox", ".contacts.csv.tmp");
  const written = await writeSampleCsv(staged, { rows: ROWS }, { badEvery: 100 });
  renameSync(staged, path.join(dataDir, "inbox", "contacts.csv"));
  console.log(
    `Dropped inbox/contacts.csv: ${written.rows.toLocaleString()} rows (${written.bad} bad), ${(written.bytes / 1e6).toFixed(1)} MB`,
  );
  const started = performance.now();

  let faulted = false;
  const finished = () => service.importer.status().recent.some((outcome) => outcome.name === "contacts.csv");
  while (!finished()) {
    const current = service.importer.status().current;
    const synced = current ? current.synced + current.alreadySynced : 0;
    if (!faulted && synced >= 25_000) {
      faulted = true;
      sim.faults.revokeAllTokens();
      sim.faults.rateLimitStorm(2, 3);
    }
    line(
      bar(synced, written.good) +
        ` synced ${synced.toLocaleString()} of ${written.good.toLocaleString()}, rejected ${(current?.rejected ?? 0).toLocaleString()}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const elapsedSeconds = (performance.now() - started) / 1000;
  line(bar(1, 1) + " done");
  if (process.stdout.isTTY) process.stdout.write("\n");

  const outcome = service.importer.status().recent[0]!;
  const requests = sim.received.apiRequests;
  const windows = Math.floor((elapsedSeconds * 1000) / BUDGET.windowMs) + 1;
  const allowed = windows * BUDGET.requestsPerWindow;
  console.log("\nSummary");
  console.log(
    `  synced:    ${outcome.synced.toLocaleString()} contacts; ${sim.contacts().size.toLocaleString()} in the simulator's contact list`,
  );
  console.log(
    `  rejected:  ${outcome.rejected} rows, each with its line and reason in ${outcome.rejectsReport}`,
  );
  console.log(`  archived:  ${outcome.movedTo} (summary beside it)`);
  console.log(
    `  elapsed:   ${elapsedSeconds.toFixed(1)} s, ${(outcome.synced / elapsedSeconds).toFixed(0)} contacts/s`,
  );
  console.log(
    `  budget:    ${requests} requests sent of ${allowed} the budget allowed in ${windows} windows begun (${((requests / allowed) * 100).toFixed(0)} %); ` +
      `${sim.received.rateLimited} answered 429 (the injected storm), ${sim.received.earlyRetries.length} re-sent before Retry-After`,
  );
  console.log(
    `  tokens:    ${sim.tokensIssued()} issued (one at start, one after the revocation); ${sim.received.unauthorized} requests answered 401`,
  );
  const report = readFileSync(outcome.rejectsReport!, "utf8").split("\n");
  console.log(`\nFirst rejects (${outcome.rejectsReport}):\n  ${report.slice(0, 4).join("\n  ")}`);

  await service.shutdown();
  await sim.close();
  if (sim.contacts().size !== written.good || outcome.rejected !== written.bad) {
    console.error("\nThe counts do not add up: this is a bug.");
    process.exitCode = 1;
  }
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = Math.min(width, Math.round((done / Math.max(1, total)) * width));
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

let lastPrinted = 0;
function line(text: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r${text.padEnd(100)}`);
  else if (Date.now() - lastPrinted > 2_000) {
    lastPrinted = Date.now();
    console.log(text);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
