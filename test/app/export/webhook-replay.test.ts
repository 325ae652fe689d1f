import { expect } from "chai";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../../app/src/config";
import { VolumeReplayGuard, type ReplayClaim } from "../../../app/src/export/replay-guard";
import { buildService, type Service } from "../../../app/src/service";
import { simulatorServiceEnv } from "../../../simulator/service-env";
import { startSimulator, type GenesysSimulator } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";

const USER = "genesys";
const PASSWORD = "webhook-password-for-tests";
const authorization = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

/**
 * Replay protection on the shared volume: replicas are service instances built in this process on
 * one data directory (nothing listening, reached through inject), as pods share one volume.
 */
describe("results export: a replayed webhook event is stored once across replicas and restarts", function () {
  this.timeout(60_000);
  let sim: GenesysSimulator;
  let dataDir: string;
  const running: Service[] = [];

  beforeEach(async () => {
    sim = await startSimulator();
    dataDir = mkdtempSync(path.join(tmpdir(), "replay-"));
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((service) => service.shutdown()));
    await sim.close();
  });

  async function replica(name: string): Promise<Service> {
    const env = simulatorServiceEnv(sim, dataDir, { WEBHOOK_USERNAME: USER, WEBHOOK_PASSWORD: PASSWORD });
    const service = await buildService(loadConfig(env), {
      logger: capturedLogger().logger,
      replicaId: name,
    });
    running.push(service);
    return service;
  }
  async function stop(service: Service): Promise<void> {
    running.splice(running.indexOf(service), 1);
    await service.shutdown(); // publishes its event segment
  }
  const post = (service: Service, eventId: string) =>
    service.app.inject({
      method: "POST",
      url: "/webhooks/genesys",
      headers: { "content-type": "application/json", authorization },
      payload: JSON.stringify({ eventId, source: "wf-1", conversationId: "conv-1" }),
    });
  /** Every stored event id, with repeats, once every replica has published its segment. */
  function storedIds(): string[] {
    const outbox = path.join(dataDir, "outbox");
    return readdirSync(outbox)
      .filter((name) => name.startsWith("events-"))
      .flatMap((name) => readFileSync(path.join(outbox, name), "utf8").split("\n").filter(Boolean))
      .map((line) => (JSON.parse(line) as { eventId: string }).eventId);
  }

  it("a replay sent to the other replica is stored once", async () => {
    const a = await replica("replica-a");
    const b = await replica("replica-b");
    expect((await post(a, "e-1")).json()).to.include({ status: "accepted" });
    const replay = await post(b, "e-1");
    expect(replay.statusCode).to.equal(202);
    expect(replay.json()).to.include({ status: "duplicate" });
    await stop(a);
    await stop(b);
    expect(storedIds()).to.deep.equal(["e-1"]);
  });

  it("a replay after a restart is stored once", async () => {
    const before = await replica("replica-a");
    expect((await post(before, "e-1")).json()).to.include({ status: "accepted" });
    await stop(before);
    const after = await replica("replica-a-restarted");
    expect((await post(after, "e-1")).json()).to.include({ status: "duplicate" });
    await stop(after);
    expect(storedIds()).to.deep.equal(["e-1"]);
  });

  it("copies racing to both replicas are stored once each, and none is acknowledged unstored", async () => {
    const a = await replica("replica-a");
    const b = await replica("replica-b");
    const ids = Array.from({ length: 50 }, (_, index) => `race-${index}`);
    const answers = await Promise.all(ids.flatMap((id) => [post(a, id), post(b, id)]));
    const statuses = answers.map((answer) => answer.json<{ status?: string }>().status ?? "retry");
    expect(statuses.filter((status) => status === "accepted")).to.have.length(ids.length);
    // The loser of each race answers duplicate, or 503 (retry) while the winner still writes.
    expect(new Set(statuses)).to.satisfy((seen: Set<string>) =>
      [...seen].every((status) => ["accepted", "duplicate", "retry"].includes(status)),
    );
    for (const id of ids) expect((await post(b, id)).json()).to.include({ status: "duplicate" });
    await stop(a);
    await stop(b);
    expect(storedIds().sort()).to.deep.equal([...ids].sort());
  });

  it("an event whose store failed can be sent again and is stored then", async () => {
    const a = await replica("replica-a");
    const b = await replica("replica-b");
    // The outbox is gone: A cannot make the event durable, answers 503 and releases the id.
    const { rmSync } = await import("node:fs");
    rmSync(path.join(dataDir, "outbox"), { recursive: true, force: true });
    expect((await post(a, "e-1")).statusCode).to.equal(503);
    mkdirSync(path.join(dataDir, "outbox"));
    expect((await post(b, "e-1")).json()).to.include({ status: "accepted" });
    await stop(a);
    await stop(b);
    expect(storedIds()).to.deep.equal(["e-1"]);
  });
});

describe("results export: the shared replay window's bounds and crash cases (VolumeReplayGuard)", () => {
  const T0 = Date.parse("2026-11-21T09:00:00Z");
  let dir: string;
  let clock: FakeClock;
  // No waiting for another request's store (waitForOtherMs 0): it would wait on the fake clock.
  const guard = (owner: string, settings: { maxIds?: number } = {}) =>
    new VolumeReplayGuard(
      { dir, windowMs: 3_600_000, maxIds: settings.maxIds ?? 100_000, waitForOtherMs: 0 },
      clock,
      owner,
    );
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "replay-guard-"));
    clock = new FakeClock(T0);
  });

  async function store(on: VolumeReplayGuard, eventId: string): Promise<ReplayClaim["status"]> {
    const claim = await on.claim(eventId);
    if (claim.status === "new") await claim.stored();
    return claim.status;
  }
  /** Markers on the volume, with their mtimes set to the fake clock's now (the file server's time). */
  function markers(): string[] {
    return readdirSync(dir).flatMap((shard) =>
      readdirSync(path.join(dir, shard)).map((name) => path.join(shard, name)),
    );
  }
  function stampAll(atMs: number): void {
    for (const marker of markers()) utimesSync(path.join(dir, marker), atMs / 1000, atMs / 1000);
  }
  async function sweepAll(on: VolumeReplayGuard): Promise<number> {
    let removed = 0;
    for (let shard = 0; shard < 256; shard += 1) removed += await on.sweepShard();
    return removed;
  }

  it("forgets ids older than the window: a replay after it is stored again", async () => {
    const a = guard("a");
    expect(await store(a, "e-1")).to.equal("new");
    stampAll(T0);
    await clock.advance(30 * 60_000);
    expect(await sweepAll(a), "inside the window").to.equal(0);
    expect(await store(guard("b"), "e-1")).to.equal("duplicate");
    await clock.advance(31 * 60_000);
    expect(await sweepAll(a)).to.equal(1);
    expect(markers()).to.deep.equal([]);
    expect(await store(guard("b"), "e-1"), "past the window").to.equal("new");
  });

  it("keeps at most about maxIds ids, forgetting the oldest first", async () => {
    const a = guard("a", { maxIds: 256 });
    const ids = Array.from({ length: 2_000 }, (_, index) => `e-${index}`);
    for (const [index, id] of ids.entries()) {
      await store(a, id);
      const marker = a.markerOf(id);
      utimesSync(marker, (T0 + index * 1000) / 1000, (T0 + index * 1000) / 1000);
    }
    await clock.advance(ids.length * 1000);
    await sweepAll(a);
    expect(markers().length, "one per shard").to.be.at.most(256);
    expect(await store(a, "e-1999"), "the newest is remembered").to.equal("duplicate");
    expect(await store(a, "e-0"), "the oldest is forgotten").to.equal("new");
  });

  it("a replay while another request stores the id answers in-flight rather than duplicate", async () => {
    const a = guard("a");
    const first = await a.claim("e-1");
    expect(first.status).to.equal("new");
    const replay = await guard("b").claim("e-1");
    expect(replay.status, "not stored yet: the caller must retry").to.equal("in-flight");
    if (first.status === "new") await first.stored();
    expect((await guard("b").claim("e-1")).status).to.equal("duplicate");
  });

  it("a claim its owner abandoned (died before storing) is taken over after abandonedAfterMs", async () => {
    // What a process that died between claim and store leaves: an empty marker.
    const marker = guard("dead").markerOf("e-1");
    mkdirSync(path.dirname(marker), { recursive: true });
    writeFileSync(marker, "");
    stampAll(T0);
    expect((await guard("b").claim("e-1")).status, "its owner may still be storing").to.equal("in-flight");
    await clock.advance(61_000);
    const b = guard("b");
    expect(await store(b, "e-1"), "taken over: the event was never stored").to.equal("new");
    expect(await store(guard("c"), "e-1")).to.equal("duplicate");
    expect(await sweepAll(b), "the abandoned marker set aside is swept").to.equal(1);
  });
});
