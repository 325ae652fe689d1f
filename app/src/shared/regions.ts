import { ConfigurationError } from "./errors";

/**
 * Genesys Cloud regions: AWS region key → domain. Each region serves the hosts of GENESYS_HOSTS
 * under its domain (../shared/genesys-cloud-facts.md, "Regions" and "Bulk contact-list load").
 */
export const GENESYS_REGIONS: Readonly<Record<string, string>> = Object.freeze({
  "us-east-1": "mypurecloud.com",
  "us-east-2": "use2.us-gov-pure.cloud",
  "us-west-2": "usw2.pure.cloud",
  "ca-central-1": "cac1.pure.cloud",
  "sa-east-1": "sae1.pure.cloud",
  "mx-central-1": "mxc1.pure.cloud",
  "eu-west-1": "mypurecloud.ie",
  "eu-west-2": "euw2.pure.cloud",
  "eu-central-1": "mypurecloud.de",
  "eu-central-2": "euc2.pure.cloud",
  "me-central-1": "mec1.pure.cloud",
  "ap-south-1": "aps1.pure.cloud",
  "ap-northeast-1": "mypurecloud.jp",
  "ap-northeast-2": "apne2.pure.cloud",
  "ap-northeast-3": "apne3.pure.cloud",
  "ap-southeast-1": "apse1.pure.cloud",
  "ap-southeast-2": "mypurecloud.com.au",
  "eusc-de-east-1": "edee1.eusc-pure.cloud",
});

/** A base URL the service calls, and the setting that overrides it. */
export type BaseUrlSetting = "apiBaseUrl" | "loginBaseUrl" | "appsBaseUrl";

/** One host every region serves, at `<prefix>.<domain>`. */
export interface GenesysHostDescription {
  /** The first label of the host name: `api` for `api.mypurecloud.ie`. */
  readonly prefix: "api" | "login" | "apps" | "streaming";
  /**
   * The service's base URL for it: the setting that overrides it, and how messages name it ("the
   * API base URL"). Absent: the service sets no URL for it.
   */
  readonly baseUrl?: { readonly setting: BaseUrlSetting; readonly label: string };
}

/**
 * The hosts of a Genesys Cloud region, listed once: the Platform API, the login server that issues
 * tokens, the bulk contact-list upload and the notification websocket. The service's base URLs,
 * the Cilium FQDN rules, the `genesys-endpoint` policy and the stack's URL checks are all built
 * from this list, so no copy can miss a host (one did: the Cilium policy lacked `apps.`, and
 * every bulk load on a Cilium stack was blocked).
 */
export const GENESYS_HOSTS: readonly GenesysHostDescription[] = Object.freeze([
  { prefix: "api", baseUrl: { setting: "apiBaseUrl", label: "API" } },
  { prefix: "login", baseUrl: { setting: "loginBaseUrl", label: "login" } },
  { prefix: "apps", baseUrl: { setting: "appsBaseUrl", label: "apps (bulk upload)" } },
  // The notification websocket: allowed with the region's other hosts, though no URL points at it.
  { prefix: "streaming" },
]);

/** The hosts the service has a base URL for (api, login, apps), in the order of GENESYS_HOSTS. */
export const GENESYS_BASE_URL_HOSTS = GENESYS_HOSTS.filter(
  (host): host is Required<GenesysHostDescription> => host.baseUrl !== undefined,
);

/** `api.mypurecloud.ie` from `api` and `mypurecloud.ie`. */
export function genesysHostName(host: GenesysHostDescription, domain: string): string {
  return `${host.prefix}.${domain}`;
}

/** Whether `hostname` is this host of some Genesys Cloud region (`login.mypurecloud.de` for login). */
export function isRegionHost(host: GenesysHostDescription, hostname: string): boolean {
  return Object.values(GENESYS_REGIONS).some((domain) => genesysHostName(host, domain) === hostname);
}

export interface GenesysEndpoints {
  /** The region's domain, such as `mypurecloud.ie`; undefined when only overrides were given. */
  readonly domain: string | undefined;
  /** Base URL for the Platform API, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** Base URL of the login server that issues tokens, without a trailing slash. */
  readonly loginBaseUrl: string;
  /** Base URL of the bulk contact-list upload (`https://apps.<domain>`), without a trailing slash. */
  readonly appsBaseUrl: string;
}

export interface EndpointSettings {
  /** An AWS region key (`eu-west-1`) or a domain (`mypurecloud.ie`). */
  readonly region?: string | undefined;
  /** Overrides the API base URL (proxies, private endpoints, the local simulator). */
  readonly apiBaseUrl?: string | undefined;
  /** Overrides the login base URL. */
  readonly loginBaseUrl?: string | undefined;
  /**
   * Overrides the bulk upload base URL. Without it: when the API base URL is overridden, that URL
   * with `api.` turned into `apps.` (or the same URL when its host has no `api.`, as with the
   * simulator, which serves both), so uploads go where the API calls go; otherwise
   * `https://apps.<domain>` from the region.
   */
  readonly appsBaseUrl?: string | undefined;
}

/** Accepts an AWS region key or a domain (bare, or one of its hosts such as `api.<domain>`); returns the domain. */
export function regionDomain(region: string): string | undefined {
  const key = region.trim().toLowerCase();
  if (key in GENESYS_REGIONS) return GENESYS_REGIONS[key];
  const host = GENESYS_HOSTS.find((candidate) => key.startsWith(`${candidate.prefix}.`));
  const domain = host ? key.slice(host.prefix.length + 1) : key;
  return Object.values(GENESYS_REGIONS).includes(domain) ? domain : undefined;
}

/** Every problem with a region setting, as sentences that name the fix. */
export function regionProblems(region: string): string[] {
  return regionDomain(region) === undefined
    ? [
        `unknown Genesys Cloud region "${region}". Use one of the AWS region keys ` +
          `${Object.keys(GENESYS_REGIONS).join(", ")} or their domains (for example mypurecloud.ie), ` +
          "or set the API and login base URLs explicitly",
      ]
    : [];
}

/**
 * Resolves the API, login and apps base URLs from a region and optional overrides, reporting
 * every problem at once. Plain `http://` is refused unless the host is loopback (tests, the
 * simulator).
 */
export function resolveEndpoints(settings: EndpointSettings): GenesysEndpoints {
  const problems: string[] = [];
  let domain: string | undefined;
  if (settings.region !== undefined && settings.region !== "") {
    problems.push(...regionProblems(settings.region));
    domain = regionDomain(settings.region);
  }
  const urls: Partial<Record<BaseUrlSetting, string>> = {};
  for (const host of GENESYS_BASE_URL_HOSTS) {
    const fallback = defaultBaseUrl(host, settings, urls, domain);
    const url = baseUrl(host.baseUrl.label, settings[host.baseUrl.setting], fallback, problems);
    if (url !== undefined) urls[host.baseUrl.setting] = url;
  }
  const { apiBaseUrl, loginBaseUrl, appsBaseUrl } = urls;
  if (
    problems.length > 0 ||
    apiBaseUrl === undefined ||
    loginBaseUrl === undefined ||
    appsBaseUrl === undefined
  ) {
    if (problems.length === 0) {
      problems.push(
        "no Genesys Cloud region: set GENESYS_REGION (for example eu-west-1), or both GENESYS_API_BASE_URL and GENESYS_LOGIN_BASE_URL",
      );
    }
    throw new ConfigurationError(problems);
  }
  return { domain, apiBaseUrl, loginBaseUrl, appsBaseUrl };
}

/**
 * Every Genesys Cloud host name the service may reach with these settings, each once, in the
 * order of GENESYS_HOSTS: the hosts of its resolved base URLs (overrides included), and the
 * region's hosts it sets no URL for. Throws ConfigurationError as resolveEndpoints does.
 */
export function genesysHostNames(settings: EndpointSettings): string[] {
  const endpoints = resolveEndpoints(settings);
  const names = GENESYS_HOSTS.flatMap((host) => {
    if (host.baseUrl !== undefined) return [new URL(endpoints[host.baseUrl.setting]).hostname];
    return endpoints.domain === undefined ? [] : [genesysHostName(host, endpoints.domain)];
  });
  return [...new Set(names)];
}

/** Where a base URL points when it is not overridden: the region's host, or, for the apps URL, an overridden API. */
function defaultBaseUrl(
  host: GenesysHostDescription,
  settings: EndpointSettings,
  resolved: Partial<Record<BaseUrlSetting, string>>,
  domain: string | undefined,
): string | undefined {
  // An overridden API (a proxy, a private endpoint, the simulator) takes the uploads too.
  if (
    host.baseUrl?.setting === "appsBaseUrl" &&
    settings.apiBaseUrl !== undefined &&
    settings.apiBaseUrl !== ""
  )
    return resolved.apiBaseUrl && appsFromApi(resolved.apiBaseUrl);
  return domain && `https://${genesysHostName(host, domain)}`;
}

/** `https://api.example.com/x` → `https://apps.example.com/x`; a host without `api.` is kept. */
function appsFromApi(api: string): string {
  const url = new URL(api);
  if (url.hostname.startsWith("api.")) url.hostname = `apps.${url.hostname.slice(4)}`;
  return url.toString().replace(/\/+$/, "");
}

function baseUrl(
  label: string,
  override: string | undefined,
  fromRegion: string | undefined,
  problems: string[],
): string | undefined {
  const raw = override !== undefined && override !== "" ? override : fromRegion;
  if (raw === undefined) return undefined;
  const problem = urlProblem(label, raw);
  if (problem) {
    problems.push(problem);
    return undefined;
  }
  return raw.replace(/\/+$/, "");
}

/** Why a base URL is unusable, or undefined when it is fine. */
export function urlProblem(label: string, raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `the ${label} base URL "${raw}" is not a URL; write it as https://host[:port][/path]`;
  }
  if (url.username || url.password) {
    return `the ${label} base URL must not carry credentials; the client secret belongs in GENESYS_CLIENT_SECRET`;
  }
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return undefined;
  if (url.protocol === "http:") {
    return `the ${label} base URL "${raw}" uses plain http to a non-loopback host; tokens and contact data would cross the network unencrypted. Use https://`;
  }
  return `the ${label} base URL "${raw}" must use https://`;
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** `resolveEndpoints`, adding its problems to `problems` instead of throwing (for loaders that report everything at once). */
export function collectEndpoints(
  settings: EndpointSettings,
  problems: string[],
): GenesysEndpoints | undefined {
  try {
    return resolveEndpoints(settings);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}
