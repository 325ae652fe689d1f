import { request } from "undici";
import { kubectl } from "../../support/kube";

/** What the e2e tier reads back from the API server: plain JSON as kubectl prints it. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly data?: Record<string, string>;
  readonly status?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly [key: string]: unknown;
}

export async function getJson<T = KubeObject>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"])) as T;
}

export async function list(kind: string, namespace: string, selector?: string): Promise<KubeObject[]> {
  const args = ["get", kind, "-n", namespace, ...(selector ? ["-l", selector] : [])];
  return (await getJson<{ items: KubeObject[] }>(args)).items;
}

/** The object, or undefined when the API server says NotFound. */
export async function find(kind: string, name: string, namespace?: string): Promise<KubeObject | undefined> {
  const items = await getJson<{ items: KubeObject[] }>([
    "get",
    kind,
    "--field-selector",
    `metadata.name=${name}`,
    ...(namespace ? ["-n", namespace] : []),
  ]);
  return items.items[0];
}

export function isReady(pod: KubeObject): boolean {
  return (
    pod.metadata.deletionTimestamp === undefined &&
    pod.status?.phase === "Running" &&
    (pod.status?.conditions ?? []).some(
      (condition: { type: string; status: string }) =>
        condition.type === "Ready" && condition.status === "True",
    )
  );
}

/** Pods of the release, not being deleted. */
export async function releasePods(namespace: string, instance: string): Promise<KubeObject[]> {
  return (await list("pods", namespace, `app.kubernetes.io/instance=${instance}`)).filter(
    (pod) => pod.metadata.deletionTimestamp === undefined,
  );
}

export interface ScrapeTarget {
  readonly url: string;
  readonly pod: string | undefined;
}

/**
 * Resolves a ServiceMonitor the way the Prometheus Operator does: its selector picks Services in
 * its namespace, their EndpointSlices give the ready pod addresses, its endpoint's `port` names
 * the Service port and `path` the metrics path. No kube-proxy needed: these are pod IPs.
 */
export async function serviceMonitorTargets(namespace: string, name: string): Promise<ScrapeTarget[]> {
  const monitor = await getJson(["get", "servicemonitors.monitoring.coreos.com", name, "-n", namespace]);
  const labels = monitor.spec.selector.matchLabels as Record<string, string>;
  const selector = Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const targets: ScrapeTarget[] = [];
  for (const service of await list("services", namespace, selector)) {
    for (const endpoint of monitor.spec.endpoints as Array<{
      port: string;
      path?: string;
      scheme?: string;
    }>) {
      const slices = await list(
        "endpointslices.discovery.k8s.io",
        namespace,
        `kubernetes.io/service-name=${service.metadata.name}`,
      );
      for (const slice of slices) {
        const port = (slice.ports as Array<{ name?: string; port: number }> | undefined)?.find(
          (candidate) => candidate.name === endpoint.port,
        );
        if (!port) continue;
        for (const address of (slice.endpoints as Array<{
          addresses: string[];
          conditions?: { ready?: boolean };
          targetRef?: { name: string };
        }>) ?? []) {
          if (address.conditions?.ready === false) continue;
          targets.push({
            url: `${endpoint.scheme ?? "http"}://${address.addresses[0]}:${port.port}${endpoint.path ?? "/metrics"}`,
            pod: address.targetRef?.name,
          });
        }
      }
    }
  }
  return targets;
}

/** GET over plain HTTP from the host to a pod IP; the body as text. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const response = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: response.statusCode, body: await response.body.text() };
}

/** Sum of every sample of a Prometheus metric family in a text exposition. */
export function metricSum(
  exposition: string,
  name: string,
  labelFilter?: (labels: string) => boolean,
): number {
  let sum = 0;
  for (const line of exposition.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    if (labelFilter && !labelFilter(match[2] ?? "")) continue;
    sum += Number(match[3]);
  }
  return sum;
}
