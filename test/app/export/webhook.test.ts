import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { EventLog } from "../../../app/src/export/event-log";
import { MemoryReplayGuard } from "../../../app/src/export/replay-guard";
import { MAX_EVENT_DEPTH, webhook } from "../../../app/src/export/webhook";
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

  it("refuses an event nested deeper than the limit with 400 'nested too deep', so the sender stops retrying", async () => {
    // 5,000 levels once parsed and then overflowed the stack when stored: 503, retried forever.
    const deep = `{"eventId":"deep","source":"wf-1","data":{"x":${"[".repeat(5_000)}${"]".repeat(5_000)}}}`;
    const response = await post(deep);
    expect(response.statusCode).to.equal(400);
    expect(response.json().detail).to.contain("nested too deep").and.to.contain(String(MAX_EVENT_DEPTH));
    expect(await stored()).to.deep.equal([]);
  });

  it("accepts an event nested exactly to the limit and refuses one level more", async () => {
    // The event object is level 1, `data` level 2: the rest is nesting inside data.
    const nested = (levels: number) =>
      `{"eventId":"e-${levels}","source":"wf-1","data":{"x":${"[".repeat(levels - 2)}"a"${"]".repeat(levels - 2)}}}`;
    expect((await post(nested(MAX_EVENT_DEPTH))).statusCode).to.equal(202);
    const over = await post(nested(MAX_EVENT_DEPTH + 1));
    expect(over.statusCode).to.equal(400);
    expect(over.json().detail).to.contain("nested too deep");
    // Brackets inside strings, escaped quotes included, are text, not nesting.
    const text = { ...event("e-text"), data: { note: `\\"${"[{".repeat(100)}` } };
    expect((await post(text)).statusCode).to.equal(202);
    expect((await stored()).map((entry) => entry.eventId)).to.deep.equal([`e-${MAX_EVENT_DEPTH}`, "e-text"]);
  });

  it("says why a body is refused: prototype keys, bad JSON, an empty body and too large each name their reason", async () => {
    const proto = await post('{"eventId":"p-1","source":"wf-1","data":{"__proto__":{"admin":true}}}');
    expect(proto.statusCode).to.equal(400);
    expect(proto.json().detail).to.contain("__proto__").and.not.to.contain("not valid JSON");
    const escaped = await post('{"eventId":"p-2","source":"wf-1","data":{"\\u005f_proto__":{"admin":true}}}');
    expect(escaped.statusCode, "an escaped key is the same key").to.equal(400);
    expect(escaped.json().detail).to.contain("__proto__");
    const constructorPrototype = await post(
      '{"eventId":"p-3","source":"wf-1","data":{"constructor":{"prototype":{"admin":true}}}}',
    );
    expect(constructorPrototype.statusCode).to.equal(400);
    expect(constructorPrototype.json().detail).to.contain("constructor.prototype");
    const notJson = await post("{not json");
    expect(notJson.statusCode).to.equal(400);
    expect(notJson.json().detail).to.contain("not valid JSON");
    const empty = await post("");
    expect(empty.statusCode).to.equal(400);
    expect(empty.json().detail).to.contain("empty");
    const big = await post({ ...event("big"), data: { note: "x".repeat(20_000) } });
    expect(big.statusCode).to.equal(413);
    expect(big.json().detail).to.contain("16384 bytes");
    // A plain key that merely contains the words is data like any other.
    expect((await post({ ...event("p-4"), data: { constructor: "x", prototype: 1 } })).statusCode).to.equal(
      202,
    );
    expect((await stored()).map((entry) => entry.eventId)).to.deep.equal(["p-4"]);
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

/** A caller with valid credentials that sends the headers and then the body slowly, or not at all. */
describe("results export: a slow webhook body on a real socket", function () {
  this.timeout(10_000);
  let app: FastifyInstance;
  let log: EventLog;
  let clock: FakeClock;
  let port: number;
  const sockets: Socket[] = [];
  const BODY_TIMEOUT_MS = 5_000;
  const authorization = `Basic ${Buffer.from("genesys-data-action:webhook-password-for-tests").toString("base64")}`;

  beforeEach(async () => {
    log = new EventLog(mkdtempSync(path.join(tmpdir(), "webhook-slow-")), systemClock);
    await log.recover();
    clock = new FakeClock();
    app = Fastify();
    await app.register(webhook, {
      log,
      logger: capturedLogger().logger,
      username: "genesys-data-action",
      password: "webhook-password-for-tests",
      maxBodyBytes: 16_384,
      bodyTimeoutMs: BODY_TIMEOUT_MS,
      replay: new MemoryReplayGuard(1_000),
      clock,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await app.close();
    await log.close();
  });

  function open(): Socket {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    return socket;
  }
  /** Sends the request line, headers and the first part of the body; collects all it gets back. */
  function startRequest(firstPart: string, contentLength: number) {
    const socket = open();
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("utf8")));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(
      "POST /webhooks/genesys HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        `authorization: ${authorization}\r\ncontent-length: ${contentLength}\r\n\r\n${firstPart}`,
    );
    return { socket, answer: () => answer, closed };
  }
  /** Real I/O until `condition` holds: the server reads what the socket sent, on the loopback. */
  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what} did not happen`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it("answers 408 and closes the connection when the body stops coming", async () => {
    const request = startRequest('{"eventId":"slow-1",', 200);
    await until(() => clock.pending() === 1, "the body timer being armed");
    await clock.advance(BODY_TIMEOUT_MS - 1);
    expect(request.answer(), "not before the timeout").to.equal("");
    await clock.advance(1);
    await request.closed;
    expect(request.answer()).to.match(/^HTTP\/1\.1 408 /);
    expect(request.answer()).to.contain(`not received within ${BODY_TIMEOUT_MS / 1000} s`);
    expect(request.answer().toLowerCase()).to.contain("connection: close");
  });

  it("times out a body trickled a byte at a time: the limit is on the whole body, not on silence", async () => {
    const body = JSON.stringify({ eventId: "slow-2", source: "wf-1" });
    const request = startRequest(body.slice(0, 1), body.length);
    await until(() => clock.pending() === 1, "the body timer being armed");
    for (let sent = 1; sent < 6; sent += 1) {
      request.socket.write(body.slice(sent, sent + 1));
      await clock.advance(BODY_TIMEOUT_MS / 5);
    }
    await request.closed;
    expect(request.answer()).to.match(/^HTTP\/1\.1 408 /);
  });

  it("accepts a body sent in time and leaves no timer behind", async () => {
    const body = JSON.stringify({ eventId: "in-time", source: "wf-1" });
    const request = startRequest(body.slice(0, 10), body.length);
    await until(() => clock.pending() === 1, "the body timer being armed");
    await clock.advance(BODY_TIMEOUT_MS - 1);
    request.socket.write(body.slice(10));
    await until(() => request.answer().includes("\r\n\r\n"), "the answer");
    expect(request.answer()).to.match(/^HTTP\/1\.1 202 /);
    expect(clock.pending()).to.equal(0);
  });

  it("stops the body timer once an answer is sent: a body cut off as too large mid-stream", async () => {
    const socket = open();
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("utf8")));
    const tooLarge = "x".repeat(20_000);
    socket.write(
      "POST /webhooks/genesys HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        `authorization: ${authorization}\r\ntransfer-encoding: chunked\r\n\r\n` +
        `${tooLarge.length.toString(16)}\r\n${tooLarge}\r\n`,
    );
    await until(() => answer.includes("\r\n\r\n"), "the answer");
    expect(answer).to.match(/^HTTP\/1\.1 413 /);
    // The server sees its answer finish around when the caller reads it: wait for that, not longer.
    await until(() => clock.pending() === 0, "the body timer stopping once the answer is sent");
  });

  it("arms no timer for a caller without valid credentials: it is refused before the body is read", async () => {
    const socket = open();
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString("utf8")));
    socket.write(
      "POST /webhooks/genesys HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        "authorization: Basic d3Jvbmc6d3Jvbmc=\r\ncontent-length: 100\r\n\r\n{",
    );
    await until(() => answer.includes("\r\n\r\n"), "the answer");
    expect(answer).to.match(/^HTTP\/1\.1 401 /);
    expect(clock.pending()).to.equal(0);
  });
});
