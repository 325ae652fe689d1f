import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { GenesysClient } from "../../../app/src/genesys/client";
import { FingerprintStore } from "../../../app/src/export/fingerprints";
import type { PublishHooks } from "../../../app/src/export/export-state";
import { ResultsPoller } from "../../../app/src/export/poller";
import { Rereader, type RereadSettings } from "../../../app/src/export/reread";
import type { GenesysSimulator, SimulatedConversation } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { crashAt, SimulatedCrashError } from "../../support/crash";
import { EXPORT_LIST, EXPORT_T0, openExportFixture, type ExportFixture } from "../../support/export-fixture";
import type { FakeClock } from "../../support/fake-clock";

const HOUR = 3_600_000;
const READ_BY_ID = "GET /api/v2/analytics/conversations/details";

/**
 * Late data against the simulator over real HTTP, on a fake clock: Genesys changes a conversation
 * after it was exported (sim.updateConversation), and the re-read writes it again as a correction.
 * Every poll and step builds its poller and re-reader afresh, as after a restart or on a new
 * leader: only what is on the volume carries over.
 */
describe("results export: late data is re-read and written again as a correction (simulator)", function () {
  this.timeout(120_000);
  const LIST = EXPORT_LIST;
  const T0 = EXPORT_T0;
  let fixture: ExportFixture;
  let sim: GenesysSimulator;
  let client: GenesysClient;
  let dir: string;
  let clock: FakeClock;

  beforeEach(async () => {
    fixture = await openExportFixture("reread-");
    ({ sim, client, dir, clock } = fixture);
  });
  afterEach(async () => fixture.close());

  const DEFAULTS: RereadSettings = {
    windowMs: 48 * HOUR,
    intervalMs: 6 * HOUR,
    maxRequestsPerMinute: 5,
    outboxDir: "",
  };
  const store = (settings = DEFAULTS) =>
    new FingerprintStore(
      path.join(dir, "export-fingerprints.json"),
      settings.windowMs + settings.intervalMs,
      200_000,
    );
  const poller = () =>
    new ResultsPoller(
      client,
      {
        contactListIds: [LIST],
        outboxDir: path.join(dir, "outbox"),
        stateFile: path.join(dir, "export.json"),
        overlapMs: 15 * 60_000,
        initialLookbackMs: HOUR,
        pageSize: 100,
        jobThresholdMs: 6 * HOUR,
        jobs: { pollIntervalMs: 2000, timeoutMs: 600_000, pageSize: 1000 },
      },
      clock,
      capturedLogger().logger,
      { fingerprints: store() },
    );
  const rereader = (options: { hooks?: PublishHooks; busy?: () => boolean } = {}, settings = DEFAULTS) =>
    new Rereader(
      client,
      store(settings),
      { ...settings, outboxDir: path.join(dir, "outbox") },
      clock,
      capturedLogger().logger,
      options,
    );

  function conversation(id: string, endMs: number, wrapUpCode = "SALE"): SimulatedConversation {
    return {
      conversationId: id,
      conversationStart: new Date(endMs - 120_000).toISOString(),
      conversationEnd: new Date(endMs).toISOString(),
      participants: [
        {
          purpose: "customer",
          sessions: [
            {
              outboundContactListId: LIST,
              outboundContactId: `contact-${id}`,
              segments: [{ disconnectType: "peer" }],
            },
          ],
        },
        { purpose: "agent", userId: "agent-7", sessions: [{ segments: [{ wrapUpCode }] }] },
      ],
    };
  }

  /** Every record in the outbox files whose names start with `prefix`, in name order. */
  function records(prefix: string): Array<Record<string, unknown>> {
    return readdirSync(path.join(dir, "outbox"))
      .filter((name) => name.startsWith(prefix))
      .sort()
      .flatMap((name) =>
        readFileSync(path.join(dir, "outbox", name), "utf8")
          .split("\n")
          .filter(Boolean),
      )
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Polls and steps the re-read every `everyMs` until `untilMs`, calling `at` before each poll. */
  async function run(untilMs: number, everyMs: number, at: (nowMs: number) => void = () => undefined) {
    while (clock.now() < untilMs) {
      at(clock.now());
      await poller().pollOnce();
      await rereader().step(everyMs);
      await clock.advance(everyMs);
    }
  }

  it("writes a conversation changed 30 hours after it ended once more, as revision 2, and an unchanged one exactly once", async () => {
    const endMs = T0 - 10 * 60_000;
    sim.addConversations([conversation("conv-changed", endMs), conversation("conv-same", endMs)]);
    let changed = false;
    await run(T0 + 60 * HOUR, 30 * 60_000, (now) => {
      if (!changed && now >= endMs + 30 * HOUR) {
        changed = sim.updateConversation("conv-changed", conversation("conv-changed", endMs, "CALLBACK"));
      }
    });
    expect(changed).to.equal(true);

    const firstWrites = records("results-");
    expect(firstWrites.map((record) => record.conversationId).sort()).to.deep.equal([
      "conv-changed",
      "conv-same",
    ]);
    expect(firstWrites.every((record) => record.revision === 1)).to.equal(true);
    const corrections = records("corrections-");
    expect(corrections, "one correction, for the changed conversation only").to.have.length(1);
    expect(corrections[0]).to.deep.include({
      conversationId: "conv-changed",
      contactId: "contact-conv-changed",
      wrapUpCodes: ["CALLBACK"],
      revision: 2,
    });
    // Within one interval of the change, and the record is complete: it replaces the first one.
    const correctedAt = Date.parse(String(corrections[0]!.correctedAt));
    expect(correctedAt).to.be.within(endMs + 30 * HOUR, endMs + 36 * HOUR + 30 * 60_000);
    const { revision: _first, ...firstFields } = firstWrites.find(
      (r) => r.conversationId === "conv-changed",
    )!;
    expect(Object.keys(corrections[0]!)).to.include.members(Object.keys(firstFields));

    // Past the window, the conversations are forgotten (bounded) and no longer read.
    const state = await store().load();
    expect(state.conversations).to.deep.equal({});
    const reads = sim.count(READ_BY_ID, 200);
    await run(T0 + 72 * HOUR, 30 * 60_000);
    expect(sim.count(READ_BY_ID, 200), "nothing left to re-read").to.equal(reads);
  });

  it("a second change is revision 3, and a change back is a correction too", async () => {
    const endMs = T0 - 10 * 60_000;
    sim.addConversations([conversation("conv-1", endMs)]);
    await run(T0 + 7 * HOUR, HOUR);
    sim.updateConversation("conv-1", conversation("conv-1", endMs, "CALLBACK"));
    await run(T0 + 14 * HOUR, HOUR);
    sim.updateConversation("conv-1", conversation("conv-1", endMs, "SALE"));
    await run(T0 + 21 * HOUR, HOUR);
    expect(records("corrections-").map((r) => [r.revision, (r.wrapUpCodes as string[])[0]])).to.deep.equal([
      [2, "CALLBACK"],
      [3, "SALE"],
    ]);
  });

  for (const point of ["after-temporary-file", "after-pending-saved", "after-rename"] as const) {
    it(`a restart after a crash ${point.replace(/-/g, " ")} writes the correction exactly once`, async () => {
      const endMs = T0 - 10 * 60_000;
      sim.addConversations([conversation("conv-1", endMs)]);
      await poller().pollOnce();
      await clock.advance(7 * HOUR);
      sim.updateConversation("conv-1", conversation("conv-1", endMs, "CALLBACK"));
      const crashed = await rereader({ hooks: crashAt(point) })
        .step(HOUR)
        .catch((error: unknown) => error);
      expect(crashed).to.be.instanceOf(SimulatedCrashError);
      await rereader().step(HOUR);
      await clock.advance(7 * HOUR);
      await rereader().step(HOUR);
      expect(records("corrections-").map((r) => r.revision)).to.deep.equal([2]);
      expect(readdirSync(path.join(dir, "outbox")).filter((name) => name.startsWith("."))).to.deep.equal([]);
    });
  }

  it("sends nothing while the client's budget is in demand, and catches up after", async () => {
    sim.addConversations([conversation("conv-1", T0 - 10 * 60_000)]);
    await poller().pollOnce();
    await clock.advance(HOUR);
    const before = sim.count(READ_BY_ID, 200);
    expect((await rereader({ busy: () => true }).step(HOUR)).requests).to.equal(0);
    expect(sim.count(READ_BY_ID, 200)).to.equal(before);
    expect((await rereader().step(HOUR)).requests).to.equal(1);
  });

  it("spreads a pass over the polls before the next one, within the per-minute ceiling", async () => {
    // 2,500 conversations exported (recorded as the poller records them), then one pass.
    const written: Record<string, readonly [number, string]> = {};
    for (let index = 0; index < 2_500; index += 1) written[`conv-${index}`] = [T0 - HOUR + index, "x"];
    await store().recordFirstWrites(written, T0);
    await clock.advance(60_000);
    const perStep: number[] = [];
    for (let step = 0; step < 72; step += 1) {
      perStep.push((await rereader({}, { ...DEFAULTS, maxRequestsPerMinute: 1 }).step(5 * 60_000)).requests);
      await clock.advance(5 * 60_000);
    }
    expect(
      perStep.reduce((sum, n) => sum + n, 0),
      "25 reads of 100 ids",
    ).to.equal(25);
    expect(Math.max(...perStep), "1 a minute × 5-minute steps").to.be.at.most(5);
    expect(perStep.slice(0, 3), "spread over the 72 steps of a 6-hour interval").to.deep.equal([1, 1, 1]);
  });
});
