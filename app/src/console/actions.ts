import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import type { DataLayout } from "../shared/layout";
import type { Clock } from "../time/clock";
import { BACK_TO_CONSOLE, sendPage, type ConsoleAuth } from "./auth";
import { CONSOLE_PREFIX } from "./config";
import type { ExportControl, ImportControl } from "./controls";
import { RequeueError } from "./errors";
import { requeue } from "./files";
import { renderMessage } from "./page";

export interface RequeueOptions {
  readonly auth: ConsoleAuth;
  readonly layout: DataLayout;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** `/actions/requeue`: a fixed file goes from rejects/ back into inbox/, logged with who did it. */
export const requeueAction: FastifyPluginAsync<RequeueOptions> = async (
  scope,
  { auth, layout, logger, clock },
) => {
  scope.post("/actions/requeue", async (request, reply) => {
    const user = auth.guard(request, reply);
    if (!user) return reply;
    const file = String((request.body as { file?: unknown }).file ?? "");
    try {
      const as = await requeue(layout, file, clock.now());
      const by = { user: user.name, subject: user.sub };
      logger.info({ action: "requeue", by, file, as }, "console action: requeued a rejected file");
    } catch (error) {
      if (!(error instanceof RequeueError)) throw error;
      return sendPage(reply, 409, renderMessage("Not requeued", error.message, BACK_TO_CONSOLE));
    }
    return reply.redirect(`${CONSOLE_PREFIX}?done=requeue`, 303);
  });
};

export interface SwitchOptions {
  readonly auth: ConsoleAuth;
  readonly importer: ImportControl;
  readonly exporter: ExportControl;
  readonly logger: Logger;
}

/** `/actions/<pause|resume>-<import|export>`: the pause switches, each logged with who flipped it. */
export const switchActions: FastifyPluginAsync<SwitchOptions> = async (
  scope,
  { auth, importer, exporter, logger },
) => {
  const switches: Readonly<Record<string, () => void>> = {
    "pause-import": () => importer.pause(),
    "resume-import": () => importer.resume(),
    "pause-export": () => exporter.pause(),
    "resume-export": () => exporter.resume(),
  };
  scope.post("/actions/:action", async (request, reply) => {
    const user = auth.guard(request, reply);
    if (!user) return reply;
    const { action } = request.params as { action: string };
    const flip = Object.hasOwn(switches, action) ? switches[action] : undefined;
    if (!flip) return sendPage(reply, 404, renderMessage("No such action", action));
    flip();
    logger.info({ action, by: { user: user.name, subject: user.sub } }, `console action: ${action}`);
    return reply.redirect(`${CONSOLE_PREFIX}?done=${action}`, 303);
  });
};
