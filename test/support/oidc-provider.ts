/* eslint-disable @typescript-eslint/no-require-imports -- oidc-provider is an ES module; Node 20.19+ loads it with require() */
import { generateKeyPairSync } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real OpenID provider on loopback: the certified `oidc-provider` package with its development
 * sign-in pages (any login name, no password check). Accounts: every name is a user; the names
 * in `groups` get those groups in the `groups` claim, released with the `groups` scope.
 */
export async function startOidcProvider(options: {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly groups: Readonly<Record<string, readonly string[]>>;
}): Promise<{ issuer: string; close(): Promise<void> }> {
  // oidc-provider is an ES module; Node 20.19+ loads it with require().
  const Provider = (
    require("oidc-provider") as {
      default: new (issuer: string, config: object) => { callback(): http.RequestListener };
    }
  ).default;
  let handler: http.RequestListener = (_request, response) => response.end();
  const server = http.createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email"], profile: ["name"], groups: ["groups"] },
    scopes: ["openid", "profile", "email", "groups"],
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ["oidc-provider-test-cookie-key"] },
    jwks: {
      keys: [generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" })],
    },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
    findAccount: (_context: unknown, subject: string) => ({
      accountId: subject,
      claims: () => ({
        sub: subject,
        name: subject,
        email: `${subject}@example.com`,
        groups: [...(options.groups[subject] ?? [])],
      }),
    }),
  });
  handler = provider.callback();
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
