import * as pulumi from "@pulumi/pulumi";
import { regionDomain, regionProblems, urlProblem } from "../app/src/shared/regions";

/** The project's config namespace (`pulumi config set genesys-middleware-stack:<key>`). */
export const PROJECT = "genesys-middleware-stack";

export type Environment = "dev" | "prod";

/** Typed, validated settings of one stack; every default is per environment. */
export interface StackSettings {
  readonly environment: Environment;
  /** Namespace of the middleware; labelled for the restricted Pod Security Standard. */
  readonly namespace: string;
  /** Name of the platform team's stack (`org/project/stack`); dev may run without one. */
  readonly platformStack: string | undefined;
  readonly genesys: {
    readonly region: string;
    readonly domain: string;
    readonly apiBaseUrl: string | undefined;
    readonly loginBaseUrl: string | undefined;
    readonly clientId: string;
    readonly contactListId: string;
    readonly pollingIntervalSeconds: number;
    readonly tokenPoolSize: number;
    readonly rateLimitPerMinute: number;
    readonly tokenRefreshBufferSeconds: number;
  };
  readonly image: {
    readonly repository: string;
    readonly tag: string;
    readonly digest: string | undefined;
    /** IfNotPresent (default), Always, or Never (a node with preloaded images). */
    readonly pullPolicy: ImagePullPolicy;
  };
  readonly autoscaling: {
    readonly minReplicas: number;
    readonly maxReplicas: number;
    readonly targetCpuPercent: number;
  };
  readonly storage: {
    /** `nfs`: a PersistentVolume on the platform's NFS export; `storageClass`: a claim on an RWX class. */
    readonly mode: "nfs" | "storageClass";
    readonly size: string;
    readonly storageClassName: string | undefined;
  };
  readonly secrets: {
    /** `vault`: Pulumi reads Vault and writes the Secret; `externalSecret`: the External Secrets Operator does. */
    readonly mode: "vault" | "externalSecret";
    /** KV v2 mount and path of the Genesys credentials. */
    readonly kvMount: string;
    readonly kvPath: string;
    /** `token` (dev: `vault:token` config) or `jwt` (prod: the CI's OIDC token, `vaultJwt` secret config). */
    readonly vaultLogin: "token" | "jwt";
    readonly vaultJwtRole: string | undefined;
    readonly kubernetesAuthMount: string;
    /** ClusterSecretStore for the externalSecret mode. */
    readonly secretStore: string;
  };
  readonly egress: {
    /** Extra Genesys Cloud CIDRs (proxy, private endpoint), added to the shipped ranges. */
    readonly genesysCidrs: readonly string[];
    /** On-premises destinations the service may reach. */
    readonly onPremises: ReadonlyArray<{ readonly cidr: string; readonly port: number }>;
  };
  /** How the pods reach the outside: a forward proxy, extra CAs (a TLS-inspecting proxy's). */
  readonly network: {
    /** Every call to Genesys Cloud goes through it (HTTPS_PROXY); undefined: direct to the Genesys ranges. */
    readonly proxy: ProxySettings | undefined;
    /** PEM certificates the service trusts besides the system's (public, not a secret); undefined: none. */
    readonly caBundle: string | undefined;
  };
  readonly ingress: {
    readonly enabled: boolean;
    readonly host: string | undefined;
    readonly tlsSecretName: string | undefined;
  };
  readonly monitoring: { readonly enabled: boolean; readonly grafanaDashboards: boolean };
  /** The operator console (OIDC sign-in), served at https://<ingress.host>/console. */
  readonly console:
    | {
        readonly issuerUrl: string;
        readonly clientId: string;
        readonly allowedGroups: readonly string[];
        readonly groupsClaim: string;
        readonly scopes: string;
        /** Where the identity provider answers (discovery, token, keys, userinfo): HTTPS 443 egress. */
        readonly identityProviderCidrs: readonly string[];
      }
    | undefined;
  /** Import settings passed through to the service. */
  readonly import: {
    readonly defaultCountry: string;
    readonly phoneColumns: readonly string[];
    readonly columns: readonly string[];
  };
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

const DEFAULTS: Record<
  Environment,
  { minReplicas: number; maxReplicas: number; vaultLogin: "token" | "jwt" }
> = {
  dev: { minReplicas: 2, maxReplicas: 4, vaultLogin: "token" },
  prod: { minReplicas: 3, maxReplicas: 10, vaultLogin: "jwt" },
};

const SECRET_LOOKING_KEY = /(secret|password|passwd|token|jwt|private.?key|credential)/i;

/** The only secret settings; they must be set with `pulumi config set --secret`. */
const SECRET_KEYS = new Set(["vaultJwt", "vaultToken"]);

/** Every plain setting and, for objects, the keys it accepts. */
const KNOWN_KEYS: Readonly<Record<string, readonly string[]>> = {
  environment: [],
  namespace: [],
  platformStack: [],
  genesys: [
    "region",
    "apiBaseUrl",
    "loginBaseUrl",
    "clientId",
    "contactListId",
    "pollingIntervalSeconds",
    "tokenPoolSize",
    "rateLimitPerMinute",
    "tokenRefreshBufferSeconds",
  ],
  image: ["repository", "tag", "digest", "pullPolicy"],
  autoscaling: ["minReplicas", "maxReplicas", "targetCpuPercent"],
  storage: ["mode", "size", "storageClassName"],
  secrets: ["mode", "kvMount", "kvPath", "vaultLogin", "vaultJwtRole", "kubernetesAuthMount", "secretStore"],
  egress: ["genesysCidrs", "onPremises"],
  network: ["httpsProxy", "noProxy", "proxyCidrs", "caBundle"],
  ingress: ["enabled", "host", "tlsSecretName"],
  monitoring: ["enabled", "grafanaDashboards"],
  console: [
    "enabled",
    "issuerUrl",
    "clientId",
    "allowedGroups",
    "groupsClaim",
    "scopes",
    "identityProviderCidrs",
  ],
  import: ["defaultCountry", "phoneColumns", "columns"],
};

/**
 * Reads the stack's configuration (as `pulumi.runtime.allConfig()` returns it) into settings,
 * reporting every problem at once with the key and the fix, before any resource exists.
 */
export function readStackSettings(
  allConfig: Readonly<Record<string, string>>,
  secretKeys: ReadonlySet<string>,
  stackName: string,
): StackSettings {
  const errors: Array<{ propertyPath: string; reason: string }> = [];
  const problem = (key: string, reason: string) => errors.push({ propertyPath: `${PROJECT}:${key}`, reason });
  const raw = (key: string) => allConfig[`${PROJECT}:${key}`];
  const object = (key: string): Record<string, unknown> => {
    const text = raw(key);
    if (text === undefined) return {};
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === "object" && value !== null && !Array.isArray(value))
        return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    problem(key, "must be an object (a YAML map under the key in Pulumi.<stack>.yaml)");
    return {};
  };

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
        SECRET_LOOKING_KEY.test(name)
          ? "looks like a secret in plain config: secrets come from Vault, or `pulumi config set --secret` for vaultJwt/vaultToken"
          : `is not a setting of this program; known settings: ${[...Object.keys(KNOWN_KEYS), ...SECRET_KEYS].join(", ")}`,
      );
      continue;
    }
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

  const envText =
    raw("environment") ?? (stackName === "prod" ? "prod" : stackName === "dev" ? "dev" : undefined);
  if (envText !== "dev" && envText !== "prod")
    problem("environment", `must be dev or prod (got ${JSON.stringify(envText ?? null)})`);
  const environment: Environment = envText === "prod" ? "prod" : "dev";
  const defaults = DEFAULTS[environment];

  const genesys = object("genesys");
  const region = str(genesys.region) ?? "";
  if (region === "")
    problem(
      "genesys.region",
      "is required: an AWS region key such as eu-west-1, or a domain such as mypurecloud.ie",
    );
  else for (const reason of regionProblems(region)) problem("genesys.region", reason);
  for (const field of ["apiBaseUrl", "loginBaseUrl"] as const) {
    const url = str(genesys[field]);
    if (url === undefined) continue;
    const reason = urlProblem(field === "apiBaseUrl" ? "API" : "login", url);
    if (reason) problem(`genesys.${field}`, reason);
    else if (environment === "prod" && !url.startsWith("https://"))
      problem(`genesys.${field}`, "must be https in prod");
  }
  const clientId = str(genesys.clientId) ?? "";
  if (clientId === "")
    problem("genesys.clientId", "is required: the OAuth client id (not secret; the secret lives in Vault)");
  const contactListId = str(genesys.contactListId) ?? "";
  if (contactListId === "")
    problem("genesys.contactListId", "is required: the outbound contact list imported contacts go to");

  const autoscaling = object("autoscaling");
  const minReplicas = int(
    autoscaling.minReplicas,
    defaults.minReplicas,
    "autoscaling.minReplicas",
    1,
    100,
    problem,
  );
  const maxReplicas = int(
    autoscaling.maxReplicas,
    defaults.maxReplicas,
    "autoscaling.maxReplicas",
    1,
    100,
    problem,
  );
  const targetCpuPercent = int(
    autoscaling.targetCpuPercent,
    70,
    "autoscaling.targetCpuPercent",
    0,
    100,
    problem,
  );
  if (targetCpuPercent < 50 || targetCpuPercent > 90) {
    problem(
      "autoscaling.targetCpuPercent",
      `is ${targetCpuPercent}: use 50-90 (the guide's 20-30 % scales on every blip, and more pods do not buy more Genesys budget)`,
    );
  }
  if (minReplicas > maxReplicas)
    problem("autoscaling.minReplicas", `(${minReplicas}) is above autoscaling.maxReplicas (${maxReplicas})`);
  if (environment === "prod" && minReplicas < 2)
    problem("autoscaling.minReplicas", "must be at least 2 in prod (one pod is no high availability)");

  const image = object("image");
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

  const storage = object("storage");
  const storageMode = str(storage.mode) ?? "nfs";
  if (storageMode !== "nfs" && storageMode !== "storageClass")
    problem("storage.mode", "must be nfs or storageClass");
  const storageClassName = str(storage.storageClassName);
  if (storageMode === "storageClass" && storageClassName === undefined)
    problem(
      "storage.storageClassName",
      "is required when storage.mode is storageClass (a ReadWriteMany class)",
    );

  const secrets = object("secrets");
  const secretsMode = str(secrets.mode) ?? "vault";
  if (secretsMode !== "vault" && secretsMode !== "externalSecret")
    problem("secrets.mode", "must be vault or externalSecret");
  const vaultLogin = (str(secrets.vaultLogin) ?? defaults.vaultLogin) as "token" | "jwt";
  if (vaultLogin !== "token" && vaultLogin !== "jwt") problem("secrets.vaultLogin", "must be token or jwt");
  if (environment === "prod" && secretsMode === "vault" && vaultLogin !== "jwt")
    problem("secrets.vaultLogin", "must be jwt in prod: no static Vault token");
  const vaultJwtRole = str(secrets.vaultJwtRole);
  if (secretsMode === "vault" && vaultLogin === "jwt" && vaultJwtRole === undefined)
    problem(
      "secrets.vaultJwtRole",
      "is required for the jwt login (the Vault role the CI's OIDC token maps to)",
    );

  const egress = object("egress");
  const genesysCidrs = strings(egress.genesysCidrs, "egress.genesysCidrs", problem);
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

  const network = readNetwork(object("network"), problem);

  const ingress = object("ingress");
  const ingressEnabled = ingress.enabled === true;
  const host = str(ingress.host);
  const tlsSecretName = str(ingress.tlsSecretName);
  if (ingressEnabled && (host === undefined || tlsSecretName === undefined))
    problem("ingress", "needs host and tlsSecretName when enabled (TLS is required)");

  const consoleRaw = object("console");
  let consoleSettings: StackSettings["console"];
  if (consoleRaw.enabled === true) {
    const issuerUrl = str(consoleRaw.issuerUrl);
    const consoleClientId = str(consoleRaw.clientId);
    const allowedGroups = strings(consoleRaw.allowedGroups, "console.allowedGroups", problem);
    const idpCidrs = strings(consoleRaw.identityProviderCidrs, "console.identityProviderCidrs", problem);
    if (!ingressEnabled)
      problem(
        "console",
        "needs ingress.enabled with a host and TLS: the console is served at https://<ingress.host>/console",
      );
    if (issuerUrl === undefined || !issuerUrl.startsWith("https://"))
      problem("console.issuerUrl", "is required: the identity provider's issuer URL, https");
    if (consoleClientId === undefined)
      problem(
        "console.clientId",
        "is required: the client registered at the provider (its secret goes to Vault as oidc-client-secret)",
      );
    if (allowedGroups.length === 0)
      problem(
        "console.allowedGroups",
        "is required: the groups (or roles) allowed in; the console is never open to every signed-in user",
      );
    if (idpCidrs.length === 0)
      problem(
        "console.identityProviderCidrs",
        "is required: where the identity provider answers, for the egress policy (HTTPS 443)",
      );
    for (const cidr of idpCidrs) {
      if (!isCidr(cidr)) problem("console.identityProviderCidrs", `"${cidr}" is not a CIDR`);
      else if (cidr === "0.0.0.0/0" || cidr === "::/0")
        problem(
          "console.identityProviderCidrs",
          `${cidr} opens egress to the whole internet: list the provider's ranges`,
        );
    }
    consoleSettings = {
      issuerUrl: issuerUrl ?? "",
      clientId: consoleClientId ?? "",
      allowedGroups,
      groupsClaim: str(consoleRaw.groupsClaim) ?? "groups",
      scopes: str(consoleRaw.scopes) ?? "openid profile email",
      identityProviderCidrs: idpCidrs,
    };
  }

  const monitoring = object("monitoring");
  const imports = object("import");
  const pollingIntervalSeconds = int(
    genesys.pollingIntervalSeconds,
    300,
    "genesys.pollingIntervalSeconds",
    30,
    86_400,
    problem,
  );
  const tokenPoolSize = int(
    genesys.tokenPoolSize,
    environment === "prod" ? 2 : 1,
    "genesys.tokenPoolSize",
    1,
    50,
    problem,
  );
  const rateLimitPerMinute = int(
    genesys.rateLimitPerMinute,
    300,
    "genesys.rateLimitPerMinute",
    1,
    100_000,
    problem,
  );
  const phoneColumns = strings(imports.phoneColumns, "import.phoneColumns", problem);
  const columns = strings(imports.columns, "import.columns", problem);
  const buffer = int(
    genesys.tokenRefreshBufferSeconds,
    60,
    "genesys.tokenRefreshBufferSeconds",
    30,
    3600,
    problem,
  );

  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `Stack ${stackName} has ${errors.length} configuration problem${errors.length === 1 ? "" : "s"}; nothing was created`,
      errors,
    });
  }
  return {
    environment,
    namespace: str(raw("namespace")) ?? `genesys-sync-${environment}`,
    platformStack: raw("platformStack"),
    genesys: {
      region,
      domain: regionDomain(region)!,
      apiBaseUrl: str(genesys.apiBaseUrl),
      loginBaseUrl: str(genesys.loginBaseUrl),
      clientId,
      contactListId,
      pollingIntervalSeconds,
      tokenPoolSize,
      rateLimitPerMinute,
      tokenRefreshBufferSeconds: buffer,
    },
    image: {
      repository: str(image.repository) ?? "registry.example.com/contact-centre/genesys-sync",
      tag,
      digest,
      pullPolicy,
    },
    autoscaling: { minReplicas, maxReplicas, targetCpuPercent },
    storage: {
      mode: storageMode as "nfs" | "storageClass",
      size: str(storage.size) ?? "50Gi",
      storageClassName,
    },
    secrets: {
      mode: secretsMode as "vault" | "externalSecret",
      kvMount: str(secrets.kvMount) ?? "secret",
      kvPath: str(secrets.kvPath) ?? `genesys/${environment}/middleware`,
      vaultLogin,
      vaultJwtRole,
      kubernetesAuthMount: str(secrets.kubernetesAuthMount) ?? "kubernetes",
      secretStore: str(secrets.secretStore) ?? "vault",
    },
    egress: { genesysCidrs, onPremises },
    network,
    ingress: { enabled: ingressEnabled, host, tlsSecretName },
    monitoring: {
      enabled: monitoring.enabled !== false,
      grafanaDashboards: monitoring.grafanaDashboards !== false,
    },
    console: consoleSettings,
    import: {
      defaultCountry: str(imports.defaultCountry) ?? "US",
      phoneColumns: phoneColumns.length > 0 ? phoneColumns : ["phone"],
      columns,
    },
  };
}

const PEM_CERTIFICATES =
  /^(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;

/** The `network` setting: a forward proxy (validated URL, where it answers, NO_PROXY) and extra CAs. */
function readNetwork(
  network: Record<string, unknown>,
  problem: (key: string, reason: string) => void,
): StackSettings["network"] {
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
function proxyUrl(text: string, problem: (key: string, reason: string) => void): URL | undefined {
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

function int(
  value: unknown,
  fallback: number,
  key: string,
  min: number,
  max: number,
  problem: (key: string, reason: string) => void,
): number {
  if (value === undefined) return fallback;
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    problem(key, `must be a whole number from ${min} to ${max}`);
    return fallback;
  }
  return number;
}

function strings(value: unknown, key: string, problem: (key: string, reason: string) => void): string[] {
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
