import { Agent, EnvHttpProxyAgent, Pool, type Dispatcher } from "undici";

/**
 * Where requests to Genesys Cloud (token and API) go when the network allows no direct egress:
 * through a forward proxy, except for the NO_PROXY hosts. Parsed and checked in config.ts.
 */
export interface ProxySettings {
  /** Proxy for https:// URLs: HTTPS_PROXY, else HTTP_PROXY (undici's rule). */
  readonly httpsProxy?: string;
  /** Proxy for http:// URLs (the simulator on loopback): HTTP_PROXY. */
  readonly httpProxy?: string;
  /**
   * Reached directly: host names (also matching their subdomains; a leading `.` or `*.` is
   * ignored), IP addresses, `host:port`, or `*` for everything. Ranges (CIDR) are not matched.
   */
  readonly noProxy: readonly string[];
}

/** Connect timeout of a Genesys connection (TCP and TLS; through a proxy, each step of the tunnel). */
export const GENESYS_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The HTTP dispatcher for Genesys Cloud: a keep-alive pool per origin, 64 connections, a connect
 * timeout, and with a proxy, undici's EnvHttpProxyAgent (CONNECT tunnels, NO_PROXY matching)
 * given the settings explicitly, so the environment is read in one place (config.ts).
 */
export function genesysDispatcher(
  proxy: ProxySettings | undefined,
  connectTimeoutMs = GENESYS_CONNECT_TIMEOUT_MS,
): Dispatcher {
  const agentOptions = { keepAliveTimeout: 30_000, connections: 64, connect: { timeout: connectTimeoutMs } };
  if (proxy?.httpsProxy === undefined && proxy?.httpProxy === undefined) return new Agent(agentOptions);
  return new EnvHttpProxyAgent({
    ...agentOptions,
    // "" means none: undefined would make undici read HTTP_PROXY / HTTPS_PROXY / NO_PROXY itself.
    httpProxy: proxy.httpProxy ?? "",
    httpsProxy: proxy.httpsProxy ?? "",
    noProxy: proxy.noProxy.join(","),
    // Through a proxy, undici replaces `connect` with the tunnel: these keep the timeout on the
    // connection to the proxy, on the CONNECT answer, and on the TLS handshake through the tunnel.
    proxyTls: { timeout: connectTimeoutMs },
    clientFactory: (origin, options) => new Pool(origin, { ...options, headersTimeout: connectTimeoutMs }),
    requestTls: { timeout: connectTimeoutMs },
  });
}

/** The proxy settings for a log line: proxies as host:port only (never credentials or paths). */
export function describeProxy(proxy: ProxySettings | undefined): string | Record<string, unknown> {
  if (proxy?.httpsProxy === undefined && proxy?.httpProxy === undefined)
    return "off (HTTPS_PROXY and HTTP_PROXY unset): direct";
  return {
    https: proxy.httpsProxy === undefined ? "direct" : hostAndPort(proxy.httpsProxy),
    http: proxy.httpProxy === undefined ? "direct" : hostAndPort(proxy.httpProxy),
    noProxy: proxy.noProxy,
  };
}

/** NO_PROXY entries undici never matches (address ranges), to warn about at start. */
export function unmatchedNoProxyEntries(proxy: ProxySettings | undefined): string[] {
  return (proxy?.noProxy ?? []).filter((entry) => entry.includes("/"));
}

function hostAndPort(raw: string): string {
  const url = new URL(raw);
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}
