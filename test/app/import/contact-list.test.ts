import { expect } from "chai";
import type { ImportConfig } from "../../../app/src/import/config";
import {
  capacityWarning,
  fileHeaderProblems,
  listHeaderProblems,
} from "../../../app/src/import/contact-list";
import { LIST_LIMITS } from "../../../app/src/import/list-limits";
import { RowValidator } from "../../../app/src/import/rows";
import type { GenesysSimulator } from "../../../simulator/simulator";
import { phoneFor } from "../../support/contacts";
import { startHarness, waitFor } from "../../support/harness";

const LIST = {
  id: "list-1",
  name: "Nightly",
  columnNames: ["id", "Phone", "mobile", "firstName"],
  phoneColumns: [{ columnName: "Phone", type: "cell" }],
  size: 10,
};

describe("contact-list preflight", () => {
  describe("the header against the list's definition", () => {
    it("matches column names case-insensitively, as Genesys does", () => {
      expect(
        listHeaderProblems(["ID", "phone", "FirstName"], LIST, { phoneColumns: ["phone"] }),
      ).to.deep.equal([]);
    });

    it("names a column the list does not have, and the fix", () => {
      const [problem] = listHeaderProblems(["id", "phone", "email"], LIST, { phoneColumns: ["phone"] });
      expect(problem).to.contain('"email" is not a column of contact list "Nightly" (list-1)');
      expect(problem).to.contain("its columns: id, Phone, mobile, firstName");
      expect(problem).to.contain("add it to the list");
    });

    it("names a phone column the list does not declare as one", () => {
      const problems = listHeaderProblems(["id", "phone", "mobile"], LIST, {
        phoneColumns: ["phone", "mobile"],
      });
      expect(problems).to.have.length(1);
      expect(problems[0]).to.contain('column "mobile" holds phone numbers');
      expect(problems[0]).to.contain("its phone columns: Phone");
    });

    it("refuses two header columns the list would read as one (id and ID, Name and name)", () => {
      const config = { idColumn: "id", phoneColumns: ["phone"], defaultCountry: "IE", columns: [] };
      const validator = new RowValidator(config as unknown as ImportConfig);
      for (const [header, first, second] of [
        [["id", "phone", "ID"], "id", "ID"],
        [["id", "phone", "firstName", "FirstName"], "firstName", "FirstName"],
      ] as const) {
        const problems = fileHeaderProblems(header, validator, LIST, config);
        expect(problems, header.join()).to.have.length(1);
        expect(problems[0]).to.contain(`"${first}" and "${second}", which Genesys reads as one column`);
        expect(problems[0]).to.contain("rename or remove one");
      }
    });

    it("refuses more than 50 columns and names longer than 128 characters", () => {
      const wide = Array.from({ length: LIST_LIMITS.columns + 1 }, (_, index) => `c${index}`);
      expect(listHeaderProblems(wide, { ...LIST, columnNames: [] }, { phoneColumns: [] })[0]).to.contain(
        "51 columns; a Genesys contact list holds at most 50",
      );
      const long = "x".repeat(129);
      expect(
        listHeaderProblems(["id", long], { ...LIST, columnNames: [] }, { phoneColumns: [] })[0],
      ).to.contain("129-character name");
    });
  });

  it("warns when a file could push the list past 1,000,000 contacts, and not before", () => {
    expect(capacityWarning({ ...LIST, size: 999_000 }, 1_000)).to.equal(undefined);
    expect(capacityWarning({ ...LIST, size: 999_000 }, 1_001)).to.contain("could take it to 1000001");
    expect(capacityWarning({ ...LIST, size: undefined }, 5_000_000)).to.equal(undefined);
  });

  describe("through the service, against a defined list in the simulator", function () {
    this.timeout(60_000);
    let h: Awaited<ReturnType<typeof startHarness>>;
    afterEach(async () => h?.close());

    const define = (sim: GenesysSimulator) =>
      sim.defineContactList(sim.contactListIds[0]!, {
        columnNames: ["id", "phone", "note"],
        phoneColumns: [{ columnName: "phone", type: "cell" }],
      });

    it("refuses a file whose header cannot go into the list, before sending anything", async () => {
      h = await startHarness({ beforeService: define });
      h.drop("wrong.csv", `id,phone,email\nc1,${phoneFor(1)},a@example.com\n`);
      await waitFor(() => h.list("rejects").some((name) => name.endsWith("wrong.csv")), "the file refused");
      const reason = h.read(
        "rejects",
        h.list("rejects").find((name) => name.endsWith("wrong.csv.reason.txt"))!,
      );
      expect(reason).to.contain('"email" is not a column of contact list');
      expect(h.sim.stats().contactWrites).to.equal(0);
    });

    it("rejects rows whose values Genesys would not keep, with their line, and syncs the rest", async () => {
      h = await startHarness({ beforeService: define });
      const long = "y".repeat(LIST_LIMITS.valueChars + 1);
      h.drop(
        "notes.csv",
        `id,phone,note\nc1,${phoneFor(1)},short\nc2,${phoneFor(2)},${long}\nc3,${phoneFor(3)},\n`,
      );
      await waitFor(() => h.list("archive").some((name) => name.endsWith("notes.csv")), "the file imported");
      expect([...h.sim.contacts().keys()].sort()).to.deep.equal(["c1", "c3"]);
      const report = h.read(
        "rejects",
        h.list("rejects").find((name) => name.endsWith("notes.csv.rejects.csv"))!,
      );
      expect(report).to.contain("3,");
      expect(report).to.contain("column note holds 513 characters; Genesys keeps at most 512");
    });
  });
});
