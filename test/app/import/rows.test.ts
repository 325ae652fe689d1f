import { expect } from "chai";
import type { ImportConfig } from "../../../app/src/import/config";
import { Batcher, batchBody, contactJson, MAX_BATCH_BYTES } from "../../../app/src/import/batcher";
import { RowValidator } from "../../../app/src/import/rows";

const CONFIG: ImportConfig = {
  idColumn: "id",
  phoneColumns: ["phone", "mobile"],
  defaultCountry: "IE",
  columns: [],
  scanIntervalSeconds: 5,
  claimTimeoutSeconds: 300,
  settleSeconds: 5,
  batchesInFlight: 4,
  maxRecordBytes: 1_048_576,
  maxRejectedRows: 50_000,
  bulk: { allowClear: false, uploadTimeoutSeconds: 900, unseenSeconds: 120, pollMaxSeconds: 30 },
};

describe("row validation", () => {
  it("normalises phone numbers to E.164 with the default country", () => {
    const verdict = new RowValidator(CONFIG).validate(2, {
      id: "a",
      phone: "085 123 4567",
      mobile: "+44 7911 123456",
    });
    expect(verdict).to.deep.equal({
      ok: true,
      id: "a",
      data: { id: "a", phone: "+353851234567", mobile: "+447911123456" },
    });
  });

  it("names the problem of a bad row", () => {
    const validator = new RowValidator(CONFIG);
    expect(validator.validate(2, { id: "", phone: "0851234567" })).to.deep.equal({
      ok: false,
      reason: "has no id",
    });
    expect(validator.validate(3, { id: "b", phone: "12" })).to.deep.equal({
      ok: false,
      reason: 'column phone: "12" is not a valid phone number (default country IE)',
    });
    expect(validator.validate(4, { id: "c", phone: "", mobile: " " })).to.deep.equal({
      ok: false,
      reason: "has no phone number in phone, mobile",
    });
  });

  it("keeps the first row of a repeated id and reports the repeat with both lines", () => {
    const validator = new RowValidator(CONFIG);
    expect(validator.validate(2, { id: "dup", phone: "0851234567" }).ok).to.equal(true);
    expect(validator.validate(9, { id: "dup", phone: "0851234568" })).to.deep.equal({
      ok: false,
      reason: "repeats id dup from line 2; the first row was kept",
    });
  });

  it("forgets ids beyond the window, so memory stays bounded", () => {
    const validator = new RowValidator(CONFIG, 2);
    for (const id of ["a", "b", "c"]) validator.validate(1, { id, phone: "0851234567" });
    expect(validator.validate(5, { id: "a", phone: "0851234567" }).ok).to.equal(true);
    expect(validator.validate(6, { id: "c", phone: "0851234567" }).ok).to.equal(false);
  });

  it("keeps exactly the last ids of the window as it wraps round many times", () => {
    const validator = new RowValidator(CONFIG, 3);
    for (let index = 0; index < 100; index += 1)
      validator.validate(index, { id: `i${index}`, phone: "0851234567" });
    for (const id of ["i97", "i98", "i99"])
      expect(validator.validate(200, { id, phone: "0851234567" }).ok, id).to.equal(false);
    expect(validator.validate(201, { id: "i96", phone: "0851234567" }).ok).to.equal(true);
  });

  it("refuses a header without the id or phone columns, or with columns the contact list lacks", () => {
    const strict = new RowValidator({ ...CONFIG, columns: ["id", "phone", "mobile", "name"] });
    expect(strict.headerProblems(["id", "phone", "name"])).to.deep.equal([]);
    const problems = strict.headerProblems(["ident", "email", "email"]);
    expect(problems.join("\n")).to.contain('names "email" twice');
    expect(problems.join("\n")).to.contain('no "id" column (IMPORT_ID_COLUMN)');
    expect(problems.join("\n")).to.contain("none of the phone columns phone, mobile");
    expect(problems.join("\n")).to.contain(
      'columns "ident", "email", "email" are not columns of the contact list',
    );
  });
});

describe("what Genesys would take otherwise than written", () => {
  const MERGED =
    "Genesys reads as one column (it matches column names case-insensitively, so one value would silently replace the other): rename or remove one";

  it("refuses a header with two columns that differ only by case, naming both spellings", () => {
    const validator = new RowValidator(CONFIG);
    expect(validator.headerProblems(["id", "phone", "Name", "name"])).to.deep.equal([
      `the header has columns "Name" and "name", which ${MERGED}`,
    ]);
    expect(validator.headerProblems(["id", "phone", "ID"])).to.deep.equal([
      `the header has columns "id" and "ID", which ${MERGED}`,
    ]);
    expect(validator.headerProblems(["id", "phone", "email", "email"])).to.deep.equal([
      'the header names "email" twice: rename or remove one',
    ]);
  });

  it("refuses a header with a NUL byte in a column name", () => {
    expect(new RowValidator(CONFIG).headerProblems(["id", "phone", "no\u0000te"])).to.deep.equal([
      'the header\'s column "no\\0te" contains a NUL byte (\\0): remove it',
    ]);
  });

  it("refuses a row with a NUL byte in a value, naming the column", () => {
    const validator = new RowValidator(CONFIG);
    expect(validator.validate(2, { id: "a", phone: "0851234567", note: "one\u0000two" })).to.deep.equal({
      ok: false,
      reason: "contains a NUL byte (\\0) in column note: remove it",
    });
    expect(validator.validate(3, { id: "b\u0000", phone: "0851234567" })).to.deep.equal({
      ok: false,
      reason: "contains a NUL byte (\\0) in column id: remove it",
    });
    expect(
      validator.validate(4, { id: "c", phone: "0851234567", note: "\\0 is fine written out" }).ok,
    ).to.equal(true);
  });

  it("refuses a phone number with an extension rather than dial it without", () => {
    const validator = new RowValidator(CONFIG);
    const written = [
      ["+353 1 234 5678 ext. 12", "12"],
      ["01 234 5678 x12", "12"],
      ["+353 1 234 5678;ext=12", "12"],
      ["+353 1 234 5678 #12", "12"],
      ["+44 7911 123456 extension 345", "345"],
    ];
    for (const [index, [raw, extension]] of written.entries())
      expect(validator.validate(index, { id: `e${index}`, mobile: raw! }), raw).to.deep.equal({
        ok: false,
        reason: `column mobile: "${raw}" has an extension (${extension}): Genesys dials the number only; put the extension in another column`,
      });
  });
});

describe("batching", () => {
  it("cuts batches at 1,000 contacts", () => {
    const batcher = new Batcher();
    const batches = [];
    for (let index = 0; index < 2_500; index += 1) {
      const batch = batcher.add(JSON.stringify({ id: String(index) }), index + 2);
      if (batch) batches.push(batch);
    }
    batches.push(batcher.flush()!);
    expect(batches.map((batch) => batch.json.length)).to.deep.equal([1_000, 1_000, 500]);
    expect(batches.map((batch) => batch.index)).to.deep.equal([0, 1, 2]);
    expect(batches[1]!.lines[0]).to.equal(1_002);
  });

  it("keeps every body under 512,000 bytes however large the contacts", () => {
    const batcher = new Batcher();
    const big = JSON.stringify({ id: "x", data: { note: "é".repeat(5_000) } });
    const batches = [];
    for (let index = 0; index < 300; index += 1) {
      const batch = batcher.add(big, index);
      if (batch) batches.push(batch);
    }
    batches.push(batcher.flush()!);
    for (const batch of batches) expect(Buffer.byteLength(batchBody(batch))).to.be.at.most(MAX_BATCH_BYTES);
    expect(batches.reduce((sum, batch) => sum + batch.json.length, 0)).to.equal(300);
    expect(JSON.parse(batchBody(batches[0]!))).to.have.length(batches[0]!.json.length);
  });
});

describe("contact serialisation", () => {
  it("writes exactly what JSON.stringify writes, whatever the text", () => {
    const awkward = [
      "",
      "plain",
      'say "hi"',
      "back\\slash",
      "tab\there\nnewline\r",
      "\u0000\u001f\u007f",
      "line\u2028separator",
      "caf\u00e9 \u6771\u4eac",
      "emoji \ud83d\ude00",
      "lone \ud800 high",
      "lone \udc00 low",
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const pick = () => awkward[Math.floor(random() * awkward.length)]!;
    for (let round = 0; round < 2_000; round += 1) {
      const data: Record<string, string> = { id: pick(), phone: "+353851234567" };
      data[pick() || "empty"] = pick();
      data[String(round % 7)] = pick(); // an integer-like key, which objects list first
      const id = pick();
      const listId = round % 2 === 0 ? "5a986270-2eac-4a45-9223-58fe584c7622" : 'list "x"';
      expect(contactJson(id, JSON.stringify(listId), data)).to.equal(
        JSON.stringify({ id, contactListId: listId, data }),
      );
    }
  });
});
