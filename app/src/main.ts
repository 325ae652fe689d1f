import { loadConfigAndDataDir, type ServiceConfig } from "./config";
import { backfill, parseBackfillRange } from "./export/backfill";
import { DEFAULT_JOB_SETTINGS } from "./export/poller";
import type { RouteOf } from "./export/outcomes";
import { GenesysClient } from "./genesys/client";
import { defaultRoute, resolveRoutes } from "./import/route-resolution";
import { dataLayout } from "./shared/layout";
import { systemClock } from "./time/clock";
import { ConfigurationError } from "./shared/errors";
import { createLogger } from "./logging";
import { clientSettings, startService } from "./service";

/**
 * The process entry point (`npm start`, the container's command). Configuration problems, a data
 * dir that is a file or cannot be made among them, end the process with exit 78 and every problem
 * listed; nothing else does: an unreachable Genesys Cloud shows in /readyz and the logs, not as a
 * restart loop. SIGTERM stops claiming files, lets the batches in flight finish and exits within
 * SHUTDOWN_GRACE_SECONDS (keep it below the pod's grace period).
 *
 * `--backfill FROM TO` runs once instead: it exports the conversations that ended in [FROM, TO)
 * through the async jobs API into outbox/, then exits (0 done, 1 failed, 64 bad arguments).
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length > 0 && args[0] !== "--backfill") {
    console.error(`unknown argument ${args[0]}: run without arguments, or with --backfill FROM TO`);
    process.exit(64);
  }
  let config;
  try {
    config = await loadConfigAndDataDir();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      createLogger().fatal({ problems: error.problems }, error.message);
      process.exit(78);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  if (args[0] === "--backfill") {
    process.exit(await runBackfill(config, args[1], args[2], logger));
  }
  const service = await startService(config, {
    logger,
    // A route that cannot work is a configuration problem like the others: every problem listed, exit 78.
    onConfigurationError: (error) => {
      logger.fatal({ problems: error.problems }, error.message);
      process.exit(78);
    },
  });
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

async function runBackfill(
  config: ServiceConfig,
  from: string | undefined,
  to: string | undefined,
  logger: ReturnType<typeof createLogger>,
): Promise<number> {
  const range = parseBackfillRange(from, to, systemClock.now());
  if ("problem" in range) {
    logger.fatal(range.problem);
    return 64;
  }
  const layout = dataLayout(config.dataDir);
  const client = new GenesysClient({ ...clientSettings(config), logger });
  try {
    const lists = await backfillLists(config, client, logger);
    await backfill(
      client,
      {
        ...lists,
        outboxDir: layout.outbox,
        ...range,
        jobs: DEFAULT_JOB_SETTINGS,
      },
      systemClock,
      logger,
    );
    return 0;
  } catch (error) {
    logger.error({ err: { message: (error as Error).message } }, "backfill failed; nothing was published");
    return 1;
  } finally {
    await client.close();
  }
}

/** The lists a backfill covers: as the running service's export, routes resolved once for it. */
async function backfillLists(
  config: ServiceConfig,
  client: GenesysClient,
  logger: ReturnType<typeof createLogger>,
): Promise<{ contactListIds: readonly string[]; routeOf?: RouteOf }> {
  const given = config.export.contactListIds;
  if (config.routes.length === 0) return { contactListIds: given };
  const routes = await resolveRoutes(config.routes, config.import, {
    client,
    clock: systemClock,
    random: Math.random,
    logger,
    signal: new AbortController().signal,
  });
  const all = [defaultRoute(config.import, config.contactListId), ...routes];
  return {
    contactListIds: config.export.followRoutes
      ? [...new Set([...given, ...routes.map((route) => route.contactListId)])]
      : given,
    routeOf: (contactListId) => all.find((route) => route.contactListId === contactListId)?.name,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
