import { expect } from "chai";
import { ExpiryBatcher } from "../../../app/src/dnc/batches";
import { EntryNormaliser, parseExpiry } from "../../../app/src/dnc/entries";

const NOW = Date.parse("2026-11-21T08:00:00Z");

describe("a DNC file's entries (dnc/entries.ts, dnc/batches.ts)", () => {
  describe("phone numbers, as contacts' phone columns are normalised", () => {
    const gb = new EntryNormaliser("phone", "GB");

    it("writes national numbers in E.164 with the route's country, and keeps international ones", () => {
      expect(gb.normalise("07911 123456")).to.deep.equal({ entry: "+447911123456" });
      expect(gb.normalise(" +44 7911 123456 ")).to.deep.equal({ entry: "+447911123456" });
      expect(gb.normalise("+353 85 123 4567")).to.deep.equal({ entry: "+353851234567" });
      expect(new EntryNormaliser("phone", "IE").normalise("085 123 4567")).to.deep.equal({
        entry: "+353851234567",
      });
    });

    it("refuses an extension, a number that is not valid and an empty value, each with the fix", () => {
      expect(gb.normalise("+44 20 7946 0958 ext. 12")).to.deep.equal({
        problem:
          '"+44 20 7946 0958 ext. 12" has an extension (12): a DNC list holds numbers only, and Genesys compares the number it dials; drop the extension',
      });
      expect(gb.normalise("12"))
        .to.have.property("problem")
        .that.contains("is not a valid phone number (default country GB)");
      expect(gb.normalise("  ")).to.deep.equal({
        problem: "has no phone number: fill it in, or take the line out",
      });
    });
  });

  describe("email addresses", () => {
    const email = new EntryNormaliser("email", "GB");

    it("lower-cases a plain address, of any script", () => {
      expect(email.normalise(" Jane.Doe@Example.COM ")).to.deep.equal({ entry: "jane.doe@example.com" });
      expect(email.normalise("o'brien+news@mail.example.ie")).to.deep.equal({
        entry: "o'brien+news@mail.example.ie",
      });
      expect(email.normalise("zoë@exämple.de")).to.deep.equal({ entry: "zoë@exämple.de" });
      expect(email.normalise("a@example.xn--p1ai")).to.deep.equal({ entry: "a@example.xn--p1ai" });
    });

    it("refuses what is no plain address, saying what to write", () => {
      const problem = (value: string) => (email.normalise(value) as { problem: string }).problem;
      expect(problem("Jane <jane@example.com>")).to.contain("display name");
      expect(problem("mailto:jane@example.com")).to.contain('starts with "mailto:"');
      expect(problem("a@example.com, b@example.com")).to.contain("several addresses");
      expect(problem("jane doe@example.com")).to.contain("a space");
      expect(problem("jane.example.com")).to.contain("one @");
      expect(problem("jane@@example.com")).to.contain("one @");
      expect(problem("jane@localhost")).to.contain("no valid domain");
      expect(problem("jane..doe@example.com")).to.contain("name part");
      expect(problem(`${"a".repeat(65)}@example.com`)).to.contain("longer than an email address may be");
    });
  });

  describe("expiry", () => {
    it("takes an ISO 8601 date-time with a zone to the minute Genesys keeps, in UTC, rounded up", () => {
      expect(parseExpiry("2027-01-31T18:00Z", "Until", NOW)).to.deep.equal({ expiry: "2027-01-31T18:00Z" });
      expect(parseExpiry("2027-01-31T18:00:00.000+01:00", "Until", NOW)).to.deep.equal({
        expiry: "2027-01-31T17:00Z",
      });
      expect(parseExpiry("2027-01-31 18:00:30-0500", "Until", NOW)).to.deep.equal({
        expiry: "2027-01-31T23:01Z",
      });
      expect(parseExpiry("", "Until", NOW)).to.deep.equal({ expiry: undefined });
    });

    it("refuses a value without a zone, one that is no date-time, a date that does not exist and one already past", () => {
      const problem = (value: string) => (parseExpiry(value, "Until", NOW) as { problem: string }).problem;
      expect(problem("2027-01-31")).to.equal(
        'has Until "2027-01-31" without a time zone: write it with one, such as 2027-01-31T23:59Z (UTC) or +01:00',
      );
      expect(problem("2027-01-31T18:00")).to.contain("without a time zone");
      expect(problem("next Tuesday")).to.contain("which is no ISO 8601 date-time");
      expect(problem("2027-02-30T10:00Z")).to.contain("no date that exists");
      expect(problem("2027-01-31T25:00Z")).to.contain("no date that exists");
      expect(problem("2026-11-21T07:59Z")).to.contain("already past");
    });
  });

  describe("batches, one expiry a request", () => {
    it("fills a batch per expiry up to the cap, and flushes the rest in the order they were opened", () => {
      const batcher = new ExpiryBatcher(3, 4);
      const completed = [
        ...batcher.add("a", 1, undefined),
        ...batcher.add("b", 2, "2027-01-01T00:00Z"),
        ...batcher.add("c", 3, undefined),
        ...batcher.add("d", 4, undefined),
        ...batcher.add("e", 5, "2027-01-01T00:00Z"),
      ];
      expect(completed).to.deep.equal([
        { index: 0, expiry: undefined, entries: ["a", "c", "d"], lines: [1, 3, 4] },
      ]);
      expect(batcher.flush()).to.deep.equal([
        { index: 1, expiry: "2027-01-01T00:00Z", entries: ["b", "e"], lines: [2, 5] },
      ]);
    });

    it("closes the batch opened first when a file keeps changing expiry, so memory stays bounded and batches are the same on every read", () => {
      const run = () => {
        const batcher = new ExpiryBatcher(1_000, 2);
        const out = ["x1", "x2", "x3", "x1"].flatMap((expiry, index) =>
          batcher.add(`n${index}`, index + 1, expiry),
        );
        return [...out, ...batcher.flush()];
      };
      expect(run().map(({ index, expiry, entries }) => [index, expiry, entries])).to.deep.equal([
        [0, "x1", ["n0"]],
        [1, "x2", ["n1"]],
        [2, "x3", ["n2"]],
        [3, "x1", ["n3"]],
      ]);
      expect(run()).to.deep.equal(run());
    });
  });
});
