import { expect } from "chai";
import {
  BACKOFF,
  backoffDelayMs,
  retryPolicy,
  wrap,
  type GiveUpEvent,
  type RetryEvent,
  type RetryOptions,
} from "../../../app/src/shared/retry";
import { FakeClock } from "../../support/fake-clock";

class Transient extends Error {}
class RateLimited extends Error {
  constructor(readonly retryAfterMs?: number) {
    super("429");
  }
}
class Fatal extends Error {}

/** A call that fails with the given errors in turn, then answers "ok"; counts its attempts. */
function script(...failures: Error[]) {
  const attempts: number[] = [];
  const fn = async ({ attempt }: { attempt: number }) => {
    attempts.push(attempt);
    const failure = failures.shift();
    if (failure) throw failure;
    return "ok";
  };
  return { fn, attempts };
}

function setup(overrides: Partial<RetryOptions> = {}) {
  const clock = new FakeClock();
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  const policy = retryPolicy({
    clock,
    random: () => 0.5,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
    onRetry: (event) => retries.push(event),
    onGiveUp: (event) => giveUps.push(event),
    ...overrides,
  });
  return { clock, policy, retries, giveUps };
}

describe("retry policy (fake clock)", () => {
  describe("backoffDelayMs", () => {
    it("doubles from the initial delay up to the cap, with full jitter", () => {
      const settings = { initialDelayMs: 500, maxDelayMs: 30_000 };
      expect(
        [0, 1, 2, 3, 10].map((attempt) => backoffDelayMs(settings, attempt, () => 0.999999)),
      ).to.deep.equal([499, 999, 1_999, 3_999, 29_999]);
      expect(backoffDelayMs(settings, 5, () => 0)).to.equal(0);
    });

    it("keeps the floor whatever the jitter draws, and skips jitter when told", () => {
      expect(backoffDelayMs(BACKOFF.genesysWork, 0, () => 0)).to.equal(1_000);
      expect(backoffDelayMs(BACKOFF.genesysWork, 3, () => 0.5)).to.equal(20_000);
      expect(backoffDelayMs(BACKOFF.rejectedCredentials, 2, () => 0)).to.equal(120_000);
      expect(backoffDelayMs(BACKOFF.rejectedCredentials, 10, () => 0)).to.equal(600_000);
    });
  });

  it("waits the backoff between attempts and never sends early", async () => {
    const { clock, policy, retries } = setup();
    const { fn, attempts } = script(new Transient(), new Transient(), new Transient());
    const pending = policy.execute(fn);
    await clock.advance(49);
    expect(attempts).to.deep.equal([0]);
    await clock.advance(1);
    expect(attempts).to.deep.equal([0, 1]);
    expect(await clock.run(pending)).to.equal("ok");
    expect(clock.sleeps).to.deep.equal([50, 100, 200]);
    expect(retries.map((event) => [event.attempt, event.delayMs])).to.deep.equal([
      [0, 50],
      [1, 100],
      [2, 200],
    ]);
  });

  it("gives up after maxAttempts tries with the last failure, or with what giveUpWith makes of it", async () => {
    const { clock, policy, giveUps } = setup({ maxAttempts: 3 });
    const last = new Transient("third");
    const { fn, attempts } = script(new Transient(), new Transient(), last);
    expect(await clock.run(policy.execute(fn)).catch((error: unknown) => error)).to.equal(last);
    expect(attempts).to.have.length(3);
    expect(giveUps.map((event) => [event.reason, event.failures])).to.deep.equal([["attempts", 3]]);

    const mapped = setup({ maxAttempts: 2, giveUpWith: (event) => new Fatal(`after ${event.failures}`) });
    const error = await mapped.clock
      .run(mapped.policy.execute(script(new Transient(), new Transient()).fn))
      .catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(Fatal).with.property("message", "after 2");
  });

  it("lets the failures it does not handle through at once, without counting them", async () => {
    const { clock, policy, retries, giveUps } = setup({ shouldRetry: (error) => error instanceof Transient });
    const fatal = new Fatal();
    const { fn, attempts } = script(fatal);
    expect(await clock.run(policy.execute(fn)).catch((error: unknown) => error)).to.equal(fatal);
    expect(attempts).to.deep.equal([0]);
    expect(clock.sleeps).to.deep.equal([]);
    expect([retries, giveUps]).to.deep.equal([[], []]);
  });

  it("waits what the failure names (Retry-After) instead of the backoff, and gives up past maxDelayMs", async () => {
    const { clock, policy, giveUps } = setup({
      delayFor: (error) => (error instanceof RateLimited ? error.retryAfterMs : undefined),
      maxDelayMs: 10_000,
    });
    await clock.run(policy.execute(script(new RateLimited(7_000), new RateLimited(), new Transient()).fn));
    expect(clock.sleeps).to.deep.equal([7_000, 100, 200]);

    const tooLong = new RateLimited(10_001);
    const error = await clock.run(policy.execute(script(tooLong).fn)).catch((caught: unknown) => caught);
    expect(error).to.equal(tooLong);
    expect(giveUps.map((event) => [event.reason, event.delayMs])).to.deep.equal([["delay", 10_001]]);
  });

  it("does not start a retry that would end past the deadline", async () => {
    const { clock, policy, giveUps } = setup({
      backoff: { initialDelayMs: 400, maxDelayMs: 400, jitter: "none" },
      deadlineMs: 500,
    });
    const { fn, attempts } = script(new Transient(), new Transient());
    await clock.run(policy.execute(fn)).catch(() => undefined);
    expect(attempts).to.have.length(2);
    expect(giveUps.map((event) => event.reason)).to.deep.equal(["deadline"]);
  });

  it("stops waiting when the signal aborts, with the signal's reason or what abortError makes", async () => {
    const { clock, policy } = setup();
    const controller = new AbortController();
    const pending = policy.execute(script(new Transient()).fn, controller.signal);
    await clock.flush();
    const shutdown = new Fatal("shutting down");
    controller.abort(shutdown);
    expect(await pending.catch((error: unknown) => error)).to.equal(shutdown);

    const mapped = setup({ abortError: () => new Fatal("closed") });
    const { fn, attempts } = script();
    const error = await mapped.policy.execute(fn, AbortSignal.abort()).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(Fatal).with.property("message", "closed");
    expect(attempts).to.deep.equal([]);
  });

  it("reports a failure that comes after the abort as the abort, without retrying it", async () => {
    const controller = new AbortController();
    const { clock, policy, retries } = setup({ abortError: () => new Fatal("closed") });
    const fn = async () => {
      controller.abort();
      throw new Transient("cut off");
    };
    const error = await clock.run(policy.execute(fn, controller.signal)).catch((caught: unknown) => caught);
    expect(error).to.be.instanceOf(Fatal).with.property("message", "closed");
    expect(retries).to.deep.equal([]);
  });

  it("spends the delay the way `wait` says instead of sleeping", async () => {
    const waited: number[] = [];
    const { clock, policy } = setup({
      wait: async (event) => {
        waited.push(event.delayMs);
      },
    });
    expect(await policy.execute(script(new Transient(), new Transient()).fn)).to.equal("ok");
    expect(waited).to.deep.equal([50, 100]);
    expect(clock.sleeps).to.deep.equal([]);
  });

  describe("wrap", () => {
    function layers() {
      const clock = new FakeClock();
      const common = { clock, random: () => 0.5, backoff: { initialDelayMs: 100, maxDelayMs: 100 } };
      const rateLimits = retryPolicy({
        ...common,
        maxAttempts: 3,
        shouldRetry: (error) => error instanceof RateLimited,
      });
      const transient = retryPolicy({
        ...common,
        maxAttempts: 2,
        shouldRetry: (error) => error instanceof Transient,
      });
      return { clock, policy: wrap(rateLimits, transient) };
    }

    it("each layer retries its own failures; attempts are numbered across the whole call", async () => {
      const { clock, policy } = layers();
      const { fn, attempts } = script(new RateLimited(), new Transient(), new RateLimited());
      expect(await clock.run(policy.execute(fn))).to.equal("ok");
      expect(attempts).to.deep.equal([0, 1, 2, 3]);
    });

    it("an outer retry does not give an inner layer a fresh budget", async () => {
      const { clock, policy } = layers();
      const second = new Transient("second");
      const { fn, attempts } = script(new Transient(), new RateLimited(), second);
      expect(await clock.run(policy.execute(fn)).catch((error: unknown) => error)).to.equal(second);
      expect(attempts).to.have.length(3);
    });

    it("each execute is a new call with new budgets", async () => {
      const { clock, policy } = layers();
      await clock.run(policy.execute(script(new Transient()).fn));
      expect(await clock.run(policy.execute(script(new Transient()).fn))).to.equal("ok");
    });
  });
});
