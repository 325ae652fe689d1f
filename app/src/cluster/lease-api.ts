import { readFileSync } from "node:fs";
import path from "node:path";
import { Agent, request, type Dispatcher } from "undici";

/** The parts of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface Lease {
  readonly apiVersion?: "coordination.k8s.io/v1";
  readonly kind?: "Lease";
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
    readonly [key: string]: unknown;
  };
  readonly spec: LeaseSpec;
}

export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with microseconds. */
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

/** Someone else changed the Lease first (HTTP 409): read it again and decide again. */
export class LeaseConflictError extends Error {
  constructor(what: string) {
    super(`the Lease changed under us (${what}): another replica wrote it first`);
    this.name = "LeaseConflictError";
  }
}

export interface LeaseApi {
  /** The Lease, or undefined when it does not exist (404). */
  get(namespace: string, name: string): Promise<Lease | undefined>;
  /** Creates it; LeaseConflictError when it exists already. */
  create(namespace: string, lease: Lease): Promise<Lease>;
  /** Replaces it, guarded by metadata.resourceVersion; LeaseConflictError when that is stale. */
  replace(namespace: string, lease: Lease): Promise<Lease>;
}

export interface InClusterSettings {
  /** The API server, such as https://10.96.0.1:443, or http://127.0.0.1:8001 behind `kubectl proxy`. */
  readonly apiUrl: string;
  /** The service account folder: token (re-read for every call, since projected tokens rotate) and ca.crt. */
  readonly serviceAccountDir: string;
  readonly requestTimeoutMs: number;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Where the in-cluster API is: KUBERNETES_SERVICE_HOST/PORT, as every pod gets them. */
export function inClusterApiUrl(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) return undefined;
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The Lease endpoints of the Kubernetes API, called with the pod's service account token over
 * TLS verified against the cluster CA. Nothing else of the API is used, matching the chart's Role.
 */
export class KubernetesLeaseApi implements LeaseApi {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly settings: InClusterSettings) {
    let ca: string | undefined;
    if (settings.apiUrl.startsWith("https:")) {
      try {
        ca = readFileSync(path.join(settings.serviceAccountDir, "ca.crt"), "utf8");
      } catch {
        ca = undefined; // the system CAs then; a managed API server may have a public certificate
      }
    }
    this.dispatcher = new Agent({ connect: ca ? { ca } : {}, headersTimeout: settings.requestTimeoutMs });
  }

  private url(namespace: string, name?: string): string {
    const base = `${this.settings.apiUrl.replace(/\/$/, "")}/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/json",
    };
    try {
      const token = readFileSync(path.join(this.settings.serviceAccountDir, "token"), "utf8").trim();
      if (token) headers.authorization = `Bearer ${token}`;
    } catch {
      // No token: only right behind an authenticating proxy such as `kubectl proxy`.
    }
    return headers;
  }

  private async call(
    method: "GET" | "POST" | "PUT",
    url: string,
    what: string,
    body?: Lease,
  ): Promise<Lease | undefined> {
    const response = await request(url, {
      method,
      headers: this.headers(),
      ...(body ? { body: JSON.stringify(body) } : {}),
      dispatcher: this.dispatcher,
      bodyTimeout: this.settings.requestTimeoutMs,
    });
    const text = await response.body.text();
    if (response.statusCode === 404 && method === "GET") return undefined;
    if (response.statusCode === 409) throw new LeaseConflictError(what);
    if (response.statusCode >= 300) {
      const message = (() => {
        try {
          return String((JSON.parse(text) as { message?: unknown }).message ?? "");
        } catch {
          return "";
        }
      })();
      const hint =
        response.statusCode === 401 || response.statusCode === 403
          ? ": the service account needs get/create/update on leases in its namespace (the chart's Role grants them)"
          : "";
      throw new Error(
        `${what}: the Kubernetes API answered HTTP ${response.statusCode}${message ? ` (${message})` : ""}${hint}`,
      );
    }
    return JSON.parse(text) as Lease;
  }

  get(namespace: string, name: string): Promise<Lease | undefined> {
    return this.call("GET", this.url(namespace, name), `reading Lease ${namespace}/${name}`);
  }

  async create(namespace: string, lease: Lease): Promise<Lease> {
    return (await this.call(
      "POST",
      this.url(namespace),
      `creating Lease ${namespace}/${lease.metadata.name}`,
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        ...lease,
      },
    ))!;
  }

  async replace(namespace: string, lease: Lease): Promise<Lease> {
    return (await this.call(
      "PUT",
      this.url(namespace, lease.metadata.name),
      `updating Lease ${namespace}/${lease.metadata.name}`,
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
    ))!;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
