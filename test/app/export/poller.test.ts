import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { GenesysClient } from "../../../app/src/genesys/client";
import { LeadershipLostError, ResultsPoller, type PollerSettings } from "../../../app/src/export/poller";
import { backfill, parseBackfillRange } from "../../../app/src/export/backfill";
import type { GenesysSimulator, SimulatedConversation } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { crashAt, SimulatedCrashError } from "../../support/crash";
import { EXPORT_LIST, EXPORT_T0, openExportFixture, type ExportFixture } from "../../support/export-fixture";
import type { FakeClock } from "../../support/fake-clock";

/**
 * The results poller against the simulator over real HTTP. The poller's clock is fake, so the
 * test decides when each window ends; the simulator serves conversations as the details query does.
 */
describe("results export: polling with a watermark (simulator)", function () {
  this.timeout(60_000);
  const LIST = EXPORT_LIST;
  const T0 = EXPORT_T0;
  let fixture: ExportFixture;
  let sim: GenesysSimulator;
  let client: GenesysClient;
  let dir: string;
  let clock: FakeClock;

  beforeEach(async () => {
    fixture = await openExportFixture("export-");
    ({ sim, client, dir, clock } = fixture);
  });
  afterEach(async () => fixture.close());

  const poller = (
    options: ConstructorParameters<typeof ResultsPoller>[4] = {},
    overrides: Partial<PollerSettings> = {},
    genesys: GenesysClient = client,
  ) =>
    new ResultsPoller(
      genesys,
      {
        contactListIds: [LIST],
        outboxDir: path.join(dir, "outbox"),
        stateFile: path.join(dir, "export-state.json"),
        overlapMs: 15 * 60_000,
        initialLookbackMs: 3_600_000,
        pageSize: 100,
        jobThresholdMs: 6 * 3_600_000,
        jobs: { pollIntervalMs: 2000, timeoutMs: 600_000, pageSize: 1000 },
        ...overrides,
      },
      clock,
      capturedLogger().logger,
      options,
    );

  function conversation(index: number, endMs: number | undefined, list = LIST): SimulatedConversation {
    const start = (endMs ?? T0) - 120_000;
    return {
      conversationId: `conv-${index}`,
      conversationStart: new Date(start).toISOString(),
      ...(endMs === undefined ? {} : { conversationEnd: new Date(endMs).toISOString() }),
      participants: [
        {
          purpose: "customer",
          sessions: [
            {
              outboundContactListId: list,
              outboundContactId: `contact-${index}`,
              outboundCampaignId: "camp-1",
              segments: [{ disconnectType: "peer" }],
            },
          ],
        },
        { purpose: "agent", userId: "agent-7", sessions: [{ segments: [{ wrapUpCode: "SALE" }] }] },
      ],
    };
  }

  /** Every conversation id in the outbox, with repeats. */
  function outboxIds(): string[] {
    return readdirSync(path.join(dir, "outbox"))
      .filter((name) => !name.startsWith("."))
      .flatMap((name) =>
        readFileSync(path.join(dir, "outbox", name), "utf8")
          .split("\n")
          .filter(Boolean),
      )
      .map((line) => (JSON.parse(line) as { conversationId: string }).conversationId);
  }

  it("follows every page and writes what a CRM needs, once", async () => {
    sim.addConversations(
      Array.from({ length: 250 }, (_, index) => conversation(index, T0 - 30 * 60_000 + index * 1_000)),
    );
    sim.addConversations([conversation(999, T0 - 10 * 60_000, "other-list")]);
    const result = await poller().pollOnce();
    expect(result.pages).to.equal(3);
    expect(result.exported).to.equal(250);
    const ids = outboxIds();
    expect(ids).to.have.length(250);
    expect(new Set(ids).size).to.equal(250);
    const first = JSON.parse(readFileSync(result.file!, "utf8").split("\n")[0]!);
    expect(first).to.deep.include({
      contactId: "contact-0",
      contactListId: LIST,
      campaignId: "camp-1",
      disposition: "peer",
      wrapUpCodes: ["SALE"],
      agentIds: ["agent-7"],
    });
  });

  it("picks up late-arriving conversations in the overlap, without repeating the ones already exported", async () => {
    sim.addConversations(
      Array.from({ length: 20 }, (_, index) => conversation(index, T0 - 5 * 60_000 + index * 1_000)),
    );
    await poller().pollOnce();
    // Five minutes later: conversations that ended before the last poll arrive late, and new ones.
    await clock.advance(5 * 60_000);
    sim.addConversations([
      conversation(100, T0 - 60_000),
      conversation(101, T0 - 30_000),
      conversation(102, T0 + 2 * 60_000),
    ]);
    const second = await poller().pollOnce();
    expect(second.exported).to.equal(3);
    const ids = outboxIds();
    expect(ids).to.have.length(23);
    expect(new Set(ids).size).to.equal(23);
  });

  it("leaves conversations still running for a later window", async () => {
    sim.addConversations([conversation(1, undefined)]);
    expect((await poller().pollOnce()).exported).to.equal(0);
    expect(outboxIds()).to.deep.equal([]);
  });

  for (const point of ["after-temporary-file", "after-pending-saved", "after-rename"] as const) {
    it(`a restart after a crash ${point.replace(/-/g, " ")} leaves no gap and no duplicate`, async () => {
      sim.addConversations(
        Array.from({ length: 150 }, (_, index) => conversation(index, T0 - 20 * 60_000 + index * 1_000)),
      );
      const error = await poller({ hooks: crashAt(point) })
        .pollOnce()
        .catch((caught: unknown) => caught);
      expect(String(error)).to.contain("simulated crash");
      expect(error).to.be.instanceOf(SimulatedCrashError);
      expect(error).to.include({ code: "TEST_SIMULATED_CRASH", retryable: true, point });
      await clock.advance(60_000);
      sim.addConversations([conversation(500, T0 + 30_000)]);
      await poller().pollOnce();
      const ids = outboxIds();
      expect(ids, "every conversation exactly once").to.have.length(151);
      expect(new Set(ids).size).to.equal(151);
      expect(readdirSync(path.join(dir, "outbox")).filter((name) => name.startsWith("."))).to.deep.equal([]);
    });
  }

  it("rides out a 429 in the middle of paging", async () => {
    sim.addConversations(
      Array.from({ length: 300 }, (_, index) => conversation(index, T0 - 40 * 60_000 + index * 1_000)),
    );
    sim.faults.rateLimitStorm(2, 1);
    const result = await poller().pollOnce();
    expect(result.exported).to.equal(300);
    expect(sim.received.rateLimited).to.equal(2);
    expect(sim.received.earlyRetries).to.deep.equal([]);
    expect(new Set(outboxIds()).size).to.equal(300);
  });

  it("drops what the API adds beyond the window (conversations of the same day that ended earlier)", async () => {
    // The details query returns every conversation that started on a day the interval touches.
    sim.addConversations([conversation(1, T0 - 5 * 3_600_000), conversation(2, T0 - 60_000)]);
    const result = await poller().pollOnce();
    expect(result.exported).to.equal(1);
    expect(outboxIds()).to.deep.equal(["conv-2"]);
  });

  it("a first run over a long lookback goes through the async jobs API and waits for the job", async () => {
    // The simulator shares the fake clock here, so the job is fulfilled when the test says so.
    const jobs = await openExportFixture("export-jobs-", { sim: { clock, jobDurationMs: 5_000 }, clock });
    const { sim: jobSim, client: jobClient } = jobs;
    try {
      jobSim.addConversations(
        Array.from({ length: 2_500 }, (_, index) =>
          conversation(index, T0 - 40 * 3_600_000 + index * 30_000),
        ),
      );
      const jobPoller = poller({}, { initialLookbackMs: 48 * 3_600_000 }, jobClient);
      const polling = jobPoller.pollOnce();
      // The job is PENDING for 5 s: the poller reads its state every 2 s on the (fake) clock.
      for (let step = 0; step < 3; step += 1) {
        for (let spin = 0; spin < 200 && clock.pending() === 0; spin += 1)
          await new Promise((resolve) => setTimeout(resolve, 5));
        await clock.advance(2_000);
      }
      const result = await polling;
      expect(result.method).to.equal("job");
      expect(result.pages, "three cursor pages of up to 1,000").to.equal(3);
      expect(result.exported).to.equal(2_500);
      expect(jobSim.count("GET /api/v2/analytics/conversations/details/jobs/{jobId}", 200)).to.be.greaterThan(
        1,
      );
      expect(new Set(outboxIds()).size).to.equal(2_500);
    } finally {
      await jobs.close();
    }
  });

  it("--backfill exports the conversations that ended in the range, through a job, into one file", async () => {
    sim.addConversations([
      conversation(1, Date.parse("2026-11-01T10:00:00Z")),
      conversation(2, Date.parse("2026-11-02T23:59:00Z")),
      conversation(3, Date.parse("2026-11-03T00:00:00Z")), // the end is exclusive
      conversation(4, undefined),
    ]);
    const range = parseBackfillRange("2026-11-01T00:00:00Z", "2026-11-03T00:00:00Z", T0);
    if ("problem" in range) throw new Error(range.problem);
    const result = await backfill(
      client,
      {
        contactListIds: [LIST],
        outboxDir: path.join(dir, "outbox"),
        ...range,
        jobs: { pollIntervalMs: 100, timeoutMs: 60_000, pageSize: 1000 },
      },
      // The simulator runs on the system clock here, so the backfill waits on it too.
      (await import("../../../app/src/time/clock")).systemClock,
      capturedLogger().logger,
    );
    expect(result.exported).to.equal(2);
    expect(path.basename(result.file!)).to.equal(
      "backfill-2026-11-01T00-00-00-000Z_2026-11-03T00-00-00-000Z.ndjson",
    );
    expect(outboxIds().sort()).to.deep.equal(["conv-1", "conv-2"]);
  });

  it("--backfill refuses a range it cannot run, saying how to write it", () => {
    const problem = (from?: string, to?: string) => {
      const parsed = parseBackfillRange(from, to, T0);
      return "problem" in parsed ? parsed.problem : "";
    };
    expect(problem("2026-11-01")).to.contain("needs two times");
    expect(problem("yesterday", "2026-11-02T00:00:00Z")).to.contain('"yesterday" is not a time');
    expect(problem("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z")).to.contain("ends");
    expect(problem("2026-11-01T00:00:00Z", "2027-01-01T00:00:00Z")).to.contain("future");
  });

  it("publishes nothing and keeps the watermark when leadership was lost during the poll", async () => {
    sim.addConversations([conversation(1, T0 - 60_000)]);
    const lost = poller({ mayPublish: () => false });
    const error = await lost.pollOnce().catch((caught: unknown) => caught);
    expect(String(error)).to.contain("leadership lost");
    expect(error).to.be.instanceOf(LeadershipLostError);
    expect(error).to.include({ code: "EXPORT_LEADERSHIP_LOST", retryable: true });
    expect(outboxIds()).to.deep.equal([]);
    expect(existsSync(path.join(dir, "export-state.json")), "no watermark saved").to.equal(false);
    // The new leader's poll covers the window.
    expect((await poller().pollOnce()).exported).to.equal(1);
  });
});
