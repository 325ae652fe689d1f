import { PassThrough, finished, type Readable, type Writable } from "node:stream";
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestAsyncHookHandler,
} from "fastify";
import type { Logger } from "pino";
import { sameSecret } from "../shared/same-secret";
import { systemClock, type Clock } from "../time/clock";
import { ExportError, type ExportErrorCode } from "./errors";
import type { EventLog } from "./event-log";
import { MemoryReplayGuard, type ReplayGuard } from "./replay-guard";

export interface WebhookSettings {
  readonly username: string;
  readonly password: string;
  /** Largest body accepted; default 64 KiB. */
  readonly maxBodyBytes: number;
  /** How long a caller with valid credentials has to send the whole body; default 10 s. */
  readonly bodyTimeoutMs?: number;
  /** Stamps `receivedAt`; default the system clock. */
  readonly clock?: Clock;
  /** Told the result of every call (for metrics). */
  readonly onResult?: (result: WebhookResult) => void;
}

export type WebhookResult =
  "accepted" | "duplicate" | "in_flight" | "invalid" | "unauthorized" | "too_large" | "timed_out" | "failed";

/**
 * Deepest nesting of objects and arrays accepted in an event (the event object is level 1, its
 * `data` level 2). A data action sends a flat object with a `data` map a few levels deep, so 32
 * is room to spare, and it stays far below the depth at which code that walks a value recursively
 * (JSON.stringify when the event is stored, a logger) runs out of stack. An event of 5,000 levels,
 * 30 KB and under the size limit, once did: the 503 that followed made the sender retry it forever.
 */
export const MAX_EVENT_DEPTH = 32;

/**
 * A data action sends its few KiB at once; a caller that keeps the body coming slower than this
 * holds a connection (and the bytes read so far) for nothing. Only callers with valid credentials
 * get this far: the others are refused before the body is read.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

/** Why a body is refused before it is read as an event. */
export type WebhookRefusalCode = Extract<ExportErrorCode, `WEBHOOK_BODY_${string}`>;

/** A body refused before it is read as an event, with the status to answer; the message says why. */
export class WebhookBodyRefused extends ExportError {
  readonly statusCode: number;
  constructor(code: WebhookRefusalCode, statusCode: number, message: string) {
    super(code, message);
    this.statusCode = statusCode;
  }
}

/** True when objects and arrays nest deeper than `limit`, read from the text so nothing recurses. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === "\\") index += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{" || char === "[") {
      depth += 1;
      if (depth > limit) return true;
    } else if (char === "}" || char === "]") depth -= 1;
  }
  return false;
}

/**
 * The first key in `value` that other code merging the event could turn into a prototype change
 * (what fastify's own parser refuses, secure-json-parse's two checks), or undefined.
 */
function prototypeKey(value: unknown): string | undefined {
  const isObject = (candidate: unknown): candidate is object =>
    typeof candidate === "object" && candidate !== null;
  const pending = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (!isObject(item)) continue;
    if (Object.hasOwn(item, "__proto__")) return "__proto__";
    const constructorValue = Object.hasOwn(item, "constructor")
      ? (item as Record<string, unknown>).constructor
      : undefined;
    if (isObject(constructorValue) && Object.hasOwn(constructorValue, "prototype"))
      return "constructor.prototype";
    for (const child of Object.values(item)) pending.push(child);
  }
  return undefined;
}

/** The body as JSON, or a refusal that tells the sender what to change (400: do not retry as is). */
function parseEventBody(text: string): unknown {
  const refuse = (code: WebhookRefusalCode, message: string) => new WebhookBodyRefused(code, 400, message);
  if (text.length === 0)
    throw refuse("WEBHOOK_BODY_EMPTY", "the body is empty: send the event as a JSON object");
  if (nestsDeeperThan(text, MAX_EVENT_DEPTH)) {
    throw refuse(
      "WEBHOOK_BODY_TOO_DEEP",
      `the event is nested too deep: at most ${MAX_EVENT_DEPTH} levels of objects and arrays are accepted`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's own message quotes the body; the answer and the log need not.
    throw refuse("WEBHOOK_BODY_NOT_JSON", "the body is not valid JSON");
  }
  const key = prototypeKey(value);
  if (key !== undefined) {
    throw refuse(
      "WEBHOOK_BODY_PROTOTYPE_KEY",
      `keys named __proto__ or constructor.prototype are not accepted (they can change the prototype of objects built from the event); found ${key}`,
    );
  }
  return value;
}

/**
 * The body stream, cut off with a 408 refusal if it is not all in within `timeoutMs` of the
 * headers: the limit is on the whole body, so trickling a byte now and then does not extend it.
 * The timer stops when the body is in, the caller goes away or an answer is sent (a 413 mid-body).
 */
function withBodyTimeout(payload: Readable, answer: Writable, timeoutMs: number, clock: Clock): Readable {
  const guarded = new PassThrough();
  const bodyDone = new AbortController();
  finished(payload, () => bodyDone.abort());
  finished(answer, () => bodyDone.abort());
  payload.pipe(guarded);
  clock.sleep(timeoutMs, bodyDone.signal).then(
    () => {
      payload.unpipe(guarded);
      // Fastify answers a body error with `connection: close`, so the socket goes with the answer.
      guarded.destroy(
        new WebhookBodyRefused(
          "WEBHOOK_BODY_TIMEOUT",
          408,
          `the body was not received within ${timeoutMs / 1000} s of the headers; send it at once`,
        ),
      );
    },
    () => undefined, // the body ended, the caller went away or an answer was sent, first
  );
  return guarded;
}

/** Answers a refused body with its status and why; everything else goes to fastify's own handler. */
function answerRefusal(maxBodyBytes: number) {
  return async (error: Error, _request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof WebhookBodyRefused) {
      const kind = error.statusCode === 408 ? "body too slow" : "invalid event";
      return reply.code(error.statusCode).send({ error: kind, detail: error.message });
    }
    if ((error as { code?: string }).code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send({
        error: "body too large",
        detail: `the body is larger than the ${maxBodyBytes} bytes accepted`,
      });
    }
    throw error;
  };
}

/** Refuses a call without the expected Basic-auth credentials, compared in constant time. */
function basicAuth(expectedUser: string, expectedPassword: string): onRequestAsyncHookHandler {
  return async (request, reply) => {
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
  };
}

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
 * The route's handler, for a caller that passed the credentials with a parsed body: validates the
 * event, claims its id against replays, and answers 202 only once the event log holds it.
 */
function storeEvent(deps: {
  readonly replay: ReplayGuard;
  readonly log: Pick<EventLog, "append">;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly count: (result: WebhookResult) => void;
}) {
  const { replay, log, logger, clock, count } = deps;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
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
  };
}

/**
 * `POST /webhooks/genesys`: events pushed by a Genesys web-services data action (Process
 * Automation), authenticated with Basic auth (Genesys signs nothing), compared in constant time.
 * Caps the body's size, nesting and read time, says why it refuses one, validates it, ignores a
 * replayed event id (claimed before it is stored, so two copies racing, here or on another
 * replica, store it once), and answers 202 only once the event is durable in the event log (group
 * commit). A fastify plugin: `app.register(webhook, options)`.
 */
export const webhook: FastifyPluginAsync<WebhookOptions> = async (app, options) => {
  const { log, logger, maxBodyBytes } = options;
  const replay = options.replay ?? new MemoryReplayGuard(100_000);
  const count = options.onResult ?? (() => undefined);
  const clock = options.clock ?? systemClock;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  // This plugin's own JSON parser (fastify scopes it to the plugin): fastify's answers
  // "not valid JSON" for a __proto__ key too, and has no depth limit.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string" },
    async (_request: FastifyRequest, body: string) => parseEventBody(body),
  );
  app.setErrorHandler(answerRefusal(maxBodyBytes));
  app.post(
    "/webhooks/genesys",
    {
      bodyLimit: maxBodyBytes,
      // Refusals are answered before the handler runs: count them when the answer is sent.
      onResponse: async (_request, reply) => {
        if (reply.statusCode === 401) count("unauthorized");
        else if (reply.statusCode === 413) count("too_large");
        else if (reply.statusCode === 408) count("timed_out");
        else if (reply.statusCode === 400) count("invalid");
      },
      // Before the body is read: a caller without credentials gets nothing parsed or stored.
      onRequest: basicAuth(options.username, options.password),
      // After the credentials: only a caller that passed them gets a body timer.
      preParsing: async (_request, reply, payload) =>
        withBodyTimeout(payload, reply.raw, bodyTimeoutMs, clock),
    },
    storeEvent({ replay, log, logger, clock, count }),
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
