/** Runs `total` calls of `task` with at most `concurrency` in flight; collects failures instead of throwing. */
export async function runPool(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<{ completed: number; failures: unknown[] }> {
  let next = 0;
  let completed = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < total) {
      const index = next++;
      try {
        await task(index);
        completed += 1;
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { completed, failures };
}
