import { expect } from "chai";
import {
  ClientClosedError,
  failureClass,
  GenesysHttpError,
  InvalidClientCredentialsError,
  RateLimitDeferredError,
  RequestTooLargeError,
  RetriesExhaustedError,
  targetFix,
  TokenRequestError,
} from "../../../app/src/genesys/errors";

const ROUTE = "POST /api/v2/outbound/contactlists/{id}/contacts";

describe("failure classes of Genesys errors", () => {
  it("sorts every error the client raises into transient, deferred, request-fatal or target-fatal", () => {
    const http = (status: number, body: unknown = {}) => new GenesysHttpError(ROUTE, status, body);
    const cases: Array<[unknown, string, boolean]> = [
      [new RetriesExhaustedError(ROUTE, 5, http(503)), "transient", true],
      [new TokenRequestError("login throttled", { status: 400, throttled: true }), "transient", true],
      [new TypeError("fetch failed"), "transient", false],
      [http(429), "transient", true],
      [http(502), "transient", true],
      [new RateLimitDeferredError(ROUTE, 600_000, 180_000), "deferred", true],
      [http(400), "request-fatal", false],
      [http(413), "request-fatal", false],
      [new RequestTooLargeError(ROUTE, 600_000, 512_000), "request-fatal", false],
      [http(401), "target-fatal", false],
      [http(403), "target-fatal", false],
      [http(404), "target-fatal", false],
      [new InvalidClientCredentialsError(401, "invalid_client"), "target-fatal", false],
    ];
    for (const [error, expected, retryable] of cases) {
      expect(failureClass(error), String(error)).to.equal(expected);
      expect(Boolean((error as { retryable?: boolean }).retryable), String(error)).to.equal(retryable);
    }
    expect(new ClientClosedError().retryable).to.equal(false);
  });

  it("names the fix of a target-fatal answer: the missing permission, the list, the credentials", () => {
    const forbidden = new GenesysHttpError(ROUTE, 403, {
      code: "missing.permissions",
      message: "You are missing the following permission(s): outbound:contact:add",
      messageParams: { permissions: "outbound:contact:add" },
    });
    expect(targetFix(forbidden, "contact list L1")).to.contain("outbound:contact:add");
    expect(targetFix(new GenesysHttpError(ROUTE, 404, { code: "not.found" }), "contact list L1")).to.contain(
      "check that contact list L1 exists",
    );
    expect(targetFix(new InvalidClientCredentialsError(401, "invalid_client"), "x")).to.contain(
      "GENESYS_CLIENT_ID",
    );
  });
});
