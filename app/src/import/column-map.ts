/**
 * A route's column mapping: the CRM's header names (matched case-insensitively, as Genesys
 * matches column names) turned into the contact list's, and what becomes of a column that is
 * neither mapped nor one of the list's: the file is refused (the default), or the column is
 * dropped and named in the file's summary. The default route maps nothing and drops nothing, so
 * its files are read exactly as before routes existed.
 */
export interface ColumnMapSpec {
  /** The route, for messages ("route spring-campaign maps ..."). */
  readonly route: string;
  /** CRM column → list column; undefined or empty: names are used as they are. */
  readonly columns?: Readonly<Record<string, string>>;
  readonly unmapped: "refuse" | "drop";
}

/** What a file's header becomes: the list's names per file column (null: dropped), and any problem. */
export interface MappedHeader {
  readonly columns: ReadonlyArray<string | null>;
  readonly dropped: readonly string[];
  readonly problems: readonly string[];
}

const lower = (name: string) => name.toLowerCase();

/** Turns one file's header and rows into the list's column names; one instance per file. */
export class ColumnMapper {
  private readonly map: ReadonlyMap<string, string>;
  /** Per header name (exact), the list's name or null (dropped); only names that change. */
  private renames: ReadonlyMap<string, string | null> | undefined;
  private readonly droppedKeys = new Set<string>();

  constructor(
    private readonly spec: ColumnMapSpec,
    /** The list's columns when known (its definition, or IMPORT_COLUMNS); empty: unknown, nothing is judged unmapped. */
    private readonly listColumns: readonly string[],
  ) {
    this.map = new Map(Object.entries(spec.columns ?? {}).map(([from, to]) => [lower(from), to]));
  }

  /** Whether this mapper changes anything at all (the default route's does not). */
  get active(): boolean {
    return this.map.size > 0 || (this.spec.unmapped === "drop" && this.listColumns.length > 0);
  }

  /** Columns dropped so far (the header's, and NDJSON keys met in rows). */
  get dropped(): readonly string[] {
    return [...this.droppedKeys];
  }

  /** Maps a CSV header; afterwards `record` maps its rows. */
  mapHeader(header: readonly string[]): MappedHeader {
    const known = new Set(this.listColumns.map(lower));
    const columns: Array<string | null> = [];
    const renames = new Map<string, string | null>();
    const unmapped: string[] = [];
    for (const column of header) {
      const target = this.target(column, known);
      if (target === undefined) {
        unmapped.push(column);
        columns.push(column);
        continue;
      }
      columns.push(target);
      if (target !== column) renames.set(column, target);
    }
    const problems: string[] = [];
    if (unmapped.length > 0 && this.spec.unmapped === "refuse") problems.push(this.unmappedProblem(unmapped));
    else
      for (const column of unmapped) {
        renames.set(column, null);
        this.droppedKeys.add(column);
        columns[header.indexOf(column)] = null;
      }
    problems.push(...this.collisions(header, columns));
    this.renames = renames;
    return { columns, dropped: [...this.droppedKeys], problems };
  }

  /** A row under the list's column names; the same object when nothing changes. */
  record(record: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
    if (!this.active) return record;
    const renames = this.renames ?? this.recordRenames(record);
    if (renames.size === 0) return record;
    const mapped: Record<string, string> = {};
    for (const key in record) {
      const target = renames.get(key);
      if (target === null) continue;
      mapped[target ?? key] = record[key]!;
    }
    return mapped;
  }

  /** An NDJSON row has no header: its own keys are mapped (and dropped) as a header's would be. */
  private recordRenames(record: Readonly<Record<string, string>>): ReadonlyMap<string, string | null> {
    const known = new Set(this.listColumns.map(lower));
    const renames = new Map<string, string | null>();
    for (const key in record) {
      const target = this.target(key, known);
      if (target === undefined) {
        if (this.spec.unmapped === "drop") {
          renames.set(key, null);
          if (this.droppedKeys.size < 100) this.droppedKeys.add(key);
        }
      } else if (target !== key) renames.set(key, target);
    }
    return renames;
  }

  /** The list's name for a file column; undefined when it is neither mapped nor known to be the list's. */
  private target(column: string, known: ReadonlySet<string>): string | undefined {
    const mapped = this.map.get(lower(column));
    if (mapped !== undefined) return mapped;
    if (known.size === 0 || known.has(lower(column))) return column;
    return undefined;
  }

  private unmappedProblem(unmapped: readonly string[]): string {
    const names = unmapped.map((column) => `"${column}"`).join(", ");
    const one = unmapped.length === 1;
    return (
      `${names} ${one ? "is" : "are"} neither mapped by route ${this.spec.route} nor ${one ? "a column" : "columns"} of its contact list ` +
      `(its columns: ${this.listColumns.join(", ")}): map ${one ? "it" : "them"} in the route's columns, ` +
      `or set the route's unmappedColumns to drop`
    );
  }

  /** Two file columns that land on the same list column (Genesys would keep only one). */
  private collisions(header: readonly string[], columns: ReadonlyArray<string | null>): string[] {
    const seen = new Map<string, string>();
    const problems: string[] = [];
    columns.forEach((target, index) => {
      if (target === null) return;
      const first = seen.get(lower(target));
      if (first !== undefined && first !== header[index])
        problems.push(
          `columns "${first}" and "${header[index]}" both become the list's column "${target}" (route ${this.spec.route}): remove one from the file, or map it elsewhere`,
        );
      else seen.set(lower(target), header[index]!);
    });
    return problems;
  }
}
