import { expect } from "chai";
import path from "node:path";
import { FingerprintStore, fingerprintOf } from "../../../app/src/export/fingerprints";
import { outcomeOf } from "../../../app/src/export/outcomes";
import { Rereader } from "../../../app/src/export/reread";
import { SETTING } from "../../../app/src/shared/settings";
import type { SimulatedConversation } from "../../../simulator/simulator";
import { capturedLogger } from "../../support/capture";
import { EXPORT_LIST, openExportFixture } from "../../support/export-fixture";
import { FakeClock } from "../../support/fake-clock";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The README's figure: what the late-data re-read costs in requests per 1,000 conversations a
 * day, with the defaults (48 h window, 6 h interval, 5-minute polls, 100 ids a read). Four days of
 * a steady 1,000 conversations a day, each recorded as written at the first poll after it ended
 * (as the poller records it; reread.test.ts runs the poller itself), then re-read by the real
 * re-reader against the simulator on a fake clock; days 3 and 4 (the window full) are counted.
 *
 * Expected: a pass every 6 h reads the conversations that ended in the last 48 + 6 h, 2,250 of them,
 * in ceil(2,250 / 100) = 23 reads; 4 passes a day → 92 requests a day.
 */
describe("results export: what the late-data re-read costs (simulator, fake clock)", function () {
  this.timeout(300_000);

  it("costs about 92 requests a day per 1,000 conversations a day with the defaults", async () => {
    const LIST = EXPORT_LIST;
    const T0 = Date.parse("2026-11-21T00:00:00Z");
    const fixture = await openExportFixture("reread-cost-", { budget: 1_000_000, clock: new FakeClock(T0) });
    const { sim, client, dir, clock } = fixture;
    try {
      const windowMs = Number(SETTING.EXPORT_REREAD_WINDOW_HOURS.default) * HOUR;
      const intervalMs = Number(SETTING.EXPORT_REREAD_INTERVAL_SECONDS.default) * 1000;
      const pollMs = Number(SETTING.POLLING_INTERVAL_SECONDS.default) * 1000;
      const perDay = 1_000;
      const days = 4;
      const conversations: SimulatedConversation[] = [];
      for (let index = 0; index < perDay * days; index += 1) {
        const endMs = T0 + Math.floor((index * DAY) / perDay) + 60_000;
        conversations.push({
          conversationId: `conv-${index}`,
          conversationStart: new Date(endMs - 60_000).toISOString(),
          conversationEnd: new Date(endMs).toISOString(),
          participants: [{ purpose: "customer", sessions: [{ outboundContactListId: LIST }] }],
        });
      }
      sim.addConversations(conversations);
      const store = new FingerprintStore(path.join(dir, "fingerprints.json"), windowMs + intervalMs, 200_000);
      const logger = capturedLogger().logger;
      const rereader = new Rereader(
        client,
        store,
        {
          windowMs,
          intervalMs,
          maxRequestsPerMinute: Number(SETTING.EXPORT_REREAD_MAX_REQUESTS_PER_MINUTE.default),
          outboxDir: path.join(dir, "outbox"),
        },
        clock,
        logger,
      );
      const reads: number[] = [];
      let written = 0;
      for (let day = 0; day < days; day += 1) {
        let dayReads = 0;
        for (let at = 0; at < DAY; at += pollMs) {
          await clock.advance(pollMs);
          const ended: Record<string, readonly [number, string]> = {};
          for (; written < conversations.length; written += 1) {
            const endMs = Date.parse(conversations[written]!.conversationEnd!);
            if (endMs > clock.now()) break;
            ended[conversations[written]!.conversationId] = [
              endMs,
              fingerprintOf(outcomeOf(conversations[written]!)),
            ];
          }
          await store.recordFirstWrites(ended, clock.now());
          const step = await rereader.step(pollMs);
          dayReads += step.requests;
          expect(step.corrections, "nothing changed").to.equal(0);
        }
        reads.push(dayReads);
      }
      console.log(
        `      re-read requests per day: ${reads.join(", ")} (the window fills over the first two days)`,
      );
      for (const dayReads of reads.slice(2)) expect(dayReads).to.be.within(88, 96);
      expect(sim.count("GET /api/v2/analytics/conversations/details", 200)).to.equal(
        reads.reduce((sum, n) => sum + n, 0),
      );
    } finally {
      await fixture.close();
    }
  });
});
