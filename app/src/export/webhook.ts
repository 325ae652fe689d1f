import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { sameSecret } from "../shared/same-secret";
import { systemClock, type Clock } from "../time/clock";
import type { EventLog } from "./event-log";

export interface WebhookSettings {
  readonly username: string;
  readonly password: string;
  /** Largest body accepted; default 64 KiB. */
  readonly maxBodyBytes: number;
  /** Event ids remembered to ignore replays; default 100,000. */
  readonly replayWindow: number;
  /** Stamps `receivedAt`; default the system clock. */
  readonly clock?: Clock;
  /** Told the result of every call (for metrics). */
  readonly onResult?: (result: WebhookResult) => void;
}

export type WebhookResult = "accepted" | "duplicate" | "invalid" | "unauthorized" | "too_large" | "failed";

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
  /** Event ids already taken; default a new, empty set. */
  readonly seen?: Set<string>;
}

/**
 * `POST /webhooks/genesys`: events pushed by a Genesys web-services data action (Process
 * Automation), authenticated with Basic auth (Genesys signs nothing), compared in constant time.
 * Caps the body, validates it, ignores a replayed event id, and answers 202 only once the event
 * is durable in the event log (group commit). A fastify plugin: `app.register(webhook, options)`.
 */
export const webhook: FastifyPluginAsync<WebhookOptions> = async (app, options) => {
  const { log, logger } = options;
  const seen = options.seen ?? new Set<string>();
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
      if (seen.has(event.eventId)) {
        count("duplicate");
        return reply.code(202).send({ status: "duplicate", eventId: event.eventId });
      }
      seen.add(event.eventId);
      if (seen.size > options.replayWindow) seen.delete(seen.values().next().value!);
      try {
        await log.append({ ...event, receivedAt: new Date(clock.now()).toISOString() });
      } catch (error) {
        seen.delete(event.eventId);
        count("failed");
        logger.error({ err: { message: (error as Error).message } }, "could not make a pushed event durable");
        return reply.code(503).send({ error: "not stored, retry" });
      }
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
  seen?: Set<string>,
): void {
  void app.register(webhook, { ...settings, log, logger, ...(seen ? { seen } : {}) });
}
