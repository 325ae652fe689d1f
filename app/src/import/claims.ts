import { lstat, readdir, rename, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../time/clock";
import { CLAIM_SEPARATOR, isIgnored, nameProblem, timestampForName, type DataLayout } from "../shared/layout";

export interface InboxScan {
  /** Files ready to import, oldest first. */
  readonly ready: readonly string[];
  /** The same, with their modification time (to merge the inbox's lanes in the order files came). */
  readonly readyFiles: ReadonlyArray<{ readonly name: string; readonly mtimeMs: number }>;
  /** Files the importer will not take (unsafe names, symlinks, other types), with the reason. */
  readonly refused: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
  /** Files waiting in the inbox (ready or still settling), and the age of the oldest in seconds. */
  readonly depth: number;
  readonly oldestAgeSeconds: number;
}

export interface ClaimSettings {
  /** This process: `<host>-<pid>-<nonce>` (replicaId()); older forms fall back to the timeout. */
  readonly replicaId: string;
  /**
   * True in Kubernetes, where the host is the pod and one service container runs per pod: a claim
   * under this host's name from another incarnation belongs to the container that crashed and was
   * restarted, and is resumed at once. Elsewhere two live processes may share a hostname, so such a
   * claim is resumed at once only when its process is gone (`isProcessAlive`).
   */
  readonly hostIsPod?: boolean;
  /** Whether a process of this host is still running (default: signal 0, as `kill -0` does). */
  readonly isProcessAlive?: (pid: number) => boolean;
  /** A claim not heartbeated for this long belongs to a dead replica and is taken over. */
  readonly claimTimeoutMs: number;
  /** Files younger than this, or whose size changed since the last scan, are still being written. */
  readonly settleMs: number;
}

/** The parts of a replica id made by replicaId(); undefined for another form. */
export interface ReplicaIdentity {
  readonly host: string;
  readonly pid: number;
  readonly nonce: string;
}

const REPLICA_ID = /^(.+)-(\d+)-([0-9a-f]{8})$/;

/** A replica id that names the host (the pod, in Kubernetes), the process and this incarnation. */
export function replicaId(host: string, pid: number, nonce: string): string {
  if (!/^[0-9a-f]{8}$/.test(nonce)) throw new Error("the nonce of a replica id is 8 hex digits");
  return `${host.replace(/[^A-Za-z0-9._-]/g, "_")}-${pid}-${nonce}`;
}

export function parseReplicaId(id: string): ReplicaIdentity | undefined {
  const match = REPLICA_ID.exec(id);
  return match ? { host: match[1]!, pid: Number(match[2]), nonce: match[3]! } : undefined;
}

function signalZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims files on a shared volume so that any number of replicas import each file once. A claim
 * is an atomic rename from inbox/ into processing/ under the claimer's name: of two replicas
 * racing for a file exactly one rename succeeds. The holder heartbeats through the file's mtime;
 * a claim whose mtime is older than the timeout is taken over, again by one atomic rename. This
 * works on NFS, where inotify sees nothing other clients write, so the inbox is scanned.
 */
export class ClaimStore {
  private readonly sizes = new Map<string, number>();

  constructor(
    private readonly layout: DataLayout,
    private readonly settings: ClaimSettings,
    private readonly clock: Clock,
  ) {
    if (settings.replicaId.includes(CLAIM_SEPARATOR) || settings.replicaId.includes("/")) {
      throw new Error(`replica id "${settings.replicaId}" must not contain "${CLAIM_SEPARATOR}" or "/"`);
    }
  }

  async scanInbox(): Promise<InboxScan> {
    const now = this.clock.now();
    const entries = await readdir(this.layout.inbox);
    const ready: Array<{ name: string; mtimeMs: number }> = [];
    const refused: Array<{ name: string; reason: string }> = [];
    let depth = 0;
    let oldest = now;
    const seen = new Set<string>();
    for (const name of entries) {
      if (isIgnored(name)) continue;
      let info;
      try {
        info = await lstat(path.join(this.layout.inbox, name));
      } catch {
        continue; // claimed by another replica between readdir and lstat
      }
      if (info.isSymbolicLink()) {
        refused.push({
          name,
          reason:
            "symbolic links are not imported (one could point outside the shared volume): copy the file in instead",
        });
        continue;
      }
      if (!info.isFile()) continue;
      const problem = nameProblem(name);
      if (problem) {
        refused.push({ name, reason: problem });
        continue;
      }
      depth += 1;
      seen.add(name);
      oldest = Math.min(oldest, info.mtimeMs);
      const previousSize = this.sizes.get(name);
      this.sizes.set(name, info.size);
      const settled =
        now - info.mtimeMs >= this.settings.settleMs &&
        (this.settings.settleMs === 0 || previousSize === info.size);
      if (settled) ready.push({ name, mtimeMs: info.mtimeMs });
    }
    for (const name of this.sizes.keys()) if (!seen.has(name)) this.sizes.delete(name);
    ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
    return {
      ready: ready.map((entry) => entry.name),
      readyFiles: ready,
      refused,
      depth,
      oldestAgeSeconds: depth === 0 ? 0 : (now - oldest) / 1000,
    };
  }

  /** Claims an inbox file; undefined when another replica was first. */
  async claim(name: string): Promise<Claim | undefined> {
    const target = this.claimPath(name);
    try {
      await rename(path.join(this.layout.inbox, name), target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const claim = new Claim(this.layout, name, target, this.clock);
    await claim.heartbeat();
    return claim;
  }

  /**
   * Takes over claims whose holder is gone; returns those this replica won. A claim left by an
   * earlier incarnation of this replica (a crashed, restarted container) is resumed at once;
   * any other waits until its holder has not heartbeated for the claim timeout.
   */
  async recoverStale(): Promise<Claim[]> {
    const now = this.clock.now();
    const won: Claim[] = [];
    for (const entry of await readdir(this.layout.processing)) {
      const separator = entry.lastIndexOf(CLAIM_SEPARATOR);
      if (separator <= 0) continue;
      const owner = entry.slice(separator + 1);
      if (owner === this.settings.replicaId) continue;
      const from = path.join(this.layout.processing, entry);
      let info;
      try {
        info = await stat(from);
      } catch {
        continue;
      }
      if (!this.isOwnPredecessor(owner) && now - info.mtimeMs < this.settings.claimTimeoutMs) continue;
      const name = entry.slice(0, separator);
      const to = this.claimPath(name);
      try {
        await rename(from, to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      const claim = new Claim(this.layout, name, to, this.clock);
      await claim.heartbeat();
      won.push(claim);
    }
    return won;
  }

  /** True when `owner` is an earlier incarnation of this replica, certainly no longer running. */
  isOwnPredecessor(owner: string): boolean {
    const self = parseReplicaId(this.settings.replicaId);
    const other = parseReplicaId(owner);
    if (!self || !other || other.host !== self.host || other.nonce === self.nonce) return false;
    if (this.settings.hostIsPod) return true;
    if (other.pid === self.pid) return false; // the same pid with another nonce: not provably gone
    return !(this.settings.isProcessAlive ?? signalZero)(other.pid);
  }

  /** Moves a file the importer will not take out of the inbox, with the reason beside it. */
  async refuse(name: string, reason: string): Promise<string | undefined> {
    const base = `${timestampForName(this.clock.now())}-${name}`;
    const target = path.join(this.layout.rejects, base);
    try {
      await rename(path.join(this.layout.inbox, name), target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    await writeFile(`${target}.reason.txt`, `${reason}\n`);
    return target;
  }

  private claimPath(name: string): string {
    return path.join(this.layout.processing, `${name}${CLAIM_SEPARATOR}${this.settings.replicaId}`);
  }
}

/** A file this replica holds in processing/. */
export class Claim {
  constructor(
    private readonly layout: DataLayout,
    /** The name the writer gave the file. */
    readonly name: string,
    /** Where the claimed file is now. */
    readonly path: string,
    private readonly clock: Clock,
  ) {}

  /** Renews the claim; false when it was lost (taken over after a stall). */
  async heartbeat(): Promise<boolean> {
    const now = new Date(this.clock.now());
    try {
      await utimes(this.path, now, now);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  /** Puts the file back in the inbox (graceful shutdown): another replica resumes it from its journal. */
  async release(): Promise<void> {
    await rename(this.path, path.join(this.layout.inbox, this.name)).catch(ignoreMissing);
  }

  /** Where `archive()` will put the file, so its summary can be written first. */
  archivePath(): string {
    return path.join(this.layout.archive, `${timestampForName(this.clock.now())}-${this.name}`);
  }

  /** Moves the imported file into the archive: the last step, so an archived file is a finished one. */
  async archive(target: string): Promise<void> {
    await rename(this.path, target);
  }

  /** Moves a file refused as a whole to rejects/, with the reason beside it. */
  async reject(reason: string): Promise<string> {
    const target = path.join(this.layout.rejects, `${timestampForName(this.clock.now())}-${this.name}`);
    await rename(this.path, target);
    await writeFile(`${target}.reason.txt`, `${reason}\n`);
    return target;
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== "ENOENT") throw error;
}
