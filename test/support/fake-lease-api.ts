import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Lease, LeaseVerb } from "../../app/src/cluster/lease-api";

/** The service account the constructor's token stands for, as the API server names it. */
export const FAKE_SERVICE_ACCOUNT = "system:serviceaccount:sync:genesys-sync";

/**
 * A FAKE of the Kubernetes API's Lease endpoints (coordination.k8s.io/v1), on loopback, for fast
 * tests. The real API server runs in the e2e tier (test/e2e/lease-api.e2e.test.ts), and both
 * pass the same contract (test/support/lease-contract.ts); where they differ, the real one is
 * right and this fake is wrong. What it does, in the real server's order:
 * - authentication: with a token configured, no Authorization header is system:anonymous (403),
 *   an unknown bearer token 401; without one (behind `kubectl proxy`) everything is allowed;
 * - RBAC: GET needs get, POST create, PUT update (and create when the PUT creates): 403 Forbidden
 *   naming the user and the verb;
 * - decoding: MicroTime fields with other than six fractional digits are 400 BadRequest;
 * - validation: leaseDurationSeconds or leaseTransitions below 1 / 0, a missing name: 422 Invalid;
 * - storage: 404 for a missing Lease, 409 AlreadyExists for creating one that exists, PUT of a
 *   missing Lease creates it (201, even naming a resourceVersion), PUT without resourceVersion
 *   422, a stale one 409 Conflict, a new resourceVersion on every write, and none for a PUT that
 *   changes nothing (200, no write).
 * Errors are metav1.Status bodies shaped like the real ones. It knows nothing of time: expiry is
 * the clients' business, as with the real API.
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
  private readonly accounts = new Map<string, { user: string; verbs: ReadonlySet<LeaseVerb> }>();
  url = "";

  /** `token` may get, create and update leases as FAKE_SERVICE_ACCOUNT; undefined turns authentication off. */
  constructor(private readonly token: string | undefined) {
    if (token !== undefined) this.addServiceAccount(token, FAKE_SERVICE_ACCOUNT, ["get", "create", "update"]);
  }

  /** Another token this fake accepts, for `user`, whose Role grants only `verbs` on leases. */
  addServiceAccount(token: string, user: string, verbs: readonly LeaseVerb[]): this {
    this.accounts.set(token, { user, verbs: new Set(verbs) });
    return this;
  }

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
    const match = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/?]+))?$/.exec(url);
    if (!match) return [404, status(404, "NotFound", "the server could not find the requested resource")];
    const namespace = decodeURIComponent(match[1]!);
    const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    const key = (leaseName: string) => `${namespace}/${leaseName}`;

    let user: string | undefined;
    let verbs: ReadonlySet<LeaseVerb> | undefined;
    if (this.token !== undefined) {
      if (authorization === undefined) user = "system:anonymous";
      else {
        const account = this.accounts.get(authorization.replace(/^Bearer /, ""));
        if (!account) return [401, status(401, "Unauthorized", "Unauthorized")];
        ({ user, verbs } = account);
      }
    }
    const allowed = (verb: LeaseVerb): [number, unknown] | undefined =>
      user === undefined || verbs?.has(verb) ? undefined : [403, forbidden(user, verb, namespace, name)];

    if (method === "GET" && name) {
      const refused = allowed("get");
      if (refused) return refused;
      const lease = this.leases.get(key(name));
      return lease ? [200, lease] : [404, notFound(name)];
    }
    if (!(method === "POST" && !name) && !(method === "PUT" && name))
      return [
        405,
        status(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`),
      ];
    const refused = allowed(method === "POST" ? "create" : "update");
    if (refused) return refused;

    const decoded = decode(body);
    if (typeof decoded === "string") return [400, status(400, "BadRequest", decoded)];
    const lease = decoded;
    const leaseName = name ?? lease.metadata?.name;
    if (name && lease.metadata?.name && lease.metadata.name !== name)
      return [
        400,
        status(
          400,
          "BadRequest",
          `the name of the object (${lease.metadata.name}) does not match the name on the URL (${name})`,
        ),
      ];
    const invalid = validate(lease);
    if (!leaseName)
      invalid.unshift({
        field: "metadata.name",
        message: "Required value: name or generateName is required",
      });
    if (invalid.length > 0) return [422, invalidStatus(leaseName ?? "", "Lease", invalid)];

    const current = this.leases.get(key(leaseName!));
    if (method === "POST") {
      if (current) {
        this.conflicts += 1;
        return [
          409,
          status(409, "AlreadyExists", `leases.coordination.k8s.io "${leaseName}" already exists`, leaseName),
        ];
      }
      return [201, this.store(key(leaseName!), namespace, lease, "create")];
    }
    if (!current) {
      // A PUT of a missing Lease creates it, whatever resourceVersion it names, and needs the right to create.
      const refusedCreate = allowed("create");
      if (refusedCreate) return refusedCreate;
      return [201, this.store(key(leaseName!), namespace, lease, "create")];
    }
    if (!lease.metadata.resourceVersion)
      return [
        422,
        invalidStatus(leaseName!, "leases", [
          { field: "metadata.resourceVersion", message: "Invalid value: 0: must be specified for an update" },
        ]),
      ];
    if (lease.metadata.resourceVersion !== current.metadata.resourceVersion) {
      this.conflicts += 1;
      return [409, conflict(leaseName!)];
    }
    if (unchanged(current, lease)) return [200, current];
    return [
      200,
      this.store(
        key(leaseName!),
        namespace,
        { ...lease, metadata: { ...current.metadata, ...lease.metadata } },
        "replace",
      ),
    ];
  }

  private store(key: string, namespace: string, lease: Lease, verb: "create" | "replace"): Lease {
    this.version += 1;
    const stored: Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        ...lease.metadata,
        namespace,
        resourceVersion: String(this.version),
      },
      spec: normalizeMicroTimes(lease.spec),
    };
    this.leases.set(key, stored);
    this.writes.push({ verb, holder: lease.spec.holderIdentity });
    return stored;
  }
}

const MICRO_TIME_FIELDS = ["acquireTime", "renewTime"] as const;
const MICRO_TIME = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})(Z|[+-]\d\d:\d\d)$/;

/** The body as a Lease, or the message of the real server's 400 for what it cannot decode. */
function decode(body: string): Lease | string {
  let lease: Lease;
  try {
    lease = JSON.parse(body) as Lease;
  } catch (error) {
    return `Lease in version "v1" cannot be handled as a Lease: ${(error as Error).message}`;
  }
  for (const field of MICRO_TIME_FIELDS) {
    const value = lease.spec?.[field];
    if (value !== undefined && !MICRO_TIME.test(value))
      return `Lease in version "v1" cannot be handled as a Lease: parsing time "${value}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "${value.slice(19)}" as ".000000"`;
  }
  return lease;
}

/** The real server keeps MicroTimes in UTC, with their microseconds. */
function normalizeMicroTimes(spec: Lease["spec"]): Lease["spec"] {
  const normalized: Record<string, unknown> = { ...spec };
  for (const field of MICRO_TIME_FIELDS) {
    const match = spec?.[field] === undefined ? null : MICRO_TIME.exec(spec[field]);
    if (!match) continue;
    const seconds = new Date(`${match[1]}${match[3]}`).toISOString().replace(/\.\d{3}Z$/, "");
    normalized[field] = `${seconds}.${match[2]}Z`;
  }
  return normalized as Lease["spec"];
}

function validate(lease: Lease): Array<{ field: string; message: string }> {
  const problems: Array<{ field: string; message: string }> = [];
  const duration = lease.spec?.leaseDurationSeconds;
  if (duration !== undefined && duration <= 0)
    problems.push({
      field: "spec.leaseDurationSeconds",
      message: `Invalid value: ${duration}: must be greater than 0`,
    });
  const transitions = lease.spec?.leaseTransitions;
  if (transitions !== undefined && transitions < 0)
    problems.push({
      field: "spec.leaseTransitions",
      message: `Invalid value: ${transitions}: must be greater than or equal to 0`,
    });
  return problems;
}

function status(code: number, reason: string, message: string, name?: string) {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(name === undefined ? {} : { details: { name, group: "coordination.k8s.io", kind: "leases" } }),
    code,
  };
}

function notFound(name: string) {
  return status(404, "NotFound", `leases.coordination.k8s.io "${name}" not found`, name);
}

function conflict(name: string) {
  return status(
    409,
    "Conflict",
    `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    name,
  );
}

function forbidden(user: string, verb: LeaseVerb, namespace: string, name: string | undefined) {
  const subject = name === undefined ? "leases.coordination.k8s.io" : `leases.coordination.k8s.io "${name}"`;
  const message = `${subject} is forbidden: User "${user}" cannot ${verb} resource "leases" in API group "coordination.k8s.io" in the namespace "${namespace}"`;
  // A POST names no Lease in its URL: the details then carry no name.
  return name === undefined
    ? { ...status(403, "Forbidden", message), details: { group: "coordination.k8s.io", kind: "leases" } }
    : status(403, "Forbidden", message, name);
}

/** 422: validation names the kind "Lease", the update path the resource "leases", as the real server does. */
function invalidStatus(
  name: string,
  kind: "Lease" | "leases",
  causes: Array<{ field: string; message: string }>,
) {
  return {
    ...status(
      422,
      "Invalid",
      `${kind}.coordination.k8s.io "${name}" is invalid: ${causes.map((cause) => `${cause.field}: ${cause.message}`).join(", ")}`,
    ),
    details: {
      name,
      group: "coordination.k8s.io",
      kind,
      causes: causes.map((cause) => ({ reason: "FieldValueInvalid", ...cause })),
    },
  };
}

/** A PUT that changes nothing is no write: the real server answers 200 with the same resourceVersion. */
function unchanged(current: Lease, lease: Lease): boolean {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
  return (
    same(current.spec, normalizeMicroTimes(lease.spec)) &&
    same(current.metadata.labels, lease.metadata.labels) &&
    same(current.metadata.annotations, lease.metadata.annotations)
  );
}
