import { expect } from "chai";
import * as errors from "../../../app/src/genesys/errors";
import {
  ClientClosedError,
  GENESYS_ERROR_CODES,
  GenesysError,
  GenesysHttpError,
  InvalidClientCredentialsError,
  RateLimitDeferredError,
  RequestTooLargeError,
  RetriesExhaustedError,
  TokenRequestError,
  UploadCutShortError,
  UploadOutcomeUnknownError,
} from "../../../app/src/genesys/errors";

const ROUTE = "POST /api/v2/outbound/contactlists/{id}/contacts";

/** One instance of every error class the client exports, made as the client makes them. */
const EXAMPLES: Record<string, GenesysError> = {
  InvalidClientCredentialsError: new InvalidClientCredentialsError(401, "invalid_client: bad secret"),
  TokenRequestError: new TokenRequestError("the login server answered 503", { status: 503 }),
  GenesysHttpError: new GenesysHttpError(ROUTE, 403, { code: "missing.permissions" }),
  RateLimitDeferredError: new RateLimitDeferredError(ROUTE, 600_000, 180_000),
  RequestTooLargeError: new RequestTooLargeError(ROUTE, 600_000, 512_000),
  RetriesExhaustedError: new RetriesExhaustedError(ROUTE, 5, new Error("HTTP 503")),
  UploadOutcomeUnknownError: new UploadOutcomeUnknownError(ROUTE, new Error("ECONNRESET")),
  UploadCutShortError: new UploadCutShortError(ROUTE, 10, 100, new Error("aborted")),
  ClientClosedError: new ClientClosedError(),
};

describe("Genesys error codes", () => {
  it("has an example here for every error class errors.ts exports", () => {
    const classes = Object.entries(errors)
      .filter(
        ([, value]) =>
          typeof value === "function" && value.prototype instanceof GenesysError && value !== GenesysError,
      )
      .map(([name]) => name);
    expect(classes.sort()).to.deep.equal(Object.keys(EXAMPLES).sort());
  });

  it("gives each class its own constant code, and lists exactly those codes", () => {
    const codes = Object.values(EXAMPLES).map((error) => error.code);
    expect(new Set(codes).size, "one class per code").to.equal(codes.length);
    expect(codes.sort()).to.deep.equal(Object.keys(GENESYS_ERROR_CODES).sort());
  });

  it("keeps the codes that logs, alerts and tests already match on", () => {
    expect(EXAMPLES.InvalidClientCredentialsError!.code).to.equal("GENESYS_INVALID_CLIENT");
    expect(EXAMPLES.RateLimitDeferredError!.code).to.equal("GENESYS_RATE_LIMIT_DEFERRED");
    expect(EXAMPLES.UploadOutcomeUnknownError!.code).to.equal("GENESYS_UPLOAD_OUTCOME_UNKNOWN");
    expect(EXAMPLES.ClientClosedError!.code).to.equal("GENESYS_CLIENT_CLOSED");
  });

  it("says for every code what it means and what to do, in whole sentences", () => {
    for (const [code, doc] of Object.entries(GENESYS_ERROR_CODES)) {
      expect(doc.meaning, code).to.match(/^[A-Z].{20,}[.)]$/s);
      expect(doc.action, code).to.match(/^[A-Z].{10,}[.)]$/s);
    }
  });
});
