import { readFileSync } from "node:fs";
import path from "node:path";
import { Agent, request, type Dispatcher } from "undici";
import type { ClusterErrorCode } from "./errors";
import { ServiceError } from "../shared/errors";

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

/** The verbs leader election needs on leases: exactly what its Role must grant. */
export type LeaseVerb = "get" | "create" | "update";

/**
 * A Lease call the API server refused. `code` is stable for logs and metrics; `status` and
 * `reason` are the HTTP status and the Status reason the server sent; `retryable` says whether the
 * next election round can pass without anyone fixing anything. Messages never carry the token.
 */
export class LeaseApiError extends ServiceError<ClusterErrorCode> {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(
    code: ClusterErrorCode,
    message: string,
    fields: { status: number; reason?: string | undefined; cause?: unknown; retryable: boolean },
  ) {
    super(code, message, { cause: fields.cause, retryable: fields.retryable });
    this.status = fields.status;
    this.reason = fields.reason;
  }
}

/** Someone else changed the Lease first (HTTP 409): read it again and decide again. */
export class LeaseConflictError extends LeaseApiError {
  constructor(what: string, reason?: string) {
    super(
      "LEASE_CONFLICT",
      `${what}: the Lease changed under us (${reason ?? "Conflict"}): another replica wrote it first`,
      { status: 409, reason, retryable: true },
    );
  }
}

/** The API server did not accept the token (HTTP 401): it is not from this cluster, or it expired. */
export class LeaseUnauthorizedError extends LeaseApiError {
  constructor(what: string, tokenFile: string) {
    super(
      "LEASE_UNAUTHORIZED",
      `${what}: the Kubernetes API did not accept the service account token in ${tokenFile} (HTTP 401): it is not a token of this cluster, or it expired`,
      { status: 401, reason: "Unauthorized", retryable: false },
    );
  }
}

/**
 * The API server knows who we are but RBAC does not let us (HTTP 403). `user` is the identity the
 * server saw (system:serviceaccount:NAMESPACE:NAME, or system:anonymous without a token) and
 * `verb` the right that is missing.
 */
export class LeaseForbiddenError extends LeaseApiError {
  readonly user: string;
  readonly verb: string;
  constructor(
    what: string,
    fields: { user: string; verb: string; namespace: string; serverMessage: string },
  ) {
    const who =
      fields.user === "system:anonymous"
        ? "the request carried no service account token (the API server saw system:anonymous)"
        : `service account ${fields.user} may not ${fields.verb} leases in namespace ${fields.namespace}`;
    super(
      "LEASE_FORBIDDEN",
      `${what}: the Kubernetes API refused (HTTP 403): ${who}; leader election needs the verbs get, create and update on leases (coordination.k8s.io) in its namespace, which the chart's Role grants (${fields.serverMessage})`,
      { status: 403, reason: "Forbidden", retryable: false },
    );
    this.user = fields.user;
    this.verb = fields.verb;
  }
}

/** The API server refused what we sent (HTTP 400 or 422): a bug in this client, never retried into success. */
export class LeaseInvalidError extends LeaseApiError {
  constructor(what: string, status: number, reason: string | undefined, serverMessage: string) {
    super(
      "LEASE_INVALID",
      `${what}: the Kubernetes API refused the Lease as invalid (HTTP ${status}${reason ? ` ${reason}` : ""}): ${serverMessage}`,
      { status, reason, retryable: false },
    );
  }
}

/** Any other answer: 5xx, 404 on a write, 429. Worth retrying on the next round. */
export class LeaseHttpError extends LeaseApiError {
  constructor(what: string, status: number, reason: string | undefined, serverMessage: string) {
    super(
      "LEASE_HTTP_ERROR",
      `${what}: the Kubernetes API answered HTTP ${status}${serverMessage ? ` (${serverMessage})` : ""}`,
      { status, reason, retryable: true },
    );
  }
}

/** The API server did not answer (connection refused, TLS, timeout): the next round tries again. */
export class LeaseApiUnreachableError extends ServiceError<ClusterErrorCode> {
  constructor(what: string, apiUrl: string, cause: unknown) {
    super(
      "LEASE_API_UNREACHABLE",
      `${what}: the Kubernetes API at ${apiUrl} did not answer (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause, retryable: true },
    );
  }
}

/** A replace without the resourceVersion read: a bug in the caller, refused before anything is sent. */
export class LeaseVersionMissingError extends ServiceError<ClusterErrorCode> {
  constructor(namespace: string, name: string) {
    super(
      "LEASE_VERSION_MISSING",
      `replacing Lease ${namespace}/${name} needs the resourceVersion that was read: read the Lease, change its spec and replace that`,
    );
  }
}

export interface LeaseApi {
  /** The Lease, or undefined when it does not exist (404). */
  get(namespace: string, name: string): Promise<Lease | undefined>;
  /** Creates it; LeaseConflictError when it exists already. */
  create(namespace: string, lease: Lease): Promise<Lease>;
  /**
   * Replaces it, guarded by metadata.resourceVersion (required); LeaseConflictError when that is
   * stale. Other refusals are LeaseApiError subclasses (403 LeaseForbiddenError names the verb).
   */
  replace(namespace: string, lease: Lease): Promise<Lease>;
}

export interface InClusterSettings {
  /** The API server, such as https://10.96.0.1:443, or http://127.0.0.1:8001 behind `kubectl proxy`. */
  readonly apiUrl: string;
  /** The service account folder: token (re-read for every call, since projected tokens rotate) and ca.crt. */
  readonly serviceAccountDir: string;
  readonly requestTimeoutMs: number;
}

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

  private get tokenFile(): string {
    return path.join(this.settings.serviceAccountDir, "token");
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/json",
    };
    try {
      const token = readFileSync(this.tokenFile, "utf8").trim();
      if (token) headers.authorization = `Bearer ${token}`;
    } catch {
      // No token: only right behind an authenticating proxy such as `kubectl proxy`.
    }
    return headers;
  }

  private async call(
    verb: LeaseVerb,
    url: string,
    lease: { namespace: string; name: string },
    body?: Lease,
  ): Promise<Lease | undefined> {
    const what = `${VERB_DOING[verb]} Lease ${lease.namespace}/${lease.name}`;
    let status: number;
    let text: string;
    try {
      const response = await request(url, {
        method: VERB_METHOD[verb],
        headers: this.headers(),
        ...(body ? { body: JSON.stringify(body) } : {}),
        dispatcher: this.dispatcher,
        bodyTimeout: this.settings.requestTimeoutMs,
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw new LeaseApiUnreachableError(what, this.settings.apiUrl, error);
    }
    if (status < 300) return JSON.parse(text) as Lease;
    if (status === 404 && verb === "get") return undefined;
    const { message, reason } = parseStatus(text);
    if (status === 409) throw new LeaseConflictError(what, reason);
    if (status === 401) throw new LeaseUnauthorizedError(what, this.tokenFile);
    if (status === 403) {
      // "... is forbidden: User \"system:serviceaccount:ns:sa\" cannot create resource \"leases\" ..."
      const refused = /User "([^"]*)" cannot (\S+) resource/.exec(message);
      throw new LeaseForbiddenError(what, {
        user: refused?.[1] ?? "(unknown: the API server did not say)",
        verb: refused?.[2] ?? verb,
        namespace: lease.namespace,
        serverMessage: message,
      });
    }
    if (status === 400 || status === 422) throw new LeaseInvalidError(what, status, reason, message);
    throw new LeaseHttpError(what, status, reason, message);
  }

  get(namespace: string, name: string): Promise<Lease | undefined> {
    return this.call("get", this.url(namespace, name), { namespace, name });
  }

  async create(namespace: string, lease: Lease): Promise<Lease> {
    return (await this.call(
      "create",
      this.url(namespace),
      { namespace, name: lease.metadata.name },
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
    ))!;
  }

  async replace(namespace: string, lease: Lease): Promise<Lease> {
    // Without a resourceVersion the API server would answer 422 for an existing Lease and create
    // a missing one (PUT creates leases): neither is an update guarded by what was read.
    if (!lease.metadata.resourceVersion) throw new LeaseVersionMissingError(namespace, lease.metadata.name);
    return (await this.call(
      "update",
      this.url(namespace, lease.metadata.name),
      { namespace, name: lease.metadata.name },
      { apiVersion: "coordination.k8s.io/v1", kind: "Lease", ...lease },
    ))!;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** Each verb is one HTTP method: a PUT is never used to create (the API server allows it, RBAC need not). */
const VERB_METHOD: Record<LeaseVerb, "GET" | "POST" | "PUT"> = { get: "GET", create: "POST", update: "PUT" };
const VERB_DOING: Record<LeaseVerb, string> = { get: "reading", create: "creating", update: "updating" };

/** The message and reason of a metav1.Status body, or of whatever else answered. */
function parseStatus(text: string): { message: string; reason: string | undefined } {
  try {
    const body = JSON.parse(text) as { kind?: unknown; message?: unknown; reason?: unknown };
    return {
      message: typeof body.message === "string" ? body.message : "",
      reason: typeof body.reason === "string" ? body.reason : undefined,
    };
  } catch {
    return { message: text.trim().slice(0, 200), reason: undefined };
  }
}
