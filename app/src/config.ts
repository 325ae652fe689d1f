import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { z } from "zod";
import { inClusterApiUrl } from "./cluster/lease-api";
import type { ConsoleConfig } from "./console/config";
import type { ProxySettings } from "./genesys/dispatcher";
import type { ImportConfig } from "./import/config";
import { ConfigurationError } from "./shared/errors";
import { routeSetProblems, type RouteSpec } from "./shared/routes";
import { dataLayout, ensureLayout } from "./shared/layout";
import { collectEndpoints, type GenesysEndpoints } from "./shared/regions";
import { breaks, byVariable, ruleProblem, ruleReads, RULES } from "./shared/setting-rules";
import {
  configSection,
  SECRET_SETTINGS,
  SETTING,
  SETTINGS,
  type ConfigSection,
  type Present,
  type SettingDescriptor,
  type SettingValues,
} from "./shared/settings";

/**
 * The service's configuration, from environment variables. These names are a contract that the
 * Helm chart, the demo and the tests rely on; docs/configuration.md lists them all. Each secret can also
 * come from a file (`<NAME>_FILE`, for a mounted Secret). Every problem is reported at once,
 * with the fix.
 */
export type ServiceConfig = ConfigSection<""> & {
  readonly endpoints: GenesysEndpoints;
  /** Forward proxy for Genesys Cloud (token and API requests only); undefined: direct. */
  readonly proxy: ProxySettings | undefined;
  readonly rateLimit: ConfigSection<"rateLimit.">;
  readonly import: ImportConfig;
  /** Import routes beside the default one, from IMPORT_ROUTES_FILE; empty without it. */
  readonly routes: readonly RouteSpec[];
  readonly export: ExportConfig;
  readonly webhook: WebhookConfig | undefined;
  readonly leaderElection: LeaderElectionConfig | undefined;
  /** The operator console; undefined (off) without OIDC. */
  readonly console: ConsoleConfig | undefined;
};

/**
 * The results export: its settings. contactListIds defaults to the import's list, and then
 * `followRoutes` adds every route's list once the service has resolved them.
 */
export type ExportConfig = ConfigSection<"export."> & { readonly followRoutes: boolean };

/** The webhook, when both credentials are set. */
export type WebhookConfig = Present<ConfigSection<"webhook.">>;

/** Leader election: its settings, and where the Lease is (the pod's identity, namespace, API server). */
export type LeaderElectionConfig = ConfigSection<"leaderElection."> & {
  readonly identity: string;
  readonly namespace: string;
  readonly apiUrl: string;
};

/**
 * The forms a number is written in: plain decimal digits, a minus for a negative one (refused by
 * the bounds where a setting cannot be negative), and a fraction after a dot for "number" settings.
 * Never hex, exponents, spaces or the other forms JavaScript's Number() also reads.
 */
const WHOLE_NUMBER = /^-?\d+$/;
const DECIMAL_NUMBER = /^-?\d+(\.\d+)?$/;

/** The zod type of one described setting, with messages that name the variable and never its value. */
function settingSchema(setting: SettingDescriptor): z.ZodType {
  const name = setting.env;
  const fallback = setting.default;
  const example = typeof fallback === "number" ? `, such as ${fallback}` : "";
  const written = (form: RegExp, message: string) =>
    z.string().regex(form, { error: message, abort: true }).transform(Number);
  const bounded = (base: z.ZodNumber) => {
    let type = base;
    if (setting.min !== undefined)
      type = setting.exclusiveMin
        ? type.gt(setting.min, `${name} must be above ${setting.min}`)
        : type.min(
            setting.min,
            `${name} must be at least ${setting.min}${setting.min === 0 ? " (not negative)" : ""}`,
          );
    if (setting.max !== undefined) type = type.max(setting.max, `${name} must be at most ${setting.max}`);
    return type;
  };
  // The proxy variables come in two spellings: both stay raw text, proxySettings() reconciles them.
  if (setting.aliases !== undefined) return z.string().optional();
  let type: z.ZodType;
  switch (setting.type) {
    case "integer":
      type = written(WHOLE_NUMBER, `${name} must be a whole number in plain decimal digits${example}`).pipe(
        bounded(z.number().int(`${name} must be at most ${Number.MAX_SAFE_INTEGER}`)),
      );
      break;
    case "number":
      type = written(
        DECIMAL_NUMBER,
        `${name} must be a plain decimal number (digits, an optional fraction after a dot)${example}`,
      ).pipe(bounded(z.number()));
      break;
    case "boolean":
      return z
        .enum(["true", "false"], { error: `${name} must be true or false` })
        .default(fallback === true ? "true" : "false")
        .transform((value) => value === "true");
    case "enum":
      type = z.enum(setting.choices as [string, ...string[]], {
        error: `${name} must be one of ${setting.choices!.join(", ")}`,
      });
      break;
    case "list":
      return z
        .string()
        .default(((fallback as readonly string[] | undefined) ?? []).join(","))
        .transform((value) =>
          value
            .split(",")
            .map((item) => item.trim())
            .filter((item) => item !== ""),
        );
    case "url":
      type = z.url({ error: setting.invalid ?? `${name} must be a URL` });
      break;
    case "string": {
      let text = z.string({ error: setting.required ?? `${name} must be text` });
      if (setting.required !== undefined) text = text.min(1, `${name} is empty`);
      if (setting.pattern) text = text.regex(new RegExp(setting.pattern.regex), setting.pattern.message);
      type = text;
      break;
    }
  }
  if (fallback !== undefined) return type.default(fallback as never);
  return setting.required !== undefined ? type : type.optional();
}

/**
 * The service's schema: one entry per described setting, and the lower-case proxy spellings as
 * raw text (proxySettings() reconciles them). Each is checked on its own, so one broken setting
 * hides neither the others nor the rules between them. Built per read from the table as it is
 * then (a test adds a scratch setting to it).
 */
function schemas(): ReadonlyArray<readonly [string, z.ZodType]> {
  return (SETTINGS as readonly SettingDescriptor[]).flatMap((setting) => [
    [setting.env, settingSchema(setting)] as const,
    ...(setting.aliases ?? []).map((alias) => [alias, z.string().optional()] as const),
  ]);
}

/** The settings read one by one: the values of the valid ones, and the names of the others. */
interface ReadSettings {
  readonly values: Readonly<Record<string, unknown>>;
  readonly invalid: ReadonlySet<string>;
}

/** Reads every setting, adding each invalid one's problems; messages name variables, never values. */
function readSettings(input: Record<string, string | undefined>, problems: string[]): ReadSettings {
  const values: Record<string, unknown> = {};
  const invalid = new Set<string>();
  for (const [name, schema] of schemas()) {
    const result = schema.safeParse(input[name]);
    if (result.success) {
      values[name] = result.data;
      continue;
    }
    invalid.add(name);
    // A misplaced secret must not end up in a log: zod's own messages ("Invalid input") get the name.
    for (const issue of result.error.issues)
      problems.push(issue.message.startsWith("Invalid") ? `${name}: ${issue.message}` : issue.message);
  }
  return { values, invalid };
}

/**
 * The settings `names`, when each of them is valid; else undefined. A rule between settings is
 * checked only on valid ones: a broken setting is listed already, and must neither hide the other
 * rules nor set off a misleading one ("OIDC_ISSUER_URL is not set" for one that does not parse).
 */
function valid<K extends keyof SettingValues>(
  settings: ReadSettings,
  names: readonly K[],
): Pick<SettingValues, K> | undefined {
  if (names.some((name) => settings.invalid.has(name))) return undefined;
  // Each name passed its own schema, so its value is there, of the type the table gives it.
  return settings.values as Pick<SettingValues, K>;
}

/** Reads `NAME` or, for secrets, the file named by `NAME_FILE` (trailing newline removed). */
function withSecretFiles(env: NodeJS.ProcessEnv, problems: string[]): Record<string, string | undefined> {
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_SETTINGS) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === "") continue;
    if (env[name] !== undefined && env[name] !== "") {
      problems.push(`both ${name} and ${name}_FILE are set: keep one (the file, for a mounted Secret)`);
      continue;
    }
    try {
      resolved[name] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(
        `${name}_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}); mount the Secret there or fix the path`,
      );
    }
  }
  for (const [key, value] of Object.entries(resolved)) if (value === "") resolved[key] = undefined;
  return resolved;
}

/** Parses the environment into a configuration, or throws one ConfigurationError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const problems: string[] = [];
  const settings = readSettings(withSecretFiles(env, problems), problems);
  const endpoints = collectEndpoints(
    {
      region: env.GENESYS_REGION,
      apiBaseUrl: env.GENESYS_API_BASE_URL,
      loginBaseUrl: env.GENESYS_LOGIN_BASE_URL,
      appsBaseUrl: env.GENESYS_APPS_BASE_URL,
    },
    problems,
  );
  problems.push(...columnProblems(env));
  problems.push(...ruleProblems(settings));
  const routes = readRoutesFile(env.IMPORT_ROUTES_FILE, problems);
  const proxy = proxySettings(settings, problems);
  const webhook = webhookConfig(settings, problems);
  const leaderElection = leaderElectionConfig(settings, env, problems);
  const consoleConfig = consoleSettings(settings, problems);
  if (problems.length > 0 || settings.invalid.size > 0 || !endpoints) throw new ConfigurationError(problems);
  // Nothing is invalid: every setting is there.
  const data = settings.values as SettingValues;
  const importConfig = {
    ...configSection("import.", data),
    bulk: configSection("import.bulk.", data),
  } satisfies ImportConfig;
  const exportConfig = configSection("export.", data);
  return {
    ...configSection("", data),
    endpoints,
    proxy,
    rateLimit: configSection("rateLimit.", data),
    import: importConfig,
    routes,
    export: {
      ...exportConfig,
      contactListIds:
        exportConfig.contactListIds.length > 0 ? exportConfig.contactListIds : [data.GENESYS_CONTACT_LIST_ID],
      followRoutes: exportConfig.contactListIds.length === 0,
    },
    webhook,
    leaderElection,
    console: consoleConfig,
  };
}

/**
 * loadConfig, then the data directory's layout made (or found) under SYNC_DATA_DIR. A data dir that
 * is a file, or where the layout cannot be made, is a configuration problem like the others: it is
 * listed with them, and the process exits 78 instead of failing later with a stack trace.
 */
export async function loadConfigAndDataDir(env: NodeJS.ProcessEnv = process.env): Promise<ServiceConfig> {
  const problems: string[] = [];
  let config: ServiceConfig | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
  }
  const dataDir = config?.dataDir ?? env.SYNC_DATA_DIR;
  if (dataDir !== undefined && dataDir !== "") {
    const problem = await dataDirProblem(dataDir);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0 || config === undefined) throw new ConfigurationError(problems);
  return config;
}

/** Makes the layout under `dataDir` (mkdir -p: nothing happens where it exists); what stops it, with the fix. */
async function dataDirProblem(dataDir: string): Promise<string | undefined> {
  try {
    await ensureLayout(dataLayout(dataDir));
    return undefined;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    const found = await stat(dataDir).catch(() => undefined);
    if (found !== undefined && !found.isDirectory())
      return `SYNC_DATA_DIR names ${dataDir}, which is a file, not a directory: point SYNC_DATA_DIR at the shared volume's mount path (the chart's persistence.mountPath), or move the file away`;
    const denied = `the service's user (uid ${process.getuid?.() ?? "?"}) may not write there`;
    const why: Readonly<Record<string, string>> = {
      ENOTDIR: "a part of its path is a file",
      EEXIST: "a file stands where a folder of the layout goes",
      EACCES: denied,
      EPERM: denied,
      EROFS: "the volume is mounted read-only",
      ENOSPC: "the volume is full",
    };
    return `SYNC_DATA_DIR names ${dataDir}, which cannot be created or used: ${why[failure.code ?? ""] ?? failure.code ?? "error"} (at ${failure.path ?? dataDir}); point SYNC_DATA_DIR at the shared volume's mount path, mounted writable for the service's user`;
  }
}

const isLoopback = (url: URL) => ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);

/** The console is on when OIDC_ISSUER_URL is set, and then needs all of its settings. */
function consoleSettings(settings: ReadSettings, problems: string[]): ConsoleConfig | undefined {
  const data = valid(settings, [
    "OIDC_ISSUER_URL",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "CONSOLE_SESSION_SECRET",
    "CONSOLE_PUBLIC_URL",
    "CONSOLE_ALLOWED_GROUPS",
    "CONSOLE_GROUPS_CLAIM",
  ]);
  if (data === undefined) return undefined;
  const issuerUrl = data.OIDC_ISSUER_URL;
  if (issuerUrl === undefined) {
    if (data.OIDC_CLIENT_ID !== undefined || data.CONSOLE_PUBLIC_URL !== undefined)
      problems.push(
        "OIDC_CLIENT_ID or CONSOLE_PUBLIC_URL is set but OIDC_ISSUER_URL is not: set the issuer to turn the console on, or remove them",
      );
    return undefined;
  }
  // The settings it needs are the rules' (setting-rules.ts), checked with the others; its secrets are its own.
  const before = problems.length;
  const need = (value: string | undefined, message: string) => {
    if (value === undefined) problems.push(message);
    return value ?? "";
  };
  need(
    data.OIDC_CLIENT_SECRET,
    "OIDC_CLIENT_SECRET (or OIDC_CLIENT_SECRET_FILE) is required for the console: the client's secret, from the mounted Secret",
  );
  const sessionSecret = need(
    data.CONSOLE_SESSION_SECRET,
    "CONSOLE_SESSION_SECRET (or CONSOLE_SESSION_SECRET_FILE) is required for the console: 32+ random characters, the same on every replica (openssl rand -base64 32)",
  );
  if (sessionSecret !== "" && sessionSecret.length < 32)
    problems.push("CONSOLE_SESSION_SECRET is shorter than 32 characters: use openssl rand -base64 32");
  const publicUrl = data.CONSOLE_PUBLIC_URL;
  if (publicUrl !== undefined) {
    const url = new URL(publicUrl);
    if (url.protocol !== "https:" && !isLoopback(url))
      problems.push(
        "CONSOLE_PUBLIC_URL must be https: the session cookie is Secure (plain http only on 127.0.0.1/localhost)",
      );
  }
  const issuer = new URL(issuerUrl);
  if (issuer.protocol !== "https:" && !isLoopback(issuer))
    problems.push("OIDC_ISSUER_URL must be https (plain http only for a provider on 127.0.0.1/localhost)");
  const missing =
    data.OIDC_CLIENT_ID === undefined || publicUrl === undefined || data.CONSOLE_ALLOWED_GROUPS.length === 0;
  const session = valid(settings, ["OIDC_SCOPES", "CONSOLE_SESSION_HOURS"]);
  if (problems.length > before || missing || session === undefined) return undefined;
  // Each of its settings was checked above to be there and valid.
  const consoleConfig = configSection("console.", settings.values) as Present<ConfigSection<"console.">>;
  return consoleConfig satisfies ConsoleConfig;
}

/**
 * HTTPS_PROXY, HTTP_PROXY and NO_PROXY, each in upper or lower case (lower case wins, as in curl
 * and undici; both set to different values is refused). https:// URLs use HTTPS_PROXY, else
 * HTTP_PROXY, as undici does. Messages name the variable, never its value: it may hold a password.
 */
function proxySettings(settings: ReadSettings, problems: string[]): ProxySettings | undefined {
  const data = valid(settings, [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
  ]);
  if (data === undefined) return undefined;
  const read = (upper: "HTTPS_PROXY" | "HTTP_PROXY" | "NO_PROXY") => {
    const lower = upper.toLowerCase() as "https_proxy" | "http_proxy" | "no_proxy";
    if (data[lower] !== undefined && data[upper] !== undefined && data[lower] !== data[upper])
      problems.push(
        `${lower} and ${upper} are both set, to different values: keep one (lower case wins in curl and undici, upper case elsewhere)`,
      );
    return data[lower] !== undefined
      ? { name: lower, value: data[lower] }
      : { name: upper, value: data[upper] };
  };
  const checked = ({ name, value }: { name: string; value: string | undefined }) => {
    if (value === undefined) return undefined;
    const problem = proxyUrlProblem(name, value);
    if (problem) problems.push(problem);
    return problem ? undefined : value;
  };
  const httpProxy = checked(read("HTTP_PROXY"));
  const httpsProxy = checked(read("HTTPS_PROXY")) ?? httpProxy;
  const noProxy = read("NO_PROXY").value;
  if (httpsProxy === undefined && httpProxy === undefined) return undefined;
  return {
    httpsProxy,
    httpProxy,
    noProxy: (noProxy ?? "").split(/[,\s]+/).filter((entry) => entry !== ""),
  };
}

const PROXY_EXAMPLE = "for example http://proxy.example.com:3128";

function proxyUrlProblem(name: string, raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${name} is not a URL: write it with its scheme, ${PROXY_EXAMPLE}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return `${name} must start with http:// or https:// (other proxy kinds, such as socks, are not supported): ${PROXY_EXAMPLE}`;
  if (url.hostname === "") return `${name} has no host: ${PROXY_EXAMPLE}`;
  if (url.username !== "" || url.password !== "")
    return `${name} must not carry credentials (user:password@): remove them and have the proxy admit the pods by address; proxies that need a login are not supported, and a password in the environment shows in process listings and dumps`;
  return undefined;
}

/** The webhook is on when both credentials are set, off when neither is. */
function webhookConfig(settings: ReadSettings, problems: string[]): WebhookConfig | undefined {
  const credentials = valid(settings, ["WEBHOOK_USERNAME", "WEBHOOK_PASSWORD"]);
  if (credentials === undefined) return undefined;
  const { WEBHOOK_USERNAME: username, WEBHOOK_PASSWORD: password } = credentials;
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined || password === undefined) {
    problems.push(
      `${username === undefined ? "WEBHOOK_USERNAME" : "WEBHOOK_PASSWORD"} is missing: the webhook needs both Basic-auth credentials (put them in the Secret), or neither to turn it off`,
    );
    return undefined;
  }
  if (password.length < 16)
    problems.push(
      "WEBHOOK_PASSWORD is shorter than 16 characters: use a long random one (openssl rand -base64 24)",
    );
  const limits = valid(settings, [
    "WEBHOOK_MAX_BODY_BYTES",
    "WEBHOOK_REPLAY_WINDOW_SECONDS",
    "WEBHOOK_REPLAY_MAX_IDS",
  ]);
  if (limits === undefined) return undefined;
  // Both credentials are set, and its limits valid.
  return configSection("webhook.", settings.values) as WebhookConfig;
}

/** In a cluster, the API server and namespace come from the pod; elsewhere the single process leads. */
function leaderElectionConfig(
  settings: ReadSettings,
  env: NodeJS.ProcessEnv,
  problems: string[],
): LeaderElectionConfig | undefined {
  // Not true or false: listed already, and whether the rules below apply is unknown.
  if (valid(settings, ["LEADER_ELECTION_ENABLED"])?.LEADER_ELECTION_ENABLED !== true) return undefined;
  const api = leaseApi(settings, env, problems);
  const timing = leaseTiming(settings);
  const names = valid(settings, ["POD_NAME", "LEADER_ELECTION_LEASE_NAME"]);
  if (api === undefined || !timing || names === undefined) return undefined;
  // Its own settings are all valid (checked just above); the rest is where the Lease is.
  return {
    ...configSection("leaderElection.", settings.values),
    identity: names.POD_NAME ?? hostname(),
    ...api,
  };
}

/** Where the Lease is: the API server and the namespace. */
function leaseApi(
  settings: ReadSettings,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Pick<LeaderElectionConfig, "apiUrl" | "namespace"> | undefined {
  const data = valid(settings, [
    "LEADER_ELECTION_SERVICE_ACCOUNT_DIR",
    "LEADER_ELECTION_API_URL",
    "POD_NAMESPACE",
  ]);
  if (data === undefined) return undefined;
  const saDir = data.LEADER_ELECTION_SERVICE_ACCOUNT_DIR;
  const apiUrl = data.LEADER_ELECTION_API_URL ?? inClusterApiUrl(env);
  if (apiUrl === undefined) {
    problems.push(
      "LEADER_ELECTION_ENABLED is true but no Kubernetes API is known: run in a pod (KUBERNETES_SERVICE_HOST is set there), set LEADER_ELECTION_API_URL (for example http://127.0.0.1:8001 behind kubectl proxy), or set LEADER_ELECTION_ENABLED=false for a single process",
    );
  }
  let namespace = data.POD_NAMESPACE;
  if (namespace === undefined) {
    try {
      namespace = readFileSync(path.join(saDir, "namespace"), "utf8").trim();
    } catch {
      problems.push(
        `POD_NAMESPACE is not set and ${path.join(saDir, "namespace")} cannot be read: set POD_NAMESPACE from metadata.namespace (the chart does)`,
      );
    }
  }
  if (apiUrl === undefined || namespace === undefined) return undefined;
  return { apiUrl, namespace };
}

/** Whether the lease's durations are valid, each shorter than the one before it. */
function leaseTiming(settings: ReadSettings): boolean {
  const data = valid(settings, [
    "LEADER_ELECTION_LEASE_DURATION_SECONDS",
    "LEADER_ELECTION_RENEW_DEADLINE_SECONDS",
    "LEADER_ELECTION_RETRY_PERIOD_SECONDS",
  ]);
  if (data === undefined) return false;
  const lease = data.LEADER_ELECTION_LEASE_DURATION_SECONDS;
  const renew = data.LEADER_ELECTION_RENEW_DEADLINE_SECONDS;
  const retry = data.LEADER_ELECTION_RETRY_PERIOD_SECONDS;
  // Their order is the rules' (setting-rules.ts), reported with the others.
  return renew < lease && retry < renew;
}

/** The rules between settings (setting-rules.ts), on the valid settings they read, in the service's names. */
function ruleProblems(settings: ReadSettings): string[] {
  return RULES.flatMap((rule) => {
    const data = valid(settings, ruleReads(rule));
    if (data === undefined) return [];
    const read = (env: keyof typeof data) => data[env];
    const on = rule.when === undefined || Boolean(read(rule.when.env));
    return breaks(rule, read, on) ? [`${rule.subject} ${ruleProblem(rule, byVariable)}`] : [];
  });
}

/** The id and phone columns must be columns of the contact list, when the list's columns are given. */
/** The routes in IMPORT_ROUTES_FILE (a JSON array, shared/routes.ts), every problem with them added to `problems`. */
function readRoutesFile(file: string | undefined, problems: string[]): readonly RouteSpec[] {
  if (file === undefined || file === "") return [];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    problems.push(
      `IMPORT_ROUTES_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): mount the routes file there, or unset IMPORT_ROUTES_FILE`,
    );
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problems.push(
      `IMPORT_ROUTES_FILE (${file}) is not JSON (${(error as Error).message}): write the routes as a JSON array`,
    );
    return [];
  }
  const found = routeSetProblems(parsed, { where: "IMPORT_ROUTES_FILE routes" });
  problems.push(...found);
  return found.length > 0 ? [] : (parsed as RouteSpec[]);
}

function columnProblems(env: NodeJS.ProcessEnv): string[] {
  const split = (value: string | undefined, fallback: string) =>
    (value === undefined || value === "" ? fallback : value)
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
  const columns = new Set(split(env.IMPORT_COLUMNS, ""));
  if (columns.size === 0) return [];
  // Read before (and whether or not) the schema passes, so every problem shows at once.
  const idDefault = SETTING.IMPORT_ID_COLUMN.default as string;
  const phoneDefault = (SETTING.IMPORT_PHONE_COLUMNS.default as readonly string[]).join(",");
  return [...split(env.IMPORT_ID_COLUMN, idDefault), ...split(env.IMPORT_PHONE_COLUMNS, phoneDefault)]
    .filter((needed) => !columns.has(needed))
    .map(
      (needed) =>
        `IMPORT_COLUMNS does not list "${needed}", which IMPORT_ID_COLUMN or IMPORT_PHONE_COLUMNS names: add it to the contact list and to IMPORT_COLUMNS`,
    );
}
