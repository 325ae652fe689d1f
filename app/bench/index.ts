import { runClientBench } from "./client-bench";
import { runImportBench } from "./import-bench";

/**
 * `npm run bench`: prints figures and ratios against baselines run in the same process; asserts
 * nothing. `BENCH_PARTS=client,import` picks parts; `BENCH_IMPORT_MB` sizes the memory run.
 */
async function main(): Promise<void> {
  const parts = new Set((process.env.BENCH_PARTS ?? "client,import").split(","));
  console.log("# genesys-middleware-stack benchmarks (figures, not assertions)");
  if (parts.has("client")) await runClientBench();
  if (parts.has("import")) await runImportBench();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
