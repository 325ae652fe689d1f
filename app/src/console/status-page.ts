import type { FastifyPluginAsync } from "fastify";
import type { ListSnapshotStatus } from "../export/snapshots";
import type { DataLayout } from "../shared/layout";
import type { Clock } from "../time/clock";
import { sendPage, type ConsoleAuth } from "./auth";
import type { ExportControl, GenesysView, ImportControl } from "./controls";
import { archiveSummary, rejectedFiles } from "./files";
import type { RateHistory } from "./history";
import { renderConsole } from "./page";

export interface StatusPageOptions {
  readonly auth: ConsoleAuth;
  readonly client: GenesysView;
  readonly importer: ImportControl;
  readonly exporter: ExportControl;
  readonly snapshots?: { status(): ListSnapshotStatus };
  readonly layout: DataLayout;
  readonly history: Pick<RateHistory, "lastHour">;
  readonly clock: Clock;
}

/** What an action did, shown above the page it redirects to (`?done=<action>`). */
const NOTICES: Readonly<Record<string, string>> = {
  requeue: "The file is back in inbox/ and will be imported at the next scan.",
  "pause-import": "The import is paused: the file in progress stops after its batches in flight.",
  "resume-import": "The import runs again.",
  "pause-export": "The results export is paused.",
  "resume-export": "The results export runs again; it polls now.",
};

/** The console's page: the service's own state at a glance; without a session, the sign-in. */
export const statusPage: FastifyPluginAsync<StatusPageOptions> = async (scope, options) => {
  const { auth, clock } = options;
  scope.get("", async (request, reply) => {
    const user = auth.session(request);
    if (!user) return auth.startSignIn(reply);
    const now = clock.now();
    const done = (request.query as { done?: string }).done;
    const html = renderConsole({
      user: user.name,
      csrf: user.csrf,
      nowMs: now,
      client: options.client.state(),
      history: options.history.lastHour(),
      importer: options.importer.status(),
      archive: await archiveSummary(options.layout, now),
      rejected: await rejectedFiles(options.layout, now),
      exporter: options.exporter.status(),
      snapshots: options.snapshots?.status(),
      watermarkMs: await options.exporter.watermarkMs().catch(() => undefined),
      notice: done ? NOTICES[done] : undefined,
    });
    return sendPage(reply, 200, html);
  });
};
