import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

export interface AppDependencies {
  readonly logger: Logger;
  readonly registry: Registry;
  /** Ready only with a valid token, a writable data dir and not shutting down; the reasons when not. */
  readonly readiness: () => Promise<{ ready: boolean; reasons: string[] }>;
  /** Called before a scrape to refresh gauges that depend on the time. */
  readonly beforeScrape?: () => void;
}

const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The service's HTTP surface, built without listening (fastify's testing guide): tests call
 * `app.inject()` or listen on a loopback port themselves.
 */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: "http" }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; logging each would bury what matters.
    logController: new LogController({ disableRequestLogging: (request) => PROBE_PATHS.has(request.url) }),
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const { ready, reasons } = await deps.readiness();
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", reasons });
  });

  app.get("/metrics", async (_request, reply) => {
    deps.beforeScrape?.();
    return reply.header("content-type", deps.registry.contentType).send(await deps.registry.metrics());
  });

  return app;
}
