import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ElectionSettingsError,
  LeaderElector,
  type ElectionSettings,
} from "../../../app/src/cluster/leader-election";
import {
  KubernetesLeaseApi,
  LeaseApiUnreachableError,
  LeaseHttpError,
  LeaseVersionMissingError,
  type Lease,
  type LeaseApi,
} from "../../../app/src/cluster/lease-api";
import { ServiceError } from "../../../app/src/shared/errors";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";
import { FakeLeaseApi } from "../../support/fake-lease-api";

/**
 * Leader election over real HTTP against a FAKE Kubernetes Lease API (test/support/fake-lease-api),
 * which passes the same contract as the real API server (test/support/lease-contract.ts); the
 * electors' clocks are fake, so the test decides when time passes. The same behaviour against the
 * real API server, on the real clock, is in test/e2e/lease-api.e2e.test.ts.
 */
describe("leader election on a coordination.k8s.io/v1 Lease (fake Lease API on loopback)", function () {
  this.timeout(30_000);
  const TOKEN = "sa-token-for-tests";
  let fake: FakeLeaseApi;
  let saDir: string;
  let clock: FakeClock;
  const apis: KubernetesLeaseApi[] = [];

  beforeEach(async () => {
    fake = await new FakeLeaseApi(TOKEN).start();
    saDir = mkdtempSync(path.join(tmpdir(), "sa-"));
    writeFileSync(path.join(saDir, "token"), `${TOKEN}\n`);
    clock = new FakeClock();
  });
  afterEach(async () => {
    await Promise.all(apis.splice(0).map((api) => api.close()));
    await fake.close();
  });

  function leaseApi(dir = saDir): KubernetesLeaseApi {
    const api = new KubernetesLeaseApi({ apiUrl: fake.url, serviceAccountDir: dir, requestTimeoutMs: 5_000 });
    apis.push(api);
    return api;
  }

  function elector(identity: string, api: LeaseApi = leaseApi(), logger = capturedLogger().logger) {
    const settings: ElectionSettings = {
      identity,
      namespace: "sync",
      leaseName: "genesys-sync-poller",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    };
    return new LeaderElector(api, settings, clock, logger);
  }

  it("the first replica creates the Lease and leads; the second follows", async () => {
    const a = elector("pod-a");
    const b = elector("pod-b");
    expect(await a.tryAcquireOrRenew()).to.equal(true);
    expect(await b.tryAcquireOrRenew()).to.equal(false);
    const lease = fake.leases.get("sync/genesys-sync-poller")!;
    expect(lease.spec).to.include({ holderIdentity: "pod-a", leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(lease.spec.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("a renewing leader keeps the Lease for as long as it renews", async () => {
    const a = elector("pod-a");
    const b = elector("pod-b");
    await a.tryAcquireOrRenew();
    for (let second = 0; second < 120; second += 2) {
      await clock.advance(2_000);
      expect(await a.tryAcquireOrRenew()).to.equal(true);
      expect(await b.tryAcquireOrRenew()).to.equal(false);
    }
    expect(fake.holder("sync", "genesys-sync-poller")).to.equal("pod-a");
  });

  it("when the leader dies, a follower takes over once the Lease stood still for its duration, not before", async () => {
    const a = elector("pod-a");
    const b = elector("pod-b");
    const changes: boolean[] = [];
    b.onChange((leading) => changes.push(leading));
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew(); // b sees the Lease change now
    // a dies: no more renewals.
    for (let waited = 2_000; waited < 15_000; waited += 2_000) {
      await clock.advance(2_000);
      expect(await b.tryAcquireOrRenew(), `after ${waited} ms`).to.equal(false);
    }
    await clock.advance(2_000); // 16 s after the last change b saw
    expect(await b.tryAcquireOrRenew()).to.equal(true);
    expect(changes).to.deep.equal([true]);
    const lease = fake.leases.get("sync/genesys-sync-poller")!;
    expect(lease.spec).to.include({ holderIdentity: "pod-b", leaseTransitions: 1 });
    // a comes back: it reads b's Lease and follows.
    expect(await a.tryAcquireOrRenew()).to.equal(false);
  });

  it("of two replicas writing the same expired Lease at once, the API lets exactly one win (409 for the other)", async () => {
    const a = elector("pod-a");
    await a.tryAcquireOrRenew();
    await clock.advance(60_000);
    // A gate holds each read until both replicas have read: both then write the same resourceVersion.
    let gate = { reads: 0, open: () => {}, opened: Promise.resolve() };
    const arm = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { reads: 0, open, opened };
    };
    const gated = (api: LeaseApi): LeaseApi => ({
      get: async (namespace, name) => {
        const lease = await api.get(namespace, name);
        gate.reads += 1;
        if (gate.reads === 2) gate.open();
        await gate.opened;
        return lease;
      },
      create: (namespace, lease) => api.create(namespace, lease),
      replace: (namespace, lease: Lease) => api.replace(namespace, lease),
    });
    const b = elector("pod-b", gated(leaseApi()));
    const c = elector("pod-c", gated(leaseApi()));
    // b and c have never seen the Lease: they wait one lease duration from their first look.
    arm();
    expect(await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()])).to.deep.equal([false, false]);
    await clock.advance(16_000);
    arm();
    const conflictsBefore = fake.conflicts;
    const results = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
    expect(results.filter(Boolean), "exactly one leader").to.have.length(1);
    expect(fake.conflicts - conflictsBefore, "the loser's write was refused").to.equal(1);
    expect([b.isLeader(), c.isLeader()].filter(Boolean)).to.have.length(1);
  });

  it("a leader cut off from the API steps down at its renew deadline, before anyone may take over", async () => {
    const a = elector("pod-a");
    await a.tryAcquireOrRenew();
    fake.unavailable = true;
    await clock.advance(8_000);
    expect(await a.tryAcquireOrRenew(), "within the renew deadline it still leads").to.equal(true);
    await clock.advance(2_000);
    expect(await a.tryAcquireOrRenew(), "10 s without a renewal: it stops").to.equal(false);
    expect(a.isLeader()).to.equal(false);
  });

  it("release hands the Lease over at once on a clean shutdown", async () => {
    const a = elector("pod-a");
    const b = elector("pod-b");
    await a.tryAcquireOrRenew();
    await b.tryAcquireOrRenew();
    await a.release();
    expect(a.isLeader()).to.equal(false);
    expect(await b.tryAcquireOrRenew(), "no lease-duration wait after a release").to.equal(true);
  });

  it("without the right to create the Lease, says which service account lacks which verb", async () => {
    const user = "system:serviceaccount:sync:genesys-sync";
    fake.addServiceAccount("token-without-create", user, ["get", "update"]);
    const dir = mkdtempSync(path.join(tmpdir(), "sa-"));
    writeFileSync(path.join(dir, "token"), "token-without-create");
    const { logger, text } = capturedLogger();
    const a = elector("pod-a", leaseApi(dir), logger);
    expect(await a.tryAcquireOrRenew()).to.equal(false);
    expect(text()).to.contain(`service account ${user} may not create leases in namespace sync`);
    expect(text()).to.contain("needs the verbs get, create and update on leases");
    expect(text()).not.to.contain("token-without-create");
  });

  it("with a token the API server does not accept, says so without logging the token", async () => {
    const wrongDir = mkdtempSync(path.join(tmpdir(), "sa-"));
    writeFileSync(path.join(wrongDir, "token"), "someone-else");
    const { logger, text } = capturedLogger();
    const a = elector("pod-a", leaseApi(wrongDir), logger);
    expect(await a.tryAcquireOrRenew()).to.equal(false);
    expect(text()).to.contain("did not accept the service account token");
    expect(text()).not.to.contain("someone-else");
  });

  describe("errors: a stable code, and whether the next round can pass by itself", () => {
    const settings: ElectionSettings = {
      identity: "pod-a",
      namespace: "sync",
      leaseName: "genesys-sync-poller",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    };

    it("a renew deadline not below the lease duration is refused before anything runs", () => {
      let error: unknown;
      try {
        new LeaderElector(
          leaseApi(),
          { ...settings, renewDeadlineMs: 15_000 },
          clock,
          capturedLogger().logger,
        );
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ElectionSettingsError).and.instanceOf(ServiceError);
      expect(error).to.include({ code: "ELECTION_SETTINGS_INVALID", retryable: false });
      expect((error as Error).message).to.contain("lower LEADER_ELECTION_RENEW_DEADLINE_SECONDS");
    });

    it("an API server answering 503 is LEASE_HTTP_ERROR, retryable, logged as a warning", async () => {
      fake.unavailable = true;
      const error = await leaseApi()
        .get("sync", "genesys-sync-poller")
        .catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(LeaseHttpError);
      expect(error).to.include({ code: "LEASE_HTTP_ERROR", retryable: true, status: 503 });
      const { logger, text } = capturedLogger();
      expect(await elector("pod-a", leaseApi(), logger).tryAcquireOrRenew()).to.equal(false);
      expect(text()).to.contain("LEASE_HTTP_ERROR").and.contain('"level":"warn"');
    });

    it("an API server that does not answer is LEASE_API_UNREACHABLE, retryable, with the cause kept", async () => {
      const api = leaseApi();
      await fake.close();
      const error = await api.get("sync", "genesys-sync-poller").catch((caught: unknown) => caught);
      fake = await new FakeLeaseApi(TOKEN).start(); // afterEach closes it
      expect(error).to.be.instanceOf(LeaseApiUnreachableError);
      expect(error).to.include({ code: "LEASE_API_UNREACHABLE", retryable: true });
      expect((error as Error).cause).to.be.instanceOf(Error);
      expect((error as Error).message)
        .to.contain("did not answer")
        .and.not.contain(TOKEN);
    });

    it("a replace without the resourceVersion read is LEASE_VERSION_MISSING and sends nothing", async () => {
      const error = await leaseApi()
        .replace("sync", { metadata: { name: "genesys-sync-poller" }, spec: { holderIdentity: "pod-a" } })
        .catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(LeaseVersionMissingError);
      expect(error).to.include({ code: "LEASE_VERSION_MISSING", retryable: false });
      expect(fake.writes).to.deep.equal([]);
    });
  });
});
