import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { sameSecret } from "../shared/same-secret";
import { systemClock, type Clock } from "../time/clock";
import type { EventLog } from "./event-log";
import { MemoryReplayGuard, type ReplayGuard } from "./replay-guard";

export interface WebhookSettings {
  readonly username: string;
  readonly password: string;
  /** Largest body accepted; default 64 KiB. */
  readonly maxBodyBytes: number;
  /** Stamps `receivedAt`; default the system clock. */
  readonly clock?: Clock;
  /** Told the result of every call (for metrics). */
  readonly onResult?: (result: WebhookResult) => void;
}

export type WebhookResult =
  "accepted" | "duplicate" | "in_flight" | "invalid" | "unauthorized" | "too_large" | "failed";

interface PushedEvent {
  readonly eventId: string;
  readonly source: string;
  readonly conversationId?: string;
  readonly occurredAt?: string;
  readonly data?: Record<string, unknown>;
}

function validate(body: unknown): { event: PushedEvent } | { problem: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return { problem: "the body must be a JSON object" };
  const candidate = body as Record<string, unknown>;
  if (typeof candidate.eventId !== "string" || candidate.eventId === "" || candidate.eventId.length > 200) {
    return {
      problem:
        "eventId is required: a string of at most 200 characters, unique per event (replays with the same id are ignored)",
    };
  }
  if (typeof candidate.source !== "string" || candidate.source === "")
    return { problem: "source is required: which workflow or data action sent the event" };
  if (candidate.conversationId !== undefined && typeof candidate.conversationId !== "string")
    return { problem: "conversationId must be a string" };
  if (
    candidate.occurredAt !== undefined &&
    (typeof candidate.occurredAt !== "string" || Number.isNaN(Date.parse(candidate.occurredAt)))
  ) {
    return { problem: "occurredAt must be an ISO-8601 time" };
  }
  if (
    candidate.data !== undefined &&
    (typeof candidate.data !== "object" || candidate.data === null || Array.isArray(candidate.data))
  ) {
    return { problem: "data must be an object" };
  }
  return { event: candidate as unknown as PushedEvent };
}

export interface WebhookOptions extends WebhookSettings {
  /** Where accepted events are made durable. */
  readonly log: Pick<EventLog, "append">;
  readonly logger: Logger;
  /**
   * Which event ids were stored already. The service passes the replay window on the shared
   * volume (replay-guard.ts), shared by every replica; default this process's memory, 100,000 ids.
   */
  readonly replay?: ReplayGuard;
}

/**
 * `POST /webhooks/genesys`: events pushed by a Genesys web-services data action (Process
 * Automation), authenticated with Basic auth (Genesys signs nothing), compared in constant time.
 * Caps the body, validates it, ignores a replayed event id (claimed before it is stored, so two
 * copies racing, here or on another replica, store it once), and answers 202 only once the event
 * is durable in the event log (group commit). A fastify plugin: `app.register(webhook, options)`.
 */
export const webhook: FastifyPluginAsync<WebhookOptions> = async (app, options) => {
  const { log, logger } = options;
  const replay = options.replay ?? new MemoryReplayGuard(100_000);
  const expectedUser = options.username;
  const expectedPassword = options.password;
  const count = options.onResult ?? (() => undefined);
  const clock = options.clock ?? systemClock;
  app.post(
    "/webhooks/genesys",
    {
      bodyLimit: options.maxBodyBytes,
      // 401 and 413 are answered before the handler runs: count them when the answer is sent.
      onResponse: async (_request, reply) => {
        if (reply.statusCode === 401) count("unauthorized");
        else if (reply.statusCode === 413) count("too_large");
        else if (reply.statusCode === 400) count("invalid");
      },
      // Before the body is read: a caller without credentials gets nothing parsed or stored.
      onRequest: async (request, reply) => {
        const match = /^Basic\s+(\S+)$/i.exec(request.headers.authorization ?? "");
        const decoded = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
        const colon = decoded.indexOf(":");
        const userOk = sameSecret(colon >= 0 ? decoded.slice(0, colon) : "", expectedUser);
        const passwordOk = sameSecret(colon >= 0 ? decoded.slice(colon + 1) : "", expectedPassword);
        if (!match || !(userOk && passwordOk)) {
          return reply
            .code(401)
            .header("www-authenticate", 'Basic realm="genesys-webhook"')
            .send({ error: "unauthorized" });
        }
      },
    },
    async (request, reply) => {
      const checked = validate(request.body);
      if ("problem" in checked)
        return reply.code(400).send({ error: "invalid event", detail: checked.problem });
      const { event } = checked;
      let claim: Awaited<ReturnType<ReplayGuard["claim"]>>;
      try {
        claim = await replay.claim(event.eventId);
      } catch (error) {
        count("failed");
        logger.error(
          { err: { message: (error as Error).message } },
          "could not check a pushed event for replay",
        );
        return reply.code(503).send({ error: "not stored, retry" });
      }
      if (claim.status === "duplicate") {
        count("duplicate");
        return reply.code(202).send({ status: "duplicate", eventId: event.eventId });
      }
      if (claim.status === "in-flight") {
        // Another request is storing this id now: "duplicate" would be a lie if that one fails.
        count("in_flight");
        return reply
          .code(503)
          .header("retry-after", "1")
          .send({ error: "this event id is being stored by another request, retry", eventId: event.eventId });
      }
      try {
        await log.append({ ...event, receivedAt: new Date(clock.now()).toISOString() });
      } catch (error) {
        await claim.release().catch(() => undefined);
        count("failed");
        logger.error({ err: { message: (error as Error).message } }, "could not make a pushed event durable");
        return reply.code(503).send({ error: "not stored, retry" });
      }
      // Stored: from now on a replay is a duplicate. Failing to say so costs at most a second copy.
      await claim
        .stored()
        .catch((error: unknown) =>
          logger.warn(
            { err: { message: (error as Error).message } },
            "stored a pushed event but could not mark its id as stored; a replay may store it again",
          ),
        );
      count("accepted");
      return reply.code(202).send({ status: "accepted", eventId: event.eventId });
    },
  );
};

/** Registers the webhook plugin on an app built elsewhere (the benchmark's bare fastify). */
export function registerWebhook(
  app: FastifyInstance,
  log: Pick<EventLog, "append">,
  settings: WebhookSettings,
  logger: Logger,
  replay?: ReplayGuard,
): void {
  void app.register(webhook, { ...settings, log, logger, ...(replay ? { replay } : {}) });
}
