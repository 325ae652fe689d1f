import { createWriteStream } from "node:fs";
import { once } from "node:events";

/** Generated contact files for the demo, the benchmarks and the tests: valid Irish mobile numbers, bad rows where asked. */
export interface SampleOptions {
  /** Every `badEvery`-th row is bad, in turn: invalid phone, no id, too many fields, no phone. */
  readonly badEvery?: number;
  readonly idPrefix?: string;
  readonly crlf?: boolean;
  /** Characters of free text per row, for files whose rows look like real CRM exports (~200 bytes). */
  readonly noteLength?: number;
}

export interface GeneratedFile {
  readonly content: string;
  readonly goodIds: readonly string[];
  /** 1-based line numbers of the bad rows. */
  readonly badLines: readonly number[];
}

export const SAMPLE_HEADER = "id,phone,firstName,note";
const NOTE = "Prefers a call after six; renewal due in spring, ask about the family plan. ";

export function phoneFor(index: number): string {
  return `085${String(index % 10_000_000).padStart(7, "0")}`;
}

/** The CSV line of data row `index` (0-based), and whether it is a good row. */
export function sampleRow(
  index: number,
  options: SampleOptions = {},
): { line: string; good: boolean; id: string } {
  const prefix = options.idPrefix ?? "c";
  const id = `${prefix}${index}`;
  const every = options.badEvery;
  if (every && index % every === every - 1) {
    const kind = Math.floor(index / every) % 4;
    const line =
      kind === 0
        ? `${id},not-a-phone,Bad,x`
        : kind === 1
          ? `,${phoneFor(index)},NoId,x`
          : kind === 2
            ? `${id},${phoneFor(index)},Too,many,fields`
            : `${id},,NoPhone,x`;
    return { line, good: false, id };
  }
  const note = options.noteLength
    ? NOTE.repeat(Math.ceil(options.noteLength / NOTE.length)).slice(0, options.noteLength)
    : 'said ""hi""';
  return { line: `${id},${phoneFor(index)},"Name, ${index}","${note}"`, good: true, id };
}

/** A whole file in memory (tests). */
export function generateCsv(rows: number, options: SampleOptions = {}): GeneratedFile {
  const eol = options.crlf ? "\r\n" : "\n";
  const lines = [SAMPLE_HEADER];
  const goodIds: string[] = [];
  const badLines: number[] = [];
  for (let index = 0; index < rows; index += 1) {
    const row = sampleRow(index, options);
    lines.push(row.line);
    if (row.good) goodIds.push(row.id);
    else badLines.push(index + 2);
  }
  return { content: lines.join(eol) + eol, goodIds, badLines };
}

/** A file of `rows` rows streamed to disk, or of at least `minBytes` bytes (demo, benchmarks: up to gigabytes). */
export async function writeSampleCsv(
  file: string,
  size: { rows?: number; minBytes?: number },
  options: SampleOptions = {},
): Promise<{ rows: number; good: number; bad: number; bytes: number }> {
  const out = createWriteStream(file);
  const eol = options.crlf ? "\r\n" : "\n";
  let bytes = 0;
  let good = 0;
  let rows = 0;
  let chunk = SAMPLE_HEADER + eol;
  const done = () =>
    size.rows !== undefined ? rows >= size.rows : bytes + chunk.length >= (size.minBytes ?? 0);
  while (!done()) {
    const row = sampleRow(rows, options);
    chunk += row.line + eol;
    rows += 1;
    if (row.good) good += 1;
    if (chunk.length >= 1 << 20) {
      bytes += Buffer.byteLength(chunk);
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  bytes += Buffer.byteLength(chunk);
  out.end(chunk);
  await once(out, "finish");
  return { rows, good, bad: rows - good, bytes };
}
