import * as pulumi from "@pulumi/pulumi";
import {
  GENESYS_BASE_URL_HOSTS,
  genesysHostNames,
  regionProblems,
  urlProblem,
  type EndpointSettings,
} from "../app/src/shared/regions";
import { downloadHostNames } from "../app/src/shared/download-hosts";
import type { RouteSpec } from "../app/src/shared/routes";
import { breaks, byChartValue, gateOn, ruleProblem, RULES } from "../app/src/shared/setting-rules";
import {
  chartPathOf,
  chartValueAt,
  SETTING,
  SETTINGS,
  type SettingDescriptor,
  type SettingName,
} from "../app/src/shared/settings";
import { mergeValues, type ChartValues } from "./merge-values";
import { chartValuesProblems } from "./chart-schema";

/** The project's config namespace (`pulumi config set genesys-middleware-stack:<key>`). */
export const PROJECT = "genesys-middleware-stack";

export type Environment = "dev" | "prod";

/** Chart values under the chart's own keys (app/chart/values.yaml); never a secret. */
export type { ChartValues };

/** Where the shared volume comes from. */
export type StorageSettings =
  /** A PersistentVolume on the platform's NFS export, bound to the claim. */
  | { readonly mode: "nfs"; readonly size: string }
  /** A claim on a ReadWriteMany StorageClass. */
  | { readonly mode: "storageClass"; readonly size: string; readonly storageClassName: string };

/** How Pulumi logs in to Vault: `token` (dev: `vault:token` or vaultToken) or `jwt` (prod: the CI's OIDC token, vaultJwt). */
export type VaultLogin =
  { readonly vaultLogin: "token" } | { readonly vaultLogin: "jwt"; readonly vaultJwtRole: string };

/** Where the Secret the chart references comes from. */
export type SecretsSettings =
  /** Pulumi reads Vault KV v2 (`<kvMount>/<kvPath>`) and writes the Secret, the Vault policy and auth role. */
  | ({
      readonly mode: "vault";
      readonly kvMount: string;
      readonly kvPath: string;
      readonly kubernetesAuthMount: string;
    } & VaultLogin)
  /** The External Secrets Operator writes it from `kvPath` through a ClusterSecretStore; Pulumi never sees a value. */
  | { readonly mode: "externalSecret"; readonly kvPath: string; readonly secretStore: string };

export type IngressSettings =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly host: string; readonly tlsSecretName: string };

/**
 * Typed, validated settings of one stack. Pulumi owns the platform, storage, secrets, egress,
 * network, ingress, image and monitoring; the service's own settings are chart values under the
 * chart's keys (`values`), checked against app/chart/values.schema.json.
 */
export interface StackSettings {
  readonly environment: Environment;
  /** Namespace of the middleware; labelled for the restricted Pod Security Standard. */
  readonly namespace: string;
  /** Name of the platform team's stack (`org/project/stack`); dev may run without one. */
  readonly platformStack: string | undefined;
  /** The service's chart values: the environment's defaults, then the stack's `values`. */
  readonly values: ChartValues;
  /**
   * What the Pulumi side reads of the values: the region (its shipped IP ranges) and the Genesys
   * Cloud hosts the service reaches with the region and the base URL overrides (Cilium FQDNs).
   */
  readonly genesys: { readonly region: string; readonly hosts: readonly string[] };
  /** values.console.enabled: the console's secrets and its identity provider's egress. */
  readonly console: boolean;
  /**
   * Contact-list snapshots, from values.export.listSnapshot* (the service's settings): their
   * schedule (one of an interval and a daily time: the rule list-snapshot-one-schedule), how many
   * are kept, and the hosts their downloads come from (shared/download-hosts.ts), which the egress
   * rules allow while snapshots are on, and only then.
   */
  readonly listSnapshots: ListSnapshotSettings;
  readonly image: {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string | undefined;
    /** IfNotPresent (default), Always, or Never (a node with preloaded images). */
    readonly pullPolicy: ImagePullPolicy;
  };
  readonly storage: StorageSettings;
  readonly secrets: SecretsSettings;
  readonly egress: {
    /** Extra Genesys Cloud CIDRs (proxy, private endpoint), added to the shipped ranges. */
    readonly genesysCidrs: readonly string[];
    /**
     * Where the export download host answers (`api-downloads.<domain>`, and the extra download
     * hosts): HTTPS 443, allowed only while contact-list snapshots are on and go direct.
     */
    readonly downloadCidrs: readonly string[];
    /** On-premises destinations the service may reach. */
    readonly onPremises: ReadonlyArray<{ readonly cidr: string; readonly port: number }>;
    /** Where the console's identity provider answers (discovery, token, keys, userinfo): HTTPS 443. */
    readonly identityProviderCidrs: readonly string[];
  };
  /** How the pods reach the outside: a forward proxy, extra CAs (a TLS-inspecting proxy's). */
  readonly network: {
    /** Every call to Genesys Cloud goes through it (HTTPS_PROXY); undefined: direct to the Genesys ranges. */
    readonly proxy: ProxySettings | undefined;
    /** PEM certificates the service trusts besides the system's (public, not a secret); undefined: none. */
    readonly caBundle: string | undefined;
  };
  /** Served at https://<host>; the console at https://<host>/console. */
  readonly ingress: IngressSettings;
  readonly monitoring: { readonly enabled: boolean; readonly grafanaDashboards: boolean };
  /**
   * The organisation's rate limit across all tokens, requests a minute (`orgRequestsPerMinute`):
   * the rate budget's ceiling (app/src/shared/rate-budget.ts) that plan() and the hpa-sane policy
   * hold the most replicas to; required in prod (plan()), undefined: not stated.
   */
  readonly orgRequestsPerMinute: number | undefined;
  /**
   * The import routes as declared (`routes`, a list of app/src/shared/routes.ts' RouteSpec): other
   * contact lists, each with its own inbox/<name>/ folder. plan() checks them with routeSetProblems
   * before any resource exists; [] when unset (files directly in inbox/ only).
   */
  readonly routes: readonly RouteSpec[];
  /** `allowClearInProduction`: a prod route may clear its list (allowClear); false when unset. */
  readonly allowClearInProduction: boolean;
}

/** When the leader publishes each route's list in outbox/lists/ (export/snapshots.ts). */
export type SnapshotSchedule =
  | { readonly kind: "off" }
  | { readonly kind: "interval"; readonly seconds: number }
  | { readonly kind: "daily"; readonly atUtc: string };

export interface ListSnapshotSettings {
  readonly schedule: SnapshotSchedule;
  /** Snapshots kept per route (export.listSnapshotKeep, at least 1 by the schema). */
  readonly keep: number;
  /** How long one list's export may take to be ready (export.listSnapshotReadyTimeoutSeconds). */
  readonly readyTimeoutSeconds: number;
  /** Host names the signed download URLs may point at: the region's api-downloads. and the extra ones. */
  readonly downloadHosts: readonly string[];
}

export type ImagePullPolicy = "IfNotPresent" | "Always" | "Never";
const PULL_POLICIES: readonly ImagePullPolicy[] = ["IfNotPresent", "Always", "Never"];

export interface ProxySettings {
  /** http(s)://host:port, without credentials. */
  readonly url: string;
  /** The port the proxy listens on (from the URL; 80 or 443 by scheme when it names none). */
  readonly port: number;
  /** Where the proxy answers, for the egress policy: the configured proxyCidrs, or host/32 of an IP literal. */
  readonly cidrs: readonly string[];
  /** Destinations reached directly (NO_PROXY); the egress policy must allow them by other settings. */
  readonly noProxy: readonly string[];
}

/** Chart values that differ by environment, under the stack's own `values`. */
export const ENVIRONMENT_VALUES: Readonly<Record<Environment, ChartValues>> = {
  dev: {
    logLevel: "debug",
    autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
    podDisruptionBudget: { enabled: true, minAvailable: 1 },
  },
  prod: {
    logLevel: "info",
    genesys: { tokenPoolSize: 2 },
    autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10 },
    podDisruptionBudget: { enabled: true, minAvailable: 2 },
  },
};

/**
 * Chart values the stack sets itself, refused in `values` with the setting to use instead: they
 * carry names other resources depend on, or follow from a Pulumi setting.
 */
export const PULUMI_OWNED_VALUES: Readonly<Record<string, string>> = {
  fullnameOverride:
    "is set by the stack (genesys-sync): the outputs, the NetworkPolicy, the ServiceMonitor and the Vault role name it",
  nameOverride: "would change the pod labels the NetworkPolicy and the ServiceMonitor select",
  image: `is set from ${PROJECT}:image (repository, tag, digest, pullPolicy)`,
  existingSecret: `is set by the stack, which writes the Secret: configure where it comes from with ${PROJECT}:secrets`,
  persistence: `is set by the stack, which makes the claim: configure it with ${PROJECT}:storage`,
  proxy: `is set from ${PROJECT}:network (httpsProxy, noProxy), which the egress policy follows`,
  extraCaCerts: `is set from ${PROJECT}:network.caBundle (the stack writes the ConfigMap)`,
  podAnnotations: `is set by the stack (the CA bundle's checksum, which rolls the pods): use ${PROJECT}:network.caBundle`,
  ingress: `is set from ${PROJECT}:ingress (host, tlsSecretName); the class comes from the platform stack`,
  httpRoute: `the stack exposes the service through ${PROJECT}:ingress`,
  serviceAccount: "is the release's: the Vault Kubernetes auth role is bound to it",
  service: "is fixed: the servicePort and metricsEndpoint outputs name port 80",
  containerPort: "is fixed: the NetworkPolicy admits port 8080",
  metrics: "is fixed: the ServiceMonitor scrapes /metrics",
  "console.publicUrl": `is derived from ${PROJECT}:ingress.host (https://<host>)`,
  routes: `is set from ${PROJECT}:routes, which plan() checks (with ${PROJECT}:allowClearInProduction in prod)`,
};

/** Settings that moved under `values` (the chart's keys), or elsewhere. */
const MOVED: Readonly<Record<string, string>> = {
  genesys: `moved under ${PROJECT}:values.genesys (the chart's keys: region, apiBaseUrl, loginBaseUrl, clientId, contactListId, pollingIntervalSeconds, tokenPoolSize, rateLimitPerMinute); tokenRefreshBufferSeconds goes to values.auth`,
  autoscaling: `moved under ${PROJECT}:values.autoscaling (the chart's keys: minReplicas, maxReplicas, targetCPUUtilizationPercentage)`,
  import: `moved under ${PROJECT}:values.import (the chart's keys)`,
  console: `moved under ${PROJECT}:values.console (the chart's keys); identityProviderCidrs goes to ${PROJECT}:egress.identityProviderCidrs`,
};

const SECRET_LOOKING_KEY = /(secret|password|passwd|token|jwt|private.?key|credential)/i;

/** The only secret settings; they must be set with `pulumi config set --secret`. */
const SECRET_KEYS = new Set(["vaultJwt", "vaultToken"]);

/**
 * Every plain setting and, for objects, the keys it accepts; `values` is checked against the chart's
 * schema, `routes` (a list) by plan() with the route table's own checks.
 */
const KNOWN_KEYS: Readonly<Record<string, readonly string[] | "chart" | "routes">> = {
  environment: [],
  namespace: [],
  platformStack: [],
  orgRequestsPerMinute: [],
  routes: "routes",
  allowClearInProduction: [],
  values: "chart",
  image: ["repository", "tag", "digest", "pullPolicy"],
  storage: ["mode", "size", "storageClassName"],
  secrets: ["mode", "kvMount", "kvPath", "vaultLogin", "vaultJwtRole", "kubernetesAuthMount", "secretStore"],
  egress: ["genesysCidrs", "downloadCidrs", "onPremises", "identityProviderCidrs"],
  network: ["httpsProxy", "noProxy", "proxyCidrs", "caBundle"],
  ingress: ["enabled", "host", "tlsSecretName"],
  monitoring: ["enabled", "grafanaDashboards"],
};

/** Reports a problem under a key of the project's config (`image.digest`). */
type Report = (key: string, reason: string) => void;

/**
 * Reads the stack's configuration (as `pulumi.runtime.allConfig()` returns it) into settings,
 * reporting every problem at once with the key and the fix, before any resource exists.
 * `secretKeys` are the config keys (`<project>:<name>`) set with `--secret`.
 */
export function readStackSettings(
  allConfig: Readonly<Record<string, string>>,
  secretKeys: ReadonlySet<string>,
  stackName: string,
): StackSettings {
  const errors: Array<{ propertyPath: string; reason: string }> = [];
  const problem: Report = (key, reason) => errors.push({ propertyPath: `${PROJECT}:${key}`, reason });
  const raw = (key: string) => allConfig[`${PROJECT}:${key}`];
  const object = (key: string) => configObject(raw(key), key, problem);

  checkKeys(allConfig, secretKeys, stackName, problem);
  const environment = readEnvironment(raw("environment"), stackName, problem);
  const image = readImage(object("image"), environment, problem);
  const storage = readStorage(object("storage"), problem);
  const secrets = readSecrets(object("secrets"), environment, problem);
  const egress = readEgress(object("egress"), problem);
  const network = readNetwork(object("network"), problem);
  const ingressConfig = object("ingress");
  const ingress = readIngress(ingressConfig, problem);
  const values = readValues(object("values"), environment, problem);
  const consoleOn = isMap(values.console) && values.console.enabled === true;
  if (consoleOn) checkConsoleNeeds(ingressConfig.enabled === true, egress, problem);
  const monitoring = object("monitoring");
  const orgRequestsPerMinute = readOrgRequestsPerMinute(raw("orgRequestsPerMinute"), problem);
  const routes = readRoutes(raw("routes"), problem);
  const allowClearInProduction = readAllowClearInProduction(raw("allowClearInProduction"), problem);
  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `Stack ${stackName} has ${errors.length} configuration problem${errors.length === 1 ? "" : "s"}; nothing was created:\n${listProblems(errors)}`,
      errors,
    });
  }
  const endpoints = endpointSettings(values);
  return {
    environment,
    namespace: str(raw("namespace")) ?? `genesys-sync-${environment}`,
    platformStack: raw("platformStack"),
    values,
    genesys: { region: endpoints.region ?? "", hosts: genesysHostNames(endpoints) },
    console: consoleOn,
    listSnapshots: listSnapshotSettings(values, endpoints),
    image,
    storage,
    secrets,
    egress,
    network,
    ingress,
    monitoring: {
      enabled: monitoring.enabled !== false,
      grafanaDashboards: monitoring.grafanaDashboards !== false,
    },
    orgRequestsPerMinute,
    routes,
    allowClearInProduction,
  };
}

/** The snapshot settings of the (valid) chart values, with the chart's defaults where unset. */
export function listSnapshotSettings(values: ChartValues, endpoints: EndpointSettings): ListSnapshotSettings {
  const read = (env: SettingName) => chartValueAt(values, chartPathOf(env)) ?? SETTING[env].default;
  const seconds = Number(read("EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS") ?? 0);
  const daily = read("EXPORT_LIST_SNAPSHOT_DAILY_AT");
  const extra = read("EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS");
  const schedule: SnapshotSchedule =
    seconds > 0
      ? { kind: "interval", seconds }
      : typeof daily === "string" && daily !== ""
        ? { kind: "daily", atUtc: daily }
        : { kind: "off" };
  return {
    schedule,
    keep: Number(read("EXPORT_LIST_SNAPSHOT_KEEP")),
    readyTimeoutSeconds: Number(read("EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS")),
    downloadHosts: downloadHostNames({
      region: endpoints.region,
      apiBaseUrl: endpoints.apiBaseUrl,
      extraHosts: Array.isArray(extra) ? extra.map(String) : [],
    }),
  };
}

/** `routes`: a list, kept as declared; what each route holds is plan()'s to check (routeSetProblems). */
function readRoutes(text: string | undefined, problem: Report): readonly RouteSpec[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  if (Array.isArray(value)) return value as RouteSpec[];
  problem(
    "routes",
    "must be a list of routes (a YAML list under the key in Pulumi.<stack>.yaml), each with a name and a contact list: see docs/configuration.md, Routes",
  );
  return [];
}

/** `allowClearInProduction`: true or false; unset is false. */
function readAllowClearInProduction(text: string | undefined, problem: Report): boolean {
  if (text === undefined || text === "false") return false;
  if (text === "true") return true;
  problem(
    "allowClearInProduction",
    `must be true or false (got ${JSON.stringify(text)}): true lets a prod route clear its list (allowClear)`,
  );
  return false;
}

/** `orgRequestsPerMinute`: a whole number of requests a minute, at least 1; undefined when unset. */
function readOrgRequestsPerMinute(text: string | undefined, problem: Report): number | undefined {
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (Number.isInteger(limit) && limit >= 1) return limit;
  problem(
    "orgRequestsPerMinute",
    `must be a whole number of requests a minute, at least 1 (got ${JSON.stringify(text)}): the organisation's limit across all tokens`,
  );
  return undefined;
}

/** A config key holding a map (`image`, `storage`); {} when unset, reported when it is not a map. */
function configObject(text: string | undefined, key: string, problem: Report): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (isMap(value)) return value;
  } catch {
    // reported below
  }
  problem(key, "must be an object (a YAML map under the key in Pulumi.<stack>.yaml)");
  return {};
}

/** Every key of the project's config is a known setting (or an inner key of one), and secrets are set as secrets. */
function checkKeys(
  allConfig: Readonly<Record<string, string>>,
  secretKeys: ReadonlySet<string>,
  stackName: string,
  problem: Report,
): void {
  for (const key of Object.keys(allConfig)) {
    if (!key.startsWith(`${PROJECT}:`)) continue;
    const name = key.slice(PROJECT.length + 1);
    if (SECRET_KEYS.has(name)) {
      if (!secretKeys.has(key))
        problem(
          name,
          `is stored in plain text: run \`pulumi config set --secret ${name} <value>\` and remove it from Pulumi.${stackName}.yaml`,
        );
      continue;
    }
    const known = KNOWN_KEYS[name];
    if (known === undefined) {
      problem(
        name,
        MOVED[name] ??
          (SECRET_LOOKING_KEY.test(name)
            ? "looks like a secret in plain config: secrets come from Vault, or `pulumi config set --secret` for vaultJwt/vaultToken"
            : `is not a setting of this program; known settings: ${[...Object.keys(KNOWN_KEYS), ...SECRET_KEYS].join(", ")}`),
      );
      continue;
    }
    if (known === "chart" || known === "routes") continue;
    for (const inner of Object.keys(safeParse(allConfig[key]!))) {
      if (known.includes(inner)) continue;
      problem(
        `${name}.${inner}`,
        SECRET_LOOKING_KEY.test(inner)
          ? "looks like a secret in plain config: secrets come from Vault (the client secret) or `pulumi config set --secret`, never from Pulumi.<stack>.yaml"
          : `is not a setting of ${name}; known: ${known.join(", ")}`,
      );
    }
  }
}

/** `environment`, else the stack's name when it is dev or prod. */
function readEnvironment(text: string | undefined, stackName: string, problem: Report): Environment {
  const envText = text ?? (stackName === "prod" ? "prod" : stackName === "dev" ? "dev" : undefined);
  if (envText !== "dev" && envText !== "prod")
    problem("environment", `must be dev or prod (got ${JSON.stringify(envText ?? null)})`);
  return envText === "prod" ? "prod" : "dev";
}

/** `image`: a pinned tag, a digest (required in prod), a pull policy. */
function readImage(
  image: Record<string, unknown>,
  environment: Environment,
  problem: Report,
): StackSettings["image"] {
  const tag = str(image.tag) ?? "0.1.0";
  if (tag === "latest") problem("image.tag", "must be a pinned version, not latest");
  const digest = str(image.digest);
  if (digest !== undefined && !/^sha256:[a-f0-9]{64}$/.test(digest))
    problem("image.digest", "must look like sha256:<64 hex digits>");
  if (environment === "prod" && digest === undefined)
    problem("image.digest", "is required in prod: pin the image by digest");
  const pullPolicy = (str(image.pullPolicy) ?? "IfNotPresent") as ImagePullPolicy;
  if (!PULL_POLICIES.includes(pullPolicy))
    problem(
      "image.pullPolicy",
      `must be ${PULL_POLICIES.join(", ")} (Never or IfNotPresent for a node with preloaded images)`,
    );
  return {
    repository: str(image.repository) ?? "registry.example.com/contact-centre/genesys-sync",
    tag,
    digest,
    pullPolicy,
  };
}

/** `egress`: CIDRs (never the whole internet) for Genesys Cloud, on-premises systems and the identity provider. */
function readEgress(egress: Record<string, unknown>, problem: Report): StackSettings["egress"] {
  const genesysCidrs = strings(egress.genesysCidrs, "egress.genesysCidrs", problem);
  const downloadCidrs = strings(egress.downloadCidrs, "egress.downloadCidrs", problem);
  for (const cidr of downloadCidrs) {
    if (!isCidr(cidr)) problem("egress.downloadCidrs", `"${cidr}" is not a CIDR`);
    else if (cidr === "0.0.0.0/0" || cidr === "::/0")
      problem(
        "egress.downloadCidrs",
        `${cidr} opens egress to the whole internet: list where the download host answers`,
      );
  }
  const onPremises: Array<{ cidr: string; port: number }> = [];
  if (egress.onPremises !== undefined && !Array.isArray(egress.onPremises))
    problem("egress.onPremises", "must be a list of {cidr, port}");
  for (const [index, entry] of (Array.isArray(egress.onPremises) ? egress.onPremises : []).entries()) {
    const cidr = str((entry as Record<string, unknown>).cidr) ?? "";
    const port = Number((entry as Record<string, unknown>).port);
    if (!isCidr(cidr)) problem(`egress.onPremises[${index}].cidr`, `"${cidr}" is not a CIDR`);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      problem(`egress.onPremises[${index}].port`, "must be a port number");
    onPremises.push({ cidr, port });
  }
  for (const cidr of [...genesysCidrs, ...onPremises.map((entry) => entry.cidr)]) {
    if (cidr === "0.0.0.0/0" || cidr === "::/0")
      problem("egress", `${cidr} opens egress to the whole internet: list the destinations`);
  }
  for (const cidr of genesysCidrs)
    if (!isCidr(cidr)) problem("egress.genesysCidrs", `"${cidr}" is not a CIDR`);
  const identityProviderCidrs = strings(
    egress.identityProviderCidrs,
    "egress.identityProviderCidrs",
    problem,
  );
  for (const cidr of identityProviderCidrs) {
    if (!isCidr(cidr)) problem("egress.identityProviderCidrs", `"${cidr}" is not a CIDR`);
    else if (cidr === "0.0.0.0/0" || cidr === "::/0")
      problem(
        "egress.identityProviderCidrs",
        `${cidr} opens egress to the whole internet: list the provider's ranges`,
      );
  }
  return { genesysCidrs, downloadCidrs, onPremises, identityProviderCidrs };
}

/** `ingress`: off, or a host with its TLS Secret. */
function readIngress(ingress: Record<string, unknown>, problem: Report): IngressSettings {
  if (ingress.enabled !== true) return { enabled: false };
  const host = str(ingress.host);
  const tlsSecretName = str(ingress.tlsSecretName);
  if (host !== undefined && tlsSecretName !== undefined) return { enabled: true, host, tlsSecretName };
  problem("ingress", "needs host and tlsSecretName when enabled (TLS is required)");
  return { enabled: false };
}

/** What the console needs of the stack itself: the ingress it is served behind, egress to its provider. */
function checkConsoleNeeds(ingressEnabled: boolean, egress: StackSettings["egress"], problem: Report): void {
  if (!ingressEnabled)
    problem(
      "values.console.enabled",
      `needs ${PROJECT}:ingress enabled with a host and TLS: the console is served at https://<ingress.host>/console`,
    );
  if (egress.identityProviderCidrs.length === 0)
    problem(
      "egress.identityProviderCidrs",
      "is required with the console (values.console.enabled): where the identity provider answers, for the egress policy (HTTPS 443)",
    );
}

/**
 * The problems as lines of the error's message: the engine prints an exception from the program
 * by its message (and stack), so the keys and fixes must be there to be read.
 */
export function listProblems(errors: ReadonlyArray<{ propertyPath: string; reason: string }>): string {
  return errors.map((error) => `  ${error.propertyPath}: ${error.reason}`).join("\n");
}

function readStorage(storage: Record<string, unknown>, problem: Report): StorageSettings {
  const size = str(storage.size) ?? "50Gi";
  const mode = str(storage.mode) ?? "nfs";
  if (mode === "nfs") return { mode, size };
  if (mode !== "storageClass") {
    problem("storage.mode", "must be nfs or storageClass");
    return { mode: "nfs", size };
  }
  const storageClassName = str(storage.storageClassName);
  if (storageClassName === undefined)
    problem(
      "storage.storageClassName",
      "is required when storage.mode is storageClass (a ReadWriteMany class)",
    );
  return { mode, size, storageClassName: storageClassName ?? "" };
}

function readSecrets(
  secrets: Record<string, unknown>,
  environment: Environment,
  problem: Report,
): SecretsSettings {
  const kvPath = str(secrets.kvPath) ?? `genesys/${environment}/middleware`;
  const mode = str(secrets.mode) ?? "vault";
  if (mode === "externalSecret") return { mode, kvPath, secretStore: str(secrets.secretStore) ?? "vault" };
  if (mode !== "vault") problem("secrets.mode", "must be vault or externalSecret");
  const vault = {
    mode: "vault" as const,
    kvMount: str(secrets.kvMount) ?? "secret",
    kvPath,
    kubernetesAuthMount: str(secrets.kubernetesAuthMount) ?? "kubernetes",
  };
  const login = str(secrets.vaultLogin) ?? (environment === "prod" ? "jwt" : "token");
  if (login === "token") {
    if (environment === "prod") problem("secrets.vaultLogin", "must be jwt in prod: no static Vault token");
    return { ...vault, vaultLogin: "token" };
  }
  if (login !== "jwt") problem("secrets.vaultLogin", "must be token or jwt");
  const vaultJwtRole = str(secrets.vaultJwtRole);
  if (vaultJwtRole === undefined)
    problem(
      "secrets.vaultJwtRole",
      "is required for the jwt login (the Vault role the CI's OIDC token maps to)",
    );
  return { ...vault, vaultLogin: "jwt", vaultJwtRole: vaultJwtRole ?? "" };
}

/**
 * The stack's `values`: no key the stack sets itself, valid under the chart's schema, and the
 * rules Pulumi keeps on service values (the region the egress derives from, https in prod, HA
 * replicas, a sane CPU target, a console with everything it needs). Returns them merged over
 * the environment's defaults.
 */
function readValues(
  stackValues: Record<string, unknown>,
  environment: Environment,
  problem: Report,
): ChartValues {
  const key = (path: string) => `values.${path}`;
  const reported = new Set<string>();
  const report = (path: string, reason: string) => {
    reported.add(path);
    problem(key(path), reason);
  };
  const owned = Object.keys(PULUMI_OWNED_VALUES);
  const checked: Record<string, unknown> = structuredClone(stackValues);
  for (const path of owned) {
    const [top, inner] = path.split(".") as [string, string | undefined];
    const parent = checked[top];
    if (inner === undefined ? top in checked : isMap(parent) && inner in parent) {
      report(path, `${PULUMI_OWNED_VALUES[path]}; remove it from ${PROJECT}:values`);
      if (inner === undefined) delete checked[top];
      else delete (parent as Record<string, unknown>)[inner];
    }
  }
  for (const found of chartValuesProblems(
    checked,
    owned.filter((path) => !path.includes(".")),
  )) {
    const leaf = found.key.split(".").pop()!;
    report(
      found.key,
      /is not a key of/.test(found.reason) && SECRET_LOOKING_KEY.test(leaf)
        ? "looks like a secret in plain config: secrets come from Vault (the client secret), never from Pulumi.<stack>.yaml"
        : found.reason,
    );
  }
  const rule = (path: string, reason: string) => {
    if (!reported.has(path)) report(path, reason);
  };

  const values = mergeValues(ENVIRONMENT_VALUES[environment], checked);
  const section = (name: string) => (isMap(values[name]) ? values[name] : {});
  const genesys = section("genesys");
  const region = str(genesys.region) ?? "";
  // The egress ranges and the Cilium FQDN rules derive from the region (and the base URLs below).
  if (region === "")
    rule(
      "genesys.region",
      "is required: an AWS region key such as eu-west-1, or a domain such as mypurecloud.ie",
    );
  else for (const reason of regionProblems(region)) rule("genesys.region", reason);
  for (const { baseUrl } of GENESYS_BASE_URL_HOSTS) {
    const url = str(genesys[baseUrl.setting]);
    if (url === undefined) continue;
    const reason = urlProblem(baseUrl.label, url);
    if (reason) rule(`genesys.${baseUrl.setting}`, reason);
    else if (environment === "prod" && !url.startsWith("https://"))
      rule(`genesys.${baseUrl.setting}`, "must be https in prod");
  }
  for (const { path, reason } of requiredValueProblems(values)) rule(path, reason);

  const autoscaling = section("autoscaling");
  // The CPU target's range is the chart schema's (HPA_CPU_TARGET_PERCENT), checked above.
  const { minReplicas, maxReplicas } = autoscaling;
  if (typeof minReplicas === "number" && typeof maxReplicas === "number" && minReplicas > maxReplicas)
    rule("autoscaling.minReplicas", `(${minReplicas}) is above autoscaling.maxReplicas (${maxReplicas})`);
  if (environment === "prod" && typeof minReplicas === "number" && minReplicas < 2)
    rule("autoscaling.minReplicas", "must be at least 2 in prod (one pod is no high availability)");

  for (const { path, reason } of settingRuleProblems(values)) rule(path, reason);
  return values;
}

/**
 * The settings the service requires, set from chart values the stack passes on: each must be in
 * `values`, or the pods crash-loop on start. The reason is the service's own message.
 */
export function requiredValueProblems(values: ChartValues): Array<{ path: string; reason: string }> {
  return (SETTINGS as readonly SettingDescriptor[]).flatMap((setting) => {
    if (setting.required === undefined || !("value" in setting.chart)) return [];
    const path = setting.chart.value;
    if (path in PULUMI_OWNED_VALUES || path.split(".")[0]! in PULUMI_OWNED_VALUES) return [];
    if (str(chartValueAt(values, path)) !== undefined) return [];
    return [{ path, reason: setting.required.replace(new RegExp(`^${setting.env} `), "") }];
  });
}

/**
 * The rules between settings (app/src/shared/setting-rules.ts) on the merged chart values, in the
 * words of the service and the chart; a rule about a value the stack sets itself is the stack's.
 */
export function settingRuleProblems(values: ChartValues): Array<{ path: string; reason: string }> {
  return RULES.flatMap((rule) => {
    const path = byChartValue(rule.subject);
    if (path in PULUMI_OWNED_VALUES) return [];
    // Unset in the stack: the chart's default applies, as it will in the release.
    const read = (env: SettingName) =>
      chartValueAt(values, byChartValue(env)) ?? SETTING[env].chartDefault ?? SETTING[env].default;
    const on =
      rule.when === undefined ||
      (rule.when.chartSwitch !== undefined
        ? chartValueAt(values, rule.when.chartSwitch) === true
        : gateOn(read(rule.when.env)));
    return breaks(rule, read, on) ? [{ path, reason: ruleProblem(rule, byChartValue) }] : [];
  });
}

/** The region and base URL overrides of the chart values, as the service reads them from its ConfigMap. */
function endpointSettings(values: ChartValues): EndpointSettings {
  const genesys = isMap(values.genesys) ? values.genesys : {};
  const overrides = GENESYS_BASE_URL_HOSTS.map(({ baseUrl }) => [
    baseUrl.setting,
    str(genesys[baseUrl.setting]),
  ]);
  return { region: str(genesys.region), ...Object.fromEntries(overrides) };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const PEM_CERTIFICATES =
  /^(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;

/** The `network` setting: a forward proxy (validated URL, where it answers, NO_PROXY) and extra CAs. */
function readNetwork(network: Record<string, unknown>, problem: Report): StackSettings["network"] {
  const noProxy = strings(network.noProxy, "network.noProxy", problem);
  for (const entry of noProxy) {
    if (!/^[^\s,]+$/.test(entry))
      problem("network.noProxy", `"${entry}" is not one host, .domain or IP address (no spaces or commas)`);
    // The service (undici) never matches a range, so a CIDR here would silently go through the proxy.
    else if (entry.includes("/"))
      problem(
        "network.noProxy",
        `"${entry}" is an address range, which the service never matches: list the hosts, domains or IP addresses to reach directly`,
      );
  }
  const proxyCidrs = strings(network.proxyCidrs, "network.proxyCidrs", problem);
  for (const cidr of proxyCidrs) {
    if (!isCidr(cidr)) problem("network.proxyCidrs", `"${cidr}" is not a CIDR`);
    else if (cidr === "0.0.0.0/0" || cidr === "::/0")
      problem("network.proxyCidrs", `${cidr} opens egress to the whole internet: list the proxy's addresses`);
  }

  if (network.httpsProxy !== undefined && typeof network.httpsProxy !== "string")
    problem("network.httpsProxy", "must be a URL such as http://proxy.example.com:3128");
  const text = str(network.httpsProxy);
  let proxy: ProxySettings | undefined;
  if (text === undefined) {
    if (noProxy.length > 0 || proxyCidrs.length > 0)
      problem(
        "network.httpsProxy",
        "is required with network.noProxy or network.proxyCidrs: they only describe a proxy (or remove them)",
      );
  } else {
    const url = proxyUrl(text, problem);
    if (url !== undefined) {
      const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
      const literal = ipLiteralCidr(url.hostname);
      if (proxyCidrs.length === 0 && literal === undefined)
        problem(
          "network.proxyCidrs",
          `is required with a proxy named by host (${url.hostname}): list the addresses where it answers, which the egress policy allows on TCP ${port} (an IP literal in httpsProxy needs none)`,
        );
      proxy = {
        url: text,
        port,
        cidrs: proxyCidrs.length > 0 ? proxyCidrs : literal ? [literal] : [],
        noProxy,
      };
    }
  }

  let caBundle: string | undefined;
  if (network.caBundle !== undefined) {
    const pem = typeof network.caBundle === "string" ? network.caBundle.trim() : "";
    if (/PRIVATE KEY-----/.test(pem))
      problem(
        "network.caBundle",
        "holds a private key: keep only the CA certificates (-----BEGIN CERTIFICATE----- blocks), and have that key rotated, it has been in plain config",
      );
    else if (!PEM_CERTIFICATES.test(pem))
      problem(
        "network.caBundle",
        "must be PEM text of one or more CA certificates, each from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE----- (a YAML block scalar: caBundle: |)",
      );
    else caBundle = `${pem}\n`;
  }
  return { proxy, caBundle };
}

/** The proxy URL, or undefined after reporting why it cannot be used; never echoes credentials. */
function proxyUrl(text: string, problem: Report): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problem("network.httpsProxy", "is not a URL: write http://<proxy host>:<port>");
    return undefined;
  }
  const reasons: string[] = [];
  if (url.username !== "" || url.password !== "")
    reasons.push(
      "carries credentials, which would sit in plain config, the chart's ConfigMap and the release history: have the proxy admit the cluster's egress addresses instead",
    );
  if (url.protocol !== "http:" && url.protocol !== "https:")
    reasons.push(
      `uses ${url.protocol.replace(":", "")}: the service speaks to an http:// or https:// proxy only`,
    );
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "")
    reasons.push("has a path or query: write only scheme, host and port (http://proxy.example.com:3128)");
  for (const reason of reasons) problem("network.httpsProxy", reason);
  return reasons.length === 0 ? url : undefined;
}

/** host/32 (or /128) when the host is an IP literal; URL keeps IPv6 hosts in brackets. */
function ipLiteralCidr(hostname: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(hostname)) return `${hostname}/32`;
  if (hostname.startsWith("[") && hostname.endsWith("]")) return `${hostname.slice(1, -1)}/128`;
  return undefined;
}

function safeParse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function strings(value: unknown, key: string, problem: Report): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    problem(key, "must be a list of strings");
    return [];
  }
  return value as string[];
}

export function isCidr(value: string): boolean {
  const [address, bits, extra] = value.split("/");
  if (extra !== undefined || address === undefined || bits === undefined || !/^\d+$/.test(bits)) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address))
    return address.split(".").every((octet) => Number(octet) <= 255) && Number(bits) <= 32;
  return address.includes(":") && Number(bits) <= 128;
}
