import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LeaderElector, type ElectionSettings } from "../../app/src/cluster/leader-election";
import {
  KubernetesLeaseApi,
  LeaseForbiddenError,
  type Lease,
  type LeaseApi,
} from "../../app/src/cluster/lease-api";
import { systemClock } from "../../app/src/time/clock";
import { capturedLogger } from "../support/capture";
import {
  apiServerUrlAndCa,
  apply,
  createNamespace,
  deleteNamespace,
  kubectl,
  requireCluster,
  serviceAccountToken,
  waitFor,
} from "../support/kube";
import { leaseApiContract } from "../support/lease-contract";

/**
 * The Lease API of a real Kubernetes API server (the cluster in KUBECONFIG), through the code
 * path a pod uses: https to the API server, a service account token and the cluster CA read from
 * a service account directory, RBAC from a Role that grants exactly get, create and update on
 * leases. First the contract the fake also passes, then two electors on the real clock. Without
 * a reachable cluster the `before` hook fails at once with one line naming what is missing.
 */
describe("Lease API and leader election on a real Kubernetes API server (KUBECONFIG)", function () {
  this.timeout(120_000);
  const namespace = `lease-test-${randomBytes(4).toString("hex")}`;
  const account = (name: string) => `system:serviceaccount:${namespace}:${name}`;
  let created = false;
  let server: { url: string; ca: string | undefined };
  const tokens: Record<"elector" | "noCreate" | "noRights", string> = {
    elector: "",
    noCreate: "",
    noRights: "",
  };
  const dirs: string[] = [];

  before(async function () {
    await requireCluster();
    server = await apiServerUrlAndCa();
    await createNamespace(namespace, { "app.kubernetes.io/part-of": "lease-api-e2e" });
    created = true;
    const role = (name: string, verbs: string[]) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name, namespace },
      rules: [{ apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs }],
    });
    const binding = (name: string) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    });
    const serviceAccount = (name: string) => ({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace },
    });
    await apply(
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          serviceAccount("elector"),
          role("elector", ["get", "create", "update"]),
          binding("elector"),
          serviceAccount("no-create"),
          role("no-create", ["get", "update"]),
          binding("no-create"),
          serviceAccount("no-rights"),
        ],
      }),
    );
    // RBAC is read through an informer: wait until the authorizer sees the new bindings.
    for (const [name, verb] of [
      ["elector", "create"],
      ["no-create", "update"],
    ] as const)
      await waitFor(
        async () =>
          (
            await kubectl([
              "auth",
              "can-i",
              verb,
              "leases.coordination.k8s.io",
              "-n",
              namespace,
              "--as",
              account(name),
            ]).catch(() => "no")
          ).trim() === "yes",
        { what: `RBAC to let ${account(name)} ${verb} leases`, timeoutMs: 20_000 },
      );
    tokens.elector = await serviceAccountToken(namespace, "elector", 600);
    tokens.noCreate = await serviceAccountToken(namespace, "no-create", 600);
    tokens.noRights = await serviceAccountToken(namespace, "no-rights", 600);
  });

  after(async () => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    if (created) await deleteNamespace(namespace);
  });

  leaseApiContract(async () => ({
    url: server.url,
    ca: server.ca,
    namespace,
    token: tokens.elector,
    user: account("elector"),
    tokenWithoutRights: tokens.noRights,
    userWithoutRights: account("no-rights"),
  }));

  describe("leader election (real clock: lease 3 s, renew deadline 2 s, retry 0.5 s)", () => {
    const LEASE_MS = 3_000;
    const RETRY_MS = 500;
    /** The longest wait between two rounds of a follower: the retry period plus 20 % jitter. */
    const MAX_ROUND_MS = RETRY_MS * 1.2;
    /** Two calls to a busy API server on a 2-core machine, and timers firing late. */
    const SLACK_MS = 600;
    const apis: KubernetesLeaseApi[] = [];
    const stops: AbortController[] = [];

    afterEach(async () => {
      for (const stop of stops.splice(0)) stop.abort();
      await Promise.all(apis.splice(0).map((api) => api.close()));
    });

    /** The in-cluster code path: a service account directory with the token and the cluster CA. */
    function leaseApi(token: string): KubernetesLeaseApi {
      const dir = mkdtempSync(path.join(tmpdir(), "lease-e2e-sa-"));
      dirs.push(dir);
      writeFileSync(path.join(dir, "token"), `${token}\n`);
      if (server.ca) writeFileSync(path.join(dir, "ca.crt"), server.ca);
      const api = new KubernetesLeaseApi({
        apiUrl: server.url,
        serviceAccountDir: dir,
        requestTimeoutMs: 2_000,
      });
      apis.push(api);
      return api;
    }

    interface Seen {
      /** When the call started (get) or ended (writes), on the real clock. */
      readonly atMs: number;
      readonly call: "get" | "create" | "replace";
      readonly resourceVersion: string | undefined;
    }
    /** Wraps a LeaseApi to note every successful call, so a test can time what the electors saw. */
    function recorded(api: LeaseApi, seen: Seen[]): LeaseApi {
      return {
        get: async (ns, name) => {
          const atMs = Date.now();
          const lease = await api.get(ns, name);
          seen.push({ atMs, call: "get", resourceVersion: lease?.metadata.resourceVersion });
          return lease;
        },
        create: async (ns, lease) => {
          const made = await api.create(ns, lease);
          seen.push({ atMs: Date.now(), call: "create", resourceVersion: made.metadata.resourceVersion });
          return made;
        },
        replace: async (ns, lease: Lease) => {
          const replaced = await api.replace(ns, lease);
          seen.push({
            atMs: Date.now(),
            call: "replace",
            resourceVersion: replaced.metadata.resourceVersion,
          });
          return replaced;
        },
      };
    }

    function elector(identity: string, leaseName: string, api: LeaseApi, logger = capturedLogger().logger) {
      const settings: ElectionSettings = {
        identity,
        namespace,
        leaseName,
        leaseDurationMs: LEASE_MS,
        renewDeadlineMs: 2_000,
        retryPeriodMs: RETRY_MS,
      };
      const instance = new LeaderElector(api, settings, systemClock, logger);
      const stop = new AbortController();
      stops.push(stop);
      const changes: Array<{ atMs: number; leading: boolean }> = [];
      instance.onChange((leading) => changes.push({ atMs: Date.now(), leading }));
      return { identity, instance, stop, changes, start: () => instance.start(stop.signal) };
    }

    /** Two running electors, a and b, and the one of them that leads once the other saw it. */
    async function twoElectors(leaseName: string) {
      const seenA: Seen[] = [];
      const seenB: Seen[] = [];
      const a = elector("pod-a", leaseName, recorded(leaseApi(tokens.elector), seenA));
      const b = elector("pod-b", leaseName, recorded(leaseApi(tokens.elector), seenB));
      a.start();
      b.start();
      const leader = await waitFor(
        () => (a.instance.isLeader() ? a : b.instance.isLeader() ? b : undefined),
        { what: "one of pod-a and pod-b to lead", timeoutMs: 10_000, intervalMs: 20 },
      );
      return leader === a
        ? { leader: a, follower: b, leaderSeen: seenA, followerSeen: seenB }
        : { leader: b, follower: a, leaderSeen: seenB, followerSeen: seenA };
    }

    it("of two electors exactly one leads, and keeps leading while it renews", async () => {
      const { leader, follower } = await twoElectors("exactly-one");
      const until = Date.now() + 2 * LEASE_MS;
      while (Date.now() < until) {
        expect([leader.instance.isLeader(), follower.instance.isLeader()]).to.deep.equal([true, false]);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(leader.changes.map((change) => change.leading)).to.deep.equal([true]);
      expect(follower.changes).to.deep.equal([]);
      const lease = JSON.parse(
        await kubectl(["-n", namespace, "get", "lease", "exactly-one", "-o", "json"]),
      ) as Lease;
      expect(lease.spec).to.include({ leaseDurationSeconds: 3, leaseTransitions: 0 });
      expect(lease.spec.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    });

    it("when the leader stops renewing, the other takes over within lease duration + one retry period of seeing its last renewal", async () => {
      const { leader, follower, leaderSeen, followerSeen } = await twoElectors("takeover");
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS));
      leader.stop.abort(); // the leader's process hangs: no release, no more renewals
      const takenAtMs = await waitFor(() => follower.changes.find((change) => change.leading)?.atMs, {
        what: "the follower to take over",
        timeoutMs: 3 * LEASE_MS,
        intervalMs: 20,
      });
      const lastWrite = leaderSeen.filter((seen) => seen.call !== "get").at(-1)!;
      const firstSight = followerSeen.find((seen) => seen.resourceVersion === lastWrite.resourceVersion);
      expect(firstSight, "the follower read the leader's last renewal").not.to.equal(undefined);
      const sinceSight = takenAtMs - firstSight!.atMs;
      const sinceWrite = takenAtMs - lastWrite.atMs;
      expect(sinceSight, "not before the Lease stood still for its duration").to.be.at.least(LEASE_MS);
      expect(sinceSight, "at most one round after that").to.be.at.most(LEASE_MS + MAX_ROUND_MS + SLACK_MS);
      // From the renewal itself, one more round: the follower reads it on its next round.
      expect(sinceWrite).to.be.at.most(LEASE_MS + 2 * MAX_ROUND_MS + SLACK_MS);
      const lease = JSON.parse(
        await kubectl(["-n", namespace, "get", "lease", "takeover", "-o", "json"]),
      ) as Lease;
      expect(lease.spec).to.include({ holderIdentity: follower.identity, leaseTransitions: 1 });
    });

    it("release hands the Lease over at once, without waiting for the lease duration", async () => {
      const { leader, follower } = await twoElectors("release");
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS * 2));
      leader.stop.abort();
      await leader.instance.release();
      const releasedAtMs = Date.now();
      expect(leader.instance.isLeader()).to.equal(false);
      const takenAtMs = await waitFor(() => follower.changes.find((change) => change.leading)?.atMs, {
        what: "the follower to take over after the release",
        timeoutMs: 2 * LEASE_MS,
        intervalMs: 20,
      });
      expect(takenAtMs - releasedAtMs).to.be.below(MAX_ROUND_MS + SLACK_MS);
    });

    it("without the create verb, the error names the service account and the missing verb", async () => {
      const { logger, text } = capturedLogger();
      const lonely = elector("pod-a", "no-create", leaseApi(tokens.noCreate), logger);
      expect(await lonely.instance.tryAcquireOrRenew()).to.equal(false);
      expect(text()).to.contain(
        `service account ${account("no-create")} may not create leases in namespace ${namespace}`,
      );
      expect(text()).to.contain("needs the verbs get, create and update on leases");
      expect(text()).not.to.contain(tokens.noCreate);
      const error = await leaseApi(tokens.noCreate)
        .create(namespace, { metadata: { name: "no-create" }, spec: { holderIdentity: "pod-a" } })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(LeaseForbiddenError);
      expect(error).to.include({ status: 403, user: account("no-create"), verb: "create" });
    });
  });
});
