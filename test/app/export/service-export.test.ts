import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FakeClock } from "../../support/fake-clock";
import { startHarness, waitFor } from "../../support/harness";

/**
 * The export as the running service wires it: poller, webhook (when configured) and metrics,
 * reached through fastify's inject. The service's clock is fake where a test waits for an interval
 * (a rotation, polls that must not happen): the test advances it instead of sleeping.
 */
describe("the service's results export (simulator, service in this process)", function () {
  this.timeout(60_000);
  const PASSWORD = "webhook-password-for-tests";
  let harness: Awaited<ReturnType<typeof startHarness>> | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  const metrics = async () =>
    (await harness!.service.app.inject({ method: "GET", url: "/metrics" })).body.split("\n");

  it("polls at start, exposes the watermark lag, and takes pushed events with the configured credentials", async () => {
    const now = Date.now();
    const clock = new FakeClock(now);
    harness = await startHarness({
      clock,
      env: { WEBHOOK_USERNAME: "genesys", WEBHOOK_PASSWORD: PASSWORD, EXPORT_EVENT_SEGMENT_SECONDS: "1" },
      beforeService: (sim) =>
        sim.addConversations([
          {
            conversationId: "conv-1",
            conversationStart: new Date(now - 120_000).toISOString(),
            conversationEnd: new Date(now - 60_000).toISOString(),
            participants: [
              { sessions: [{ outboundContactListId: sim.contactListIds[0]!, outboundContactId: "c-1" }] },
            ],
          },
        ]),
    });
    const { service, dataDir } = harness;
    const outbox = () => readdirSync(path.join(dataDir, "outbox")).filter((name) => !name.startsWith("."));
    await waitFor(() => outbox().some((name) => name.startsWith("results-")), "the first poll's file");
    const results = outbox().find((name) => name.startsWith("results-"))!;
    expect(JSON.parse(readFileSync(path.join(dataDir, "outbox", results), "utf8"))).to.include({
      conversationId: "conv-1",
      contactId: "c-1",
    });

    const post = (auth: string | undefined, body: unknown) =>
      service.app.inject({
        method: "POST",
        url: "/webhooks/genesys",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        payload: JSON.stringify(body),
      });
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    const event = { eventId: "evt-1", source: "wf-1", conversationId: "conv-1" };
    expect((await post(basic("genesys", "wrong"), event)).statusCode).to.equal(401);
    expect((await post(basic("genesys", PASSWORD), event)).statusCode).to.equal(202);
    expect((await post(basic("genesys", PASSWORD), event)).statusCode, "a replay").to.equal(202);
    // The segment is published at the next rotation (every EXPORT_EVENT_SEGMENT_SECONDS), not before.
    expect(outbox().filter((name) => name.startsWith("events-"))).to.deep.equal([]);
    await clock.advance(1_000);
    await waitFor(() => outbox().some((name) => name.startsWith("events-")), "the pushed events' segment");
    const events = outbox()
      .filter((name) => name.startsWith("events-"))
      .flatMap((name) =>
        readFileSync(path.join(dataDir, "outbox", name), "utf8")
          .split("\n")
          .filter(Boolean),
      );
    expect(events.map((line) => JSON.parse(line).eventId)).to.deep.equal(["evt-1"]);

    // The poll counter is bumped once pollOnce returns, a moment after its file is published.
    let lines = await metrics();
    for (
      let tries = 0;
      tries < 500 && !lines.some((line) => line.startsWith("export_polls_total"));
      tries += 1
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      lines = await metrics();
    }
    const value = (prefix: string) =>
      Number(
        lines
          .find((line) => line.startsWith(prefix))
          ?.split(" ")
          .pop(),
      );
    expect(value("export_leader "), "alone, it leads").to.equal(1);
    expect(value('export_polls_total{result="ok"}')).to.be.at.least(1);
    expect(value("export_watermark_lag_seconds "), "the watermark is the first poll's end").to.equal(1);
    expect(value('webhook_events_total{result="accepted"}')).to.equal(1);
    expect(value('webhook_events_total{result="duplicate"}')).to.equal(1);
    expect(value('webhook_events_total{result="unauthorized"}')).to.equal(1);
    expect(lines.join("\n")).not.to.contain(PASSWORD);
    expect(harness.capture.text()).not.to.contain(PASSWORD);
  });

  it("without webhook credentials or OIDC there is no webhook and no console (404), and the poller still runs", async () => {
    harness = await startHarness();
    const { app } = harness.service;
    const answer = await app.inject({
      method: "POST",
      url: "/webhooks/genesys",
      headers: { "content-type": "application/json" },
      payload: "{}",
    });
    expect(answer.statusCode).to.equal(404);
    const consolePage = await app.inject({ method: "GET", url: "/console" });
    expect(consolePage.statusCode, "the console is off, not open").to.equal(404);
    await waitFor(() => harness!.capture.text().includes("results poll done"), "a poll");
  });

  it("re-reads exported conversations and writes a changed one again as a correction, counting its requests", async () => {
    const now = Date.now();
    const clock = new FakeClock(now);
    const conversation = (contactListId: string, wrapUpCode: string) => ({
      conversationId: "conv-1",
      conversationStart: new Date(now - 120_000).toISOString(),
      conversationEnd: new Date(now - 60_000).toISOString(),
      participants: [
        {
          purpose: "customer",
          sessions: [{ outboundContactListId: contactListId, outboundContactId: "c-1" }],
        },
        { purpose: "agent", userId: "agent-1", sessions: [{ segments: [{ wrapUpCode }] }] },
      ],
    });
    harness = await startHarness({
      clock,
      env: { POLLING_INTERVAL_SECONDS: "60", EXPORT_REREAD_INTERVAL_SECONDS: "600" },
      beforeService: (sim) => sim.addConversations([conversation(sim.contactListIds[0]!, "SALE")]),
    });
    const { sim, dataDir } = harness;
    const outbox = () => readdirSync(path.join(dataDir, "outbox")).filter((name) => !name.startsWith("."));
    await waitFor(() => outbox().some((name) => name.startsWith("results-")), "the first poll's file");
    sim.updateConversation("conv-1", conversation(sim.contactListIds[0]!, "CALLBACK"));
    // The next pass starts one re-read interval after the first: ten polls of a minute. The re-read
    // steps before each poll; each minute is advanced once the loop sleeps again after its poll.
    const polls = () =>
      harness!.capture
        .text()
        .split("\n")
        .filter((line) => line.includes("results poll done")).length;
    await waitFor(() => polls() === 1, "the first poll's end");
    await clock.flush();
    for (let minute = 1; minute <= 11; minute += 1) {
      await clock.advance(60_000);
      await waitFor(() => polls() === minute + 1, `poll ${minute + 1}`);
      await clock.flush();
    }
    await waitFor(() => outbox().some((name) => name.startsWith("corrections-")), "a corrections file");
    const file = outbox().find((name) => name.startsWith("corrections-"))!;
    const correction = JSON.parse(readFileSync(path.join(dataDir, "outbox", file), "utf8"));
    expect(correction).to.include({ conversationId: "conv-1", revision: 2 });
    expect(correction.wrapUpCodes).to.deep.equal(["CALLBACK"]);
    const lines = await metrics();
    const value = (prefix: string) =>
      Number(
        lines
          .find((line) => line.startsWith(prefix))
          ?.split(" ")
          .pop(),
      );
    expect(value("export_corrections_total ")).to.equal(1);
    // The first pass began before the first poll, with nothing to read; the second read conv-1.
    expect(value("export_reread_requests_total ")).to.equal(1);
  });

  it("pause stops polling and resume polls at once (the console's actions)", async () => {
    const clock = new FakeClock(Date.now());
    harness = await startHarness({ env: { POLLING_INTERVAL_SECONDS: "1" }, clock });
    const { service, capture } = harness;
    const polls = () =>
      capture
        .text()
        .split("\n")
        .filter((line) => line.includes("results poll done")).length;
    await waitFor(() => polls() === 1, "the first poll");
    await clock.advance(1_000);
    await waitFor(() => polls() === 2, "a poll one interval later");
    service.exporter.pause();
    expect(service.exporter.status()).to.include({ paused: true, leader: true, enabled: true });
    // The loop wakes three times on the fake clock and polls none of them.
    await clock.advance(3_000);
    expect(polls(), "no poll while paused").to.equal(2);
    service.exporter.resume();
    await waitFor(() => polls() === 3, "a poll right after resume, before the interval is over");
    expect(service.exporter.status().lastPoll?.method).to.equal("query");
  });
});
