import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * A request's URL as the access log writes it: the path, never the query string. The console's
 * sign-in callback carries a one-time code and the OIDC state there, and no route of this service
 * needs its query read back from a log.
 */
function loggedPath(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** Fastify's `req` log field (its own serializer's fields), with the path in place of the URL. */
function requestLine(request: FastifyRequest) {
  return {
    method: request.method,
    url: loggedPath(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** Fastify's request log lines; "not found" is the one that writes the URL as text, not as `req`. */
class AccessLog extends LogController {
  override routeNotFound(request: FastifyRequest, _reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    request.log.info(`Route ${request.method}:${loggedPath(request.url)} not found`);
  }
}

/**
 * The service's fastify instance, built without routes and without listening (fastify's testing
 * guide): the probes, the webhook and the console are plugins registered on it, and tests call
 * `app.inject()` or listen on a loopback port themselves.
 */
export function buildApp(logger: Logger): FastifyInstance {
  return Fastify({
    // The logger's own `req` serializer wins over fastify's, which writes the whole URL.
    loggerInstance: logger.child(
      { component: "http" },
      { serializers: { req: requestLine } },
    ) as FastifyBaseLogger,
    // Probes and scrapes arrive every few seconds; logging each would bury what matters.
    logController: new AccessLog({
      disableRequestLogging: (request) => PROBE_PATHS.has(loggedPath(request.url)),
    }),
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
