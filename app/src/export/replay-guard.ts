import { createHash } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../time/clock";

/**
 * The answer to "may this event id be stored?". `new`: the caller owns the id; it stores the
 * event, then calls `stored()` (later arrivals are duplicates) or, if storing failed, `release()`
 * (a retry may store it). `duplicate`: stored already. `in-flight`: another request is storing it
 * right now and has not finished; the caller should be told to retry.
 */
export type ReplayClaim =
  | { readonly status: "new"; stored(): Promise<void>; release(): Promise<void> }
  | { readonly status: "duplicate" }
  | { readonly status: "in-flight" };

export interface ReplayGuard {
  claim(eventId: string): Promise<ReplayClaim>;
}

/**
 * The last `maxIds` ids in this process's memory: what one replica alone remembers, lost on
 * restart. The benchmark's baseline, and the default of the webhook plugin outside the service.
 */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, boolean>();
  constructor(private readonly maxIds: number) {}

  async claim(eventId: string): Promise<ReplayClaim> {
    const stored = this.seen.get(eventId);
    if (stored !== undefined) return stored ? { status: "duplicate" } : { status: "in-flight" };
    this.seen.set(eventId, false);
    if (this.seen.size > this.maxIds) this.seen.delete(this.seen.keys().next().value!);
    return {
      status: "new",
      stored: async () => {
        if (this.seen.has(eventId)) this.seen.set(eventId, true);
      },
      release: async () => {
        this.seen.delete(eventId);
      },
    };
  }
}

export interface VolumeReplaySettings {
  /** A directory on the shared volume, the same for every replica. */
  readonly dir: string;
  /** An id is remembered this long after it was stored; default 24 h. */
  readonly windowMs: number;
  /** At most about this many ids are remembered (rounded up to a multiple of 256); default 100,000. */
  readonly maxIds: number;
  /** A marker left pending this long belongs to a process that died mid-request; default 60 s. */
  readonly abandonedAfterMs?: number;
  /** How long a replay waits for another request storing the same id before answering in-flight; default 2 s. */
  readonly waitForOtherMs?: number;
}

const SHARDS = 256;
const WAIT_STEP_MS = 25;

/**
 * Replay protection shared by every replica on the shared volume, and so surviving restarts. One
 * marker file per event id, at `<dir>/<2 hex>/<30 hex>` (SHA-256 of the id: any id is a safe name,
 * and 256 shards keep directories small). Built only from what NFS (v3 and later) does atomically:
 *
 * - **Claim**: `open(O_CREAT | O_EXCL)` of the marker. Of any number of replicas racing for one id,
 *   exactly one creates it; no lock, no clock.
 * - **Stored**: the owner writes one byte into its marker once the event is durable, and closes it
 *   (close-to-open consistency: whoever opens it next sees the byte). An empty marker is a claim
 *   still in flight: a replay waits briefly for it to settle, and answers "retry" rather than
 *   "duplicate", so an event is never acknowledged without being stored.
 * - **Released**: a failed store unlinks the marker, so a retry can claim the id again.
 * - **Abandoned**: a marker still empty after `abandonedAfterMs` (its owner died between claim and
 *   store) is renamed aside by whoever sees it first (one rename of a name succeeds), then claimed
 *   afresh. Only then can a process that died after its event's fsync and before its byte lead to
 *   the event being stored a second time: at least once, never lost.
 *
 * Bounds: `sweepShard()` (the leader calls it, one shard at a time) removes markers older than the
 * window and, beyond `maxIds / 256` in a shard, the oldest ones. Ages are the markers' mtimes, set
 * by the file server, against this replica's clock: keep replica clocks in sync (NTP).
 */
export class VolumeReplayGuard implements ReplayGuard {
  private nextShard = 0;
  private readonly abandonedAfterMs: number;
  private readonly waitForOtherMs: number;
  private readonly perShard: number;
  private readonly owner: string;

  constructor(
    private readonly settings: VolumeReplaySettings,
    private readonly clock: Clock,
    owner: string,
  ) {
    this.owner = owner.replace(/[^A-Za-z0-9_-]/g, "_");
    this.abandonedAfterMs = settings.abandonedAfterMs ?? 60_000;
    this.waitForOtherMs = settings.waitForOtherMs ?? 2_000;
    this.perShard = Math.ceil(settings.maxIds / SHARDS);
  }

  /** The marker's path for an event id. */
  markerOf(eventId: string): string {
    const hash = createHash("sha256").update(eventId).digest("hex");
    return path.join(this.settings.dir, hash.slice(0, 2), hash.slice(2, 32));
  }

  async claim(eventId: string): Promise<ReplayClaim> {
    const marker = this.markerOf(eventId);
    let waitedMs = 0;
    // Each turn either claims, answers, or sees the marker change (released, swept, taken over).
    for (let turn = 0; turn < 1000; turn += 1) {
      const handle = await this.create(marker);
      if (handle) return this.owned(marker, handle);
      const seen = await this.inspect(marker);
      if (seen === "gone") continue;
      if (seen === "stored") return { status: "duplicate" };
      if (this.clock.now() - seen.mtimeMs >= this.abandonedAfterMs) {
        await this.setAside(marker);
        continue;
      }
      if (waitedMs >= this.waitForOtherMs) return { status: "in-flight" };
      await this.clock.sleep(WAIT_STEP_MS);
      waitedMs += WAIT_STEP_MS;
    }
    return { status: "in-flight" };
  }

  /**
   * Sweeps the next shard (they are taken in turn): removes markers past the window, leftovers set
   * aside, and the oldest beyond the shard's share of `maxIds`. Answers how many were removed.
   */
  async sweepShard(): Promise<number> {
    const shard = path.join(this.settings.dir, this.nextShard.toString(16).padStart(2, "0"));
    this.nextShard = (this.nextShard + 1) % SHARDS;
    const names = await readdir(shard).catch(() => [] as string[]);
    const now = this.clock.now();
    const kept: Array<{ file: string; mtimeMs: number }> = [];
    const doomed: string[] = [];
    for (const name of names) {
      const file = path.join(shard, name);
      if (name.includes(".")) {
        doomed.push(file); // set aside by a takeover, or a crash's leftover
        continue;
      }
      const info = await stat(file).catch(() => undefined);
      if (!info) continue;
      if (now - info.mtimeMs > this.settings.windowMs) doomed.push(file);
      else kept.push({ file, mtimeMs: info.mtimeMs });
    }
    if (kept.length > this.perShard) {
      kept.sort((a, b) => a.mtimeMs - b.mtimeMs);
      doomed.push(...kept.slice(0, kept.length - this.perShard).map((entry) => entry.file));
    }
    await Promise.all(doomed.map((file) => rm(file, { force: true })));
    return doomed.length;
  }

  /** How often the leader sweeps one shard: every shard about four times per window, at most every 15 min. */
  sweepIntervalMs(): number {
    return Math.max(1_000, Math.floor(Math.min(this.settings.windowMs / 4, 15 * 60_000) / SHARDS));
  }

  private async create(marker: string): Promise<FileHandle | undefined> {
    for (;;) {
      try {
        return await open(marker, "wx");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EEXIST") return undefined;
        if (code !== "ENOENT") throw error;
        await mkdir(path.dirname(marker), { recursive: true });
      }
    }
  }

  /** Opens the marker (fresh attributes from the server, not a cached stat) and reads its state. */
  private async inspect(marker: string): Promise<"gone" | "stored" | { mtimeMs: number }> {
    let handle: FileHandle;
    try {
      handle = await open(marker, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "gone";
      throw error;
    }
    try {
      const info = await handle.stat();
      return info.size > 0 ? "stored" : { mtimeMs: info.mtimeMs };
    } finally {
      await handle.close();
    }
  }

  /** Renames an abandoned claim aside (one taker wins; the rest find it gone); the sweep deletes it. */
  private async setAside(marker: string): Promise<void> {
    const aside = `${marker}.abandoned-${this.owner}-${this.clock.now()}`;
    await rename(marker, aside).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  }

  private owned(marker: string, handle: FileHandle): ReplayClaim {
    return {
      status: "new",
      stored: async () => {
        try {
          await handle.write("1");
        } finally {
          await handle.close();
        }
      },
      release: async () => {
        await handle.close().catch(() => undefined);
        await rm(marker, { force: true });
      },
    };
  }
}
