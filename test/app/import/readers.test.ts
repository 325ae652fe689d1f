import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import { readContactsFileChunks, type ReadEvent } from "../../../app/src/import/readers";

const dir = mkdtempSync(path.join(tmpdir(), "readers-"));

async function read(name: string, content: string | Buffer, maxRecordBytes = 1_000): Promise<ReadEvent[]> {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  const events: ReadEvent[] = [];
  for await (const chunk of readContactsFileChunks(file, name.endsWith(".csv") ? "csv" : "ndjson", {
    maxRecordBytes,
  }))
    events.push(...chunk);
  return events;
}

describe("contact file readers", () => {
  describe("CSV", () => {
    it("reads a BOM, CRLF, and quoted fields with commas, quotes and newlines", async () => {
      const events = await read(
        "a.csv",
        '\uFEFFid,phone,note\r\n1,0851234567,"a, b"\r\n2,0851234568,"say ""hi""\nbye"\r\n',
      );
      expect(events[0]).to.deep.equal({ type: "header", columns: ["id", "phone", "note"] });
      expect(events.slice(1)).to.deep.equal([
        { type: "row", line: 2, record: { id: "1", phone: "0851234567", note: "a, b" } },
        { type: "row", line: 3, record: { id: "2", phone: "0851234568", note: 'say "hi"\nbye' } },
      ]);
    });

    it("rejects a row with the wrong field count and reads on", async () => {
      const events = await read("b.csv", "id,phone\n1,2,3\n4\n5,6\n");
      expect(events.map((event) => event.type)).to.deep.equal(["header", "bad", "bad", "row"]);
      expect(events[1]).to.include({ line: 2, reason: "has 3 fields where the header has 2" });
    });

    it("keeps what a row of the wrong field count held, for the rejects report", async () => {
      const events = await read("b2.csv", "id,phone\n1,0851234567,late,x\n4\n");
      expect(events.slice(1)).to.deep.equal([
        {
          type: "bad",
          line: 2,
          reason: "has 4 fields where the header has 2",
          record: { id: "1", phone: "0851234567", "(extra field 3)": "late", "(extra field 4)": "x" },
        },
        { type: "bad", line: 3, reason: "has 1 fields where the header has 2", record: { id: "4" } },
      ]);
    });

    it("rejects a row with bytes that are not UTF-8 and reads on", async () => {
      const events = await read(
        "c.csv",
        Buffer.concat([Buffer.from("id,phone\n1,"), Buffer.from([0xff, 0xfe]), Buffer.from("\n2,b\n")]),
      );
      expect(events.slice(1)).to.deep.equal([
        {
          type: "bad",
          line: 2,
          reason: "is not valid UTF-8: save the file as UTF-8",
          record: { id: "1", phone: "\uFFFD\uFFFD" },
        },
        { type: "row", line: 3, record: { id: "2", phone: "b" } },
      ]);
    });

    it("stops at an unterminated quote, after delivering every row before it, with the offset of the rest", async () => {
      const content = 'id,phone\n1,a\n2,b\n3,"never closed\n4,d\n';
      const events = await read("d.csv", content);
      expect(events.filter((event) => event.type === "row")).to.have.length(2);
      const stop = events.at(-1) as Extract<ReadEvent, { type: "stop" }>;
      expect(stop.type).to.equal("stop");
      expect(stop.line).to.equal(4);
      expect(stop.reason).to.contain("never closed");
      expect(content.slice(stop.offset)).to.equal('3,"never closed\n4,d\n');
    });

    it("stops at a record over the size limit (a 10 MB line) without buffering it", async () => {
      const content = `id,phone\n1,a\n2,${"x".repeat(10 * 1024 * 1024)}\n3,c\n`;
      const events = await read("e.csv", content, 1_048_576);
      expect(events.map((event) => event.type)).to.deep.equal(["header", "row", "stop"]);
      const stop = events[2] as Extract<ReadEvent, { type: "stop" }>;
      expect(stop.reason).to.contain("longer than 1048576 bytes");
      expect(content.slice(stop.offset, stop.offset + 4)).to.equal("2,xx");
    });

    it("numbers lines as csv-parse's own info does, across quoted newlines, CRLF, blank lines and chunk boundaries", async () => {
      const lines = ["id,phone,note"];
      for (let index = 0; index < 5_000; index += 1) {
        const note =
          index % 7 === 0 ? `"two\r\nlines, ${index}"` : index % 5 === 0 ? '"a ""quote"""' : `n${index}`;
        lines.push(`${index},085${index},${note}`);
        if (index % 11 === 0) lines.push("");
      }
      const content = `${lines.join("\r\n")}\r\n`;
      const expected: Array<{ line: number; id: string }> = [];
      let previousEnd = 0;
      for await (const { record, info } of Readable.from([Buffer.from(content)]).pipe(
        parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
      ) as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        if (previousEnd > 0) expected.push({ line: previousEnd + 1, id: record[0]! });
        previousEnd = info.lines;
      }
      const events = await read("positions.csv", content, 1_048_576);
      const rows = events.flatMap((event) =>
        event.type === "row" ? [{ line: event.line, id: event.record.id! }] : [],
      );
      expect(rows).to.have.length(5_000);
      expect(rows).to.deep.equal(expected);
    });

    it("ends at line 1 with nothing before, not even a header, when the header row cannot be parsed", async () => {
      for (const [name, content, reason] of [
        ["h1.csv", 'id,"phone\n1,0851234567\n', "opens a quoted field that is never closed"],
        ["h2.csv", '\uFEFFid,ph"one"x\r\n1,0851234567\r\n', "cannot be parsed as CSV"],
        ["h3.csv", `id,${"x".repeat(2_000)}\n1,0851234567\n`, "longer than 1000 bytes"],
      ] as const) {
        const events = await read(name, content);
        expect(events, name).to.have.length(1);
        expect(events[0], name).to.deep.include({ type: "stop", line: 1, offset: 0 });
        expect((events[0] as { reason: string }).reason, name).to.contain(reason);
      }
    });

    it("yields nothing for an empty file and only the header for a header-only file", async () => {
      expect(await read("f.csv", "")).to.deep.equal([]);
      expect(await read("g.csv", "id,phone\r\n")).to.deep.equal([
        { type: "header", columns: ["id", "phone"] },
      ]);
    });
  });

  describe("NDJSON", () => {
    it("reads one object per line, numbers and booleans as text, and rejects bad lines only", async () => {
      const events = await read(
        "a.ndjson",
        [
          '{"id":"1","phone":"0851234567","vip":true,"age":42}',
          "not json",
          "[1,2]",
          '{"id":"3","nested":{"a":1}}',
          "",
          '{"id":"4","phone":null}',
        ].join("\r\n") + "\n",
      );
      expect(events).to.deep.equal([
        { type: "row", line: 1, record: { id: "1", phone: "0851234567", vip: "true", age: "42" } },
        {
          type: "bad",
          line: 2,
          reason: events[1]!.type === "bad" ? (events[1] as { reason: string }).reason : "",
        },
        { type: "bad", line: 3, reason: "is not a JSON object: write one contact object per line" },
        {
          type: "bad",
          line: 4,
          reason: 'field "nested" is an object or array; contact-list columns hold text',
        },
        { type: "row", line: 6, record: { id: "4", phone: "" } },
      ]);
      expect((events[1] as { reason: string }).reason).to.match(/^is not valid JSON/);
    });

    it("skips a 10 MB line and resynchronises at the next newline", async () => {
      const events = await read(
        "b.ndjson",
        `{"id":"1"}\n${"x".repeat(10 * 1024 * 1024)}\n{"id":"3"}\n`,
        1_048_576,
      );
      expect(events.map((event) => [event.type, "line" in event ? event.line : 0])).to.deep.equal([
        ["row", 1],
        ["bad", 2],
        ["row", 3],
      ]);
    });

    it("rejects an object with two keys Genesys reads as one column (id and ID), naming both", async () => {
      const events = await read(
        "case.ndjson",
        '{"id":"1","ID":"2","phone":"0851234567"}\n{"id":"3","phone":"0851234568"}\n' +
          '{"Name":"a","id":"4","name":"b"}\n{"id":"5","phone":"0851234569"}\n',
      );
      expect(events.map((event) => event.type)).to.deep.equal(["bad", "row", "bad", "row"]);
      expect(events[0]).to.deep.equal({
        type: "bad",
        line: 1,
        reason:
          'has fields "id" and "ID", which Genesys reads as one column (it matches column names case-insensitively, so one value would silently replace the other): rename or remove one',
        record: { id: "1", ID: "2", phone: "0851234567" },
      });
      expect((events[2] as { reason: string }).reason).to.match(/^has fields "Name" and "name", /);
    });

    it("rejects an object with a NUL byte in a key (a NUL in a value is the validator's to refuse)", async () => {
      const events = await read(
        "nul.ndjson",
        '{"id":"1","no\\u0000te":"x"}\n{"id":"2","note":"a\\u0000b"}\n',
      );
      expect(events.map((event) => event.type)).to.deep.equal(["bad", "row"]);
      expect(events[0]).to.include({
        reason: 'has a field name that contains a NUL byte (\\0), "no\\0te": remove it',
      });
      expect(events[1]).to.deep.include({ record: { id: "2", note: "a\u0000b" } });
    });

    it("rejects a line that is not UTF-8", async () => {
      const events = await read(
        "c.ndjson",
        Buffer.concat([Buffer.from('{"id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n{"id":"2"}\n')]),
      );
      expect(events.map((event) => event.type)).to.deep.equal(["bad", "row"]);
    });
  });
});
