import { MAX_DNC_ENTRIES_PER_REQUEST } from "../genesys/dnc-api";

/** One PATCH of a DNC list: entries that share an expiry, with the file line each came from. */
export interface EntryBatch {
  /** Position in the file, the same on every read of the same file: the journal's key. */
  readonly index: number;
  /** `yyyy-MM-ddTHH:mmZ`, or undefined for entries that never expire. */
  readonly expiry: string | undefined;
  readonly entries: readonly string[];
  readonly lines: readonly number[];
}

/** Expiries with a batch being filled at once; a file with more closes the oldest one early. */
export const MAX_OPEN_EXPIRIES = 16;

interface OpenBatch {
  readonly expiry: string | undefined;
  entries: string[];
  lines: number[];
}

/**
 * Groups entries into PATCHes by expiry, as Genesys takes one expiry per request: a batch per
 * expiry is filled up to MAX_DNC_ENTRIES_PER_REQUEST. A file mostly without expiry, or with a
 * handful of expiries, fills full batches; one whose expiries keep changing (each line its own
 * minute) is bounded by MAX_OPEN_EXPIRIES, closing the batch opened first when one more is needed,
 * so memory stays bounded. Boundaries depend only on the file and these limits, so a restart
 * recomputes the same batches and the journal's indices still name them.
 */
export class ExpiryBatcher {
  private readonly open = new Map<string, OpenBatch>();
  private nextIndex = 0;

  constructor(
    private readonly maxEntries = MAX_DNC_ENTRIES_PER_REQUEST,
    private readonly maxOpen = MAX_OPEN_EXPIRIES,
  ) {}

  /** Adds an entry; returns the batches it completed (none, one, or a batch closed early and a full one). */
  add(entry: string, line: number, expiry: string | undefined): EntryBatch[] {
    const key = expiry ?? "";
    const completed: EntryBatch[] = [];
    let batch = this.open.get(key);
    if (!batch) {
      if (this.open.size >= this.maxOpen) completed.push(this.take(this.open.keys().next().value!));
      batch = { expiry, entries: [], lines: [] };
      this.open.set(key, batch);
    }
    batch.entries.push(entry);
    batch.lines.push(line);
    if (batch.entries.length >= this.maxEntries) completed.push(this.take(key));
    return completed;
  }

  /** The batches still being filled, in the order they were opened: the end of the file. */
  flush(): EntryBatch[] {
    return [...this.open.keys()].map((key) => this.take(key));
  }

  private take(key: string): EntryBatch {
    const batch = this.open.get(key)!;
    this.open.delete(key);
    return { index: this.nextIndex++, expiry: batch.expiry, entries: batch.entries, lines: batch.lines };
  }
}
