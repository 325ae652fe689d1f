import type { Logger } from "pino";
import type { GenesysClient } from "../genesys/client";
import { ClaimStore } from "../import/claims";
import type { ImportConfig } from "../import/config";
import type { DncCheck } from "../import/importer";
import type { ImportMetrics } from "../import/metrics";
import type { FileProgress } from "../import/outcomes";
import type { ConfigurationError } from "../shared/errors";
import { DNC_LANES, dncLaneLayout, dncLayout, ensureDncLayout, type DataLayout } from "../shared/layout";
import type { RouteSpec } from "../shared/routes";
import type { Clock, Random } from "../time/clock";
import type { DncFileOutcome } from "./file";
import { DncGate, type DncBlocked } from "./gate";
import { DncIndex } from "./index-store";
import { dncRouteSpecs, resolveDncRoutes, type DncRoute } from "./resolution";
import { DncService } from "./service";

/** What every DNC route is built from: the service's shared parts. */
export interface DncRouteDependencies {
  readonly client: GenesysClient;
  /** The import's settings: claim timeout, settle time, scan interval, batches in flight, record and rejects limits, default country. */
  readonly config: ImportConfig;
  /** The data directory's layout (shared/layout.ts dataLayout): each route's folders are made from it. */
  readonly layout: DataLayout;
  /** The import's metrics; each route writes through its view (forRoute), labelled with its name. */
  readonly metrics: ImportMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: Random;
  readonly replicaId: string;
  /** True in Kubernetes (claims.ts ClaimSettings.hostIsPod). */
  readonly hostIsPod: boolean;
  /** Aborted when shutdown begins. */
  readonly signal: AbortSignal;
}

/** One DNC route running: its loop, the gate that holds it back, its index of applied entries. */
export interface DncRouteRun {
  readonly route: DncRoute;
  readonly service: DncService;
  readonly gate: DncGate;
  readonly index: DncIndex;
}

/**
 * Builds one resolved DNC route: its folders on the volume (dncLayout), a claim store per lane
 * (add/, remove/), its gate and its loop, its metrics labelled with its name. `index` is the route's
 * index when the caller already holds it (DncRoutes does, to count from it before resolution).
 */
export async function buildDncRoute(
  route: DncRoute,
  deps: DncRouteDependencies,
  index?: DncIndex,
): Promise<DncRouteRun> {
  const { client, config, clock } = deps;
  const layout = dncLayout(deps.layout, route.name);
  await ensureDncLayout(layout);
  const logger = deps.logger.child({ route: route.name, dncListId: route.dncListId });
  const metrics = deps.metrics.forRoute(route.name);
  const settings = {
    replicaId: deps.replicaId,
    hostIsPod: deps.hostIsPod,
    claimTimeoutMs: config.claimTimeoutSeconds * 1000,
    settleMs: config.settleSeconds * 1000,
    // The remove/ lane's names: .csv or .txt.
    lane: "remove" as const,
  };
  const lanes = DNC_LANES.map((lane) => ({
    lane,
    claims: new ClaimStore(dncLaneLayout(layout, lane), settings, clock),
  }));
  const gate = new DncGate({ client, dncListId: route.dncListId, kind: route.kind, clock, logger, metrics });
  const routeIndex = index ?? new DncIndex(layout.state, clock, logger);
  const service = new DncService(
    lanes,
    {
      client,
      route,
      config,
      layout,
      metrics,
      logger,
      clock,
      random: deps.random,
      signal: deps.signal,
      gate,
      index: routeIndex,
    },
    config.scanIntervalSeconds * 1000,
    clock,
    logger,
  );
  return { route, service, gate, index: routeIndex };
}

/** What the console and /readyz show of one DNC route. */
export interface DncRouteStatus {
  readonly name: string;
  /** `resolving`: its list is being looked up (at start); `running` after. */
  readonly state: "resolving" | "running";
  readonly dncListId?: string;
  readonly dncListName?: string;
  readonly entries?: "phone" | "email";
  readonly inboxFiles: number;
  readonly current: FileProgress | undefined;
  readonly last: DncFileOutcome | undefined;
  readonly blocked: DncBlocked | undefined;
  /** Entries in the route's index: what this service put on the list and did not take off. */
  readonly indexedEntries: number;
}

export interface DncRoutesOptions extends DncRouteDependencies {
  /** Every declared route; the DNC routes among them are run (shared/routes.ts isDncRoute). */
  readonly specs: readonly RouteSpec[];
  /** A DNC route that cannot work (unknown list name, entries of the wrong kind): the process exits 78 in main.ts. */
  readonly onConfigurationError: (error: ConfigurationError) => void;
}

/**
 * Every DNC route of this replica: resolved against Genesys once a token is held (`start`), each
 * running its own loop on the shared client. Each route's index is read from the volume at once,
 * before resolution, so the contact routes' checkDnc counts (`checkFor`) work from the start.
 */
export class DncRoutes {
  private readonly runs: DncRouteRun[] = [];
  private readonly indexes = new Map<string, DncIndex>();
  private readonly specs: readonly RouteSpec[];
  private starting: Promise<void> | undefined;
  private paused = false;

  constructor(private readonly options: DncRoutesOptions) {
    this.specs = dncRouteSpecs(options.specs);
    for (const spec of this.specs)
      this.indexes.set(
        spec.name,
        new DncIndex(
          dncLayout(options.layout, spec.name).state,
          options.clock,
          options.logger.child({ route: spec.name }),
        ),
      );
  }

  /** The DNC routes running now, in declared order of resolution. */
  get running(): readonly DncRouteRun[] {
    return this.runs;
  }

  /** Reads every route's index, resolves the routes, and starts each one's loop. Call once a token is held. */
  start(): void {
    this.starting ??= this.resolveAndStart();
  }

  async stopped(): Promise<void> {
    await this.starting;
    await Promise.all(this.runs.map(({ service }) => service.stopped()));
  }

  pause(): void {
    this.paused = true;
    for (const { service } of this.runs) service.pause();
  }

  resume(): void {
    this.paused = false;
    for (const { service } of this.runs) service.resume();
  }

  /**
   * The importer's hook (import/importer.ts DncCheck) for a contact route whose checkDnc names
   * `routes`: whether any of a contact's numbers (its phone columns, E.164) is in one of their
   * indexes. Undefined when it names none of this set's routes.
   */
  checkFor(routes: readonly string[] | undefined, phoneColumns: readonly string[]): DncCheck | undefined {
    const indexes = (routes ?? []).flatMap((name) => {
      const index = this.indexes.get(name);
      return index ? [index] : [];
    });
    if (indexes.length === 0) return undefined;
    return {
      routes: [...(routes ?? [])],
      listed(data) {
        for (const column of phoneColumns) {
          const number = data[column];
          if (number && indexes.some((index) => index.has(number))) return true;
        }
        return false;
      },
    };
  }

  status(): DncRouteStatus[] {
    return this.specs.map((spec) => {
      const run = this.runs.find(({ route }) => route.name === spec.name);
      const indexedEntries = this.indexes.get(spec.name)?.size ?? 0;
      if (!run)
        return {
          name: spec.name,
          state: "resolving",
          ...(spec.dncListId !== undefined ? { dncListId: spec.dncListId } : {}),
          ...(spec.dncListName !== undefined ? { dncListName: spec.dncListName } : {}),
          inboxFiles: 0,
          current: undefined,
          last: undefined,
          blocked: undefined,
          indexedEntries,
        };
      const status = run.service.status();
      return {
        name: spec.name,
        state: "running",
        dncListId: run.route.dncListId,
        ...(run.route.dncListName !== undefined ? { dncListName: run.route.dncListName } : {}),
        entries: run.route.kind,
        inboxFiles: status.inboxFiles,
        current: status.current,
        last: status.recent[0],
        blocked: status.blocked,
        indexedEntries,
      };
    });
  }

  /** /readyz's warnings: each DNC route whose list takes no entries, with the fix. */
  readinessWarnings(): string[] {
    return this.runs.flatMap(({ route, gate }) => {
      const blocked = gate.blocked;
      return blocked ? [dncBlockedWarning(route.name, blocked)] : [];
    });
  }

  private warnOfEmailChecks(resolved: readonly DncRoute[]): void {
    for (const warning of emailCheckWarnings(this.options.specs, resolved)) this.options.logger.warn(warning);
  }

  private async resolveAndStart(): Promise<void> {
    if (this.specs.length === 0) return;
    const { logger, signal } = this.options;
    for (const [name, index] of this.indexes)
      await index
        .refresh()
        .catch((error: unknown) =>
          logger.warn(
            { route: name, err: { message: (error as Error).message } },
            "could not read the DNC route's index",
          ),
        );
    let resolved: DncRoute[];
    try {
      resolved = await resolveDncRoutes(this.specs, this.options.config, this.options);
    } catch (error) {
      if (signal.aborted) return;
      if ((error as ConfigurationError).code === "CONFIG_INVALID") {
        this.options.onConfigurationError(error as ConfigurationError);
        return;
      }
      throw error;
    }
    this.warnOfEmailChecks(resolved);
    for (const route of resolved) {
      if (signal.aborted) return;
      const run = await buildDncRoute(route, this.options, this.indexes.get(route.name));
      this.runs.push(run);
      if (this.paused) run.service.pause();
      run.service.start();
      logger.info(
        {
          route: route.name,
          dncListId: route.dncListId,
          dncListName: route.dncListName,
          entries: route.kind,
        },
        "DNC route started",
      );
    }
  }
}

/**
 * A contact route's checkDnc looks up phone numbers: a DNC route whose entries turned out to be
 * email addresses (its list's contact method, dncEntries left out) never matches. Said once, at start.
 */
function emailCheckWarnings(specs: readonly RouteSpec[], resolved: readonly DncRoute[]): string[] {
  const emails = new Set(resolved.filter((route) => route.kind === "email").map((route) => route.name));
  return specs.flatMap((spec) =>
    (spec.checkDnc ?? [])
      .filter((name) => emails.has(name))
      .map(
        (name) =>
          `route ${spec.name} checks DNC route ${name}, whose list holds email addresses: the count looks up phone numbers, so it stays 0; take ${name} out of checkDnc`,
      ),
  );
}

/** The words /readyz and the console use for a DNC route held back. */
export function dncBlockedWarning(route: string, blocked: DncBlocked): string {
  const what = blocked.reason === "not-internal" ? "is not an internal DNC list" : "refuses calls";
  return `DNC route ${route} is holding back: DNC list ${blocked.dncListId} ${what} (${blocked.message}). Fix: ${blocked.fix}`;
}
