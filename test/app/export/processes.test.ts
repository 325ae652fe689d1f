import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { dataLayout, ensureLayout } from "../../../app/src/shared/layout";
import {
  startSimulator,
  type GenesysSimulator,
  type SimulatedConversation,
} from "../../../simulator/simulator";
import { FakeLeaseApi } from "../../support/fake-lease-api";
import { killAll, listFolder, serviceEnv, spawnService, waitFor } from "../../support/harness";

/**
 * Two real service processes on one data dir, electing the poller through a FAKE Kubernetes Lease
 * API on loopback (test/support/fake-lease-api), kept for speed: the fake passes the same contract
 * as the real API server (test/support/lease-contract), and the e2e tier repeats this scenario
 * with deployed pods on a real cluster. The processes run their real leader election over HTTP.
 */
describe("the results export with two replicas (leader election over a fake Lease API)", function () {
  this.timeout(120_000);
  const TOKEN = "service-account-token";
  let sim: GenesysSimulator;
  let lease: FakeLeaseApi;
  let dataDir: string;
  let saDir: string;
  const children: Array<ReturnType<typeof spawnService>> = [];

  beforeEach(async () => {
    sim = await startSimulator({ rateLimit: { requestsPerWindow: 100_000, windowMs: 60_000 } });
    lease = await new FakeLeaseApi(TOKEN).start();
    dataDir = mkdtempSync(path.join(tmpdir(), "export-proc-"));
    await ensureLayout(dataLayout(dataDir));
    saDir = mkdtempSync(path.join(tmpdir(), "sa-"));
    writeFileSync(path.join(saDir, "token"), TOKEN);
  });
  afterEach(async () => {
    await killAll(children);
    await lease.close();
    await sim.close();
  });

  const start = (pod: string) => {
    const spawned = spawnService(
      serviceEnv(sim, dataDir, {
        LOG_LEVEL: "info",
        POLLING_INTERVAL_SECONDS: "1",
        LEADER_ELECTION_ENABLED: "true",
        LEADER_ELECTION_API_URL: lease.url,
        LEADER_ELECTION_SERVICE_ACCOUNT_DIR: saDir,
        LEADER_ELECTION_LEASE_DURATION_SECONDS: "3",
        LEADER_ELECTION_RENEW_DEADLINE_SECONDS: "2",
        LEADER_ELECTION_RETRY_PERIOD_SECONDS: "1",
        POD_NAME: pod,
        POD_NAMESPACE: "sync",
      }),
    );
    children.push(spawned);
    return spawned;
  };
  const polls = (replica: ReturnType<typeof spawnService>) =>
    replica
      .output()
      .split("\n")
      .filter((line) => line.includes('"results poll done"')).length;
  const conversation = (id: string, endMs: number): SimulatedConversation => ({
    conversationId: id,
    conversationStart: new Date(endMs - 60_000).toISOString(),
    conversationEnd: new Date(endMs).toISOString(),
    participants: [
      {
        purpose: "customer",
        sessions: [{ outboundContactListId: sim.contactListIds[0]!, outboundContactId: `contact-${id}` }],
      },
    ],
  });
  const outboxIds = () =>
    listFolder(dataDir, "outbox")
      .filter((name) => name.startsWith("results-"))
      .flatMap((name) =>
        readFileSync(path.join(dataDir, "outbox", name), "utf8")
          .split("\n")
          .filter(Boolean),
      )
      .map((line) => (JSON.parse(line) as { conversationId: string }).conversationId);

  it("exactly one polls; kill -9 the leader and the other takes over; every conversation once", async () => {
    sim.addConversations(
      Array.from({ length: 40 }, (_, index) => conversation(`early-${index}`, Date.now() - 600_000 + index)),
    );
    const a = start("pod-a");
    const b = start("pod-b");
    await waitFor(() => polls(a) + polls(b) >= 4, "four polls", 60_000);
    const holder = lease.holder("sync", "genesys-sync-poller");
    const [leader, follower] = holder === "pod-a" ? [a, b] : [b, a];
    expect(holder).to.be.oneOf(["pod-a", "pod-b"]);
    expect(polls(follower), "the follower never polled").to.equal(0);
    expect(new Set(outboxIds()).size).to.equal(40);

    leader.child.kill("SIGKILL");
    await leader.exited;
    const killedAt = Date.now();
    sim.addConversations(
      Array.from({ length: 25 }, (_, index) => conversation(`late-${index}`, Date.now() - 1_000)),
    );
    await waitFor(() => polls(follower) >= 2, "the follower to take over and poll", 60_000);
    expect(lease.holder("sync", "genesys-sync-poller")).to.equal(holder === "pod-a" ? "pod-b" : "pod-a");
    expect(follower.output()).to.contain("this replica now leads");
    // The lease is 3 s; retries every 1 s. Generous bound: the takeover follows the lease, not a timeout of ours.
    expect(Date.now() - killedAt).to.be.lessThan(30_000);
    await waitFor(() => outboxIds().length >= 65, "the late conversations in the outbox", 30_000);
    const ids = outboxIds();
    expect(ids, "every conversation exactly once").to.have.length(65);
    expect(new Set(ids).size).to.equal(65);
  });

  it("--backfill FROM TO exports a past range through the jobs API, then exits", async () => {
    sim.addConversations([
      conversation("old-1", Date.parse("2026-10-01T10:00:00Z")),
      conversation("old-2", Date.parse("2026-10-02T10:00:00Z")),
      conversation("outside", Date.parse("2026-10-05T10:00:00Z")),
    ]);
    const run = spawnService(serviceEnv(sim, dataDir, { LOG_LEVEL: "info" }), [
      "--backfill",
      "2026-10-01T00:00:00Z",
      "2026-10-03T00:00:00Z",
    ]);
    children.push(run);
    expect(await run.exited, run.output()).to.equal(0);
    const files = listFolder(dataDir, "outbox");
    expect(files).to.deep.equal(["backfill-2026-10-01T00-00-00-000Z_2026-10-03T00-00-00-000Z.ndjson"]);
    const ids = readFileSync(path.join(dataDir, "outbox", files[0]!), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { conversationId: string }).conversationId);
    expect(ids.sort()).to.deep.equal(["old-1", "old-2"]);
    expect(sim.count("POST /api/v2/analytics/conversations/details/jobs", 202)).to.equal(1);

    const bad = spawnService(serviceEnv(sim, dataDir), ["--backfill", "2026-10-03T00:00:00Z", "last week"]);
    children.push(bad);
    expect(await bad.exited).to.equal(64);
    expect(bad.output()).to.contain('\\"last week\\" is not a time');
  });
});
