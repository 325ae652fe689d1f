import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Agent, request } from "undici";
import {
  KubernetesLeaseApi,
  LeaseConflictError,
  LeaseForbiddenError,
  LeaseInvalidError,
  LeaseUnauthorizedError,
  type Lease,
} from "../../app/src/cluster/lease-api";

/** An API server with Lease endpoints, and the identities the contract needs. */
export interface LeaseApiTarget {
  /** Such as https://127.0.0.1:6443, or the fake's http://127.0.0.1:PORT. */
  readonly url: string;
  /** PEM of the CA that signed the server's certificate (https only). */
  readonly ca?: string;
  /** A namespace the cases may fill with Leases. */
  readonly namespace: string;
  /** A bearer token whose account may get, create and update leases in `namespace`. */
  readonly token: string;
  /** Who the API server says `token` is (system:serviceaccount:NAMESPACE:NAME). */
  readonly user: string;
  /** A valid token whose account has no right at all on leases. */
  readonly tokenWithoutRights: string;
  readonly userWithoutRights: string;
}

/** What a call answered: a Lease or a metav1.Status, read loosely (the cases assert the shape). */
interface Answer {
  readonly status: number;
  readonly body: {
    readonly kind?: string;
    readonly message?: string;
    readonly reason?: string;
    readonly details?: {
      readonly name?: string;
      readonly kind?: string;
      readonly causes?: ReadonlyArray<{ readonly field: string; readonly message: string }>;
    };
    readonly metadata: {
      readonly name: string;
      readonly namespace?: string;
      readonly resourceVersion: string;
    };
    readonly spec: Lease["spec"];
  };
}

/**
 * What leader election relies on in the Kubernetes Lease API, as mocha cases: status codes,
 * Status reasons and the fields the client (app/src/cluster/lease-api.ts) reads. The same cases
 * run against the fake in `npm test` and against a real API server in the e2e tier, so the fake
 * cannot drift from the real one unnoticed. Call it inside a `describe`; `target` is awaited
 * once, in a `before` hook, after the caller's own hooks have prepared the server.
 */
export function leaseApiContract(target: () => Promise<LeaseApiTarget>): void {
  describe("the Lease API contract", function () {
    let t: LeaseApiTarget;
    let agent: Agent;
    const dirs: string[] = [];
    const clients: KubernetesLeaseApi[] = [];

    before(async () => {
      t = await target();
      agent = new Agent({ connect: t.ca ? { ca: t.ca } : {} });
    });
    after(async () => {
      await Promise.all(clients.splice(0).map((client) => client.close()));
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      await agent?.close();
    });

    /** One raw call; `token: null` sends no Authorization header. */
    async function call(
      method: "GET" | "POST" | "PUT",
      name: string | undefined,
      options: { body?: unknown; token?: string | null } = {},
    ): Promise<Answer> {
      const token = options.token === undefined ? t.token : options.token;
      const url = `${t.url.replace(/\/$/, "")}/apis/coordination.k8s.io/v1/namespaces/${t.namespace}/leases${name === undefined ? "" : `/${name}`}`;
      const response = await request(url, {
        method,
        dispatcher: agent,
        headers: {
          accept: "application/json",
          "content-type": "application/json",
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      return { status: response.statusCode, body: (await response.body.json()) as Answer["body"] };
    }

    const uniqueName = (what: string) => `contract-${what}-${randomBytes(3).toString("hex")}`;
    const leaseBody = (name: string, spec: Record<string, unknown> = {}, resourceVersion?: string) => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
      spec: {
        holderIdentity: "pod-a",
        leaseDurationSeconds: 15,
        renewTime: "2026-11-21T08:00:00.000000Z",
        ...spec,
      },
    });
    async function created(what: string): Promise<Lease> {
      const answer = await call("POST", undefined, { body: leaseBody(uniqueName(what)) });
      expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
      return answer.body as unknown as Lease;
    }
    function expectStatus(answer: Answer, code: number, reason: string, message?: RegExp) {
      expect(answer.status, JSON.stringify(answer.body)).to.equal(code);
      expect(answer.body).to.include({ kind: "Status", apiVersion: "v1", status: "Failure", reason, code });
      expect(answer.body.message).to.be.a("string");
      if (message) expect(answer.body.message).to.match(message);
    }

    describe("storage", () => {
      it("GET of a missing Lease: 404 NotFound, naming it", async () => {
        const name = uniqueName("missing");
        const answer = await call("GET", name);
        expectStatus(answer, 404, "NotFound", new RegExp(`^leases.coordination.k8s.io "${name}" not found$`));
        expect(answer.body.details).to.include({ name, group: "coordination.k8s.io", kind: "leases" });
      });

      it("POST creates: 201 with apiVersion, kind, a resourceVersion and the spec as sent", async () => {
        const name = uniqueName("create");
        const answer = await call("POST", undefined, { body: leaseBody(name) });
        expect(answer.status).to.equal(201);
        expect(answer.body).to.include({ apiVersion: "coordination.k8s.io/v1", kind: "Lease" });
        expect(answer.body.metadata).to.include({ name, namespace: t.namespace });
        expect(answer.body.metadata.resourceVersion).to.match(/^\d+$/);
        expect(answer.body.spec).to.deep.equal(leaseBody(name).spec);
      });

      it("POST of an existing Lease: 409 AlreadyExists", async () => {
        const lease = await created("exists");
        const answer = await call("POST", undefined, { body: leaseBody(lease.metadata.name) });
        expectStatus(answer, 409, "AlreadyExists", /already exists/);
        expect(answer.body.details).to.include({ name: lease.metadata.name, kind: "leases" });
      });

      it("PUT with a stale resourceVersion: 409 Conflict", async () => {
        const lease = await created("stale");
        const first = await call("PUT", lease.metadata.name, {
          body: leaseBody(lease.metadata.name, { holderIdentity: "pod-b" }, lease.metadata.resourceVersion),
        });
        expect(first.status).to.equal(200);
        const stale = await call("PUT", lease.metadata.name, {
          body: leaseBody(lease.metadata.name, { holderIdentity: "pod-c" }, lease.metadata.resourceVersion),
        });
        expectStatus(stale, 409, "Conflict", /the object has been modified/);
        expect((await call("GET", lease.metadata.name)).body.spec.holderIdentity).to.equal("pod-b");
      });

      it("PUT without resourceVersion on an existing Lease: 422 Invalid, naming metadata.resourceVersion", async () => {
        const lease = await created("no-version");
        const answer = await call("PUT", lease.metadata.name, { body: leaseBody(lease.metadata.name) });
        expectStatus(
          answer,
          422,
          "Invalid",
          new RegExp(
            `^leases.coordination.k8s.io "${lease.metadata.name}" is invalid: metadata.resourceVersion: Invalid value: 0: must be specified for an update$`,
          ),
        );
        expect(answer.body.details).to.include({ name: lease.metadata.name, kind: "leases" });
        expect(answer.body.details?.causes?.map((cause) => cause.field)).to.include(
          "metadata.resourceVersion",
        );
      });

      it("PUT of a missing Lease without resourceVersion creates it: 201", async () => {
        const name = uniqueName("put-create");
        const answer = await call("PUT", name, { body: leaseBody(name) });
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        expect(answer.body.metadata.resourceVersion).to.match(/^\d+$/);
        expect((await call("GET", name)).status).to.equal(200);
      });

      it("PUT of a missing Lease naming a resourceVersion creates it too: 201", async () => {
        const name = uniqueName("put-version");
        const answer = await call("PUT", name, { body: leaseBody(name, {}, "12345") });
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        expect((await call("GET", name)).status).to.equal(200);
      });

      it("a PUT that changes nothing is no write: 200, the same resourceVersion; stale, it is still 409", async () => {
        const lease = await created("no-op");
        const same = await call("PUT", lease.metadata.name, {
          body: leaseBody(lease.metadata.name, {}, lease.metadata.resourceVersion),
        });
        expect(same.status).to.equal(200);
        expect(same.body.metadata.resourceVersion).to.equal(lease.metadata.resourceVersion);
        const changed = await call("PUT", lease.metadata.name, {
          body: leaseBody(lease.metadata.name, { holderIdentity: "pod-b" }, lease.metadata.resourceVersion),
        });
        expect(changed.body.metadata.resourceVersion).not.to.equal(lease.metadata.resourceVersion);
        const stale = await call("PUT", lease.metadata.name, {
          body: leaseBody(lease.metadata.name, { holderIdentity: "pod-b" }, lease.metadata.resourceVersion),
        });
        expectStatus(stale, 409, "Conflict");
      });

      it("every write gets a new resourceVersion, and GET returns the latest", async () => {
        const lease = await created("versions");
        const versions = [lease.metadata.resourceVersion];
        for (const holder of ["pod-b", "pod-c", "pod-b"]) {
          const answer = await call("PUT", lease.metadata.name, {
            body: leaseBody(lease.metadata.name, { holderIdentity: holder }, versions.at(-1)),
          });
          expect(answer.status).to.equal(200);
          versions.push(answer.body.metadata.resourceVersion);
        }
        expect(new Set(versions).size, versions.join(", ")).to.equal(versions.length);
        const read = await call("GET", lease.metadata.name);
        expect(read.body.metadata.resourceVersion).to.equal(versions.at(-1));
        expect(read.body.spec.holderIdentity).to.equal("pod-b");
      });
    });

    describe("what it accepts", () => {
      it("MicroTime round trip keeps the microseconds (and answers in UTC)", async () => {
        const name = uniqueName("micro");
        const spec = {
          acquireTime: "2026-11-21T08:00:00.123456Z",
          renewTime: "2026-11-21T10:00:01.654321+02:00",
        };
        const answer = await call("POST", undefined, { body: leaseBody(name, spec) });
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        const read = await call("GET", name);
        expect(read.body.spec).to.include({
          acquireTime: "2026-11-21T08:00:00.123456Z",
          renewTime: "2026-11-21T08:00:01.654321Z",
        });
      });

      for (const [label, renewTime] of [
        ["milliseconds", "2026-11-21T08:00:00.123Z"],
        ["no fraction", "2026-11-21T08:00:00Z"],
        ["nanoseconds", "2026-11-21T08:00:00.123456789Z"],
      ] as const) {
        it(`a MicroTime with ${label} (${renewTime}): 400 BadRequest, nothing created`, async () => {
          const name = uniqueName("millis");
          const answer = await call("POST", undefined, { body: leaseBody(name, { renewTime }) });
          expectStatus(
            answer,
            400,
            "BadRequest",
            new RegExp(`^Lease in version "v1" cannot be handled as a Lease: parsing time "${renewTime}"`),
          );
          expect((await call("GET", name)).status).to.equal(404);
        });
      }

      it("leaseDurationSeconds 0: 422 Invalid, naming spec.leaseDurationSeconds", async () => {
        const name = uniqueName("zero");
        const answer = await call("POST", undefined, { body: leaseBody(name, { leaseDurationSeconds: 0 }) });
        expectStatus(
          answer,
          422,
          "Invalid",
          new RegExp(
            `^Lease.coordination.k8s.io "${name}" is invalid: spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0$`,
          ),
        );
        expect(answer.body.details).to.include({ name, group: "coordination.k8s.io", kind: "Lease" });
        expect(answer.body.details?.causes).to.deep.include({
          reason: "FieldValueInvalid",
          message: "Invalid value: 0: must be greater than 0",
          field: "spec.leaseDurationSeconds",
        });
      });

      it("leaseDurationSeconds 1, the shortest, is accepted; so is an empty holder (a released Lease)", async () => {
        const name = uniqueName("one");
        const answer = await call("POST", undefined, {
          body: leaseBody(name, { leaseDurationSeconds: 1, holderIdentity: "" }),
        });
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        expect(answer.body.spec).to.include({ leaseDurationSeconds: 1 });
      });
    });

    describe("who may call", () => {
      it("no token: 403 Forbidden as system:anonymous", async () => {
        const answer = await call("GET", uniqueName("anonymous"), { token: null });
        expectStatus(answer, 403, "Forbidden", /User "system:anonymous" cannot get resource "leases"/);
      });

      it("a token the API server does not know: 401 Unauthorized", async () => {
        const answer = await call("GET", uniqueName("unknown"), { token: "not-a-token-of-this-cluster" });
        expectStatus(answer, 401, "Unauthorized", /^Unauthorized$/);
      });

      for (const [method, verb] of [
        ["GET", "get"],
        ["POST", "create"],
        ["PUT", "update"],
      ] as const) {
        it(`a token without rights, ${method}: 403 Forbidden naming the user and "${verb}"`, async () => {
          const name = uniqueName("forbidden");
          const answer = await call(method, method === "POST" ? undefined : name, {
            token: t.tokenWithoutRights,
            ...(method === "GET" ? {} : { body: leaseBody(name, {}, method === "PUT" ? "1" : undefined) }),
          });
          expectStatus(
            answer,
            403,
            "Forbidden",
            new RegExp(
              `is forbidden: User "${t.userWithoutRights}" cannot ${verb} resource "leases" in API group "coordination.k8s.io" in the namespace "${t.namespace}"`,
            ),
          );
          // A POST has no name in its URL: the message and details then name none.
          expect(answer.body.details).to.deep.equal(
            method === "POST"
              ? { group: "coordination.k8s.io", kind: "leases" }
              : { name, group: "coordination.k8s.io", kind: "leases" },
          );
        });
      }
    });

    describe("the client (KubernetesLeaseApi) over it", () => {
      function client(token: string | undefined): KubernetesLeaseApi {
        const dir = mkdtempSync(path.join(tmpdir(), "lease-contract-sa-"));
        dirs.push(dir);
        if (token !== undefined) writeFileSync(path.join(dir, "token"), `${token}\n`);
        if (t.ca) writeFileSync(path.join(dir, "ca.crt"), t.ca);
        const api = new KubernetesLeaseApi({
          apiUrl: t.url,
          serviceAccountDir: dir,
          requestTimeoutMs: 10_000,
        });
        clients.push(api);
        return api;
      }
      const spec = {
        holderIdentity: "pod-a",
        leaseDurationSeconds: 15,
        renewTime: "2026-11-21T08:00:00.000000Z",
      };

      it("reads a missing Lease as undefined, creates, replaces, and reads back what it wrote", async () => {
        const api = client(t.token);
        const name = uniqueName("client");
        expect(await api.get(t.namespace, name)).to.equal(undefined);
        const made = await api.create(t.namespace, { metadata: { name }, spec });
        const replaced = await api.replace(t.namespace, {
          ...made,
          spec: { ...made.spec, holderIdentity: "pod-b" },
        });
        expect(replaced.metadata.resourceVersion).not.to.equal(made.metadata.resourceVersion);
        expect((await api.get(t.namespace, name))?.spec.holderIdentity).to.equal("pod-b");
      });

      it("an existing Lease on create and a stale resourceVersion on replace are LeaseConflictError", async () => {
        const api = client(t.token);
        const name = uniqueName("client-conflict");
        const made = await api.create(t.namespace, { metadata: { name }, spec });
        // A replace that changes nothing is no write (same resourceVersion): change the holder.
        await api.replace(t.namespace, { ...made, spec: { ...spec, holderIdentity: "pod-b" } });
        const errors = await Promise.all([
          api.create(t.namespace, { metadata: { name }, spec }).catch((error: unknown) => error),
          api.replace(t.namespace, made).catch((error: unknown) => error),
        ]);
        expect(
          errors.map((error) => [error instanceof LeaseConflictError, (error as LeaseConflictError).reason]),
        ).to.deep.equal([
          [true, "AlreadyExists"],
          [true, "Conflict"],
        ]);
        for (const error of errors) expect(error).to.include({ code: "LEASE_CONFLICT", retryable: true });
      });

      it("a 403 is LeaseForbiddenError naming the service account and the missing verb", async () => {
        const api = client(t.tokenWithoutRights);
        const error = await api
          .create(t.namespace, { metadata: { name: uniqueName("client-403") }, spec })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LeaseForbiddenError);
        expect(error).to.include({
          status: 403,
          user: t.userWithoutRights,
          verb: "create",
          code: "LEASE_FORBIDDEN",
          retryable: false,
        });
        expect((error as Error).message).to.contain(
          `service account ${t.userWithoutRights} may not create leases`,
        );
        expect((error as Error).message).not.to.contain(t.tokenWithoutRights);
      });

      it("no token at all is a LeaseForbiddenError that says no token was sent", async () => {
        const error = await client(undefined)
          .get(t.namespace, uniqueName("client-anonymous"))
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LeaseForbiddenError);
        expect(error).to.include({ user: "system:anonymous", verb: "get" });
        expect((error as Error).message).to.contain("carried no service account token");
      });

      it("an unknown token is LeaseUnauthorizedError, without the token in the message", async () => {
        const error = await client("not-a-token-of-this-cluster")
          .get(t.namespace, uniqueName("client-401"))
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LeaseUnauthorizedError);
        expect(error).to.include({ status: 401, code: "LEASE_UNAUTHORIZED", retryable: false });
        expect((error as Error).message).not.to.contain("not-a-token-of-this-cluster");
      });

      it("a Lease the server refuses (leaseDurationSeconds 0) is LeaseInvalidError with the server's reason", async () => {
        const error = await client(t.token)
          .create(t.namespace, {
            metadata: { name: uniqueName("client-422") },
            spec: { ...spec, leaseDurationSeconds: 0 },
          })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LeaseInvalidError);
        expect(error).to.include({ status: 422, reason: "Invalid", code: "LEASE_INVALID", retryable: false });
        expect((error as Error).message).to.contain("spec.leaseDurationSeconds");
      });
    });
  });
}
