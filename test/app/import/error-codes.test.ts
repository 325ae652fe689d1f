import { expect } from "chai";
import * as errors from "../../../app/src/import/errors";

const {
  BatcherInvariantError,
  FileRefusedError,
  IMPORT_ERROR_CODES,
  ImportError,
  ImportStoppedError,
  ReplicaIdError,
} = errors;

/** One instance of every import error class, made as the import makes them. */
const EXAMPLES: Record<string, errors.ImportError> = {
  ReplicaIdError: new ReplicaIdError("the nonce of a replica id is 8 hex digits"),
  BatcherInvariantError: new BatcherInvariantError("Batcher: two batches completed by one contact"),
  ImportStoppedError: new ImportStoppedError(),
  FileRefusedError: new FileRefusedError("the file is empty: it has no header row", undefined),
};

describe("import error codes", () => {
  it("has an example here for every error class the import exports", () => {
    const classes = Object.entries(errors)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof ImportError)
      .map(([name]) => name);
    expect(classes.sort()).to.deep.equal(Object.keys(EXAMPLES).sort());
  });

  it("lists exactly the codes the classes use, one each", () => {
    const codes = Object.values(EXAMPLES).map((error) => error.code);
    expect(new Set(codes).size, "one example per code").to.equal(codes.length);
    expect(codes.sort()).to.deep.equal(Object.keys(IMPORT_ERROR_CODES).sort());
    expect(EXAMPLES.ImportStoppedError!.code).to.equal("IMPORT_STOPPED");
  });

  it("says for every code what it means and what to do, in whole sentences", () => {
    for (const [code, doc] of Object.entries(IMPORT_ERROR_CODES)) {
      expect(doc.meaning, code).to.match(/^[A-Z].{20,}[.)]$/s);
      expect(doc.action, code).to.match(/^[A-Z].{10,}[.)]$/s);
    }
  });
});
