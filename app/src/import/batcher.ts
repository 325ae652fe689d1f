import { BatcherInvariantError } from "./errors";

/** Genesys accepts at most 1,000 contacts per add request (community-reported cap). */
export const MAX_CONTACTS_PER_BATCH = 1_000;
/** Below the 512,000-byte `request.bytes.max`, leaving room for the array brackets. */
export const MAX_BATCH_BYTES = 511_000;

/** One add-contacts request: contacts already serialised, with the file line each came from. */
export interface Batch {
  /** Position in the file, the same on every read of the same file: the journal's key. */
  readonly index: number;
  readonly json: readonly string[];
  readonly lines: readonly number[];
  readonly bytes: number;
}

/**
 * Groups serialised contacts into batches of at most `maxContacts` and `maxBytes`. Batch
 * boundaries depend only on the file and these limits, so a restart recomputes the same batches
 * and the journal's indices still name them.
 */
export class Batcher {
  private json: string[] = [];
  private lines: number[] = [];
  private bytes = 2;
  private nextIndex = 0;

  constructor(
    private readonly maxContacts = MAX_CONTACTS_PER_BATCH,
    private readonly maxBytes = MAX_BATCH_BYTES,
  ) {}

  /** Adds a contact; returns the batch it completed, if any. */
  add(contactJson: string, line: number): Batch | undefined {
    const size = Buffer.byteLength(contactJson) + 1;
    let completed: Batch | undefined;
    if (this.json.length > 0 && this.bytes + size > this.maxBytes) completed = this.take();
    this.json.push(contactJson);
    this.lines.push(line);
    this.bytes += size;
    if (this.json.length >= this.maxContacts) {
      if (completed) throw new BatcherInvariantError("Batcher: two batches completed by one contact");
      completed = this.take();
    }
    return completed;
  }

  /** The last, partial batch. */
  flush(): Batch | undefined {
    return this.json.length > 0 ? this.take() : undefined;
  }

  private take(): Batch {
    const batch: Batch = { index: this.nextIndex++, json: this.json, lines: this.lines, bytes: this.bytes };
    this.json = [];
    this.lines = [];
    this.bytes = 2;
    return batch;
  }
}

export function batchBody(batch: Pick<Batch, "json">): string {
  return `[${batch.json.join(",")}]`;
}

/** What a JSON string must escape, and lone surrogates (which JSON.stringify escapes too). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal: plain text as it stands, anything else through JSON.stringify. */
function jsonString(value: string): string {
  return NEEDS_ESCAPING.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/**
 * `JSON.stringify({ id, contactListId, data })`, character for character, in well under half its
 * CPU: generic serialisation walked each contact's object shape, about a tenth of the import's
 * CPU. `contactListIdJson` is the list id already as a JSON string.
 */
export function contactJson(
  id: string,
  contactListIdJson: string,
  data: Readonly<Record<string, string>>,
): string {
  let json = `{"id":${jsonString(id)},"contactListId":${contactListIdJson},"data":{`;
  let first = true;
  for (const key in data) {
    json += `${first ? "" : ","}${jsonString(key)}:${jsonString(data[key]!)}`;
    first = false;
  }
  return `${json}}}`;
}
