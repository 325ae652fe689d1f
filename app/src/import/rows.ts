import type { ImportConfig } from "./config";
import { LIST_LIMITS } from "./list-limits";
import { PhoneNormaliser } from "./phone-numbers";
import { columnsReadAsOne, READ_AS_ONE } from "./readers";
import { RecentIds } from "./recent-ids";

export type RowVerdict =
  | { readonly ok: true; readonly id: string; readonly data: Record<string, string> }
  | { readonly ok: false; readonly reason: string };

/**
 * Turns a file's rows into contact data, or says why a row cannot be imported: the id column
 * present and non-empty (a stable id makes posting again an upsert), no NUL byte and no value
 * longer than Genesys keeps, phone columns normalised to E.164 with the default country and
 * without an extension, at least one phone number, no id repeated within the window.
 */
export class RowValidator {
  /** Ids seen recently, with their line; bounded so memory does not grow with the file. */
  private readonly recentIds: RecentIds;
  private readonly allowedColumns: ReadonlySet<string> | undefined;
  private readonly phones: PhoneNormaliser;

  constructor(
    private readonly config: ImportConfig,
    /** How many recent ids are remembered to catch duplicates (default 200,000). */
    duplicateWindow = 200_000,
    /** The contact list's own columns, when its definition was read; Genesys matches them case-insensitively. */
    listColumns: readonly string[] = [],
  ) {
    const allowed = listColumns.length > 0 ? listColumns : config.columns;
    this.allowedColumns =
      allowed.length > 0 ? new Set(allowed.map((column) => column.toLowerCase())) : undefined;
    this.phones = new PhoneNormaliser(config.defaultCountry);
    this.recentIds = new RecentIds(duplicateWindow);
  }

  /** Problems with the header that make the whole file unusable, each naming the fix. */
  headerProblems(columns: readonly string[]): string[] {
    const problems: string[] = [];
    if (columns.includes("")) problems.push("the header has an empty column name: name every column");
    for (const column of columns)
      if (column.includes("\0"))
        problems.push(
          `the header's column "${column.replace(/\0/g, "\\0")}" contains a NUL byte (\\0): remove it`,
        );
    for (const [first, second] of columnsReadAsOne(columns.filter((column) => column !== "")))
      problems.push(
        first === second
          ? `the header names "${first}" twice: rename or remove one`
          : `the header has columns "${first}" and "${second}", which ${READ_AS_ONE}`,
      );
    const seen = new Set(columns);
    if (!seen.has(this.config.idColumn)) {
      problems.push(
        `the header has no "${this.config.idColumn}" column (IMPORT_ID_COLUMN): add a stable id to every row`,
      );
    }
    if (!this.config.phoneColumns.some((column) => seen.has(column))) {
      problems.push(
        `the header has none of the phone columns ${this.config.phoneColumns.join(", ")} (IMPORT_PHONE_COLUMNS)`,
      );
    }
    if (this.config.columns.length > 0) {
      const allowed = new Set(this.config.columns.map((column) => column.toLowerCase()));
      const unknown = columns.filter((column) => column !== "" && !allowed.has(column.toLowerCase()));
      if (unknown.length > 0) {
        problems.push(
          `columns ${unknown.map((column) => `"${column}"`).join(", ")} are not columns of the contact list ` +
            `(${this.config.columns.join(", ")}): rename them, or add them to the list and to IMPORT_COLUMNS`,
        );
      }
    }
    return problems;
  }

  validate(line: number, record: Readonly<Record<string, string>>): RowVerdict {
    const id = (record[this.config.idColumn] ?? "").trim();
    if (id === "") return { ok: false, reason: `has no ${this.config.idColumn}` };
    // One pass over the fields: the list's columns (when known) and Genesys' value limit.
    const allowed = this.allowedColumns;
    for (const column in record) {
      if (allowed && !allowed.has(column.toLowerCase()))
        return { ok: false, reason: `has a field "${column}" that is not a column of the contact list` };
      const value = record[column]!;
      if (value.includes("\0"))
        return { ok: false, reason: `contains a NUL byte (\\0) in column ${column}: remove it` };
      const length = value.length;
      if (length > LIST_LIMITS.valueChars)
        return {
          ok: false,
          reason: `column ${column} holds ${length} characters; Genesys keeps at most ${LIST_LIMITS.valueChars} per value: shorten it`,
        };
    }
    const data: Record<string, string> = { ...record };
    let phones = 0;
    for (const column of this.config.phoneColumns) {
      const raw = (record[column] ?? "").trim();
      if (raw === "") continue;
      const e164 = this.phones.normalise(raw);
      if (typeof e164 !== "string") {
        return {
          ok: false,
          reason:
            e164.refused === "extension"
              ? `column ${column}: "${raw}" has an extension (${e164.extension}): Genesys dials the number only; put the extension in another column`
              : `column ${column}: "${raw}" is not a valid phone number (default country ${this.config.defaultCountry})`,
        };
      }
      data[column] = e164;
      phones += 1;
    }
    if (phones === 0)
      return { ok: false, reason: `has no phone number in ${this.config.phoneColumns.join(", ")}` };
    const firstLine = this.recentIds.firstLine(id, line);
    if (firstLine !== undefined)
      return { ok: false, reason: `repeats id ${id} from line ${firstLine}; the first row was kept` };
    return { ok: true, id, data };
  }
}
