import { expect } from "chai";
import { breakerPolicy, breakerWarning, CircuitBreaker } from "../../../app/src/genesys/circuit-breaker";
import { FakeClock } from "../../support/fake-clock";

const serverError = { kind: "server_error", detail: "HTTP 503" } as const;

describe("circuit breaker status and its /readyz warning", () => {
  it("reports when it opened, when it probes and the last failure, and forgets them once closed", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDurationMs: 10_000 }, clock);
    breaker.recordFailure(false, { kind: "timeout", detail: "UND_ERR_HEADERS_TIMEOUT" });
    expect(breaker.status()).to.deep.equal({ state: "closed", consecutiveFailures: 1 });
    await clock.advance(1_000);
    breaker.recordFailure(false, serverError);
    const openedAtMs = clock.now();
    expect(breaker.status()).to.deep.equal({
      state: "open",
      consecutiveFailures: 2,
      openedAtMs,
      probeAtMs: openedAtMs + 10_000,
      lastFailure: serverError,
    });

    const probe = breaker.admit();
    await clock.advance(10_000);
    expect(await probe).to.equal(true);
    expect(breaker.status())
      .to.deep.include({ state: "half-open", openedAtMs })
      .and.not.have.key("probeAtMs");
    breaker.recordSuccess(true);
    expect(breaker.status()).to.deep.equal({ state: "closed", consecutiveFailures: 0 });
    expect(breakerWarning(breaker.status(), clock.now())).to.equal(undefined);
  });

  it("says when the next call probes once the open time is over, and names a rate limit as such", () => {
    const openedAtMs = Date.parse("2026-11-21T08:00:00Z");
    const overdue = breakerWarning(
      {
        state: "open",
        consecutiveFailures: 7,
        openedAtMs,
        probeAtMs: openedAtMs + 10_000,
        lastFailure: { kind: "rate_limited", detail: "HTTP 429" },
      },
      openedAtMs + 60_000,
    );
    expect(overdue).to.match(
      /^Genesys Cloud keeps answering 429 \(rate limit\): the circuit breaker has been open/,
    );
    expect(overdue).to.contain("the next call goes through as a probe");
    expect(overdue).to.contain("other clients spending this organisation's rate limit");

    const halfOpen = breakerWarning(
      { state: "half-open", consecutiveFailures: 5, openedAtMs, lastFailure: serverError },
      openedAtMs + 10_000,
    );
    expect(halfOpen).to.match(
      /^Genesys Cloud outage: the circuit breaker is half-open \(it opened at 2026-11-21T08:00:00.000Z/,
    );
    expect(halfOpen).to.contain("one probe call is testing whether Genesys Cloud answers again");
  });
});

describe("the breaker as a policy", () => {
  const fails = (error: unknown) => async () => {
    throw error;
  };
  class Answered extends Error {}
  class NoAnswer extends Error {}
  const verdict = (error: unknown) =>
    error instanceof Answered
      ? "answered"
      : error instanceof NoAnswer
        ? "no-answer"
        : { failure: serverError };

  it("counts failures against the breaker, and any answer, even a refusal, for it", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, openDurationMs: 10_000 }, new FakeClock());
    const policy = breakerPolicy(breaker, verdict);
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    expect(breaker.status().consecutiveFailures).to.equal(2);
    await policy.execute(fails(new Answered("404"))).catch(() => undefined);
    expect(breaker.status().consecutiveFailures).to.equal(0);
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    expect(await policy.execute(async () => "ok")).to.equal("ok");
    expect(breaker.status().consecutiveFailures).to.equal(0);
  });

  it("a call that never reached Genesys says nothing, unless it was the probe, which lets callers through", async () => {
    const clock = new FakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, openDurationMs: 10_000 }, clock);
    const policy = breakerPolicy(breaker, verdict);
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    expect(breaker.state).to.equal("open");
    const probe = policy.execute(fails(new NoAnswer("no token")));
    probe.catch(() => undefined);
    await clock.advance(10_000);
    expect(await probe.catch((error: unknown) => error)).to.be.instanceOf(NoAnswer);
    expect(breaker.state).to.equal("closed");
    await policy.execute(fails(new Error("503"))).catch(() => undefined);
    await policy.execute(fails(new NoAnswer("no token"))).catch(() => undefined);
    expect(breaker.status()).to.deep.include({ state: "closed", consecutiveFailures: 1 });
  });
});
