import { expect } from "chai";
import type { DetailsJobState } from "../../../app/src/genesys/api";
import type { GenesysClient } from "../../../app/src/genesys/client";
import {
  DetailsJobFailedError,
  DetailsJobTimeoutError,
  IDS_PER_READ,
  jobWindow,
  readConversationsById,
  TooManyConversationIdsError,
} from "../../../app/src/export/details-source";
import { ServiceError } from "../../../app/src/shared/errors";
import { FakeClock } from "../../support/fake-clock";

/**
 * How a conversation details job that never yields results ends, on a fake clock: a client that
 * answers the job's state from a script stands in for Genesys (the simulator-backed job runs are
 * in poller.test.ts).
 */
describe("results export: a details job that never yields results", () => {
  const window = { contactListIds: ["list-1"], startMs: 0, endMs: 48 * 3_600_000 };
  const settings = { pollIntervalMs: 2_000, timeoutMs: 10_000, pageSize: 1000 };

  /** A client whose job reads answer `states` in turn, then the last one for ever. */
  function scripted(states: DetailsJobState[], errorMessage?: string): GenesysClient {
    let reads = 0;
    return {
      request: async ({ method }: { method: string }) => {
        if (method === "POST") return { jobId: "job-1" };
        const state = states[Math.min(reads, states.length - 1)]!;
        reads += 1;
        return { state, ...(errorMessage ? { errorMessage } : {}) };
      },
    } as unknown as GenesysClient;
  }

  for (const state of ["FAILED", "CANCELLED", "EXPIRED"] as const) {
    it(`a job that ends ${state} is EXPORT_JOB_FAILED, retryable: the next run submits it again`, async () => {
      const clock = new FakeClock();
      const error = await clock
        .run(jobWindow(scripted(["PENDING", state], "quota"), window, clock, settings))
        .catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(DetailsJobFailedError).and.instanceOf(ServiceError);
      expect(error).to.include({ code: "EXPORT_JOB_FAILED", retryable: true, jobId: "job-1", state });
      expect((error as Error).message)
        .to.contain(`ended ${state}: quota`)
        .and.contain("run it again");
    });
  }

  it("a job still running at the deadline is EXPORT_JOB_TIMEOUT, retryable, after the configured time", async () => {
    const clock = new FakeClock();
    const started = clock.now();
    const error = await clock
      .run(jobWindow(scripted(["PENDING"]), window, clock, settings))
      .catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(DetailsJobTimeoutError);
    expect(error).to.include({ code: "EXPORT_JOB_TIMEOUT", retryable: true, timeoutMs: 10_000 });
    expect((error as Error).message).to.contain("not fulfilled within 10 s; try a smaller range");
    expect(clock.now() - started).to.equal(10_000);
  });
});

describe("results export: a read by id", () => {
  it("refuses more ids than one read takes (EXPORT_TOO_MANY_IDS) and sends nothing", async () => {
    let requests = 0;
    const client = {
      request: async () => {
        requests += 1;
        return { conversations: [] };
      },
    } as unknown as GenesysClient;
    const ids = Array.from({ length: IDS_PER_READ + 1 }, (_, index) => `conv-${index}`);
    const error = await readConversationsById(client, ids).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(TooManyConversationIdsError).and.instanceOf(ServiceError);
    expect(error).to.include({ code: "EXPORT_TOO_MANY_IDS", retryable: false, count: IDS_PER_READ + 1 });
    expect(requests).to.equal(0);
    expect(await readConversationsById(client, ids.slice(0, IDS_PER_READ))).to.deep.equal([]);
    expect(requests).to.equal(1);
  });
});
