import { GENESYS_REGIONS, isLoopback, regionDomain } from "./regions";

/**
 * Where Genesys Cloud serves the files of its exports (a contact list's export, a DNC list's),
 * described once: the service refuses a download URL anywhere else (genesys/list-export-api.ts),
 * the stack allows exactly these hosts in its Cilium FQDN policy while snapshots are on, and the
 * `genesys-endpoint` policy checks the extra hosts a deployment adds.
 *
 * What the research found (docs/export.md, "Where the download comes from"):
 * - `GET /api/v2/outbound/contactlists/{id}/export` answers `{uri}`, a Genesys download:
 *   `https://api.<domain>/api/v2/downloads/<downloadId>` (Genesys' Terraform provider,
 *   genesyscloud/outbound_contact_list/genesyscloud_outbound_contact_list_proxy.go,
 *   getContactListContactsExportUrlFn, "just the URL itself, no authorization included").
 * - `GET /api/v2/downloads/{downloadId}` "issues a redirect to a signed secure download URL"; with
 *   `issueRedirect=false` it answers `{url}` instead (platform-client-sdk-javascript DownloadsApi
 *   getDownload: issueRedirect and redirectToAuth both default to true; UrlResponse).
 * - The signed URL is pre-signed (AWS SigV4 query parameters) and carries no bearer token. Public
 *   code that records the answers of live orgs shows it on `api-downloads.<domain>`
 *   (`api-downloads.mypurecloud.ie`, `.de`, `.com`), a host of the region's domain that is not one
 *   of the API hosts (regions.ts GENESYS_HOSTS), nor in the official SDKs' region tables. Older
 *   answers pointed straight at S3: a deployment that sees another host adds it to
 *   EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS, and the refusal names the host it saw.
 */
export const GENESYS_DOWNLOAD_HOST_PREFIX = "api-downloads";

/** `api-downloads.mypurecloud.ie` from `mypurecloud.ie`. */
export function downloadHostName(domain: string): string {
  return `${GENESYS_DOWNLOAD_HOST_PREFIX}.${domain}`;
}

/** Whether `hostname` is the download host of some Genesys Cloud region. */
export function isRegionDownloadHost(hostname: string): boolean {
  return Object.values(GENESYS_REGIONS).some((domain) => downloadHostName(domain) === hostname.toLowerCase());
}

export interface DownloadHostSettings {
  /** The region (key or domain), when set. */
  readonly region?: string | undefined;
  /** The API base URL when overridden: `api.<x>` gives `api-downloads.<x>`, as `apps.` is derived. */
  readonly apiBaseUrl?: string | undefined;
  /** EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS: more hosts (host or host:port) a download may come from. */
  readonly extraHosts?: readonly string[];
}

/**
 * The hosts a download may come from, each once: the region's `api-downloads.<domain>`, the one
 * beside an overridden API base URL named `api.<x>`, and the extra hosts as given (lower case).
 */
export function downloadHosts(settings: DownloadHostSettings): string[] {
  const hosts: string[] = [];
  const domain = settings.region ? regionDomain(settings.region) : undefined;
  if (domain !== undefined) hosts.push(downloadHostName(domain));
  const api = apiHostname(settings.apiBaseUrl);
  if (api?.startsWith("api.")) hosts.push(downloadHostName(api.slice(4)));
  hosts.push(...(settings.extraHosts ?? []).map((host) => host.trim().toLowerCase()).filter((h) => h !== ""));
  return [...new Set(hosts)];
}

/** The host names alone (no ports), for an FQDN rule: what `downloadHosts` allows. */
export function downloadHostNames(settings: DownloadHostSettings): string[] {
  return [...new Set(downloadHosts(settings).map((host) => host.replace(/:\d+$/, "")))];
}

/**
 * Why a download URL must not be fetched, or undefined when it may be: https (plain http only to
 * loopback, as base URLs), no credentials in it, and a host in `allowed` (an entry with a port
 * matches host:port; one without, the host name on any port). The message names the host.
 */
export function downloadUrlProblem(raw: string, allowed: readonly string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "Genesys answered a download URL that is not a URL";
  }
  const hostname = url.hostname.toLowerCase();
  if (url.username !== "" || url.password !== "")
    return `the download URL for ${hostname} carries credentials in it; refused`;
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(hostname)))
    return `the download URL points at ${url.protocol}//${hostname}: only https is fetched (plain http only on loopback, for tests)`;
  const host = url.port === "" ? hostname : `${hostname}:${url.port}`;
  if (allowed.some((entry) => entry === host || entry === hostname)) return undefined;
  return `the download URL points at ${host}, which is not a host exports are downloaded from (${allowed.length > 0 ? allowed.join(", ") : "none known: no region is set"}): if Genesys serves your region's exports there, add ${hostname} to EXPORT_LIST_SNAPSHOT_DOWNLOAD_HOSTS (the chart's export.listSnapshotDownloadHosts), and allow it in the egress policy and the proxy`;
}

function apiHostname(baseUrl: string | undefined): string | undefined {
  if (baseUrl === undefined || baseUrl === "") return undefined;
  try {
    return new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
