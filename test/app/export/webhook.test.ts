import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { EventLog } from "../../../app/src/export/event-log";
import { MemoryReplayGuard } from "../../../app/src/export/replay-guard";
import { webhook } from "../../../app/src/export/webhook";
import { systemClock } from "../../../app/src/time/clock";
import { capturedLogger } from "../../support/capture";
import { FakeClock } from "../../support/fake-clock";

/** The webhook through fastify's full request pipeline (inject), writing a real event log. */
describe("results export: POST /webhooks/genesys", () => {
  let app: FastifyInstance;
  let log: EventLog;
  let dir: string;
  const USER = "genesys-data-action";
  const PASSWORD = "webhook-password-for-tests";
  const auth = (user = USER, password = PASSWORD) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "webhook-"));
    log = new EventLog(dir, systemClock);
    await log.recover();
    app = Fastify();
    await app.register(webhook, {
      log,
      logger: capturedLogger().logger,
      username: USER,
      password: PASSWORD,
      maxBodyBytes: 16_384,
      replay: new MemoryReplayGuard(1_000),
      clock: new FakeClock(Date.parse("2026-11-21T09:30:00Z")),
    });
    await app.ready();
  });
  afterEach(async () => {
    await app.close();
    await log.close();
  });

  const post = (payload: unknown, authorization: string | null = auth()) =>
    app.inject({
      method: "POST",
      url: "/webhooks/genesys",
      headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
      payload: typeof payload === "string" ? payload : JSON.stringify(payload),
    });
  async function stored(): Promise<Array<Record<string, string>>> {
    await log.rotate();
    return readdirSync(dir)
      .filter((name) => name.startsWith("events-"))
      .sort()
      .flatMap((name) => readFileSync(path.join(dir, name), "utf8").split("\n").filter(Boolean))
      .map((line) => JSON.parse(line) as Record<string, string>);
  }
  const event = (eventId: string, source = "wf-1") => ({
    eventId,
    source,
    conversationId: "conv-1",
    occurredAt: "2026-11-21T09:00:00Z",
    data: { wrapUp: "SALE" },
  });

  it("answers 202 once the event is durable", async () => {
    const response = await post(event("e-1"));
    expect(response.statusCode).to.equal(202);
    const entries = await stored();
    expect(entries.map((entry) => entry.eventId)).to.deep.equal(["e-1"]);
    expect(entries[0]!.receivedAt, "stamped by the injected clock").to.equal("2026-11-21T09:30:00.000Z");
  });

  it("refuses missing and wrong credentials with 401 and writes nothing", async () => {
    expect((await post(event("e-1"), null)).statusCode).to.equal(401);
    expect((await post(event("e-2"), auth(USER, "wrong"))).statusCode).to.equal(401);
    expect((await post(event("e-3"), auth("someone", PASSWORD))).statusCode).to.equal(401);
    expect((await post(event("e-4"), "Bearer abc")).statusCode).to.equal(401);
    expect(await stored()).to.deep.equal([]);
  });

  it("refuses an oversized body with 413 and malformed or invalid events with 400", async () => {
    expect((await post({ ...event("big"), data: { note: "x".repeat(20_000) } })).statusCode).to.equal(413);
    expect((await post("{not json")).statusCode).to.equal(400);
    const invalid = await post({ source: "wf-1" });
    expect(invalid.statusCode).to.equal(400);
    expect(invalid.json().detail).to.contain("eventId is required");
    expect(await stored()).to.deep.equal([]);
  });

  it("accepts a replayed event id once", async () => {
    expect((await post(event("e-1"))).statusCode).to.equal(202);
    const replay = await post(event("e-1"));
    expect(replay.statusCode).to.equal(202);
    expect(replay.json().status).to.equal("duplicate");
    expect(await stored()).to.have.length(1);
  });

  it("makes a burst of concurrent events all durable, in order per source, with far fewer fsyncs than events", async () => {
    const sources = ["wf-a", "wf-b", "wf-c", "wf-d"];
    // Each source sends its events one after another (as a workflow does); the sources race.
    await Promise.all(
      sources.map(async (source) => {
        for (let sequence = 0; sequence < 100; sequence += 1) {
          const response = await post({ ...event(`${source}-${sequence}`, source), data: { sequence } });
          expect(response.statusCode).to.equal(202);
        }
      }),
    );
    const burst = await Promise.all(
      Array.from({ length: 200 }, (_, index) => post(event(`burst-${index}`, "wf-burst"))),
    );
    expect(burst.every((response) => response.statusCode === 202)).to.equal(true);
    const entries = await stored();
    expect(entries).to.have.length(600);
    for (const source of sources) {
      const sequence = entries
        .filter((entry) => entry.source === source)
        .map((entry) => (entry.data as unknown as { sequence: number }).sequence);
      expect(sequence).to.deep.equal(Array.from({ length: 100 }, (_, index) => index));
    }
    expect(log.fsyncs).to.be.lessThan(600);
  });

  it("publishes a segment a crashed process left, cutting a torn last line", async () => {
    await post(event("before-crash"));
    await log.close();
    const { appendFileSync } = await import("node:fs");
    const [active] = readdirSync(dir).filter((name) => name.startsWith(".events-active-"));
    appendFileSync(path.join(dir, active!), '{"eventId":"torn');
    // Another replica (a new owner) adopts it once it has stood untouched long enough.
    const recovered = new EventLog(dir, systemClock, { owner: "replica-2" });
    expect(await recovered.recover(60_000), "too fresh: its owner may be alive").to.deep.equal([]);
    const lines = await recovered.recover(0);
    expect(lines).to.have.length(1);
    expect(readdirSync(dir).filter((name) => name.startsWith("."))).to.deep.equal([]);
    await recovered.close();
  });
});
