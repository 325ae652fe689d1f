import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { ServiceConfig } from "./config";
import { GenesysClient, type GenesysClientOptions } from "./genesys/client";
import { breakerWarning } from "./genesys/circuit-breaker";
import { describeProxy, unmatchedNoProxyEntries } from "./genesys/dispatcher";
import { GenesysMetrics } from "./genesys/metrics";
import { ClaimStore, replicaId as replicaIdFor } from "./import/claims";
import { TargetGate } from "./import/target-gate";
import { ImportService } from "./import/import-service";
import { BULK_LANES, dataLayout, ensureLayout, laneLayout } from "./shared/layout";
import { ImportMetrics } from "./import/metrics";
import { createLogger } from "./logging";
import { buildApp, probes } from "./server";
import { systemClock, type Clock, type Random } from "./time/clock";
import type { FastifyInstance } from "fastify";
import { LeaderElector, SoleLeader, type Leadership } from "./cluster/leader-election";
import { KubernetesLeaseApi } from "./cluster/lease-api";
import { EventLog } from "./export/event-log";
import { ExportService } from "./export/export-service";
import { FingerprintStore } from "./export/fingerprints";
import { DEFAULT_JOB_SETTINGS, ResultsPoller } from "./export/poller";
import { VolumeReplayGuard } from "./export/replay-guard";
import { Rereader } from "./export/reread";
import { webhook } from "./export/webhook";
import { operatorConsole } from "./console/console";
import { ServiceError } from "./shared/errors";
import { RateHistory } from "./console/history";
import type { Dispatcher } from "undici";

/** What the service takes from outside besides its configuration; each has a default. */
export interface ServiceDependencies {
  readonly logger?: Logger;
  /** Every wait and every timestamp; default the system clock. */
  readonly clock?: Clock;
  /** Jitter (backoff, election retries); default `Math.random`. */
  readonly random?: Random;
  /** Where Genesys requests go; default undici's, through the configured proxy. */
  readonly dispatcher?: Dispatcher;
  /** Unique among replicas sharing the volume; default `<pod or hostname>-<pid>-<random>` (claims.ts replicaId()). */
  readonly replicaId?: string;
}

/**
 * The service as `buildService` returns it: everything wired, nothing listening and no loop
 * running, so `app.inject()` reaches every route. `start()` listens and starts the loops;
 * `shutdown()` works whether or not it was started.
 */
export interface Service {
  readonly app: FastifyInstance;
  readonly client: GenesysClient;
  readonly importer: ImportService;
  readonly exporter: ExportService;
  readonly leadership: Leadership;
  readonly registry: Registry;
  /**
   * Listens on the configured host and port, then fetches the first token and, once it is held,
   * starts claiming files, leader election and the export. Resolves with the port listened on.
   */
  start(): Promise<{ readonly port: number }>;
  /** Stops claiming files, lets batches in flight finish (journalled), and closes everything. */
  shutdown(reason?: string): Promise<void>;
}

export interface RunningService extends Service {
  /** The port the HTTP server listens on. */
  readonly port: number;
}

/** `start()` on a service that was shut down: its loops and connections are gone for good. */
export class ServiceStoppedError extends ServiceError {
  constructor() {
    super("SERVICE_STOPPED", "the service was shut down and cannot start again: build a new one");
  }
}

/** The late-data re-read remembers at most this many conversations (about 14 MB on the volume). */
const MAX_REREAD_CONVERSATIONS = 200_000;

/** The Genesys client's settings that come from the configuration (the service and --backfill share them). */
export function clientSettings(
  config: ServiceConfig,
): Pick<
  GenesysClientOptions,
  | "endpoints"
  | "clientId"
  | "clientSecret"
  | "tokenPoolSize"
  | "refreshBufferSeconds"
  | "rateLimit"
  | "maxRetryAfterMs"
  | "requestTimeoutMs"
  | "proxy"
> {
  return {
    endpoints: config.endpoints,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    tokenPoolSize: config.tokenPoolSize,
    refreshBufferSeconds: config.tokenRefreshBufferSeconds,
    rateLimit: config.rateLimit,
    maxRetryAfterMs: config.maxRetryAfterSeconds * 1000,
    requestTimeoutMs: config.requestTimeoutSeconds * 1000,
    ...(config.proxy ? { proxy: config.proxy } : {}),
  };
}

/**
 * Builds the service without starting it: the Genesys client, the import and export loops (not
 * running), leader election (not running) and the HTTP app with its plugins (the probes, and the
 * webhook and the console when configured), not listening. Only the data directory's folders are
 * created now. `startService` is this plus `start()`.
 */
export async function buildService(config: ServiceConfig, deps: ServiceDependencies = {}): Promise<Service> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel });
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  // The pod's name in Kubernetes: a restarted container then resumes its predecessor's claims at once.
  const replicaId =
    deps.replicaId ?? replicaIdFor(config.podName ?? hostname(), process.pid, randomBytes(4).toString("hex"));
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const layout = dataLayout(config.dataDir);
  await ensureLayout(layout);

  const genesysMetrics = new GenesysMetrics(registry);
  const client = new GenesysClient({
    ...clientSettings(config),
    metrics: genesysMetrics,
    logger,
    clock,
    random,
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
  });
  const shuttingDown = new AbortController();
  const importMetrics = new ImportMetrics(registry);
  const claimSettings = {
    replicaId,
    hostIsPod: config.podName !== undefined,
    claimTimeoutMs: config.import.claimTimeoutSeconds * 1000,
    settleMs: config.import.settleSeconds * 1000,
  };
  const lanes = (["api", ...BULK_LANES] as const).map((lane) => ({
    lane,
    claims: new ClaimStore(laneLayout(layout, lane), claimSettings, clock),
  }));
  const targetGate = new TargetGate({
    client,
    contactListId: config.contactListId,
    clock,
    logger,
    metrics: importMetrics,
  });
  const importer = new ImportService(
    lanes,
    {
      client,
      contactListId: config.contactListId,
      targetGate,
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

  // Results export: one poller among the replicas (the Lease holder, or the single process).
  const election = config.leaderElection;
  const leaseApi = election
    ? new KubernetesLeaseApi({
        apiUrl: election.apiUrl,
        serviceAccountDir: election.serviceAccountDir,
        requestTimeoutMs: election.renewDeadlineSeconds * 1000,
      })
    : undefined;
  const elector =
    election && leaseApi
      ? new LeaderElector(
          leaseApi,
          {
            identity: election.identity,
            namespace: election.namespace,
            leaseName: election.leaseName,
            leaseDurationMs: election.leaseDurationSeconds * 1000,
            renewDeadlineMs: election.renewDeadlineSeconds * 1000,
            retryPeriodMs: election.retryPeriodSeconds * 1000,
          },
          clock,
          logger,
          random,
        )
      : undefined;
  const leadership: Leadership = elector ?? new SoleLeader();
  const stateFile = path.join(layout.state, "export.json");
  const rereadWindowMs = config.export.rereadWindowHours * 3_600_000;
  const rereadIntervalMs = config.export.rereadIntervalSeconds * 1000;
  const fingerprints =
    config.export.enabled && rereadWindowMs > 0
      ? new FingerprintStore(
          path.join(layout.state, "export-fingerprints.json"),
          rereadWindowMs + rereadIntervalMs,
          MAX_REREAD_CONVERSATIONS,
        )
      : undefined;
  const poller = config.export.enabled
    ? new ResultsPoller(
        client,
        {
          contactListIds: config.export.contactListIds,
          outboxDir: layout.outbox,
          stateFile,
          overlapMs: config.export.overlapSeconds * 1000,
          initialLookbackMs: config.export.initialLookbackSeconds * 1000,
          pageSize: config.export.pageSize,
          jobThresholdMs: config.export.jobThresholdSeconds * 1000,
          jobs: DEFAULT_JOB_SETTINGS,
        },
        clock,
        logger,
        {
          signal: shuttingDown.signal,
          mayPublish: () => leadership.isLeader(),
          ...(fingerprints ? { fingerprints } : {}),
        },
      )
    : undefined;
  const rereader = fingerprints
    ? new Rereader(
        client,
        fingerprints,
        {
          windowMs: rereadWindowMs,
          intervalMs: rereadIntervalMs,
          maxRequestsPerMinute: config.export.rereadMaxRequestsPerMinute,
          outboxDir: layout.outbox,
        },
        clock,
        logger,
        {
          mayPublish: () => leadership.isLeader(),
          busy: () => {
            const { rateBudgetInUse, rateBudgetPerWindow } = client.state();
            return rateBudgetInUse * 2 > rateBudgetPerWindow;
          },
        },
      )
    : undefined;
  const eventLog = config.webhook ? new EventLog(layout.outbox, clock, { owner: replicaId }) : undefined;
  const replayGuard = config.webhook
    ? new VolumeReplayGuard(
        {
          dir: path.join(layout.state, "webhook-replay"),
          windowMs: config.webhook.replayWindowSeconds * 1000,
          maxIds: config.webhook.replayMaxIds,
        },
        clock,
        replicaId,
      )
    : undefined;
  const eventSegmentMs = config.export.eventSegmentSeconds * 1000;
  const exporter = new ExportService({
    poller,
    ...(rereader ? { rereader } : {}),
    ...(replayGuard ? { replayGuard } : {}),
    leadership,
    eventLog,
    registry,
    stateFile,
    pollIntervalMs: config.pollingIntervalSeconds * 1000,
    eventSegmentMs,
    clock,
    logger,
    signal: shuttingDown.signal,
  });
  // The console's chart: the rate budget and 429s, sampled from the client and its metrics.
  const history = config.console
    ? new RateHistory(async () => {
        const state = client.state();
        const limited = await genesysMetrics.rateLimited.get();
        return {
          budgetInUse: state.rateBudgetPerWindow > 0 ? state.rateBudgetInUse / state.rateBudgetPerWindow : 0,
          rateLimitedTotal: limited.values.reduce((sum, value) => sum + value.value, 0),
        };
      }, clock)
    : undefined;

  const probeFile = path.join(layout.state, `.ready-${replicaId}`);
  /** Why the data dir cannot be written to, or undefined when it can. */
  const dataDirProblem = async (): Promise<string | undefined> => {
    try {
      await writeFile(probeFile, String(clock.now()));
      await rm(probeFile, { force: true });
      return undefined;
    } catch (error) {
      await rm(probeFile, { force: true }).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      return code === "ENOSPC" || code === "EDQUOT"
        ? `the data directory ${config.dataDir} is full (${code}): free space on the shared volume`
        : `the data directory ${config.dataDir} is not writable${code ? ` (${code})` : ""}`;
    }
  };
  const app = buildApp(logger);
  void app.register(probes, {
    registry,
    beforeScrape: () => client.updateGauges(),
    readiness: async () => {
      const reasons: string[] = [];
      if (shuttingDown.signal.aborted) reasons.push("shutting down");
      if (!client.hasValidToken()) reasons.push("no valid Genesys Cloud access token yet");
      const dataDir = await dataDirProblem();
      if (dataDir) reasons.push(dataDir);
      // Not reasons to take the pod out of service: the webhook and the export still work, and
      // restarting pods or moving traffic fixes nothing on Genesys' side.
      const blocked = targetGate.blocked;
      const outage = breakerWarning(client.breakerStatus(), clock.now());
      const full = importer.status().volumeFull;
      const warnings = [
        ...(blocked
          ? [
              `the import is holding back: contact list ${blocked.contactListId} refuses calls (${blocked.message}). Fix: ${blocked.fix}`,
            ]
          : []),
        ...(outage ? [outage] : []),
        ...(full
          ? [
              `the import is stopped: the shared volume is full (${full.message}) since ${new Date(full.sinceMs).toISOString()}. Fix: free space on it; imports resume by themselves`,
            ]
          : []),
      ];
      return { ready: reasons.length === 0, reasons, warnings };
    },
  });
  if (config.webhook && eventLog) {
    void app.register(webhook, {
      log: eventLog,
      logger,
      username: config.webhook.username,
      password: config.webhook.password,
      maxBodyBytes: config.webhook.maxBodyBytes,
      ...(replayGuard ? { replay: replayGuard } : {}),
      clock,
      onResult: (result) => exporter.metrics.webhookEvents.inc({ result }),
    });
  }
  if (config.console && history) {
    void app.register(operatorConsole, {
      config: config.console,
      client,
      importer,
      exporter,
      layout,
      history,
      logger,
      clock,
    });
  }

  let historyLoop: Promise<void> | undefined;
  let started: Promise<{ port: number }> | undefined;
  const start = async (): Promise<{ port: number }> => {
    if (shuttingDown.signal.aborted) throw new ServiceStoppedError();
    // Segments other replicas left behind are published before this one takes new events.
    if (eventLog) await eventLog.recover(3 * eventSegmentMs);
    await app.listen({ port: config.port, host: config.host });
    historyLoop = history?.start(shuttingDown.signal);
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;

    logger.info(
      {
        replicaId,
        port,
        dataDir: config.dataDir,
        api: config.endpoints.apiBaseUrl,
        login: config.endpoints.loginBaseUrl,
        apps: config.endpoints.appsBaseUrl,
        proxy: deps.dispatcher ? "(injected dispatcher)" : describeProxy(config.proxy),
        export: config.export.enabled ? { contactListIds: config.export.contactListIds } : "off",
        webhook: config.webhook
          ? "POST /webhooks/genesys"
          : "off (set WEBHOOK_USERNAME and WEBHOOK_PASSWORD)",
        console: config.console
          ? `${config.console.publicUrl.replace(/\/$/, "")}/console`
          : "off (set OIDC_ISSUER_URL)",
        leaderElection: config.leaderElection
          ? `${config.leaderElection.namespace}/${config.leaderElection.leaseName} as ${config.leaderElection.identity}`
          : "off (this process polls)",
      },
      "sync service started",
    );
    const unmatched = unmatchedNoProxyEntries(config.proxy);
    if (unmatched.length > 0)
      logger.warn(
        { noProxy: unmatched },
        "NO_PROXY lists address ranges, which are not matched (only host names, addresses and host:port): list the Genesys hosts to reach directly",
      );
    client.start();
    // Files are claimed only once a token is held: an import cannot start without one anyway.
    void client.whenReady().then(
      () => {
        if (shuttingDown.signal.aborted) return;
        importer.start();
        elector?.start(shuttingDown.signal);
        exporter.start();
      },
      () => undefined,
    );
    return { port };
  };

  let shutdown: Promise<void> | undefined;
  return {
    app,
    client,
    importer,
    exporter,
    leadership,
    registry,
    start: () => (started ??= start()),
    shutdown: (reason = "shutdown requested") =>
      (shutdown ??= (async () => {
        logger.info(
          { reason },
          "shutting down: no new files are claimed; batches in flight finish and are journalled",
        );
        shuttingDown.abort();
        // A start under way finishes first, so what it opened is closed below.
        await started?.catch(() => undefined);
        await importer.stopped();
        // HTTP first: webhook calls in flight finish their group commit before the log is closed.
        await app.close();
        await exporter.stopped();
        await historyLoop;
        await elector?.release();
        await leaseApi?.close();
        await client.close();
        logger.info("shut down");
      })()),
  };
}

/**
 * Starts the service: `buildService`, then `start()`. It never exits because Genesys is
 * unreachable: /readyz says why it is not ready instead.
 */
export async function startService(
  config: ServiceConfig,
  deps: ServiceDependencies = {},
): Promise<RunningService> {
  const service = await buildService(config, deps);
  const { port } = await service.start();
  return { ...service, port };
}
