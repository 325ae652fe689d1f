import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { sameSecret } from "../shared/same-secret";
import type { Clock } from "../time/clock";
import { CONSOLE_PREFIX, type ConsoleConfig } from "./config";
import { OidcClient, type SignedInUser, type SignInStart } from "./oidc";
import { renderMessage } from "./page";
import { cookie, CookieSealer, parseCookies } from "./session";

export interface Session {
  readonly sub: string;
  readonly name: string;
  /** The synchronizer token every action must carry. */
  readonly csrf: string;
}

const SESSION_COOKIE = "sync_console";
const SIGN_IN_COOKIE = "sync_console_signin";
const SIGN_IN_MINUTES = 10;

export const BACK_TO_CONSOLE = { href: CONSOLE_PREFIX, label: "Back to the console" };

/** Sends a console page with the headers every one carries: a strict CSP, no caching, no sniffing. */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
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
}

/**
 * Who is signed in: an OpenID Connect sign-in (authorization code + PKCE) whose transaction waits
 * in a sealed cookie, then a sealed session cookie (any replica serves any request). Every action
 * passes `guard`: a session, a same-origin request and the session's CSRF token.
 */
export class ConsoleAuth {
  readonly publicOrigin: string;
  private readonly oidc: OidcClient;
  private readonly sessions: CookieSealer;
  private readonly signIns: CookieSealer;

  constructor(
    private readonly config: ConsoleConfig,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.publicOrigin = new URL(config.publicUrl).origin;
    this.oidc = new OidcClient({
      issuerUrl: config.issuerUrl,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUri: `${config.publicUrl.replace(/\/$/, "")}${CONSOLE_PREFIX}/callback`,
      groupsClaim: config.groupsClaim,
      scopes: config.scopes,
    });
    this.sessions = new CookieSealer(config.sessionSecret, "session", () => clock.now());
    this.signIns = new CookieSealer(config.sessionSecret, "sign-in", () => clock.now());
  }

  /** The request's session, or undefined (none, or refused: tampered, from another key, expired). */
  session(request: FastifyRequest): Session | undefined {
    const raw = parseCookies(request.headers.cookie)[SESSION_COOKIE];
    const opened = this.sessions.open<Session>(raw);
    if (raw && !opened)
      this.logger.warn(
        { ip: request.ip },
        "console: a session cookie was refused (tampered, from another key, or expired)",
      );
    return opened;
  }

  /** Sends the browser to the identity provider, the transaction sealed in a cookie. */
  async startSignIn(reply: FastifyReply): Promise<FastifyReply> {
    let start: SignInStart;
    try {
      start = await this.oidc.start();
    } catch (error) {
      this.logger.error(
        { err: { message: (error as Error).message } },
        "console: the identity provider cannot be reached",
      );
      return sendPage(
        reply,
        503,
        renderMessage(
          "Sign-in unavailable",
          "The identity provider cannot be reached. Try again in a minute.",
        ),
      );
    }
    const expiresAtMs = this.clock.now() + SIGN_IN_MINUTES * 60_000;
    return reply
      .header(
        "set-cookie",
        cookie(SIGN_IN_COOKIE, this.signIns.seal(start.transaction, expiresAtMs), {
          path: CONSOLE_PREFIX,
          maxAgeSeconds: SIGN_IN_MINUTES * 60,
        }),
      )
      .header("cache-control", "no-store")
      .redirect(start.url, 302);
  }

  /** The sign-in transaction this browser started, now spent (its cookie is cleared on `reply`). */
  takeSignIn(request: FastifyRequest, reply: FastifyReply): SignInStart["transaction"] | undefined {
    const transaction = this.signIns.open<SignInStart["transaction"]>(
      parseCookies(request.headers.cookie)[SIGN_IN_COOKIE],
    );
    reply.header("set-cookie", cookie(SIGN_IN_COOKIE, "", { path: CONSOLE_PREFIX, maxAgeSeconds: 0 }));
    return transaction;
  }

  /** Exchanges the callback's code; throws when the provider's answer does not check out. */
  finishSignIn(request: FastifyRequest, transaction: SignInStart["transaction"]): Promise<SignedInUser> {
    return this.oidc.finish(new URL(request.url, this.publicOrigin), transaction);
  }

  /** The claim the user's groups are read from (for the log when none is allowed). */
  get groupsClaim(): string {
    return this.config.groupsClaim;
  }

  /** True when one of the user's groups may use the console. */
  allows(user: SignedInUser): boolean {
    return user.groups.some((group) => this.config.allowedGroups.includes(group));
  }

  /** Sets the session cookie for a user who may use the console. */
  startSession(reply: FastifyReply, user: SignedInUser): FastifyReply {
    const value: Session = {
      sub: user.subject,
      name: user.name,
      csrf: randomBytes(24).toString("base64url"),
    };
    const maxAgeSeconds = this.config.sessionHours * 3600;
    return reply.header(
      "set-cookie",
      cookie(SESSION_COOKIE, this.sessions.seal(value, this.clock.now() + maxAgeSeconds * 1000), {
        path: CONSOLE_PREFIX,
        maxAgeSeconds,
      }),
    );
  }

  endSession(reply: FastifyReply): FastifyReply {
    return reply.header("set-cookie", cookie(SESSION_COOKIE, "", { path: CONSOLE_PREFIX, maxAgeSeconds: 0 }));
  }

  /**
   * Every state-changing request: a session, a same-origin request, and the session's CSRF token.
   * Undefined when refused, and then the refusal is sent on `reply`.
   */
  guard(request: FastifyRequest, reply: FastifyReply): Session | undefined {
    const user = this.session(request);
    const origin = request.headers.origin;
    const given = (request.body as { csrf?: unknown } | undefined)?.csrf;
    const problem = !user
      ? "not signed in"
      : origin !== undefined && origin !== this.publicOrigin
        ? "cross-origin request"
        : typeof given !== "string" || !sameSecret(given, user.csrf)
          ? "missing or wrong CSRF token"
          : undefined;
    if (!problem) return user;
    this.logger.warn({ path: request.url, problem, user: user?.name }, "console: action refused");
    void sendPage(
      reply,
      403,
      renderMessage(
        "Refused",
        `This request was refused (${problem}). Reload the console and try again.`,
        BACK_TO_CONSOLE,
      ),
    );
    return undefined;
  }
}
