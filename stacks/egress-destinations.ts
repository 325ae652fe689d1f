import type { PlatformInfo } from "./platform";
import type { StackSettings } from "./settings";
import ipRangeData from "./data/genesys-ip-ranges.json";

/** What the middleware pods may reach, and who may reach them. */
export interface EgressInputs {
  /** Labels that select the middleware pods. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Genesys Cloud ranges for the region (dataset + overrides); HTTPS 443 only. Empty behind a proxy. */
  readonly genesysCidrs: readonly string[];
  /**
   * Where the export download host answers (egress.downloadCidrs), HTTPS 443: only while
   * contact-list snapshots are on and their downloads go direct (no proxy, or the host in NO_PROXY).
   */
  readonly downloadCidrs: readonly string[];
  /** The forward proxy (HTTPS_PROXY), then the only way out to Genesys Cloud; absent: direct. */
  readonly proxy?: { readonly cidrs: readonly string[]; readonly port: number };
  /** The NFS server, for the shared volume (TCP 2049). */
  readonly nfsCidrs: readonly string[];
  /** Vault, when the pods talk to it (TCP 8200). */
  readonly vaultCidrs: readonly string[];
  /** The Kubernetes API, for the leader-election Lease (TCP 443 and 6443). */
  readonly apiServerCidrs: readonly string[];
  readonly onPremises: ReadonlyArray<{ readonly cidr: string; readonly port: number }>;
  /** Namespaces whose pods may call in: the ingress controller's and Prometheus'. */
  readonly ingressNamespace: string;
  readonly prometheusNamespace: string;
  readonly servicePort: number;
}

/**
 * What the pods of a stack may reach. Behind a forward proxy, the proxy replaces the Genesys
 * ranges: every call to Genesys Cloud goes through it, so no direct 443 to Genesys is allowed,
 * and NO_PROXY destinations are not added (each must be allowed by its own setting).
 */
export function egressDestinations(
  settings: StackSettings,
  platform: Omit<PlatformInfo, "kubeconfig">,
  podLabels: Readonly<Record<string, string>>,
): EgressInputs {
  const { proxy } = settings.network;
  return {
    podLabels: { ...podLabels },
    genesysCidrs: proxy
      ? []
      : [...shippedGenesysRanges(settings.genesys.region), ...settings.egress.genesysCidrs],
    downloadCidrs: directDownloadHosts(settings).length > 0 ? [...settings.egress.downloadCidrs] : [],
    ...(proxy ? { proxy: { cidrs: [...proxy.cidrs], port: proxy.port } } : {}),
    nfsCidrs: settings.storage.mode === "nfs" ? [hostCidr(platform.nfsServer)] : [],
    vaultCidrs: settings.secrets.mode === "vault" ? [...platform.vaultCidrs] : [],
    apiServerCidrs: [...platform.apiServerCidrs],
    onPremises: [
      ...settings.egress.onPremises,
      // The console's identity provider: discovery, token, keys and userinfo over HTTPS.
      ...(settings.console ? settings.egress.identityProviderCidrs : []).map((cidr) => ({ cidr, port: 443 })),
    ],
    ingressNamespace: platform.ingressNamespace,
    prometheusNamespace: platform.prometheusNamespace,
    servicePort: 8080,
  };
}

/**
 * The download hosts the pods reach without the proxy: none while snapshots are off; all of them
 * without a proxy; behind one, those NO_PROXY names (undici's matching: the host and its
 * subdomains, a leading `.` or `*.` ignored, `*` for all, a `host:port` entry by its host).
 */
export function directDownloadHosts(settings: StackSettings): string[] {
  const { listSnapshots, network } = settings;
  if (listSnapshots.schedule.kind === "off") return [];
  if (network.proxy === undefined) return [...listSnapshots.downloadHosts];
  return listSnapshots.downloadHosts.filter((host) => noProxyMatches(host, network.proxy!.noProxy));
}

function noProxyMatches(host: string, noProxy: readonly string[]): boolean {
  return noProxy.some((raw) => {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/:\d+$/, "")
      .replace(/^\*?\./, "");
    return entry === "*" || host === entry || host.endsWith(`.${entry}`);
  });
}

function hostCidr(address: string): string {
  return address.includes("/") ? address : `${address}/${address.includes(":") ? 128 : 32}`;
}

interface IpRangeDataset {
  readonly fetchedAt: string | null;
  readonly regions: Readonly<Record<string, readonly string[]>>;
}

/** The shipped Genesys Cloud ranges of a region (`npm run ipranges:refresh` updates them). */
export function shippedGenesysRanges(
  region: string,
  dataset: IpRangeDataset = ipRangeData as IpRangeDataset,
): readonly string[] {
  return dataset.regions[region] ?? [];
}
