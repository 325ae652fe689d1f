import { TextDecoder } from "node:util";
import type { DncEntryKind } from "../genesys/dnc-api";
import { lineChunks, readContactsFileChunks } from "../import/readers";

/**
 * Reads a DNC route's file, a chunk of lines at a time, as the entries it holds: a CSV whose
 * header names the entry column (any of ENTRY_COLUMNS for the route's kind, matched
 * case-insensitively; other columns are ignored, so a CRM's export can be dropped as it is) and,
 * on a route with an expiryColumn, that column; or a .txt of one entry a line, without expiry.
 */

/** The header names a CSV's entry column may have, by the kind of entries the route takes (compared lower-cased). */
export const ENTRY_COLUMNS: Readonly<Record<DncEntryKind, readonly string[]>> = {
  phone: ["phone", "phonenumber", "phone_number", "phone number", "number"],
  email: ["email", "emailaddress", "email_address", "email address"],
};

/** What reading a DNC file yields, in file order. */
export type EntryEvent =
  | {
      readonly type: "entry";
      readonly line: number;
      /** The entry as written (normalised later). */
      readonly value: string;
      /** The expiry column's value, on a CSV that has one. */
      readonly expiry?: string;
      readonly record?: Readonly<Record<string, string>>;
    }
  | {
      readonly type: "bad";
      readonly line: number;
      readonly reason: string;
      readonly record?: Readonly<Record<string, string>>;
    }
  /** The reader cannot get past this line (an unterminated quote, a record over the size limit). */
  | { readonly type: "stop"; readonly line: number; readonly reason: string }
  /** The file cannot be read as entries at all: why, and the fix. */
  | { readonly type: "refused"; readonly reason: string };

export interface EntryFileOptions {
  readonly kind: DncEntryKind;
  /** The column a CSV must have for each entry's expiry; undefined: entries never expire. */
  readonly expiryColumn: string | undefined;
  readonly maxRecordBytes: number;
}

export function readEntries(
  file: string,
  format: "csv" | "txt",
  options: EntryFileOptions,
): AsyncGenerator<EntryEvent[]> {
  return format === "csv" ? csvEntries(file, options) : textEntries(file, options);
}

async function* csvEntries(file: string, options: EntryFileOptions): AsyncGenerator<EntryEvent[]> {
  let columns: { readonly entry: string; readonly expiry: string | undefined } | undefined;
  for await (const events of readContactsFileChunks(file, "csv", {
    maxRecordBytes: options.maxRecordBytes,
  })) {
    const out: EntryEvent[] = [];
    for (const event of events) {
      if (event.type === "header") {
        const found = headerColumns(event.columns, options);
        if ("reason" in found) {
          yield [found];
          return;
        }
        columns = found;
      } else if (event.type === "row")
        out.push({
          type: "entry",
          line: event.line,
          value: event.record[columns!.entry] ?? "",
          ...(columns!.expiry !== undefined ? { expiry: event.record[columns!.expiry] ?? "" } : {}),
          record: event.record,
        });
      else out.push(event);
    }
    if (out.length > 0) yield out;
  }
  if (columns === undefined)
    yield [
      {
        type: "refused",
        reason: `the file is empty: it has no header row. Give it a header naming the entry column (${quoted(ENTRY_COLUMNS[options.kind])}), or drop the entries as a .txt, one a line`,
      },
    ];
}

/** The header's entry column and expiry column, or why the file cannot be read as entries. */
function headerColumns(
  header: readonly string[],
  options: EntryFileOptions,
):
  | { readonly entry: string; readonly expiry: string | undefined }
  | { readonly type: "refused"; readonly reason: string } {
  const accepted = ENTRY_COLUMNS[options.kind];
  const holders = header.filter((column) => accepted.includes(column.trim().toLowerCase()));
  const shown = header.length > 12 ? `${quoted(header.slice(0, 12))}, …` : quoted(header);
  if (holders.length !== 1)
    return {
      type: "refused",
      reason:
        holders.length > 1
          ? `the header has ${quoted(holders)}, which all name the entry column: keep one, so that each line names one ${noun(options.kind)}`
          : `the header names no column of ${noun(options.kind)}s (one of ${quoted(accepted)}, in any case); its columns are ${shown}. Fix: name that column "${accepted[0]}", or drop the entries as a .txt, one a line`,
    };
  if (options.expiryColumn === undefined) return { entry: holders[0]!, expiry: undefined };
  const wanted = options.expiryColumn.toLowerCase();
  const expiry = header.filter((column) => column.trim().toLowerCase() === wanted);
  if (expiry.length !== 1)
    return {
      type: "refused",
      reason:
        expiry.length > 1
          ? `the header has ${quoted(expiry)}, which all name the route's expiry column "${options.expiryColumn}": keep one`
          : `the header has no "${options.expiryColumn}" column, which the route's expiryColumn names; its columns are ${shown}. Fix: add it (an empty value means the entry never expires), or drop entries without expiry as a .txt, one a line`,
    };
  return { entry: holders[0]!, expiry: expiry[0]! };
}

/**
 * The entries of a .txt: one a line, trimmed; empty lines are skipped, as csv-parse skips them,
 * and a first line that is one of the entry column's names is taken for a header.
 */
async function* textEntries(file: string, options: EntryFileOptions): AsyncGenerator<EntryEvent[]> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 0;
  let entries = 0;
  for await (const lines of lineChunks(file, options.maxRecordBytes)) {
    const out: EntryEvent[] = [];
    for (const raw of lines) {
      line += 1;
      let text = raw === "too-long" ? undefined : decoded(decoder, raw);
      if (text === undefined) {
        entries += 1;
        const reason =
          raw === "too-long"
            ? `is longer than ${options.maxRecordBytes} bytes (IMPORT_MAX_RECORD_BYTES): write one ${noun(options.kind)} a line`
            : "is not valid UTF-8: save the file as UTF-8";
        out.push({ type: "bad", line, reason });
        continue;
      }
      if (line === 1 && text.startsWith("\uFEFF")) text = text.slice(1);
      if (text.trim() === "") continue;
      if (line === 1 && ENTRY_COLUMNS[options.kind].includes(text.trim().toLowerCase())) continue;
      entries += 1;
      out.push({ type: "entry", line, value: text });
    }
    if (out.length > 0) yield out;
  }
  if (entries === 0)
    yield [
      {
        type: "refused",
        reason: `the file holds no ${noun(options.kind)}s: write one a line, then drop it again`,
      },
    ];
}

function decoded(decoder: TextDecoder, raw: Buffer): string | undefined {
  try {
    return decoder.decode(raw);
  } catch {
    return undefined;
  }
}

export function noun(kind: DncEntryKind): string {
  return kind === "phone" ? "phone number" : "email address";
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}
