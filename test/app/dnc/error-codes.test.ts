import { expect } from "chai";
import * as errors from "../../../app/src/dnc/errors";

const { DNC_ERROR_CODES, DncError, DncIndexFileError, DncListNotInternalError } = errors;

/** One instance of every DNC error class, made as the DNC routes make them. */
const EXAMPLES: Record<string, errors.DncError> = {
  DncListNotInternalError: new DncListNotInternalError("dnc-1", "dnc.com"),
  DncIndexFileError: new DncIndexFileError(
    "/data/state/dnc/opt-outs/index/base.idx",
    "it has no header line",
  ),
};

describe("DNC error codes", () => {
  it("has an example here for every error class the DNC routes export", () => {
    const classes = Object.entries(errors)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof DncError)
      .map(([name]) => name);
    expect(classes.sort()).to.deep.equal(Object.keys(EXAMPLES).sort());
  });

  it("lists exactly the codes the classes use, one each", () => {
    const codes = Object.values(EXAMPLES).map((error) => error.code);
    expect(new Set(codes).size, "one example per code").to.equal(codes.length);
    expect(codes.sort()).to.deep.equal(Object.keys(DNC_ERROR_CODES).sort());
  });

  it("says for every code what it means and what to do, in whole sentences", () => {
    for (const [code, doc] of Object.entries(DNC_ERROR_CODES)) {
      expect(doc.meaning, code).to.match(/^[A-Z].{20,}[.)]$/s);
      expect(doc.action, code).to.match(/^[A-Z].{10,}[.)]$/s);
    }
  });
});
