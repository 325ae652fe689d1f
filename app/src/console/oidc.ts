import * as oidc from "openid-client";

export interface OidcSettings {
  readonly issuerUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where the provider sends the browser back: `<CONSOLE_PUBLIC_URL>/console/callback`. */
  readonly redirectUri: string;
  /** The claim holding groups or roles (`groups`, `roles`, ...). */
  readonly groupsClaim: string;
  readonly scopes: string;
}

export interface SignInStart {
  readonly url: string;
  /** Kept in a sealed cookie until the provider sends the browser back. */
  readonly transaction: { readonly verifier: string; readonly state: string; readonly nonce: string };
}

export interface SignedInUser {
  readonly subject: string;
  readonly name: string;
  readonly groups: readonly string[];
}

/**
 * The authorization code flow with PKCE through openid-client (a certified relying party): the
 * provider's metadata is discovered on first use, the code is exchanged with the client secret,
 * and the ID token's signature, issuer, audience, nonce and state are checked by the library.
 */
export class OidcClient {
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  private config(): Promise<oidc.Configuration> {
    this.configuration ??= (async () => {
      const issuer = new URL(this.settings.issuerUrl);
      const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(issuer.hostname);
      return oidc.discovery(
        issuer,
        this.settings.clientId,
        undefined,
        oidc.ClientSecretBasic(this.settings.clientSecret),
        // Plain http only to a provider on this machine (tests, demos); anywhere else it is refused.
        loopback && issuer.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    })().catch((error: unknown) => {
      this.configuration = undefined; // try discovery again next time
      throw error;
    });
    return this.configuration;
  }

  async start(): Promise<SignInStart> {
    const config = await this.config();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, transaction: { verifier, state, nonce } };
  }

  /** Exchanges the code from the callback URL; throws when anything does not check out. */
  async finish(callbackUrl: URL, transaction: SignInStart["transaction"]): Promise<SignedInUser> {
    const config = await this.config();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: transaction.verifier,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      idTokenExpected: true,
    });
    const claims: Record<string, unknown> = { ...tokens.claims() };
    // Providers often put groups in the userinfo answer only.
    if (claims[this.settings.groupsClaim] === undefined) {
      Object.assign(claims, await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub)));
    }
    const subject = String(claims.sub);
    const name = String(claims.email ?? claims.preferred_username ?? claims.name ?? subject);
    return { subject, name, groups: groupsOf(claims[this.settings.groupsClaim]) };
  }
}

/** A groups or roles claim as a list: an array, or a space- or comma-separated string. */
export function groupsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === "string");
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  return [];
}
