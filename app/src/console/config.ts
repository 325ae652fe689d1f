/** Where the console is mounted: its routes, its cookies' path and the OIDC redirect URI hang under it. */
export const CONSOLE_PREFIX = "/console";

/** The operator console's settings (config.ts reads them from the environment). */
export interface ConsoleConfig {
  readonly issuerUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Seals the session cookie; the same on every replica. */
  readonly sessionSecret: string;
  /** The console's address as browsers see it; the redirect URI is `<publicUrl>/console/callback`. */
  readonly publicUrl: string;
  readonly allowedGroups: readonly string[];
  readonly groupsClaim: string;
  /** Scopes asked for; some providers release groups only with a `groups` scope. */
  readonly scopes: string;
  readonly sessionHours: number;
}
