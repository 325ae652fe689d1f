import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { ServiceConfig } from "./config";
import { GenesysClient } from "./genesys/client";
import { GenesysMetrics } from "./genesys/metrics";
import { ClaimStore } from "./import/claims";
import { ImportService } from "./import/import-service";
import { dataLayout, ensureLayout } from "./import/layout";
import { ImportMetrics } from "./import/metrics";
import { createLogger } from "./logging";
import { buildApp } from "./server";
import { systemClock, type Clock, type Random } from "./time/clock";
import type { FastifyInstance } from "fastify";
import type { Dispatcher } from "undici";

export interface ServiceOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly dispatcher?: Dispatcher;
  /** Unique among replicas sharing the volume; default `<hostname>-<random>`. */
  readonly replicaId?: string;
}

export interface RunningService {
  readonly app: FastifyInstance;
  readonly client: GenesysClient;
  readonly importer: ImportService;
  readonly registry: Registry;
  /** The port the HTTP server listens on. */
  readonly port: number;
  /** Stops claiming files, lets batches in flight finish (journalled), and closes everything. */
  shutdown(reason?: string): Promise<void>;
}

/**
 * Starts the service: the Genesys client (first token fetched now, in the background), the
 * HTTP server (/healthz, /readyz, /metrics) and the import loop. It never exits because Genesys
 * is unreachable: /readyz says why it is not ready instead.
 */
export async function startService(
  config: ServiceConfig,
  options: ServiceOptions = {},
): Promise<RunningService> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const replicaId =
    options.replicaId ?? `${hostname().replace(/[^A-Za-z0-9._-]/g, "_")}-${randomBytes(4).toString("hex")}`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const layout = dataLayout(config.dataDir);
  await ensureLayout(layout);

  const client = new GenesysClient({
    endpoints: config.endpoints,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    tokenPoolSize: config.tokenPoolSize,
    refreshBufferSeconds: config.tokenRefreshBufferSeconds,
    rateLimit: config.rateLimit,
    maxRetryAfterMs: config.maxRetryAfterSeconds * 1000,
    metrics: new GenesysMetrics(registry),
    logger,
    clock,
    random,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const shuttingDown = new AbortController();
  const importMetrics = new ImportMetrics(registry);
  const claims = new ClaimStore(
    layout,
    {
      replicaId,
      claimTimeoutMs: config.import.claimTimeoutSeconds * 1000,
      settleMs: config.import.settleSeconds * 1000,
    },
    clock,
  );
  const importer = new ImportService(
    claims,
    {
      client,
      contactListId: config.contactListId,
      config: config.import,
      layout,
      metrics: importMetrics,
      logger,
      clock,
      random,
      signal: shuttingDown.signal,
    },
    config.import.scanIntervalSeconds * 1000,
    clock,
    logger,
  );

  const probeFile = path.join(layout.state, `.ready-${replicaId}`);
  const dataDirWritable = async () => {
    try {
      await writeFile(probeFile, String(clock.now()));
      await rm(probeFile, { force: true });
      return true;
    } catch {
      return false;
    }
  };
  const app = buildApp({
    logger,
    registry,
    beforeScrape: () => client.updateGauges(),
    readiness: async () => {
      const reasons: string[] = [];
      if (shuttingDown.signal.aborted) reasons.push("shutting down");
      if (!client.hasValidToken()) reasons.push("no valid Genesys Cloud access token yet");
      if (!(await dataDirWritable())) reasons.push(`the data directory ${config.dataDir} is not writable`);
      return { ready: reasons.length === 0, reasons };
    },
  });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;

  logger.info(
    {
      replicaId,
      port,
      dataDir: config.dataDir,
      api: config.endpoints.apiBaseUrl,
      login: config.endpoints.loginBaseUrl,
    },
    "sync service started",
  );
  client.start();
  // Files are claimed only once a token is held: an import cannot start without one anyway.
  void client.whenReady().then(
    () => {
      if (!shuttingDown.signal.aborted) importer.start();
    },
    () => undefined,
  );

  let shutdown: Promise<void> | undefined;
  return {
    app,
    client,
    importer,
    registry,
    port,
    shutdown: (reason = "shutdown requested") =>
      (shutdown ??= (async () => {
        logger.info(
          { reason },
          "shutting down: no new files are claimed; batches in flight finish and are journalled",
        );
        shuttingDown.abort();
        await importer.stopped();
        await app.close();
        await client.close();
        logger.info("shut down");
      })()),
  };
}
