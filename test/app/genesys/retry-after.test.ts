import { expect } from "chai";
import {
  parseRetryAfterBody,
  readRateLimitHeaders,
  retryAfterMs,
} from "../../../app/src/genesys/retry-after";

const NOW = Date.parse("2026-11-21T08:00:00Z");

describe("Retry-After and rate-limit headers", () => {
  it("reads seconds, an HTTP-date, and the body's [N] seconds, header first", () => {
    expect(retryAfterMs("42", undefined, NOW)).to.equal(42_000);
    expect(retryAfterMs(new Date(NOW + 90_000).toUTCString(), undefined, NOW)).to.equal(90_000);
    expect(retryAfterMs(new Date(NOW - 5_000).toUTCString(), undefined, NOW)).to.equal(0);
    const body = { message: "Rate limit exceeded the maximum. Retry the request in [17] seconds" };
    expect(retryAfterMs(undefined, body, NOW)).to.equal(17_000);
    expect(retryAfterMs("3", body, NOW)).to.equal(3_000);
    expect(retryAfterMs("soon", { message: "slow down" }, NOW)).to.equal(undefined);
    expect(parseRetryAfterBody("Retry the request in [1] second")).to.equal(1_000);
  });

  it("reads inin-ratelimit-* (allowed, count used, seconds to reset) and X-RateLimit-*", () => {
    expect(
      readRateLimitHeaders(
        { "inin-ratelimit-allowed": "300", "inin-ratelimit-count": "290", "inin-ratelimit-reset": "12" },
        NOW,
      ),
    ).to.deep.equal({ limit: 300, remaining: 10, resetInMs: 12_000 });
    expect(
      readRateLimitHeaders(
        {
          "x-ratelimit-limit": "300",
          "x-ratelimit-remaining": "7",
          "x-ratelimit-reset": String(NOW / 1000 + 30),
        },
        NOW,
      ),
    ).to.deep.equal({
      limit: 300,
      remaining: 7,
      resetInMs: 30_000,
    });
    expect(readRateLimitHeaders({}, NOW)).to.equal(undefined);
  });
});
