import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { parseStampedName, timestampForName } from "../shared/layout";
import type { Clock } from "../time/clock";
import { compareKeys, entryKey, type KeyRecords } from "./entry-keys";
import { DncIndexFileError } from "./errors";

/**
 * The entries this service put on one DNC route's list, and took off it, as a local index: Genesys
 * has no look-up of a DNC list by number, and a contact file's summary counts its contacts whose
 * numbers are on the lists its route checks (checkDnc). Entries added to the list outside the
 * service (the Genesys UI, another integration, its own expiry rules) are not in it.
 *
 * On the volume, in state/dnc/<route>/index/, so every replica sees every replica's entries:
 * - one delta per DNC file applied, written once when the file is done (a temporary name renamed
 *   into place): `<UTC time>-<file's identity>.<add|remove>.delta`, its keys sorted;
 * - `base.idx`, the deltas merged so far, rewritten now and then (COMPACT_AFTER_DELTAS) by whichever
 *   replica holds `.compact.lock`; it names the deltas it holds, which are deleted after it.
 * Each file is a JSON header line and 12 bytes an entry: the key's two halves and its expiry in
 * minutes since the epoch (0: none), little-endian.
 *
 * In memory, the merged entries as sorted arrays of keys, searched by halving: 8 bytes an entry
 * that never expires, 12 for one that does. Expired entries count as absent.
 */

export const INDEX_FOLDER = "index";
const BASE_FILE = "base.idx";
const LOCK_FILE = ".compact.lock";
const FORMAT = "genesys-sync dnc index";
const VERSION = 1;
/** Deltas that make a replica merge them into base.idx: few files to read at each reload. */
export const COMPACT_AFTER_DELTAS = 32;
/** A compaction lock older than this belongs to a replica that died holding it. */
const STALE_LOCK_MS = 10 * 60_000;

export type DeltaKind = "add" | "remove";

interface IndexFile {
  readonly name: string;
  readonly kind: "base" | DeltaKind;
  /** Sorted key triples: hi, lo, expiry minutes. */
  readonly records: Uint32Array;
  /** The deltas a base holds. */
  readonly merged: readonly string[];
}

const DELTA = /^[0-9TZ-]+-([0-9a-f]{16})\.(add|remove)\.delta$/;

export class DncIndex {
  /** Keys of entries that never expire: hi, lo pairs, sorted. */
  private permanent = new Uint32Array(0);
  /** Keys of entries with an expiry: hi, lo, minutes triples, sorted. */
  private expiring = new Uint32Array(0);
  private signature: string | undefined;
  /** Files already reported unreadable, so a bad file is logged once. */
  private readonly reported = new Set<string>();
  readonly dir: string;

  constructor(
    /** The route's state folder (dncLayout's `state`). */
    stateDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(stateDir, INDEX_FOLDER);
  }

  /** Entries in the index (those that expired since it was last read included). */
  get size(): number {
    return this.permanent.length / 2 + this.expiring.length / 3;
  }

  /** Whether `entry` (E.164, or a lower-cased address) is on the list as this service left it, and not expired. */
  has(entry: string): boolean {
    if (this.size === 0) return false;
    const { hi, lo } = entryKey(entry);
    if (search(this.permanent, 2, hi, lo) >= 0) return true;
    const at = search(this.expiring, 3, hi, lo);
    return at >= 0 && this.expiring[at * 3 + 2]! * 60_000 > this.clock.now();
  }

  /** Reads the index again when its files changed (another replica's delta, a compaction); true when it did. */
  async refresh(): Promise<boolean> {
    const names = await this.listing();
    const baseInfo = await stat(path.join(this.dir, BASE_FILE)).catch(() => undefined);
    const signature = `${baseInfo?.mtimeMs ?? 0}:${baseInfo?.size ?? 0}:${names.join(",")}`;
    if (signature === this.signature) return false;
    const { base, deltas } = await this.readAll(names);
    this.install(dropExpired(applyDeltas(base, deltas), this.clock.now() / 60_000));
    this.signature = signature;
    return true;
  }

  /**
   * Records what one DNC file applied, once: a file resumed after a crash that had already
   * written its delta (same identity) writes none. Then merges the deltas when they are many.
   */
  async record(kind: DeltaKind, records: KeyRecords, identity: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const names = await this.listing();
    const base = await this.readFile(BASE_FILE);
    const done = (name: string) => DELTA.exec(name)?.[1] === identity;
    if (names.some(done) || base?.merged.some(done)) return;
    // After every delta there is, so this file's entries apply after theirs even within one millisecond.
    const latest = [...(base?.merged ?? []), ...names].map((name) => parseStampedName(name)?.atMs ?? 0);
    const name = `${timestampForName(Math.max(this.clock.now(), ...latest.map((ms) => ms + 1)))}-${identity}.${kind}.delta`;
    await writeIndexFile(this.dir, name, { kind, records: records.sorted(), merged: [] });
    if (names.length + 1 >= COMPACT_AFTER_DELTAS) await this.compact();
    await this.refresh();
  }

  /** Merges the deltas into base.idx, dropping expired entries, under the compaction lock; skipped while another replica holds it. */
  async compact(): Promise<void> {
    if (!(await this.lock())) return;
    try {
      const { base, deltas, leftovers } = await this.readAll(await this.listing());
      for (const name of leftovers) await rm(path.join(this.dir, name), { force: true });
      if (deltas.length === 0) return;
      const nowMinutes = this.clock.now() / 60_000;
      const merged = dropExpired(applyDeltas(base, deltas), nowMinutes);
      await writeIndexFile(this.dir, BASE_FILE, {
        kind: "base",
        records: merged,
        merged: deltas.map((delta) => delta.name),
      });
      for (const delta of deltas) await rm(path.join(this.dir, delta.name), { force: true });
    } finally {
      await rm(path.join(this.dir, LOCK_FILE), { force: true });
    }
  }

  private async lock(): Promise<boolean> {
    const file = path.join(this.dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        await (await open(file, "wx")).close();
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const held = await stat(file).catch(() => undefined);
        if (held && this.clock.now() - held.mtimeMs < STALE_LOCK_MS) return false;
        await rm(file, { force: true });
      }
    }
    return false;
  }

  /** The delta files, oldest first. */
  private async listing(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((name) => DELTA.test(name)).sort();
  }

  /** base.idx and the deltas it does not hold, in order; `leftovers`: deltas it holds (a compaction cut short). */
  private async readAll(
    names: readonly string[],
  ): Promise<{ base: IndexFile | undefined; deltas: IndexFile[]; leftovers: string[] }> {
    const base = await this.readFile(BASE_FILE);
    const held = new Set(base?.merged ?? []);
    const deltas: IndexFile[] = [];
    for (const name of names) {
      if (held.has(name)) continue;
      const delta = await this.readFile(name);
      if (delta) deltas.push(delta);
    }
    return { base, deltas, leftovers: names.filter((name) => held.has(name)) };
  }

  private async readFile(name: string): Promise<IndexFile | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      return parseIndexFile(name, bytes);
    } catch (error) {
      if (!this.reported.has(name)) {
        this.reported.add(name);
        const problem = new DncIndexFileError(path.join(this.dir, name), (error as Error).message);
        this.logger.warn(
          { err: { message: problem.message, code: problem.code } },
          "a DNC index file is left out",
        );
      }
      return undefined;
    }
  }

  private install(records: Uint32Array): void {
    const count = records.length / 3;
    let expiring = 0;
    for (let index = 0; index < count; index += 1) if (records[index * 3 + 2] !== 0) expiring += 1;
    this.permanent = new Uint32Array((count - expiring) * 2);
    this.expiring = new Uint32Array(expiring * 3);
    let p = 0;
    let e = 0;
    for (let index = 0; index < count; index += 1) {
      const at = index * 3;
      if (records[at + 2] === 0) {
        this.permanent[p++] = records[at]!;
        this.permanent[p++] = records[at + 1]!;
      } else {
        this.expiring.set(records.subarray(at, at + 3), e);
        e += 3;
      }
    }
  }
}

/** The record holding (hi, lo) in sorted records of `width` Uint32s, or -1. */
function search(records: Uint32Array, width: number, hi: number, lo: number): number {
  let low = 0;
  let high = records.length / width - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const order = compareKeys(records[middle * width]!, records[middle * width + 1]!, hi, lo);
    if (order === 0) return middle;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** The base's entries with each delta applied in turn, oldest first. */
function applyDeltas(base: IndexFile | undefined, deltas: readonly IndexFile[]): Uint32Array {
  return deltas.reduce(
    (older, delta) => mergeFiles(older, delta.records, delta.kind === "remove" ? "remove" : "add"),
    base?.records ?? new Uint32Array(0),
  );
}

/** `older` with a newer file applied: an add puts its keys in (its expiry wins), a removal takes them out. */
export function mergeFiles(older: Uint32Array, newer: Uint32Array, kind: DeltaKind): Uint32Array {
  const out = new Uint32Array(kind === "add" ? older.length + newer.length : older.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < older.length || j < newer.length) {
    const order =
      i >= older.length
        ? 1
        : j >= newer.length
          ? -1
          : compareKeys(older[i]!, older[i + 1]!, newer[j]!, newer[j + 1]!);
    if (order < 0) {
      out.set(older.subarray(i, i + 3), o);
      o += 3;
      i += 3;
      continue;
    }
    if (kind === "add") {
      out.set(newer.subarray(j, j + 3), o);
      o += 3;
    }
    if (order === 0) i += 3;
    j += 3;
  }
  return out.subarray(0, o);
}

function dropExpired(records: Uint32Array, nowMinutes: number): Uint32Array {
  const out = new Uint32Array(records.length);
  let o = 0;
  for (let at = 0; at < records.length; at += 3) {
    const expiry = records[at + 2]!;
    if (expiry !== 0 && expiry <= nowMinutes) continue;
    out.set(records.subarray(at, at + 3), o);
    o += 3;
  }
  return out.subarray(0, o);
}

async function writeIndexFile(
  dir: string,
  name: string,
  file: {
    readonly kind: IndexFile["kind"];
    readonly records: Uint32Array;
    readonly merged: readonly string[];
  },
): Promise<void> {
  const count = file.records.length / 3;
  const header = `${JSON.stringify({ format: FORMAT, version: VERSION, kind: file.kind, count, ...(file.kind === "base" ? { merged: file.merged } : {}) })}\n`;
  const body = Buffer.alloc(count * 12);
  for (let index = 0; index < file.records.length; index += 1)
    body.writeUInt32LE(file.records[index]!, index * 4);
  const temporary = path.join(dir, `.${name}.tmp`);
  const handle = await open(temporary, "w");
  try {
    await handle.write(header);
    await handle.write(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path.join(dir, name));
}

function parseIndexFile(name: string, bytes: Buffer): IndexFile {
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) throw new Error("it has no header line");
  const header = JSON.parse(bytes.subarray(0, newline).toString("utf8")) as {
    format?: unknown;
    version?: unknown;
    kind?: unknown;
    count?: unknown;
    merged?: unknown;
  };
  if (header.format !== FORMAT || header.version !== VERSION)
    throw new Error("it is not a version 1 DNC index file");
  const kind = header.kind;
  if (kind !== "base" && kind !== "add" && kind !== "remove")
    throw new Error(`its kind ${String(kind)} is unknown`);
  const count = Number(header.count);
  if (!Number.isInteger(count) || bytes.length - newline - 1 !== count * 12)
    throw new Error(
      `it should hold ${String(header.count)} entries of 12 bytes and holds ${bytes.length - newline - 1} bytes`,
    );
  const records = new Uint32Array(count * 3);
  for (let index = 0; index < records.length; index += 1)
    records[index] = bytes.readUInt32LE(newline + 1 + index * 4);
  const merged = Array.isArray(header.merged)
    ? header.merged.filter((item): item is string => typeof item === "string")
    : [];
  return { name, kind, records, merged };
}
