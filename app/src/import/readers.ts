import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { Parser } from "csv-parse";
import type { FileFormat } from "../shared/layout";

/** What reading a contacts file yields, in file order. */
export type ReadEvent =
  | { readonly type: "header"; readonly columns: readonly string[] }
  | { readonly type: "row"; readonly line: number; readonly record: Readonly<Record<string, string>> }
  | {
      readonly type: "bad";
      readonly line: number;
      readonly reason: string;
      /** What the row held, for the rejects report; a CSV row's fields past the header are under `(extra field N)`. */
      readonly record?: Readonly<Record<string, string>>;
    }
  /**
   * The file cannot be read past this point (an unterminated quote, a record over the size
   * limit): nothing after `offset` was read, so the rest is kept for the operator to fix.
   */
  | { readonly type: "stop"; readonly line: number; readonly reason: string; readonly offset: number };

export interface ReadOptions {
  /** Largest record accepted, in bytes; a larger one is reported, never buffered whole. */
  readonly maxRecordBytes: number;
}

/**
 * The events of a file in file order, a batch at a time: an async step per record (two, through
 * a stream's iterator and a generator) cost the import about as much as validating the record.
 */
export function readContactsFileChunks(
  file: string,
  format: FileFormat,
  options: ReadOptions,
): AsyncGenerator<ReadEvent[]> {
  return format === "csv" ? readCsv(file, options) : oneByOne(readNdjson(file, options));
}

async function* oneByOne(events: AsyncGenerator<ReadEvent>): AsyncGenerator<ReadEvent[]> {
  for await (const event of events) yield [event];
}

/** What a readable stream holds, a batch at a time: read() until empty, then wait for more. */
async function* drain<T>(stream: Readable): AsyncGenerator<T[]> {
  for (;;) {
    const batch: T[] = [];
    for (let item = stream.read() as T | null; item !== null; item = stream.read() as T | null)
      batch.push(item);
    if (batch.length > 0) yield batch;
    if (stream.errored) throw stream.errored;
    if (stream.readableEnded || stream.destroyed) return;
    // 'end' comes on a later tick than the read() that found the end, so it cannot be missed here.
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown) => {
        stream.off("readable", settle);
        stream.off("end", settle);
        stream.off("error", settle);
        if (error instanceof Error) reject(error);
        else resolve();
      };
      stream.on("readable", settle);
      stream.on("end", settle);
      stream.on("error", settle);
    });
  }
}

const REPLACEMENT = "\uFFFD";

/**
 * CSV with a header row (the contact-list columns): BOM, CRLF or LF (detected from the first
 * line, as csv-parse does; a file mixing both is read as the first line's kind), quoted fields with commas,
 * quotes and newlines. Streams: memory holds one record at a time, whatever the file's size.
 * Per-row problems (field count, bytes that are not UTF-8) reject that row and reading goes on;
 * a quoting error or an oversized record ends the reading there, because csv-parse cannot
 * reliably find the next record after one.
 */
export async function* readCsv(file: string, options: ReadOptions): AsyncGenerator<ReadEvent[]> {
  const parser = new PositionedParser({
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    // Skipping keeps the records parsed before an error; the async iterator would drop them.
    skip_records_with_error: true,
    max_record_size: options.maxRecordBytes,
  });
  let stop: { recordsBefore: number; reason: string } | undefined;
  parser.on("skip", (error: Error & { code?: string }) => {
    stop ??= { recordsBefore: parser.info.records, reason: csvErrorReason(error, options.maxRecordBytes) };
  });
  const source = createReadStream(file);
  source.pipe(parser);
  let header: string[] | undefined;
  let consumed = 0;
  let previousEndLine = 0;
  let endOffset = 0;
  try {
    reading: for await (const records of drain<PositionedRecord>(parser)) {
      const events: ReadEvent[] = [];
      for (const { record, endLine, endByte } of records) {
        if (stop && consumed >= stop.recordsBefore) {
          if (events.length > 0) yield events;
          break reading;
        }
        consumed += 1;
        const line = previousEndLine + 1;
        previousEndLine = endLine;
        endOffset = endByte;
        if (!header) {
          header = record.map((column) => column.trim());
          events.push({ type: "header", columns: header });
          continue;
        }
        if (record.length !== header.length) {
          events.push({
            type: "bad",
            line,
            reason: `has ${record.length} fields where the header has ${header.length}`,
            record: misfitRecord(header, record),
          });
          continue;
        }
        const mapped: Record<string, string> = {};
        let undecodable = false;
        for (let index = 0; index < header.length; index += 1) {
          const value = record[index]!;
          if (value.includes(REPLACEMENT)) undecodable = true;
          mapped[header[index]!] = value;
        }
        if (undecodable) {
          events.push({
            type: "bad",
            line,
            reason: "is not valid UTF-8: save the file as UTF-8",
            record: mapped,
          });
          continue;
        }
        events.push({ type: "row", line, record: mapped });
      }
      if (events.length > 0) yield events;
    }
  } finally {
    source.destroy();
    parser.destroy();
  }
  if (stop) yield [{ type: "stop", line: previousEndLine + 1, reason: stop.reason, offset: endOffset }];
}

/** A row of the wrong field count as a record: its fields under the header's names, then `(extra field N)` (1-based). */
function misfitRecord(header: readonly string[], fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let index = 0; index < fields.length; index += 1)
    record[index < header.length ? header[index]! : `(extra field ${index + 1})`] = fields[index]!;
  return record;
}

interface PositionedRecord {
  readonly record: string[];
  /** The parser's line count and byte offset once the record ended (its `info.lines` and `info.bytes`). */
  readonly endLine: number;
  readonly endByte: number;
}

/**
 * csv-parse with each record's end line and byte offset. Its `info: true` option gives the same
 * figures but copies its whole info object twice per record, which doubled the cost of parsing;
 * csv-parse pushes each record synchronously while `info` describes it, so reading the two
 * counters there is the same figure for the price of one small object.
 */
class PositionedParser extends Parser {
  override push(record: unknown, encoding?: BufferEncoding): boolean {
    if (record === null) return super.push(null, encoding);
    const positioned: PositionedRecord = {
      record: record as string[],
      endLine: this.info.lines,
      endByte: this.info.bytes,
    };
    return super.push(positioned, encoding);
  }
}

function csvErrorReason(error: Error & { code?: string }, maxRecordBytes: number): string {
  switch (error.code) {
    case "CSV_MAX_RECORD_SIZE":
      return `starts a record longer than ${maxRecordBytes} bytes (IMPORT_MAX_RECORD_BYTES); is a closing quote missing, or a line not split?`;
    case "CSV_QUOTE_NOT_CLOSED":
      return "opens a quoted field that is never closed: add the closing quote";
    case "CSV_INVALID_CLOSING_QUOTE":
      return 'has a quote inside a quoted field that is not doubled: write "" for a quote inside quotes';
    default:
      return `cannot be parsed as CSV (${error.message})`;
  }
}

/**
 * NDJSON: one JSON object per line, values strings, numbers or booleans. A bad line (too long,
 * not UTF-8, not an object) rejects that line only: the next newline is always a fresh start.
 */
export async function* readNdjson(file: string, options: ReadOptions): AsyncGenerator<ReadEvent> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 0;
  // Objects of one file nearly always have the same keys in the same order: the names are checked
  // again only when they change, not per line.
  let keys: readonly string[] = [];
  let keysProblem: string | undefined;
  for await (const raw of splitLines(file, options.maxRecordBytes)) {
    line += 1;
    if (raw === "too-long") {
      yield {
        type: "bad",
        line,
        reason: `is longer than ${options.maxRecordBytes} bytes (IMPORT_MAX_RECORD_BYTES)`,
      };
      continue;
    }
    let text: string;
    try {
      text = decoder.decode(raw);
    } catch {
      yield { type: "bad", line, reason: "is not valid UTF-8: save the file as UTF-8" };
      continue;
    }
    if (line === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { type: "bad", line, reason: `is not valid JSON (${(error as Error).message})` };
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      yield { type: "bad", line, reason: "is not a JSON object: write one contact object per line" };
      continue;
    }
    const record: Record<string, string> = {};
    let nested: string | undefined;
    const entries = Object.entries(value);
    let sameKeys = entries.length === keys.length;
    for (let index = 0; index < entries.length; index += 1) {
      const [key, field] = entries[index]!;
      if (sameKeys && key !== keys[index]) sameKeys = false;
      if (field === null) record[key] = "";
      else if (typeof field === "string" || typeof field === "number" || typeof field === "boolean")
        record[key] = String(field);
      else nested ??= key;
    }
    if (nested !== undefined) {
      yield {
        type: "bad",
        line,
        reason: `field "${nested}" is an object or array; contact-list columns hold text`,
      };
      continue;
    }
    if (!sameKeys) {
      keys = entries.map(([key]) => key);
      keysProblem = ndjsonKeysProblem(keys);
    }
    if (keysProblem !== undefined) {
      yield { type: "bad", line, reason: keysProblem, record };
      continue;
    }
    yield { type: "row", line, record };
  }
}

/** Why the keys of an NDJSON object cannot be contact-list columns, or undefined when they can. */
function ndjsonKeysProblem(keys: readonly string[]): string | undefined {
  const withNul = keys.find((key) => key.includes("\0"));
  if (withNul !== undefined)
    return `has a field name that contains a NUL byte (\\0), "${withNul.replace(/\0/g, "\\0")}": remove it`;
  const [pair] = columnsReadAsOne(keys);
  return pair && `has fields "${pair[0]}" and "${pair[1]}", which ${READ_AS_ONE}`;
}

/** Why two names Genesys reads as one column cannot both be in a file; follows the two names. */
export const READ_AS_ONE =
  "Genesys reads as one column (it matches column names case-insensitively, so one value would silently replace the other): rename or remove one";

/** The pairs of `names` that Genesys reads as one column (the earlier spelling first), in the order of the later one. */
export function columnsReadAsOne(names: readonly string[]): Array<readonly [string, string]> {
  const firstSpelling = new Map<string, string>();
  const pairs: Array<readonly [string, string]> = [];
  for (const name of names) {
    const key = name.toLowerCase();
    const first = firstSpelling.get(key);
    if (first === undefined) firstSpelling.set(key, name);
    else pairs.push([first, name]);
  }
  return pairs;
}

/** Lines as byte buffers (without \n or \r\n), never holding more than `maxBytes` of one line. */
async function* splitLines(file: string, maxBytes: number): AsyncGenerator<Buffer | "too-long"> {
  for await (const lines of lineChunks(file, maxBytes)) yield* lines;
}

/**
 * A file's lines as bytes (without \n or \r\n), one array per read chunk (a caller that handles
 * lines in batches, such as the removals' id files, saves an await per line), never holding more
 * than `maxBytes` of one line: a longer one comes as "too-long".
 */
export async function* lineChunks(
  file: string,
  maxBytes: number,
): AsyncGenerator<Array<Buffer | "too-long">> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overflow = false;
  const finish = (tail: Buffer): Buffer | "too-long" => {
    if (overflow || pendingBytes + tail.length > maxBytes) return "too-long";
    const whole = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    return whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.subarray(0, whole.length - 1) : whole;
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    const lines: Array<Buffer | "too-long"> = [];
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      lines.push(finish(chunk.subarray(start, newline)));
      pending = [];
      pendingBytes = 0;
      overflow = false;
      start = newline + 1;
    }
    const rest = chunk.subarray(start);
    if (!overflow && pendingBytes + rest.length > maxBytes) {
      overflow = true;
      pending = [];
      pendingBytes = 0;
    } else if (!overflow && rest.length > 0) {
      pending.push(Buffer.from(rest));
      pendingBytes += rest.length;
    }
    if (lines.length > 0) yield lines;
  }
  if (overflow || pendingBytes > 0) yield [finish(Buffer.alloc(0))];
}
