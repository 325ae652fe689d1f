import { randomBytes } from "node:crypto";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { ConsoleConfig } from "./config";
import type { ExportService } from "../export/export-service";
import { sameSecret } from "../shared/same-secret";
import type { GenesysClient } from "../genesys/client";
import type { ImportService } from "../import/import-service";
import type { DataLayout } from "../shared/layout";
import type { Clock } from "../time/clock";
import { archiveSummary, rejectedFiles, requeue, RequeueError } from "./files";
import type { RateHistory } from "./history";
import { OidcClient, type SignInStart } from "./oidc";
import { renderConsole, renderMessage } from "./page";
import { cookie, CookieSealer, parseCookies } from "./session";

export interface ConsoleDependencies {
  readonly config: ConsoleConfig;
  readonly client: GenesysClient;
  readonly importer: ImportService;
  readonly exporter: ExportService;
  readonly layout: DataLayout;
  readonly history: RateHistory;
  readonly logger: Logger;
  readonly clock: Clock;
}

interface Session {
  readonly sub: string;
  readonly name: string;
  /** The synchronizer token every action must carry. */
  readonly csrf: string;
}

const SESSION_COOKIE = "sync_console";
const SIGN_IN_COOKIE = "sync_console_signin";
const SIGN_IN_MINUTES = 10;

const NOTICES: Record<string, string> = {
  requeue: "The file is back in inbox/ and will be imported at the next scan.",
  "pause-import": "The import is paused: the file in progress stops after its batches in flight.",
  "resume-import": "The import runs again.",
  "pause-export": "The results export is paused.",
  "resume-export": "The results export runs again; it polls now.",
};

/**
 * The operator console under /console: the service's own state at a glance and a few actions,
 * behind an OpenID Connect sign-in (authorization code + PKCE) limited to the configured groups.
 * The session is a sealed cookie (any replica serves any request); actions need the session's
 * CSRF token and a same-origin request, and each is logged with who did it. A fastify plugin
 * (`app.register(operatorConsole, deps)`): its form parser stays inside its own context.
 */
export const operatorConsole: FastifyPluginAsync<ConsoleDependencies> = async (scope, deps) => {
  const { config, logger, clock } = deps;
  const publicOrigin = new URL(config.publicUrl).origin;
  const oidc = new OidcClient({
    issuerUrl: config.issuerUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    redirectUri: `${config.publicUrl.replace(/\/$/, "")}/console/callback`,
    groupsClaim: config.groupsClaim,
    scopes: config.scopes,
  });
  const sessions = new CookieSealer(config.sessionSecret, "session", () => clock.now());
  const signIns = new CookieSealer(config.sessionSecret, "sign-in", () => clock.now());
  const sessionMaxAge = config.sessionHours * 3600;

  const session = (request: FastifyRequest): Session | undefined => {
    const raw = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    const opened = sessions.open<Session>(raw);
    if (raw && !opened)
      logger.warn(
        { ip: request.ip },
        "console: a session cookie was refused (tampered, from another key, or expired)",
      );
    return opened;
  };
  const page = (reply: FastifyReply, status: number, html: string) =>
    reply
      .code(status)
      .header("content-type", "text/html; charset=utf-8")
      .header(
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      )
      .header("cache-control", "no-store")
      .header("referrer-policy", "same-origin")
      .header("x-content-type-options", "nosniff")
      .send(html);

  const startSignIn = async (reply: FastifyReply) => {
    let start: SignInStart;
    try {
      start = await oidc.start();
    } catch (error) {
      logger.error(
        { err: { message: (error as Error).message } },
        "console: the identity provider cannot be reached",
      );
      return page(
        reply,
        503,
        renderMessage(
          "Sign-in unavailable",
          "The identity provider cannot be reached. Try again in a minute.",
        ),
      );
    }
    return reply
      .header(
        "set-cookie",
        cookie(SIGN_IN_COOKIE, signIns.seal(start.transaction, clock.now() + SIGN_IN_MINUTES * 60_000), {
          path: "/console",
          maxAgeSeconds: SIGN_IN_MINUTES * 60,
        }),
      )
      .header("cache-control", "no-store")
      .redirect(start.url, 302);
  };

  scope.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string", bodyLimit: 4096 },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  scope.get("/console", async (request, reply) => {
    const user = session(request);
    if (!user) return startSignIn(reply);
    const now = clock.now();
    const done = (request.query as { done?: string }).done;
    const html = renderConsole({
      user: user.name,
      csrf: user.csrf,
      nowMs: now,
      client: deps.client.state(),
      history: deps.history.lastHour(),
      importer: deps.importer.status(),
      archive: await archiveSummary(deps.layout, now),
      rejected: await rejectedFiles(deps.layout, now),
      exporter: deps.exporter.status(),
      watermarkMs: await deps.exporter.watermarkMs().catch(() => undefined),
      notice: done ? NOTICES[done] : undefined,
    });
    return page(reply, 200, html);
  });

  scope.get("/console/callback", async (request, reply) => {
    const transaction = signIns.open<SignInStart["transaction"]>(
      parseCookies(request.headers.cookie)[SIGN_IN_COOKIE],
    );
    reply.header("set-cookie", cookie(SIGN_IN_COOKIE, "", { path: "/console", maxAgeSeconds: 0 }));
    if (!transaction)
      return page(
        reply,
        400,
        renderMessage("Sign-in expired", "The sign-in took too long or was started elsewhere.", {
          href: "/console",
          label: "Sign in again",
        }),
      );
    let user;
    try {
      user = await oidc.finish(new URL(request.url, publicOrigin), transaction);
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, "console: sign-in failed");
      return page(
        reply,
        401,
        renderMessage("Sign-in failed", "The identity provider's answer did not check out.", {
          href: "/console",
          label: "Sign in again",
        }),
      );
    }
    const allowed = user.groups.some((group) => config.allowedGroups.includes(group));
    if (!allowed) {
      logger.warn(
        { user: user.name, claim: config.groupsClaim },
        "console: signed in, but in none of the allowed groups: 403",
      );
      return page(
        reply,
        403,
        renderMessage(
          "Not allowed",
          `You are signed in as ${user.name}, but not in a group allowed to use this console.`,
        ),
      );
    }
    const value: Session = {
      sub: user.subject,
      name: user.name,
      csrf: randomBytes(24).toString("base64url"),
    };
    logger.info({ user: user.name }, "console: signed in");
    return reply
      .header(
        "set-cookie",
        cookie(SESSION_COOKIE, sessions.seal(value, clock.now() + sessionMaxAge * 1000), {
          path: "/console",
          maxAgeSeconds: sessionMaxAge,
        }),
      )
      .redirect("/console", 303);
  });

  // Every state-changing request: a session, a same-origin request, and the session's CSRF token.
  const guard = (request: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const user = session(request);
    const origin = request.headers.origin;
    const given = (request.body as { csrf?: unknown } | undefined)?.csrf;
    const problem = !user
      ? "not signed in"
      : origin !== undefined && origin !== publicOrigin
        ? "cross-origin request"
        : typeof given !== "string" || !sameSecret(given, user.csrf)
          ? "missing or wrong CSRF token"
          : undefined;
    if (problem) {
      logger.warn({ path: request.url, problem, user: user?.name }, "console: action refused");
      void page(
        reply,
        403,
        renderMessage("Refused", `This request was refused (${problem}). Reload the console and try again.`, {
          href: "/console",
          label: "Back to the console",
        }),
      );
      return undefined;
    }
    return user;
  };

  scope.post("/console/actions/:action", async (request, reply) => {
    const user = guard(request, reply);
    if (!user) return reply;
    const { action } = request.params as { action: string };
    const by = { user: user.name, subject: user.sub };
    switch (action) {
      case "requeue": {
        const file = String((request.body as { file?: unknown }).file ?? "");
        try {
          const as = await requeue(deps.layout, file, clock.now());
          logger.info({ action, by, file, as }, "console action: requeued a rejected file");
        } catch (error) {
          if (!(error instanceof RequeueError)) throw error;
          return page(
            reply,
            409,
            renderMessage("Not requeued", error.message, {
              href: "/console",
              label: "Back to the console",
            }),
          );
        }
        break;
      }
      case "pause-import":
        deps.importer.pause();
        break;
      case "resume-import":
        deps.importer.resume();
        break;
      case "pause-export":
        deps.exporter.pause();
        break;
      case "resume-export":
        deps.exporter.resume();
        break;
      default:
        return page(reply, 404, renderMessage("No such action", action));
    }
    if (action !== "requeue") logger.info({ action, by }, `console action: ${action}`);
    return reply.redirect(`/console?done=${action}`, 303);
  });

  scope.post("/console/logout", async (request, reply) => {
    const user = guard(request, reply);
    if (!user) return reply;
    logger.info({ user: user.name }, "console: signed out");
    return reply
      .header("set-cookie", cookie(SESSION_COOKIE, "", { path: "/console", maxAgeSeconds: 0 }))
      .redirect("/console/signed-out", 303);
  });

  scope.get("/console/signed-out", async (_request, reply) =>
    page(
      reply,
      200,
      renderMessage(
        "Signed out",
        "Your console session has ended in this browser. (It does not sign you out of the identity provider.)",
        { href: "/console", label: "Sign in again" },
      ),
    ),
  );
};
