/**
 * A DNC entry (an E.164 number, a lower-cased address) as a 64-bit key: two 32-bit MurmurHash3
 * values with different seeds, kept as a pair of numbers (no BigInt on the import's hot path: a
 * contact's numbers are looked up as it is read). With a million entries and a million numbers
 * looked up, the chance that any number is taken for an entry it is not is about 1 in 30 million.
 */
export interface EntryKey {
  readonly hi: number;
  readonly lo: number;
}

const SEED_HI = 0x9747b28c;
const SEED_LO = 0x5bd1e995;

export function entryKey(entry: string): EntryKey {
  return { hi: murmur3(entry, SEED_HI), lo: murmur3(entry, SEED_LO) };
}

/** Orders keys as unsigned 64-bit numbers: `hi` first. */
export function compareKeys(aHi: number, aLo: number, bHi: number, bLo: number): number {
  return aHi !== bHi ? (aHi < bHi ? -1 : 1) : aLo === bLo ? 0 : aLo < bLo ? -1 : 1;
}

/** MurmurHash3 (x86, 32-bit) of a string's UTF-16 code units, two to a block. Unsigned. */
function murmur3(text: string, seed: number): number {
  let hash = seed >>> 0;
  const length = text.length;
  const blocks = length >> 1;
  for (let index = 0; index < blocks; index += 1) {
    let block = text.charCodeAt(2 * index) | (text.charCodeAt(2 * index + 1) << 16);
    block = Math.imul(block, 0xcc9e2d51);
    block = (block << 15) | (block >>> 17);
    block = Math.imul(block, 0x1b873593);
    hash ^= block;
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  if (length & 1) {
    let tail = text.charCodeAt(length - 1);
    tail = Math.imul(tail, 0xcc9e2d51);
    tail = (tail << 15) | (tail >>> 17);
    tail = Math.imul(tail, 0x1b873593);
    hash ^= tail;
  }
  hash ^= length * 2;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Keys with their expiry (minutes since the epoch; 0: none), three Uint32 a record, growing as
 * entries are added: 12 bytes an entry, as the index files keep them.
 */
export class KeyRecords {
  private data: Uint32Array;
  private count = 0;

  constructor(capacity = 1_024) {
    this.data = new Uint32Array(capacity * 3);
  }

  get length(): number {
    return this.count;
  }

  push(key: EntryKey, expiryMinutes: number): void {
    if ((this.count + 1) * 3 > this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const at = this.count * 3;
    this.data[at] = key.hi;
    this.data[at + 1] = key.lo;
    this.data[at + 2] = expiryMinutes;
    this.count += 1;
  }

  /**
   * The records sorted by key, one per key (the last pushed wins), as a Uint32Array of triples:
   * the form an index file holds.
   */
  sorted(): Uint32Array {
    const { data, count } = this;
    const order = new Uint32Array(count);
    for (let index = 0; index < count; index += 1) order[index] = index;
    // Ties keep push order (the sort is stable), so the last of equal keys is the one kept.
    const sortedOrder = Array.from(order).sort((a, b) =>
      compareKeys(data[a * 3]!, data[a * 3 + 1]!, data[b * 3]!, data[b * 3 + 1]!),
    );
    const out = new Uint32Array(count * 3);
    let written = 0;
    for (let position = 0; position < count; position += 1) {
      const from = sortedOrder[position]! * 3;
      const next = position + 1 < count ? sortedOrder[position + 1]! * 3 : -1;
      if (next >= 0 && data[next] === data[from] && data[next + 1] === data[from + 1]) continue;
      out.set(data.subarray(from, from + 3), written * 3);
      written += 1;
    }
    return out.subarray(0, written * 3);
  }
}

/** Minutes since the epoch of an expiry as sent (`yyyy-MM-ddTHH:mmZ`); 0 for none. */
export function expiryMinutes(expiry: string | undefined): number {
  return expiry === undefined ? 0 : Math.round(Date.parse(expiry) / 60_000);
}
