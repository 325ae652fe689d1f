import { readdir, readFile, rename, stat } from "node:fs/promises";
import path from "node:path";
import { parseStampedName, type DataLayout } from "../shared/layout";
import { DNC_FOLDER, ROUTE_NAME_PATTERN } from "../shared/routes";
import { DROPPED_IN } from "../import/claims";
import { RequeueError } from "./errors";

const ROUTE_NAME = new RegExp(ROUTE_NAME_PATTERN);

export interface ArchiveSummary {
  readonly count: number;
  /** Seconds since the newest file was archived; undefined when none was. */
  readonly lastAgeSeconds: number | undefined;
}

export interface RejectedFile {
  readonly name: string;
  readonly ageSeconds: number;
  /** Why it was refused (refused files), or that it is the unread rest of a file (remainders). */
  readonly reason: string;
  /**
   * Where it goes back: its folder and original name below inbox/ (`renewals/remove/x.csv`), or
   * below the data dir for a DNC route (`dnc/opt-outs/add/x.csv`); undefined when the console
   * cannot tell which folder it came from (`notRequeueable`).
   */
  readonly requeueAs: string | undefined;
  /** Why the console offers no requeue for it, when `requeueAs` is undefined. */
  readonly notRequeueable?: string;
}

const ageSeconds = (atMs: number, nowMs: number) => Math.max(0, Math.round((nowMs - atMs) / 1000));

async function names(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((name) => !name.startsWith("."));
}

/** The entries of a route's folder, as `<prefix><name>`. */
async function namesIn(dir: string, prefix: string): Promise<string[]> {
  return (await names(dir)).map((name) => `${prefix}${name}`);
}

/** The DNC routes' entries below `<dir>/dnc/`, as `dnc/<route>/<name>`. */
async function dncRouteNames(dir: string): Promise<string[]> {
  const routes = await readdir(path.join(dir, DNC_FOLDER), { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const route of routes)
    if (route.isDirectory() && ROUTE_NAME.test(route.name))
      found.push(...(await namesIn(path.join(dir, DNC_FOLDER, route.name), `${DNC_FOLDER}/${route.name}/`)));
  return found;
}

/**
 * The files of a folder and of its route folders (archive/<route>/, rejects/<route>/: routeLayout;
 * a DNC route's archive/dnc/<route>/, rejects/dnc/<route>/: dncLayout), those as `<route>/<name>`
 * and `dnc/<route>/<name>`: one directory read per route.
 */
async function namesWithRoutes(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    if (!entry.isDirectory()) found.push(entry.name);
    // `dnc` is no route's name (RESERVED_ROUTE_NAMES): it holds the DNC routes' folders.
    else if (entry.name === DNC_FOLDER) found.push(...(await dncRouteNames(dir)));
    // Only a route's folder: a refused folder set aside here has a stamped name, never a route's.
    else if (ROUTE_NAME.test(entry.name))
      found.push(...(await namesIn(path.join(dir, entry.name), `${entry.name}/`)));
  }
  return found;
}

/** Splits `<route>/<name>` or `dnc/<route>/<name>` (a named route's file) into the folder and the stamped name. */
function inRoute(name: string): { readonly folder: string; readonly base: string } {
  const slash = name.lastIndexOf("/");
  return slash < 0
    ? { folder: "", base: name }
    : { folder: name.slice(0, slash + 1), base: name.slice(slash + 1) };
}

/**
 * Why a DNC route's refused file is not requeued: its add/ and remove/ files are set aside in one
 * rejects/dnc/<route>/ folder, and nothing there says which of the two it came from; putting it
 * back in the wrong one would add numbers a customer asked to remove, or the reverse.
 */
function dncLaneUnknown(folder: string): string {
  return `the console cannot requeue a DNC route's file: rejects/ does not record whether it came from add/ or remove/. Fix it and drop it yourself in ${folder}add/ or ${folder}remove/`;
}

/** Imported files of every route: one directory read per route, the times from the names (no stat per file). */
export async function archiveSummary(layout: DataLayout, nowMs: number): Promise<ArchiveSummary> {
  let count = 0;
  let newestMs: number | undefined;
  for (const entry of await namesWithRoutes(layout.archive)) {
    const name = inRoute(entry).base;
    const stamped = parseStampedName(name);
    if (!stamped || name.endsWith(".summary.json")) continue;
    count += 1;
    newestMs = Math.max(newestMs ?? 0, stamped.atMs);
  }
  return { count, lastAgeSeconds: newestMs === undefined ? undefined : ageSeconds(newestMs, nowMs) };
}

/**
 * Files in rejects/ that can go back to the inbox once fixed, newest first: files refused as a
 * whole (they have a `.reason.txt` beside them) and unread remainders (`.remainder.csv`/`.ndjson`).
 * Row reports (`.rejects.csv`) are for reading, not importing.
 */
export async function rejectedFiles(layout: DataLayout, nowMs: number): Promise<RejectedFile[]> {
  const all = await namesWithRoutes(layout.rejects);
  const present = new Set(all);
  const result: RejectedFile[] = [];
  for (const name of all) {
    const { folder, base } = inRoute(name);
    const stamped = parseStampedName(base);
    if (!stamped || name.endsWith(".reason.txt") || name.endsWith(".rejects.csv")) continue;
    let reason: string;
    let droppedIn: string | undefined;
    if (present.has(`${name}.reason.txt`)) {
      const text = (
        await readFile(path.join(layout.rejects, `${name}.reason.txt`), "utf8").catch(() => "")
      ).trim();
      ({ reason, droppedIn } = splitReason(text, folder));
    } else if (/\.remainder\.(csv|ndjson)$/.test(name)) {
      reason = "the unread rest of a file after a structural error; fix it and requeue";
    } else continue;
    const age = ageSeconds(stamped.atMs, nowMs);
    if (droppedIn !== undefined)
      result.push({ name, ageSeconds: age, reason, requeueAs: `${droppedIn}${stamped.original}` });
    else if (folder.startsWith(`${DNC_FOLDER}/`))
      result.push({
        name,
        ageSeconds: age,
        reason,
        requeueAs: undefined,
        notRequeueable: dncLaneUnknown(folder),
      });
    // Back to the route's own inbox folder: `<route>/<original>` below inbox/.
    else result.push({ name, ageSeconds: age, reason, requeueAs: `${folder}${stamped.original}` });
  }
  return result.sort((a, b) => a.ageSeconds - b.ageSeconds);
}

/**
 * A `.reason.txt`'s reason, and the lane folder its last line names (claims.ts DROPPED_IN) as a
 * requeue target: below inbox/ for contact routes, `dnc/<route>/<lane>/` for DNC routes. Only a
 * lane folder of the route whose rejects folder holds the file is taken: the volume is shared,
 * and a planted line must not move a file anywhere else.
 */
function splitReason(text: string, folder: string): { reason: string; droppedIn: string | undefined } {
  const lines = text.split("\n");
  const last = lines[lines.length - 1] ?? "";
  if (!last.startsWith(DROPPED_IN)) return { reason: text, droppedIn: undefined };
  const reason = lines.slice(0, -1).join("\n").trim();
  const dropped = last.slice(DROPPED_IN.length);
  // folder: "" (the default route), "<route>/" or "dnc/<route>/".
  const dnc = folder.startsWith(`${DNC_FOLDER}/`);
  const lane = dnc ? `(?:add|remove)/` : `(?:(?:bulk|replace|remove)/)?`;
  const allowed = dnc ? new RegExp(`^${folder}${lane}$`) : new RegExp(`^inbox/${folder}${lane}$`);
  if (!allowed.test(dropped)) return { reason, droppedIn: undefined };
  return { reason, droppedIn: dnc ? dropped : dropped.slice("inbox/".length) };
}

/** Moves a fixed file from rejects/ back into the folder it was dropped in, under its original name. */
export async function requeue(layout: DataLayout, name: string, nowMs: number): Promise<string> {
  const candidate = (await rejectedFiles(layout, nowMs)).find((file) => file.name === name);
  if (!candidate)
    throw new RequeueError(
      "REQUEUE_NOT_REJECTED",
      `${name} is not a rejected file that can be requeued (it may have been requeued already)`,
    );
  if (candidate.requeueAs === undefined)
    throw new RequeueError("REQUEUE_LANE_UNKNOWN", `${name}: ${candidate.notRequeueable}`);
  const target = candidate.requeueAs.startsWith(`${DNC_FOLDER}/`)
    ? path.join(layout.root, candidate.requeueAs)
    : path.join(layout.inbox, candidate.requeueAs);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    throw new RequeueError(
      "REQUEUE_INBOX_OCCUPIED",
      `inbox/ already holds ${candidate.requeueAs}: wait until it is imported, then requeue`,
      { retryable: true },
    );
  await rename(path.join(layout.rejects, name), target);
  await rename(
    path.join(layout.rejects, `${name}.reason.txt`),
    path.join(layout.rejects, `.${name}.reason.txt.requeued`),
  ).catch(() => undefined);
  return candidate.requeueAs;
}
