import { runClientBench } from "./client-bench";

/** `npm run bench`: prints figures and ratios against baselines run in the same process. */
async function main(): Promise<void> {
  console.log("# genesys-middleware-stack benchmarks (figures, not assertions)");
  await runClientBench();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
