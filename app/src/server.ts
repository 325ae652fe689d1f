import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * The service's fastify instance, built without routes and without listening (fastify's testing
 * guide): the probes, the webhook and the console are plugins registered on it, and tests call
 * `app.inject()` or listen on a loopback port themselves.
 */
export function buildApp(logger: Logger): FastifyInstance {
  return Fastify({
    loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; logging each would bury what matters.
    logController: new LogController({ disableRequestLogging: (request) => PROBE_PATHS.has(request.url) }),
  });
}

export interface ProbesOptions {
  readonly registry: Registry;
  /** Ready only with a valid token, a writable data dir and not shutting down; the reasons when not. */
  readonly readiness: () => Promise<{ ready: boolean; reasons: string[]; warnings?: string[] }>;
  /** Called before a scrape to refresh gauges that depend on the time. */
  readonly beforeScrape?: () => void;
}

/** `/healthz` (the process answers), `/readyz` (it can do its work, or why not) and `/metrics`. */
export const probes: FastifyPluginAsync<ProbesOptions> = async (app, options) => {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const { ready, reasons, warnings = [] } = await options.readiness();
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "not ready", reasons, ...(warnings.length > 0 ? { warnings } : {}) });
  });

  app.get("/metrics", async (_request, reply) => {
    options.beforeScrape?.();
    return reply.header("content-type", options.registry.contentType).send(await options.registry.metrics());
  });
};
