import { expect } from "chai";
import { ClientClosedError, GenesysHttpError, RateLimitDeferredError } from "../../../app/src/genesys/errors";
import { ImportStoppedError } from "../../../app/src/import/errors";
import { genesysWorkRetries, untilAnswered } from "../../../app/src/import/retries";
import { FakeClock } from "../../support/fake-clock";

/** A call that fails with each of `failures` in turn, then answers "ok". */
function failing(failures: unknown[]) {
  let calls = 0;
  const call = async () => {
    calls += 1;
    if (failures.length > 0) throw failures.shift();
    return "ok";
  };
  return { call, calls: () => calls };
}

describe("the import's retries of Genesys work", () => {
  const transient = () => new GenesysHttpError("POST /contacts", 503, {});

  it("waits a deferral's Retry-After, and the work backoff (at least 1 s) for a transient failure", async () => {
    const clock = new FakeClock();
    const retried: number[] = [];
    const retries = genesysWorkRetries({ clock, random: () => 0.5 }, (event) => retried.push(event.attempt));
    const { call, calls } = failing([
      new RateLimitDeferredError("POST /contacts", 240_000, 180_000),
      transient(),
    ]);
    const answer = untilAnswered(retries, call, new AbortController().signal, undefined);
    await clock.advance(240_000 + 60_000);
    expect(await answer).to.equal("ok");
    expect(calls()).to.equal(3);
    // The second failure's backoff: half (the random) of 5 s doubled once.
    expect(clock.sleeps).to.deep.equal([240_000, 5_000]);
    expect(retried).to.deep.equal([0, 1]);
  });

  it("hands a target-fatal answer to the gate and a request-fatal one back, neither retried", async () => {
    const blocked: unknown[] = [];
    const gate = { block: (error: unknown) => blocked.push(error) > 0 };
    for (const [status, gated] of [
      [403, true],
      [400, false],
    ] as const) {
      const clock = new FakeClock();
      const refusal = new GenesysHttpError("POST /contacts", status, {});
      const { call, calls } = failing([refusal]);
      const retries = genesysWorkRetries({ clock, random: () => 0.5 }, () => undefined);
      const signal = new AbortController().signal;
      const outcome = await untilAnswered(retries, call, signal, gate as never).catch((error) => error);
      expect(outcome).to.equal(refusal);
      expect(calls()).to.equal(1);
      expect(blocked.includes(refusal)).to.equal(gated);
    }
  });

  it("stops with ImportStoppedError when the import stops during a wait, and lets a closed client through", async () => {
    const clock = new FakeClock();
    const stop = new AbortController();
    const retries = genesysWorkRetries({ clock, random: () => 0.5 }, () => undefined);
    const waiting = untilAnswered(retries, failing([transient()]).call, stop.signal, undefined).catch(
      (e) => e,
    );
    await clock.flush();
    stop.abort();
    expect(await waiting)
      .to.be.instanceOf(ImportStoppedError)
      .with.property("code", "IMPORT_STOPPED");

    const closed = new ClientClosedError();
    const passed = await untilAnswered(
      retries,
      failing([closed]).call,
      new AbortController().signal,
      undefined,
    ).catch((e) => e);
    expect(passed).to.equal(closed);
  });
});
