import { loadConfig } from "./config";
import { ConfigurationError } from "./genesys/errors";
import { createLogger } from "./logging";
import { startService } from "./service";

/**
 * The process entry point (`npm start`, the container's command). Configuration problems end
 * the process with every problem listed; nothing else does: an unreachable Genesys Cloud shows
 * in /readyz and the logs, not as a restart loop. SIGTERM stops claiming files, lets the batches
 * in flight finish and exits within SHUTDOWN_GRACE_SECONDS (keep it below the pod's grace period).
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      createLogger().fatal({ problems: error.problems }, error.message);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const service = await startService(config, { logger });
  const stop = (signal: string) => {
    const deadline = setTimeout(() => {
      logger.warn(
        { graceSeconds: config.shutdownGraceSeconds },
        "grace period over: exiting; unacknowledged batches are sent again after restart",
      );
      process.exit(0);
    }, config.shutdownGraceSeconds * 1000);
    deadline.unref();
    service.shutdown(`received ${signal}`).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
