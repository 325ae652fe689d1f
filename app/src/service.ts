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
import { ImportService, type ImportStatus } from "./import/import-service";
import type { DncCheck } from "./import/importer";
import type { ImportControl } from "./console/controls";
import { defaultRoute, type ImportRoute } from "./import/route-resolution";
import { ImportRoutes, type RouteImport, type RouteStatus } from "./import/route-set";
import { DEFAULT_ROUTE, isDncRoute } from "./shared/routes";
import { DncRoutes } from "./dnc/routes";
import {
  BULK_LANES,
  dataLayout,
  ensureLayout,
  laneLayout,
  routeLayout,
  type DataLayout,
} from "./shared/layout";
import { ImportMetrics } from "./import/metrics";
import { createLogger } from "./logging";
import { buildApp, probes, type ProbesOptions } from "./server";
import { systemClock, type Clock, type Random } from "./time/clock";
import type { FastifyInstance } from "fastify";
import { LeaderElector, SoleLeader, type Leadership } from "./cluster/leader-election";
import { KubernetesLeaseApi } from "./cluster/lease-api";
import { EventLog } from "./export/event-log";
import { ExportService } from "./export/export-service";
import { FingerprintStore } from "./export/fingerprints";
import { DEFAULT_JOB_SETTINGS, ResultsPoller } from "./export/poller";
import { VolumeReplayGuard } from "./export/replay-guard";
import type { RouteOf } from "./export/outcomes";
import { Rereader } from "./export/reread";
import { ListSnapshotMetrics } from "./export/metrics";
import { ListSnapshots, snapshotSchedule } from "./export/snapshots";
import { downloadHosts } from "./shared/download-hosts";
import { webhook, type WebhookOptions } from "./export/webhook";
import { CONSOLE_PREFIX } from "./console/config";
import { operatorConsole, type ConsoleDependencies } from "./console/console";
import { ServiceError, type ConfigurationError } from "./shared/errors";
import { budgetInDemand, budgetShareInUse } from "./shared/rate-budget";
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
  /**
   * Called when a route turns out not to work once Genesys is asked (a list name matching no list
   * or two, a mapping to a column the list lacks); main.ts exits 78. Default: logged, and the
   * other routes go on.
   */
  readonly onConfigurationError?: (error: ConfigurationError) => void;
}

/**
 * The service as `buildService` returns it: everything wired, nothing listening and no loop
 * running, so `app.inject()` reaches every route. `start()` listens and starts the loops;
 * `shutdown()` works whether or not it was started.
 */
export interface Service {
  readonly app: FastifyInstance;
  readonly client: GenesysClient;
  readonly importer: ImportRoutes;
  /** The DNC routes (app/src/dnc/): opt-outs to Genesys' DNC lists. */
  readonly dnc: DncRoutes;
  /** Contact-list snapshots into outbox/lists/ (off without a schedule). */
  readonly snapshots: ListSnapshots;
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

/** What every module's factory is given besides its own part of the configuration. */
interface Shared {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly registry: Registry;
  readonly layout: DataLayout;
  readonly replicaId: string;
  /** Aborted when shutdown begins: loops stop taking work and waits end. */
  readonly signal: AbortSignal;
}

/**
 * Builds the service without starting it: the Genesys client, the import and export loops (not
 * running), leader election (not running) and the HTTP app with its plugins (the probes, and the
 * webhook and the console when configured), not listening. Only the data directory's folders are
 * created now. `startService` is this plus `start()`. Each module's factory below reads its own
 * part of the configuration.
 */
export async function buildService(config: ServiceConfig, deps: ServiceDependencies = {}): Promise<Service> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const layout = dataLayout(config.dataDir);
  await ensureLayout(layout);
  const shuttingDown = new AbortController();
  const shared: Shared = {
    logger: deps.logger ?? createLogger({ level: config.logLevel }),
    clock: deps.clock ?? systemClock,
    random: deps.random ?? Math.random,
    registry,
    layout,
    // The pod's name in Kubernetes: a restarted container then resumes its predecessor's claims at once.
    replicaId:
      deps.replicaId ??
      replicaIdFor(config.podName ?? hostname(), process.pid, randomBytes(4).toString("hex")),
    signal: shuttingDown.signal,
  };

  const genesys = buildGenesys(config, shared, deps.dispatcher);
  const { client } = genesys;
  const imports = buildImport(config.import, shared, {
    client,
    contactListId: config.contactListId,
    routes: config.routes,
    hostIsPod: config.podName !== undefined,
    onConfigurationError: deps.onConfigurationError ?? logRefusedRoutes(shared.logger),
  });
  const { dnc } = imports;
  const election = buildLeadership(config.leaderElection, shared);
  const events = config.webhook ? buildWebhookEvents(config.webhook, shared) : undefined;
  const exporter = buildExport(config.export, shared, {
    lists: exportLists(config, imports.importer),
    client,
    leadership: election.leadership,
    pollIntervalMs: config.pollingIntervalSeconds * 1000,
    events,
  });
  const snapshots = buildSnapshots(config, shared, {
    client,
    importer: imports.importer,
    leadership: election.leadership,
  });
  const operator = config.console
    ? buildConsole(config.console, shared, {
        genesys,
        importer: consoleImport(imports.importer, dnc),
        exporter,
        snapshots,
      })
    : undefined;

  const app = buildApp(shared.logger);
  void app.register(probes, buildProbes(config.dataDir, shared, { client, ...imports, dnc }));
  if (config.webhook && events)
    void app.register(webhook, webhookOptions(config.webhook, shared, events, exporter));
  if (operator) void app.register(operatorConsole, operator.options);

  const parts = {
    app,
    client,
    importer: imports.importer,
    dnc,
    snapshots,
    exporter,
    leadership: election.leadership,
    registry,
  };
  return {
    ...parts,
    ...lifecycle(config, shared, shuttingDown, {
      ...parts,
      election,
      events,
      history: operator?.history,
      injectedDispatcher: deps.dispatcher !== undefined,
    }),
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

interface GenesysParts {
  readonly client: GenesysClient;
  readonly metrics: GenesysMetrics;
}

function buildGenesys(
  config: ServiceConfig,
  shared: Shared,
  dispatcher: Dispatcher | undefined,
): GenesysParts {
  const metrics = new GenesysMetrics(shared.registry);
  const client = new GenesysClient({
    ...clientSettings(config),
    metrics,
    logger: shared.logger,
    clock: shared.clock,
    random: shared.random,
    ...(dispatcher ? { dispatcher } : {}),
  });
  return { client, metrics };
}

/** Without main.ts's exit 78 (tests, embedders): a route that cannot work is logged, the others go on. */
function logRefusedRoutes(logger: Logger): (error: ConfigurationError) => void {
  return (error) =>
    logger.fatal(
      { problems: error.problems },
      "import routes refused; the routes that work (and the default one) go on",
    );
}

interface ImportParts {
  readonly importer: ImportRoutes;
  /** The DNC routes (app/src/dnc/): opt-outs to Genesys' DNC lists, beside the contact routes. */
  readonly dnc: DncRoutes;
  /** Holds the default route back while its contact list refuses calls; readiness warns of it. */
  readonly targetGate: TargetGate;
}

/**
 * The import: the default route (files directly in inbox/) from the service's settings, and the
 * declared routes, resolved against Genesys once a token is held (import/route-set.ts).
 */
function buildImport(
  config: ServiceConfig["import"],
  shared: Shared,
  needs: {
    readonly client: GenesysClient;
    readonly contactListId: string;
    /** Every declared route: the DNC ones go to DncRoutes, the others to ImportRoutes. */
    readonly routes: ServiceConfig["routes"];
    readonly hostIsPod: boolean;
    readonly onConfigurationError: (error: ConfigurationError) => void;
  },
): ImportParts {
  // One set of metrics for both kinds of route: a metric's name is registered once.
  const metrics = new ImportMetrics(shared.registry);
  const { client, hostIsPod, onConfigurationError } = needs;
  const { logger, clock, random, replicaId, signal, layout } = shared;
  const dnc = new DncRoutes({
    ...{ specs: needs.routes, client, config, layout, metrics, logger, clock, random },
    ...{ replicaId, hostIsPod, signal, onConfigurationError },
  });
  const contactRoutes = needs.routes.filter((route) => !isDncRoute(route));
  const build = (route: ImportRoute) =>
    buildRouteImport(route, shared, {
      ...needs,
      metrics,
      dncCheck: dnc.checkFor(
        contactRoutes.find((spec) => spec.name === route.name)?.checkDnc,
        route.config.phoneColumns,
      ),
    });
  const first = build(defaultRoute(config, needs.contactListId));
  const importer = new ImportRoutes(first, {
    specs: contactRoutes,
    base: config,
    resolution: { client, clock, random, logger, signal },
    build: async (route) => {
      await ensureLayout(routeLayout(layout, route.label));
      return build(route);
    },
    onConfigurationError,
    logger,
  });
  return { importer, targetGate: first.gate, dnc };
}

/** One route's loop: a claim store per inbox lane in its folders, its list's gate, its metrics. */
function buildRouteImport(
  route: ImportRoute,
  shared: Shared,
  needs: {
    readonly client: GenesysClient;
    readonly hostIsPod: boolean;
    readonly metrics: ImportMetrics;
    readonly dncCheck: DncCheck | undefined;
  },
): RouteImport & { readonly gate: TargetGate } {
  const { client } = needs;
  const { config, contactListId } = route;
  const { clock } = shared;
  const logger = route.label === undefined ? shared.logger : shared.logger.child({ route: route.name });
  const metrics = needs.metrics.forRoute(route.label);
  const layout = routeLayout(shared.layout, route.label);
  const claimSettings = {
    replicaId: shared.replicaId,
    hostIsPod: needs.hostIsPod,
    claimTimeoutMs: config.claimTimeoutSeconds * 1000,
    settleMs: config.settleSeconds * 1000,
  };
  const lanes = (["api", ...BULK_LANES, "remove"] as const).map((lane) => ({
    lane,
    claims: new ClaimStore(laneLayout(layout, lane), { ...claimSettings, lane }, clock),
  }));
  const gate = new TargetGate({ client, contactListId, clock, logger, metrics });
  const service = new ImportService(
    lanes,
    {
      client,
      contactListId,
      targetGate: gate,
      config,
      layout,
      metrics,
      logger,
      clock,
      random: shared.random,
      signal: shared.signal,
      ...(route.columnMap ? { columnMap: route.columnMap } : {}),
      ...(needs.dncCheck ? { dncCheck: needs.dncCheck } : {}),
    },
    config.scanIntervalSeconds * 1000,
    clock,
    logger,
  );
  return { route, service, gate };
}

interface ElectionParts {
  readonly leadership: Leadership;
  /** Campaigns for the Lease until the signal aborts; nothing without leader election. */
  start(signal: AbortSignal): void;
  /** Gives the Lease up and closes the connection to the Kubernetes API. */
  release(): Promise<void>;
}

/** Results export: one poller among the replicas (the Lease holder, or the single process). */
function buildLeadership(config: ServiceConfig["leaderElection"], shared: Shared): ElectionParts {
  if (!config)
    return { leadership: new SoleLeader(), start: () => undefined, release: async () => undefined };
  const leaseApi = new KubernetesLeaseApi({
    apiUrl: config.apiUrl,
    serviceAccountDir: config.serviceAccountDir,
    requestTimeoutMs: config.renewDeadlineSeconds * 1000,
  });
  const elector = new LeaderElector(
    leaseApi,
    {
      identity: config.identity,
      namespace: config.namespace,
      leaseName: config.leaseName,
      leaseDurationMs: config.leaseDurationSeconds * 1000,
      renewDeadlineMs: config.renewDeadlineSeconds * 1000,
      retryPeriodMs: config.retryPeriodSeconds * 1000,
    },
    shared.clock,
    shared.logger,
    shared.random,
  );
  return {
    leadership: elector,
    start: (signal) => elector.start(signal),
    release: async () => {
      await elector.release();
      await leaseApi.close();
    },
  };
}

interface WebhookEvents {
  /** Pushed events, in segments published to the outbox. */
  readonly eventLog: EventLog;
  readonly replayGuard: VolumeReplayGuard;
}

function buildWebhookEvents(config: NonNullable<ServiceConfig["webhook"]>, shared: Shared): WebhookEvents {
  const { layout, clock, replicaId } = shared;
  return {
    eventLog: new EventLog(layout.outbox, clock, { owner: replicaId }),
    replayGuard: new VolumeReplayGuard(
      {
        dir: path.join(layout.state, "webhook-replay"),
        windowMs: config.replayWindowSeconds * 1000,
        maxIds: config.replayMaxIds,
      },
      clock,
      replicaId,
    ),
  };
}

/** POST /webhooks/genesys: pushed events into the event log, counted by the export's metrics. */
function webhookOptions(
  config: NonNullable<ServiceConfig["webhook"]>,
  shared: Shared,
  events: WebhookEvents,
  exporter: ExportService,
): WebhookOptions {
  return {
    log: events.eventLog,
    logger: shared.logger,
    username: config.username,
    password: config.password,
    maxBodyBytes: config.maxBodyBytes,
    replay: events.replayGuard,
    clock: shared.clock,
    onResult: (result) => exporter.metrics.webhookEvents.inc({ result }),
  };
}

/** The lists the export covers and the route each belongs to (routes only once any is declared). */
interface ExportLists {
  readonly contactListIds: readonly string[];
  readonly routeOf?: RouteOf;
}

/**
 * By default the export follows the routes: every running route's list joins the poll once it
 * is resolved (the getter is read at each poll), and each record names its route. An explicit
 * EXPORT_CONTACT_LIST_IDS is kept as given. Without declared routes nothing changes.
 */
function exportLists(config: ServiceConfig, importer: ImportRoutes): ExportLists {
  const given = config.export.contactListIds;
  if (config.routes.length === 0) return { contactListIds: given };
  return {
    get contactListIds() {
      if (!config.export.followRoutes) return given;
      return [...new Set([...given, ...importer.running.map(({ route }) => route.contactListId)])];
    },
    routeOf: (contactListId) =>
      importer.running.find(({ route }) => route.contactListId === contactListId)?.route.name,
  };
}

interface ExportNeeds {
  readonly lists: ExportLists;
  readonly client: GenesysClient;
  readonly leadership: Leadership;
  readonly pollIntervalMs: number;
  /** The webhook's events, when it is on: the export publishes their segments. */
  readonly events: WebhookEvents | undefined;
}

/** The results export: the poller and the late-data re-read when enabled, and the webhook's events. */
function buildExport(config: ServiceConfig["export"], shared: Shared, needs: ExportNeeds): ExportService {
  const { client, leadership, events } = needs;
  const stateFile = path.join(shared.layout.state, "export.json");
  const mayPublish = () => leadership.isLeader();
  const rereadWindowMs = config.rereadWindowHours * 3_600_000;
  const rereadIntervalMs = config.rereadIntervalSeconds * 1000;
  const fingerprints =
    config.enabled && rereadWindowMs > 0
      ? new FingerprintStore(
          path.join(shared.layout.state, "export-fingerprints.json"),
          rereadWindowMs + rereadIntervalMs,
          MAX_REREAD_CONVERSATIONS,
        )
      : undefined;
  const poller = config.enabled
    ? new ResultsPoller(
        client,
        {
          get contactListIds() {
            return needs.lists.contactListIds;
          },
          ...(needs.lists.routeOf ? { routeOf: needs.lists.routeOf } : {}),
          outboxDir: shared.layout.outbox,
          stateFile,
          overlapMs: config.overlapSeconds * 1000,
          initialLookbackMs: config.initialLookbackSeconds * 1000,
          pageSize: config.pageSize,
          jobThresholdMs: config.jobThresholdSeconds * 1000,
          jobs: DEFAULT_JOB_SETTINGS,
        },
        shared.clock,
        shared.logger,
        { signal: shared.signal, mayPublish, ...(fingerprints ? { fingerprints } : {}) },
      )
    : undefined;
  const rereader = fingerprints
    ? new Rereader(
        client,
        fingerprints,
        {
          windowMs: rereadWindowMs,
          intervalMs: rereadIntervalMs,
          maxRequestsPerMinute: config.rereadMaxRequestsPerMinute,
          outboxDir: shared.layout.outbox,
          ...(needs.lists.routeOf ? { routeOf: needs.lists.routeOf } : {}),
        },
        shared.clock,
        shared.logger,
        {
          mayPublish,
          busy: () => budgetInDemand(client.state()),
        },
      )
    : undefined;
  return new ExportService({
    poller,
    ...(rereader ? { rereader } : {}),
    ...(events ? { replayGuard: events.replayGuard } : {}),
    leadership,
    eventLog: events?.eventLog,
    registry: shared.registry,
    stateFile,
    pollIntervalMs: needs.pollIntervalMs,
    eventSegmentMs: config.eventSegmentSeconds * 1000,
    clock: shared.clock,
    logger: shared.logger,
    signal: shared.signal,
  });
}

interface ConsoleParts {
  /** Samples for the console's chart, taken while the service runs. */
  readonly history: RateHistory;
  /** The console plugin's options, its prefix among them. */
  readonly options: ConsoleDependencies & { readonly prefix: string };
}

/**
 * The import as the console sees it: contact and DNC routes in one table (a DNC route's list
 * shown as "DNC list ..."), paused and resumed together.
 */
function consoleImport(importer: ImportRoutes, dnc: DncRoutes): ImportControl {
  return {
    status: () => {
      const status = importer.status();
      const dncRoutes: RouteStatus[] = dnc.status().map((route) => ({
        name: route.name,
        state: route.state,
        ...(route.dncListId !== undefined ? { contactListId: route.dncListId } : {}),
        contactListName: `DNC list ${route.dncListName ?? route.dncListId ?? ""}${route.entries ? ` (${route.entries})` : ""}`,
        inboxFiles: route.inboxFiles,
        current: route.current,
        last: route.last,
        blocked: route.blocked && { ...route.blocked, contactListId: route.blocked.dncListId },
      }));
      return { ...status, routes: [...status.routes, ...dncRoutes] };
    },
    pause: () => {
      importer.pause();
      dnc.pause();
    },
    resume: () => {
      importer.resume();
      dnc.resume();
    },
  };
}

/**
 * Contact-list snapshots (issue 21): on the leader, each route's list exported on the schedule
 * into outbox/lists/; off unless a schedule is set. The download goes through the client's
 * dispatcher (the proxy, NO_PROXY), to the hosts the region's downloads come from.
 */
function buildSnapshots(
  config: ServiceConfig,
  shared: Shared,
  needs: { readonly client: GenesysClient; readonly importer: ImportRoutes; readonly leadership: Leadership },
): ListSnapshots {
  const { client } = needs;
  return new ListSnapshots({
    client,
    dispatcher: client.httpDispatcher,
    routes: () =>
      needs.importer.running.map(({ route }) => ({ name: route.name, contactListId: route.contactListId })),
    leadership: needs.leadership,
    outboxDir: shared.layout.outbox,
    schedule: snapshotSchedule(config.export),
    keep: config.export.listSnapshotKeep,
    readyTimeoutMs: config.export.listSnapshotReadyTimeoutSeconds * 1000,
    allowedHosts: downloadHosts({
      region: config.endpoints.domain,
      apiBaseUrl: config.endpoints.apiBaseUrl,
      extraHosts: config.export.listSnapshotDownloadHosts,
    }),
    metrics: new ListSnapshotMetrics(shared.registry),
    clock: shared.clock,
    random: shared.random,
    logger: shared.logger.child({ part: "list-snapshots" }),
    signal: shared.signal,
  });
}

/** The operator console under CONSOLE_PREFIX, and the rate history its chart draws. */
function buildConsole(
  config: NonNullable<ServiceConfig["console"]>,
  shared: Shared,
  needs: {
    readonly genesys: GenesysParts;
    readonly importer: ImportControl;
    readonly exporter: ExportService;
    readonly snapshots: ListSnapshots;
  },
): ConsoleParts {
  const { client, metrics } = needs.genesys;
  // The chart: the rate budget and 429s, sampled from the client and its metrics.
  const history = new RateHistory(async () => {
    const state = client.state();
    const limited = await metrics.rateLimited.get();
    return {
      budgetInUse: budgetShareInUse(state),
      rateLimitedTotal: limited.values.reduce((sum, value) => sum + value.value, 0),
    };
  }, shared.clock);
  return {
    history,
    options: {
      prefix: CONSOLE_PREFIX,
      config,
      client,
      importer: needs.importer,
      exporter: needs.exporter,
      snapshots: needs.snapshots,
      layout: shared.layout,
      history,
      logger: shared.logger,
      clock: shared.clock,
    },
  };
}

/** The probes' options: readiness from the client, the import and the volume; gauges refreshed per scrape. */
function buildProbes(
  dataDir: string,
  shared: Shared,
  needs: { readonly client: GenesysClient; readonly dnc: DncRoutes } & ImportParts,
): ProbesOptions {
  const { client } = needs;
  return {
    registry: shared.registry,
    beforeScrape: () => client.updateGauges(),
    readiness: readinessCheck({
      ...needs,
      dataDir,
      probeFile: path.join(shared.layout.state, `.ready-${shared.replicaId}`),
      clock: shared.clock,
      signal: shared.signal,
    }),
  };
}

/** What readiness is read from. */
export interface ReadinessSources {
  readonly client: Pick<GenesysClient, "hasValidToken" | "breakerStatus">;
  readonly targetGate: Pick<TargetGate, "blocked">;
  /** The import; `routes` (import/route-set.ts) names each route whose list refuses calls. */
  readonly importer: { status(): ImportStatus & { readonly routes?: readonly RouteStatus[] } };
  readonly dnc?: Pick<DncRoutes, "readinessWarnings">;
  readonly dataDir: string;
  /** Written and removed at each check: the data dir is ready when it takes a write. */
  readonly probeFile: string;
  readonly clock: Clock;
  /** Aborted when shutdown begins. */
  readonly signal: AbortSignal;
}

/**
 * /readyz: not ready while shutting down, without a valid token, or with a data directory that
 * cannot be written to. A contact list that refuses calls, a Genesys outage and a full volume are
 * warnings, not reasons: the webhook and the export still work, and restarting pods or moving
 * traffic fixes nothing on Genesys' side or on the volume.
 */
export function readinessCheck(sources: ReadinessSources): ProbesOptions["readiness"] {
  const { client, targetGate, importer, clock } = sources;
  return async () => {
    const reasons: string[] = [];
    if (sources.signal.aborted) reasons.push("shutting down");
    if (!client.hasValidToken()) reasons.push("no valid Genesys Cloud access token yet");
    const dataDirectory = await dataDirProblem(sources.probeFile, sources.dataDir, clock);
    if (dataDirectory) reasons.push(dataDirectory);
    const blocked = targetGate.blocked;
    const outage = breakerWarning(client.breakerStatus(), clock.now());
    const status = importer.status();
    const full = status.volumeFull;
    const warnings = [
      ...(blocked
        ? [
            `the import is holding back: contact list ${blocked.contactListId} refuses calls (${blocked.message}). Fix: ${blocked.fix}`,
          ]
        : []),
      ...(status.routes ?? []).flatMap(({ name, blocked: refused }) =>
        refused && name !== DEFAULT_ROUTE
          ? [
              `import route ${name} is holding back: contact list ${refused.contactListId} refuses calls (${refused.message}). Fix: ${refused.fix}`,
            ]
          : [],
      ),
      ...(sources.dnc?.readinessWarnings() ?? []),
      ...(outage ? [outage] : []),
      ...(full
        ? [
            `the import is stopped: the shared volume is full (${full.message}) since ${new Date(full.sinceMs).toISOString()}. Fix: free space on it; imports resume by themselves`,
          ]
        : []),
    ];
    return { ready: reasons.length === 0, reasons, warnings };
  };
}

/** Why the data dir cannot be written to, or undefined when it can. */
async function dataDirProblem(probeFile: string, dataDir: string, clock: Clock): Promise<string | undefined> {
  try {
    await writeFile(probeFile, String(clock.now()));
    await rm(probeFile, { force: true });
    return undefined;
  } catch (error) {
    await rm(probeFile, { force: true }).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOSPC" || code === "EDQUOT"
      ? `the data directory ${dataDir} is full (${code}): free space on the shared volume`
      : `the data directory ${dataDir} is not writable${code ? ` (${code})` : ""}`;
  }
}

interface LifecycleParts extends Omit<Service, "start" | "shutdown" | "leadership" | "registry"> {
  readonly election: ElectionParts;
  readonly events: WebhookEvents | undefined;
  readonly history: RateHistory | undefined;
  readonly injectedDispatcher: boolean;
}

/** `start()` and `shutdown()`: each runs once, however often it is called. */
function lifecycle(
  config: ServiceConfig,
  shared: Shared,
  shuttingDown: AbortController,
  parts: LifecycleParts,
): Pick<Service, "start" | "shutdown"> {
  const { app, client, importer, exporter, election, history, logger } = { ...parts, logger: shared.logger };
  let historyLoop: Promise<void> | undefined;
  let started: Promise<{ port: number }> | undefined;
  let stopped: Promise<void> | undefined;

  const start = async (): Promise<{ port: number }> => {
    if (shuttingDown.signal.aborted) throw new ServiceStoppedError();
    // Segments other replicas left behind are published before this one takes new events.
    if (parts.events) await parts.events.eventLog.recover(3 * config.export.eventSegmentSeconds * 1000);
    await app.listen({ port: config.port, host: config.host });
    historyLoop = history?.start(shuttingDown.signal);
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    logStarted(config, logger, {
      replicaId: shared.replicaId,
      port,
      injectedDispatcher: parts.injectedDispatcher,
    });
    client.start();
    // Files are claimed only once a token is held: an import cannot start without one anyway.
    void client.whenReady().then(
      () => {
        if (shuttingDown.signal.aborted) return;
        importer.start();
        parts.dnc.start();
        election.start(shuttingDown.signal);
        exporter.start();
        parts.snapshots.start();
      },
      () => undefined,
    );
    return { port };
  };

  const shutdown = async (reason: string): Promise<void> => {
    logger.info(
      { reason },
      "shutting down: no new files are claimed; batches in flight finish and are journalled",
    );
    shuttingDown.abort();
    // A start under way finishes first, so what it opened is closed below.
    await started?.catch(() => undefined);
    await importer.stopped();
    await parts.dnc.stopped();
    // Before the client closes: a download under way uses its dispatcher.
    await parts.snapshots.stopped();
    // HTTP first: webhook calls in flight finish their group commit before the log is closed.
    await app.close();
    await exporter.stopped();
    await historyLoop;
    await election.release();
    await client.close();
    logger.info("shut down");
  };

  return {
    start: () => (started ??= start()),
    shutdown: (reason = "shutdown requested") => (stopped ??= shutdown(reason)),
  };
}

/** The one line that says what this replica runs and where, and a warning for NO_PROXY ranges. */
function logStarted(
  config: ServiceConfig,
  logger: Logger,
  facts: { readonly replicaId: string; readonly port: number; readonly injectedDispatcher: boolean },
): void {
  logger.info(
    {
      replicaId: facts.replicaId,
      port: facts.port,
      dataDir: config.dataDir,
      api: config.endpoints.apiBaseUrl,
      login: config.endpoints.loginBaseUrl,
      apps: config.endpoints.appsBaseUrl,
      proxy: facts.injectedDispatcher ? "(injected dispatcher)" : describeProxy(config.proxy),
      export: config.export.enabled ? { contactListIds: config.export.contactListIds } : "off",
      webhook: config.webhook ? "POST /webhooks/genesys" : "off (set WEBHOOK_USERNAME and WEBHOOK_PASSWORD)",
      console: config.console
        ? `${config.console.publicUrl.replace(/\/$/, "")}${CONSOLE_PREFIX}`
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
}
