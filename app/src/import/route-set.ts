import type { Logger } from "pino";
import { withRequestShare } from "../genesys/request-share";
import type { ConfigurationError } from "../shared/errors";
import type { RouteSpec } from "../shared/routes";
import type { ImportConfig } from "./config";
import type { FileOutcome, FileProgress } from "./outcomes";
import type { ImportService, ImportStatus } from "./import-service";
import { resolveRoutes, type ImportRoute, type ResolutionDependencies } from "./route-resolution";
import type { BlockedTarget } from "./target-gate";

/** One route's loop and the gate that holds it back while its list refuses calls. */
export interface RouteImport {
  readonly route: ImportRoute;
  readonly service: ImportService;
  readonly gate: { readonly blocked: BlockedTarget | undefined };
}

/** What the console and /readyz show of one route. */
export interface RouteStatus {
  readonly name: string;
  /** `resolving`: its list is being looked up (named routes, at start); `running` after. */
  readonly state: "resolving" | "running";
  readonly contactListId?: string;
  readonly contactListName?: string;
  readonly inboxFiles: number;
  readonly current: FileProgress | undefined;
  readonly last: FileOutcome | undefined;
  readonly blocked: BlockedTarget | undefined;
}

/** The import's status across routes: the default route's fields summed or merged, and each route's own. */
export interface RoutesStatus extends ImportStatus {
  readonly routes: readonly RouteStatus[];
}

export interface ImportRoutesOptions {
  readonly specs: readonly RouteSpec[];
  readonly base: ImportConfig;
  readonly resolution: ResolutionDependencies;
  /** Builds (and lays out on the volume) one named route's loop once its list is known. */
  readonly build: (route: ImportRoute) => Promise<RouteImport>;
  /** A route that cannot work (unknown list name, a mapping to a missing column): the process exits 78 in main.ts. */
  readonly onConfigurationError: (error: ConfigurationError) => void;
  readonly logger: Logger;
}

/**
 * Every import route of this replica: the default route (files directly in inbox/) from the
 * service's settings, and the declared ones, each resolved against Genesys once a token is held.
 * Each route runs its own loop (files of one route go in the order they came, and across replicas
 * a removal or replacement waits for older files of its route: ImportService.waitsForOlder), all
 * at once, on one client: the pacer shares the
 * rate budget among them by route, removals first (genesys/request-share.ts).
 */
export class ImportRoutes {
  private readonly routes: RouteImport[];
  private resolving: Promise<void> | undefined;
  private paused = false;

  constructor(
    defaultRoute: RouteImport,
    private readonly options: ImportRoutesOptions,
  ) {
    this.routes = [defaultRoute];
  }

  /** The routes running now, the default first. */
  get running(): readonly RouteImport[] {
    return this.routes;
  }

  start(): void {
    if (this.resolving) return;
    this.startRoute(this.routes[0]!);
    this.resolving = this.resolveAndStart();
  }

  async stopped(): Promise<void> {
    await this.resolving;
    await Promise.all(this.routes.map(({ service }) => service.stopped()));
  }

  pause(): void {
    this.paused = true;
    for (const { service } of this.routes) service.pause();
  }

  resume(): void {
    this.paused = false;
    for (const { service } of this.routes) service.resume();
  }

  status(): RoutesStatus {
    const statuses = this.routes.map(({ service }) => service.status());
    const first = statuses[0]!;
    const routes: RouteStatus[] = this.routes.map(({ route, gate }, index) => ({
      name: route.name,
      state: "running",
      contactListId: route.contactListId,
      ...(route.contactListName !== undefined ? { contactListName: route.contactListName } : {}),
      inboxFiles: statuses[index]!.inboxFiles,
      current: statuses[index]!.current,
      last: statuses[index]!.recent[0],
      blocked: gate.blocked,
    }));
    const started = new Set(this.routes.map(({ route }) => route.name));
    for (const spec of this.options.specs)
      if (!started.has(spec.name))
        routes.push({
          name: spec.name,
          state: "resolving",
          ...(spec.contactListId !== undefined ? { contactListId: spec.contactListId } : {}),
          ...(spec.contactListName !== undefined ? { contactListName: spec.contactListName } : {}),
          inboxFiles: 0,
          current: undefined,
          last: undefined,
          blocked: undefined,
        });
    return {
      ...first,
      inboxFiles: statuses.reduce((sum, status) => sum + status.inboxFiles, 0),
      oldestInboxFileAgeSeconds: Math.max(...statuses.map((status) => status.oldestInboxFileAgeSeconds)),
      current: statuses.find((status) => status.current)?.current,
      recent: statuses.flatMap((status) => status.recent).slice(0, 50),
      lastError: statuses.find((status) => status.lastError)?.lastError,
      volumeFull: statuses.find((status) => status.volumeFull)?.volumeFull,
      routes,
    };
  }

  /** Each route's loop runs with its name as the share of its requests. */
  private startRoute({ route, service }: RouteImport): void {
    if (this.paused) service.pause();
    void withRequestShare({ key: route.name, priority: "addition" }, async () => service.start());
  }

  private async resolveAndStart(): Promise<void> {
    if (this.options.specs.length === 0) return;
    const { logger, resolution } = this.options;
    let resolved: ImportRoute[];
    try {
      resolved = await resolveRoutes(this.options.specs, this.options.base, resolution);
    } catch (error) {
      if (resolution.signal.aborted) return;
      if ((error as ConfigurationError).code === "CONFIG_INVALID") {
        this.options.onConfigurationError(error as ConfigurationError);
        return;
      }
      throw error;
    }
    for (const route of resolved) {
      if (resolution.signal.aborted) return;
      const built = await this.options.build(route);
      this.routes.push(built);
      this.startRoute(built);
      logger.info(
        { route: route.name, contactListId: route.contactListId, contactListName: route.contactListName },
        "import route started",
      );
    }
  }
}
