import type { FastifyPluginAsync } from "fastify";
import type { Logger } from "pino";
import { sendPage, type ConsoleAuth } from "./auth";
import { CONSOLE_PREFIX } from "./config";
import { renderMessage } from "./page";

export interface SignInOptions {
  readonly auth: ConsoleAuth;
  readonly logger: Logger;
}

const SIGN_IN_AGAIN = { href: CONSOLE_PREFIX, label: "Sign in again" };

/**
 * The provider's callback (`/callback`: the code exchanged, the groups checked, the session
 * cookie set), and signing out (`/logout`, then `/signed-out`).
 */
export const signInRoutes: FastifyPluginAsync<SignInOptions> = async (scope, { auth, logger }) => {
  scope.get("/callback", async (request, reply) => {
    const transaction = auth.takeSignIn(request, reply);
    if (!transaction)
      return sendPage(
        reply,
        400,
        renderMessage(
          "Sign-in expired",
          "The sign-in took too long or was started elsewhere.",
          SIGN_IN_AGAIN,
        ),
      );
    let user;
    try {
      user = await auth.finishSignIn(request, transaction);
    } catch (error) {
      logger.warn({ err: { message: (error as Error).message } }, "console: sign-in failed");
      return sendPage(
        reply,
        401,
        renderMessage("Sign-in failed", "The identity provider's answer did not check out.", SIGN_IN_AGAIN),
      );
    }
    if (!auth.allows(user)) {
      logger.warn(
        { user: user.name, claim: auth.groupsClaim },
        "console: signed in, but in none of the allowed groups: 403",
      );
      return sendPage(
        reply,
        403,
        renderMessage(
          "Not allowed",
          `You are signed in as ${user.name}, but not in a group allowed to use this console.`,
        ),
      );
    }
    logger.info({ user: user.name }, "console: signed in");
    return auth.startSession(reply, user).redirect(CONSOLE_PREFIX, 303);
  });

  scope.post("/logout", async (request, reply) => {
    const user = auth.guard(request, reply);
    if (!user) return reply;
    logger.info({ user: user.name }, "console: signed out");
    return auth.endSession(reply).redirect(`${CONSOLE_PREFIX}/signed-out`, 303);
  });

  scope.get("/signed-out", async (_request, reply) =>
    sendPage(
      reply,
      200,
      renderMessage(
        "Signed out",
        "Your console session has ended in this browser. (It does not sign you out of the identity provider.)",
        SIGN_IN_AGAIN,
      ),
    ),
  );
};
