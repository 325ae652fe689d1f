import { runClientBench } from "./client-bench";
import { runDncBench } from "./dnc-bench";
import { runFairnessBench } from "./fairness-bench";
import { runImportBench } from "./import-bench";
import { runRoutesBench } from "./routes-bench";
import { runWebhookBench } from "./webhook-bench";

/**
 * `npm run bench`: prints figures and ratios against baselines run in the same process; asserts
 * nothing. `BENCH_PARTS=client,fairness,routes,dnc,import,export` picks parts; `BENCH_IMPORT_MB` sizes the memory run.
 */
async function main(): Promise<void> {
  const parts = new Set((process.env.BENCH_PARTS ?? "client,fairness,routes,dnc,import,export").split(","));
  console.log("# genesys-middleware-stack benchmarks (figures, not assertions)");
  if (parts.has("client")) await runClientBench();
  if (parts.has("fairness")) await runFairnessBench();
  if (parts.has("routes")) await runRoutesBench();
  if (parts.has("dnc")) await runDncBench();
  if (parts.has("import")) await runImportBench();
  if (parts.has("export")) await runWebhookBench();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
