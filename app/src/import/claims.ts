import { constants } from "node:fs";
import {
  access,
  lstat,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../time/clock";
import {
  isIgnored,
  laneFormatOf,
  LEGACY_CLAIM_SEPARATOR,
  nameProblem,
  storageName,
  timestampForName,
  type DataLayout,
  type ImportLane,
  LANE_FOLDERS,
  ROUTES_FOLDER,
} from "../shared/layout";
import { ReplicaIdError } from "./errors";

export interface InboxScan {
  /** Files ready to import, oldest first. */
  readonly ready: readonly string[];
  /** The same, with their modification time (to merge the inbox's lanes in the order files came). */
  readonly readyFiles: ReadonlyArray<{ readonly name: string; readonly mtimeMs: number }>;
  /** Entries the importer will not take (unsafe names, symlinks, other types), with the reason. */
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
  /** The lane whose inbox this store claims from (default api): which names it takes (`laneFormatOf`). */
  readonly lane?: ImportLane;
}

/** The parts of a replica id made by replicaId(); undefined for another form. */
export interface ReplicaIdentity {
  readonly host: string;
  readonly pid: number;
  readonly nonce: string;
}

const REPLICA_ID = /^(.+)-(\d+)-([0-9a-f]{8})$/;

/** The lease file in a replica's processing folder: its mtime is the replica's last heartbeat. */
export const LEASE_FILE = ".lease";

/** A replica id that names the host (the pod, in Kubernetes), the process and this incarnation. */
export function replicaId(host: string, pid: number, nonce: string): string {
  if (!/^[0-9a-f]{8}$/.test(nonce)) throw new ReplicaIdError("the nonce of a replica id is 8 hex digits");
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

/** What identifies a claimed file's content at claim time; any change means its writer is still at it. */
export interface ClaimedFileState {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/** How a claim stands: still ours, taken over, gone from processing/, or written to since it was claimed. */
export type ClaimCheck =
  | { readonly state: "held" }
  | { readonly state: "lost" }
  | { readonly state: "deleted" }
  | { readonly state: "changed"; readonly reason: string };

/**
 * Claims files on a shared volume so that any number of replicas import each file once, whoever
 * owns the files. A claim is an atomic rename from inbox/ into `processing/<replica>/`, the name
 * unchanged: of two replicas racing for a file exactly one rename succeeds, and a name the
 * filesystem took in inbox/ fits there too. The claimed files belong to whoever wrote them (an
 * SFTP account, a CRM job), so nothing is ever set on them: a replica's liveness is the mtime of
 * its own `processing/<replica>/.lease`, touched before every claim and while it works. A folder
 * whose lease is older than the claim timeout belongs to a dead replica, and its files are taken
 * over, again by one atomic rename each. This works on NFS, where inotify sees nothing other
 * clients write, so the inbox is scanned.
 */
export class ClaimStore {
  private readonly sizes = new Map<string, number>();
  /** Entries refused but not ours to move, whose reason was written once. */
  private readonly leftInPlace = new Set<string>();
  readonly folder: string;
  private readonly lease: string;

  constructor(
    private readonly layout: DataLayout,
    private readonly settings: ClaimSettings,
    private readonly clock: Clock,
  ) {
    if (
      settings.replicaId.includes("/") ||
      settings.replicaId.startsWith(".") ||
      settings.replicaId.includes(LEGACY_CLAIM_SEPARATOR)
    ) {
      throw new ReplicaIdError(
        `replica id "${settings.replicaId}" must not contain "/" or "${LEGACY_CLAIM_SEPARATOR}", nor start with "."`,
      );
    }
    this.folder = path.join(layout.processing, settings.replicaId);
    this.lease = path.join(this.folder, LEASE_FILE);
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
      const typeProblem = entryTypeProblem(name, info, this.settings.lane);
      if (typeProblem === "skip") continue;
      const problem = typeProblem ?? nameProblem(name, this.settings.lane);
      if (problem) {
        refused.push({ name, reason: problem });
        continue;
      }
      const previousSize = this.sizes.get(name);
      this.sizes.set(name, info.size);
      seen.add(name);
      const settled =
        now - info.mtimeMs >= this.settings.settleMs &&
        (this.settings.settleMs === 0 || previousSize === info.size);
      // Only a settled file is judged on its permissions: its writer may still change them.
      const forbidden = settled ? await unreadable(path.join(this.layout.inbox, name)) : undefined;
      if (forbidden) {
        refused.push({ name, reason: forbidden });
        continue;
      }
      depth += 1;
      oldest = Math.min(oldest, info.mtimeMs);
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
    // The lease first: a replica that lists this folder after the rename sees a fresh lease.
    await this.touchLease();
    const target = path.join(this.folder, name);
    try {
      await rename(path.join(this.layout.inbox, name), target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return this.holding(name, target);
  }

  /**
   * Takes over claims whose holder is gone; returns those this replica won. A claim left by an
   * earlier incarnation of this replica (a crashed, restarted container) is resumed at once;
   * any other waits until its holder has not heartbeated for the claim timeout. Folders of
   * replicas that hold nothing and are gone are removed.
   */
  async recoverStale(): Promise<Claim[]> {
    const won: Claim[] = [];
    for (const entry of await readdir(this.layout.processing, { withFileTypes: true })) {
      if (entry.name === this.settings.replicaId || entry.name.startsWith(".")) continue;
      if (entry.isDirectory()) {
        if (!isReplicaFolderName(entry.name)) continue;
        won.push(...(await this.recoverFolder(entry.name)));
      } else if (entry.isFile()) {
        const legacy = await this.recoverLegacy(entry.name);
        if (legacy) won.push(legacy);
      }
    }
    return won;
  }

  /**
   * The files other replicas hold in this lane now, with their modification time (a claim is a
   * rename, which keeps it: the time the writer finished the file). The import asks before it
   * claims a file whose order matters (import-service.ts), so that across replicas a removal or
   * a replacement never overtakes an older file of its route, nor an older one them.
   */
  async heldElsewhere(): Promise<Array<{ readonly name: string; readonly mtimeMs: number }>> {
    const held: Array<{ name: string; mtimeMs: number }> = [];
    const owners = await readdir(this.layout.processing, { withFileTypes: true }).catch(() => []);
    for (const owner of owners) {
      if (owner.name === this.settings.replicaId || !owner.isDirectory() || !isReplicaFolderName(owner.name))
        continue;
      const folder = path.join(this.layout.processing, owner.name);
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        if (name === LEASE_FILE || name.startsWith(".")) continue;
        const info = await stat(path.join(folder, name)).catch(() => undefined);
        if (info?.isFile()) held.push({ name, mtimeMs: info.mtimeMs });
      }
    }
    return held;
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

  /**
   * Moves an entry the importer will not take out of the inbox, with the reason beside it. An
   * entry the service may not move (a folder of another user: renaming a folder needs write
   * permission on it) stays where it is; its reason is written to rejects/ once, saying so.
   */
  async refuse(name: string, reason: string): Promise<string | undefined> {
    const target = path.join(
      this.layout.rejects,
      `${timestampForName(this.clock.now())}-${storageName(name)}`,
    );
    try {
      await rename(path.join(this.layout.inbox, name), target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return undefined;
      if (code !== "EACCES" && code !== "EPERM") throw error;
      if (this.leftInPlace.has(name)) return undefined;
      this.leftInPlace.add(name);
      await writeFile(
        `${target}.reason.txt`,
        reasonText(name, `${reason}. The service may not move it out of inbox/ (${code}): remove it by hand`),
      );
      return `${target}.reason.txt`;
    }
    this.leftInPlace.delete(name);
    await writeFile(`${target}.reason.txt`, reasonText(name, reason));
    return target;
  }

  /** Renews this replica's lease (creating its folder and lease when missing). */
  async touchLease(): Promise<void> {
    const now = new Date(this.clock.now());
    try {
      await utimes(this.lease, now, now);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      await mkdir(this.folder, { recursive: true });
      await (await open(this.lease, "a")).close();
      await utimes(this.lease, now, now);
    }
  }

  private async recoverFolder(owner: string): Promise<Claim[]> {
    const folder = path.join(this.layout.processing, owner);
    // The listing before the lease: a file renamed in after its holder touched the lease is
    // listed only together with that fresh lease.
    let names: string[];
    try {
      names = (await readdir(folder)).filter((name) => name !== LEASE_FILE && !name.startsWith("."));
    } catch {
      return []; // removed by another replica meanwhile
    }
    if (!this.isOwnPredecessor(owner) && !(await this.isStale(folder))) return [];
    const won: Claim[] = [];
    for (const name of names) {
      const claim = await this.takeOver(path.join(folder, name), name);
      if (claim) won.push(claim);
    }
    // Nothing left: the folder goes (rmdir refuses a folder that a late claim just filled).
    const leftovers = await readdir(folder).catch(() => [] as string[]);
    if (leftovers.every((name) => name === LEASE_FILE)) {
      await rm(path.join(folder, LEASE_FILE), { force: true });
      await rmdir(folder).catch(() => undefined);
    }
    return won;
  }

  /** A `<name>~<replica>` claim of a version before per-replica folders: taken over after the timeout. */
  private async recoverLegacy(entry: string): Promise<Claim | undefined> {
    const separator = entry.lastIndexOf(LEGACY_CLAIM_SEPARATOR);
    if (separator <= 0) return undefined;
    const from = path.join(this.layout.processing, entry);
    let info;
    try {
      info = await stat(from);
    } catch {
      return undefined;
    }
    if (this.clock.now() - info.mtimeMs < this.settings.claimTimeoutMs) return undefined;
    return this.takeOver(from, entry.slice(0, separator));
  }

  /** Whether the replica whose folder this is stopped heartbeating: by its lease, else the folder's own mtime. */
  private async isStale(folder: string): Promise<boolean> {
    const now = this.clock.now();
    try {
      return now - (await stat(path.join(folder, LEASE_FILE))).mtimeMs >= this.settings.claimTimeoutMs;
    } catch {
      try {
        return now - (await stat(folder)).mtimeMs >= this.settings.claimTimeoutMs;
      } catch {
        return false;
      }
    }
  }

  private async takeOver(from: string, name: string): Promise<Claim | undefined> {
    await this.touchLease();
    const to = path.join(this.folder, name);
    try {
      await rename(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    return this.holding(name, to);
  }

  private async holding(name: string, at: string): Promise<Claim> {
    const info = await stat(at);
    const state = { dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
    return new Claim(this.layout, name, at, state, this, this.clock);
  }
}

/** A folder name that can be a replica's: anything but the lanes' own folders and dot-names. */
function isReplicaFolderName(name: string): boolean {
  return (
    !(LANE_FOLDERS as readonly string[]).includes(name) && name !== ROUTES_FOLDER && !name.startsWith(".")
  );
}

/**
 * Why an inbox entry that is not a regular file is refused, "skip" for entries that are not the
 * importer's business (folders such as bulk/ that are not named like a data file), or undefined
 * for a regular file.
 */
function entryTypeProblem(
  name: string,
  info: { isSymbolicLink(): boolean; isFile(): boolean; isDirectory(): boolean },
  lane: ImportLane | undefined,
): string | "skip" | undefined {
  if (info.isSymbolicLink())
    return "symbolic links are not imported (one could point outside the shared volume): copy the file in instead";
  if (info.isFile()) return undefined;
  if (info.isDirectory())
    return laneFormatOf(name, lane) === undefined
      ? "skip"
      : "it is a folder, not a file: drop the contacts file itself in inbox/";
  return "it is not a regular file (a pipe, socket or device): write the contacts to a regular file and rename it into inbox/";
}

/** Why this process cannot read a file (its owner gave it no read permission for us), else undefined. */
async function unreadable(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") return undefined;
    const uid = process.getuid?.();
    return `the service (uid ${uid ?? "?"}) may not read it: its writer should make it readable (chmod 644, or group-readable with the volume's group) and drop it again`;
  }
}

/**
 * Moves a file (claimed, or archived a moment ago) to rejects/ under `<UTC time>-<name>`, with
 * the reason beside it; a file already gone still gets its reason. Returns where it went.
 */
export async function setAside(
  layout: DataLayout,
  nowMs: number,
  name: string,
  from: string,
  reason: string,
): Promise<string> {
  const target = path.join(layout.rejects, `${timestampForName(nowMs)}-${storageName(name)}`);
  await rename(from, target).catch(ignoreMissing);
  const droppedIn = `${DROPPED_IN}${path.relative(layout.root, layout.inbox).split(path.sep).join("/")}/`;
  await writeFile(`${target}.reason.txt`, `${reasonText(name, reason)}${droppedIn}\n`);
  return target;
}

/**
 * The last line of a `.reason.txt`: the folder the file was dropped in, relative to the data dir
 * (`inbox/renewals/remove/`), so the console puts a fixed file back in its own lane: a removal
 * requeued into a route's contacts folder would be read as contacts.
 */
export const DROPPED_IN = "dropped in: ";

function reasonText(name: string, reason: string): string {
  return storageName(name) === name ? `${reason}\n` : `${reason}\nfile name as dropped: ${name}\n`;
}

/** How a file differs from what it was when claimed, in words; undefined when it is the same. */
export function howItChanged(was: ClaimedFileState, now: ClaimedFileState): string | undefined {
  if (now.ino !== was.ino || now.dev !== was.dev) return "it was replaced by another file";
  if (now.size !== was.size)
    return `it ${now.size > was.size ? "grew" : "shrank"} from ${was.size} to ${now.size} bytes`;
  if (now.mtimeMs !== was.mtimeMs) return "it was written to";
  return undefined;
}

/** A file this replica holds in `processing/<replica>/`. */
export class Claim {
  constructor(
    private readonly layout: DataLayout,
    /** The name the writer gave the file. */
    readonly name: string,
    /** Where the claimed file is now. */
    readonly path: string,
    /** The file as it was when claimed. */
    readonly claimed: ClaimedFileState,
    private readonly store: Pick<ClaimStore, "touchLease">,
    private readonly clock: Clock,
  ) {}

  /**
   * Renews this replica's lease and looks at the claimed file: still here and as claimed, gone
   * (taken over by another replica, or deleted), or written to since it was claimed.
   */
  async check(): Promise<ClaimCheck> {
    await this.store.touchLease();
    let info;
    try {
      info = await stat(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return (await this.takenOver()) ? { state: "lost" } : { state: "deleted" };
    }
    const change = howItChanged(this.claimed, info);
    return change === undefined ? { state: "held" } : { state: "changed", reason: change };
  }

  /** Puts the file back in the inbox (graceful shutdown): another replica resumes it from its journal. */
  async release(): Promise<void> {
    await rename(this.path, path.join(this.layout.inbox, this.name)).catch(ignoreMissing);
  }

  /** Where `archive()` will put the file, so its summary can be written first. */
  archivePath(): string {
    return path.join(this.layout.archive, `${timestampForName(this.clock.now())}-${storageName(this.name)}`);
  }

  /** Moves the imported file into the archive: the last step, so an archived file is a finished one. */
  async archive(target: string): Promise<void> {
    await rename(this.path, target);
  }

  /** Moves a file refused as a whole to rejects/, with the reason beside it. */
  async reject(reason: string): Promise<string> {
    return setAside(this.layout, this.clock.now(), this.name, this.path, reason);
  }

  /** Whether another replica's folder holds this file now. */
  private async takenOver(): Promise<boolean> {
    const folders = await readdir(this.layout.processing, { withFileTypes: true }).catch(() => []);
    for (const folder of folders) {
      if (!folder.isDirectory()) continue;
      const other = path.join(this.layout.processing, folder.name, this.name);
      if (other === this.path) continue;
      if (
        await stat(other).then(
          (info) => info.ino === this.claimed.ino,
          () => false,
        )
      )
        return true;
    }
    return false;
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== "ENOENT") throw error;
}
