import {
  chmodSync,
  chownSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";

/** Who writes a file into the shared volume, and the permissions it gives the file. */
export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

/**
 * A writer other than the pods (uid 500), as on the real export: an SFTP account or a CRM export
 * job. The service must import its files without owning them (issue 23).
 */
export const OTHER_WRITER = { uid: 1001, gid: 1001 } as const;

/**
 * Drops a file into an inbox folder the way writers are asked to: written under a dot-name (which
 * the service ignores), given its owner and mode, then renamed in. Needs root, as the e2e tier has.
 */
export function dropAs(folder: string, name: string, content: string, owner: FileOwner): string {
  const temporary = path.join(folder, `.${name}.tmp`);
  writeFileSync(temporary, content);
  chownSync(temporary, owner.uid, owner.gid);
  // Explicitly: writeFileSync's mode is cut by the umask, so 0666 would come out 0644.
  chmodSync(temporary, owner.mode);
  const target = path.join(folder, name);
  renameSync(temporary, target);
  return target;
}

/** A file's owner and permission bits, for comparing with a FileOwner. */
export function ownerOf(file: string): FileOwner {
  const info = statSync(file);
  return { uid: info.uid, gid: info.gid, mode: info.mode & 0o777 };
}

/**
 * The archive/ entry of a file dropped as `name` (archive/ names are `<UTC time>-<name>`), if any
 * yet; a named route's files are archived in archive/<route>/.
 */
export function archivedName(volumeDir: string, name: string, route?: string): string | undefined {
  const archive = path.join(volumeDir, "archive", ...(route ? [route] : []));
  if (!existsSync(archive)) return undefined;
  return readdirSync(archive).find((entry) => entry.endsWith(`-${name}`));
}

/** The summary beside a file's archived copy (archive/ or archive/<route>/), once it is written. */
export function archivedSummary<T = Record<string, unknown>>(
  volumeDir: string,
  name: string,
  route?: string,
): T | undefined {
  const entry = archivedName(volumeDir, name, route);
  const summary =
    entry && path.join(volumeDir, "archive", ...(route ? [route] : []), `${entry}.summary.json`);
  return summary && existsSync(summary) ? (JSON.parse(readFileSync(summary, "utf8")) as T) : undefined;
}

/** The replica folders of processing/ (the API lane's) that hold a file of this name. */
export function claimFolders(volumeDir: string, name: string): string[] {
  const processing = path.join(volumeDir, "processing");
  return readdirSync(processing, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((folder) => readdirSync(path.join(processing, folder)).includes(name));
}
