import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Lease } from "../../app/src/cluster/lease-api";

/**
 * A FAKE of the Kubernetes API's Lease endpoints (coordination.k8s.io/v1), on loopback. No
 * Kubernetes API server can run on these machines, so leader election is tested against this.
 * It does what the real one does for these calls: 404 for a missing Lease, 409 for creating one
 * that exists, optimistic concurrency on replace (409 unless metadata.resourceVersion is the
 * current one), a new resourceVersion on every write, and 401 without the expected bearer token.
 * It knows nothing of time: expiry is the clients' business, as with the real API.
 */
export class FakeLeaseApi {
  readonly leases = new Map<string, Lease>();
  /** Every accepted write: who held the Lease after it. */
  readonly writes: Array<{ verb: "create" | "replace"; holder: string | undefined }> = [];
  conflicts = 0;
  /** Answer 503 to everything while set (an unreachable API server). */
  unavailable = false;
  private version = 100;
  private server: http.Server | undefined;
  url = "";

  constructor(private readonly token: string | undefined) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const [status, answer] = this.handle(
          req.method ?? "",
          req.url ?? "",
          req.headers.authorization,
          body,
        );
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  holder(namespace: string, name: string): string | undefined {
    return this.leases.get(`${namespace}/${name}`)?.spec.holderIdentity;
  }

  private handle(
    method: string,
    url: string,
    authorization: string | undefined,
    body: string,
  ): [number, unknown] {
    if (this.unavailable) return [503, status(503, "ServiceUnavailable", "the fake API is down")];
    if (this.token !== undefined && authorization !== `Bearer ${this.token}`)
      return [401, status(401, "Unauthorized", "Unauthorized")];
    const match = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?$/.exec(url);
    if (!match) return [404, status(404, "NotFound", `no route ${method} ${url}`)];
    const namespace = decodeURIComponent(match[1]!);
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    if (method === "GET" && name) {
      const lease = this.leases.get(`${namespace}/${name}`);
      return lease ? [200, lease] : [404, status(404, "NotFound", `leases "${name}" not found`)];
    }
    const lease = JSON.parse(body) as Lease;
    if (method === "POST" && !name) {
      const key = `${namespace}/${lease.metadata.name}`;
      if (this.leases.has(key)) {
        this.conflicts += 1;
        return [409, status(409, "AlreadyExists", `leases "${lease.metadata.name}" already exists`)];
      }
      return [201, this.store(key, lease, "create")];
    }
    if (method === "PUT" && name) {
      const key = `${namespace}/${name}`;
      const current = this.leases.get(key);
      if (!current) return [404, status(404, "NotFound", `leases "${name}" not found`)];
      if (lease.metadata.resourceVersion !== current.metadata.resourceVersion) {
        this.conflicts += 1;
        return [
          409,
          status(
            409,
            "Conflict",
            `Operation cannot be fulfilled on leases "${name}": the object has been modified`,
          ),
        ];
      }
      return [200, this.store(key, lease, "replace")];
    }
    return [405, status(405, "MethodNotAllowed", `${method} is not supported here`)];
  }

  private store(key: string, lease: Lease, verb: "create" | "replace"): Lease {
    this.version += 1;
    const stored: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...lease.metadata, resourceVersion: String(this.version) },
      spec: lease.spec,
    };
    this.leases.set(key, stored);
    this.writes.push({ verb, holder: lease.spec.holderIdentity });
    return stored;
  }
}

function status(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code };
}
