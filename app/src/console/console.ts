import type { ListSnapshotStatus } from "../export/snapshots";
import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import type { DataLayout } from "../shared/layout";
import type { Clock } from "../time/clock";
import { requeueAction, switchActions } from "./actions";
import { ConsoleAuth } from "./auth";
import type { ConsoleConfig } from "./config";
import type { ExportControl, GenesysView, ImportControl } from "./controls";
import type { RateHistory } from "./history";
import { signInRoutes } from "./sign-in";
import { statusPage } from "./status-page";

export interface ConsoleDependencies {
  readonly config: ConsoleConfig;
  readonly client: GenesysView;
  readonly importer: ImportControl;
  readonly exporter: ExportControl;
  /** Contact-list snapshots (export/snapshots.ts); their section shows only while a schedule is set. */
  readonly snapshots?: { status(): ListSnapshotStatus };
  readonly layout: DataLayout;
  readonly history: Pick<RateHistory, "lastHour">;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * The operator console: the service's own state at a glance and a few actions, behind an OpenID
 * Connect sign-in limited to the configured groups (auth.ts). Registered under its prefix,
 * `app.register(operatorConsole, { prefix: CONSOLE_PREFIX, ...deps })`; each route or small group
 * of routes is a plugin of its own, and the form parser stays inside the console's context.
 */
export const operatorConsole: FastifyPluginAsync<ConsoleDependencies> = async (scope, deps) => {
  const { config, client, importer, exporter, snapshots, layout, history, logger, clock } = deps;
  const auth = new ConsoleAuth(config, logger, clock);
  scope.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 4096 },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  // Each plugin is given what it uses, not `deps`: the options fastify hands here carry the prefix.
  await scope.register(statusPage, {
    ...{ auth, client, importer, exporter, layout, history, clock },
    ...(snapshots ? { snapshots } : {}),
  });
  await scope.register(signInRoutes, { auth, logger });
  await scope.register(requeueAction, { auth, layout, logger, clock });
  await scope.register(switchActions, { auth, importer, exporter, logger });
};
