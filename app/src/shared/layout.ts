import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { DNC_FOLDER } from "./routes";

/**
 * The data directory on the shared ReadWriteMany volume:
 *
 *   inbox/       writers drop files here, written elsewhere (or under a dot-name) and renamed in;
 *                they go through the contacts API, 1,000 rows a request (deltas)
 *     bulk/      whole lists, loaded through Genesys' bulk upload (CSV only)
 *     replace/   the same, after clearing the list (only with IMPORT_BULK_ALLOW_CLEAR)
 *     remove/    contact ids to take out of the list (import/removals.ts): CSV with the id column,
 *                or .txt with one id a line
 *   processing/  files claimed by a replica: `<replica>/<name>`, the name unchanged; the replica's
 *                liveness is the mtime of `<replica>/.lease`, a file the service owns (claimed
 *                files belong to whoever wrote them); bulk/ and replace/ below it for those lanes
 *   archive/     imported files, `<UTC time>-<name>`, each with `<...>.summary.json`; names
 *                past STORAGE_NAME_MAX are shortened there and below (storageName)
 *   rejects/     row reports `<UTC time>-<name>.rejects.csv`, unread remainders, refused files
 *   state/       crash-safety journals of acknowledged batches, one per file in progress, a bulk
 *                load's journal and staged file (`<name>.bulk.json`, `<name>.bulk.csv`), a
 *                removal's journal (`<name>.remove.journal`), and the results export's
 *                watermark (export.json)
 *   dnc/         DNC routes' files (app/src/dnc/), dnc/<route>/add/ and dnc/<route>/remove/: phone
 *                numbers or email addresses to add to or remove from the route's DNC list (dncLayout)
 *   outbox/      results for on-premises systems: results-<window>.ndjson from the poller,
 *                backfill-<range>.ndjson from --backfill, events-<time>-<replica>.ndjson pushed
 *                through the webhook; dot-names are still being written
 */
export interface DataLayout {
  readonly root: string;
  readonly inbox: string;
  readonly processing: string;
  readonly archive: string;
  readonly rejects: string;
  readonly state: string;
  readonly outbox: string;
}

export function dataLayout(root: string): DataLayout {
  return {
    root,
    inbox: path.join(root, "inbox"),
    processing: path.join(root, "processing"),
    archive: path.join(root, "archive"),
    rejects: path.join(root, "rejects"),
    state: path.join(root, "state"),
    outbox: path.join(root, "outbox"),
  };
}

/** How a file is loaded, by the inbox folder it was dropped in; `remove` takes files of contact ids to remove. */
export type ImportLane = "api" | "bulk" | "replace" | "remove";

export const BULK_LANES = ["bulk", "replace"] as const;

/** The folders below a route's inbox (and processing) folder, one per lane but the contacts API's. */
export const LANE_FOLDERS = [...BULK_LANES, "remove"] as const;

/** The layout one lane's claims work in: its inbox and processing folders, the rest shared. */
export function laneLayout(layout: DataLayout, lane: ImportLane): DataLayout {
  if (lane === "api") return layout;
  return { ...layout, inbox: path.join(layout.inbox, lane), processing: path.join(layout.processing, lane) };
}

/** Named routes' processing and state folders sit below `processing/routes/` and `state/routes/`. */
export const ROUTES_FOLDER = "routes";

/**
 * The layout of one import route (shared/routes.ts). The default route (`undefined`) is the
 * layout itself. A named route has its own inbox/<route>/, archive/<route>/ and rejects/<route>/,
 * and its claims and journals in processing/routes/<route>/ and state/routes/<route>/, so that
 * files of the same name on two routes never meet; the outbox is shared.
 */
export function routeLayout(layout: DataLayout, route: string | undefined): DataLayout {
  if (route === undefined) return layout;
  return {
    root: layout.root,
    inbox: path.join(layout.inbox, route),
    processing: path.join(layout.processing, ROUTES_FOLDER, route),
    archive: path.join(layout.archive, route),
    rejects: path.join(layout.rejects, route),
    state: path.join(layout.state, ROUTES_FOLDER, route),
    outbox: layout.outbox,
  };
}

/** The folders of a DNC route: entries to add, and entries to remove. */
export const DNC_LANES = ["add", "remove"] as const;

export type DncLane = (typeof DNC_LANES)[number];

/**
 * The layout of one DNC route (shared/routes.ts): its files in dnc/<route>/ (add/ and remove/
 * below it, `dncLaneLayout`), beside inbox/ and never inside it, so no contact route's scan sees
 * them; its archive and rejects in archive/dnc/<route>/ and rejects/dnc/<route>/; its journals and
 * its index of applied entries in state/dnc/<route>/. Its claims go below processing/routes/dnc/,
 * a folder the contact routes' claim stores never take for a replica's (`dnc` is no route name).
 */
export function dncLayout(layout: DataLayout, route: string): DataLayout {
  return {
    root: layout.root,
    inbox: path.join(layout.root, DNC_FOLDER, route),
    processing: path.join(layout.processing, ROUTES_FOLDER, DNC_FOLDER, route),
    archive: path.join(layout.archive, DNC_FOLDER, route),
    rejects: path.join(layout.rejects, DNC_FOLDER, route),
    state: path.join(layout.state, DNC_FOLDER, route),
    outbox: layout.outbox,
  };
}

/** The layout one lane of a DNC route's claims work in: its inbox and processing folders, the rest shared. */
export function dncLaneLayout(layout: DataLayout, lane: DncLane): DataLayout {
  return { ...layout, inbox: path.join(layout.inbox, lane), processing: path.join(layout.processing, lane) };
}

/** Creates a DNC route's folders (a dncLayout): both lanes in its inbox and processing folders. */
export async function ensureDncLayout(layout: DataLayout): Promise<void> {
  for (const dir of [
    ...DNC_LANES.map((lane) => path.join(layout.inbox, lane)),
    ...DNC_LANES.map((lane) => path.join(layout.processing, lane)),
    layout.archive,
    layout.rejects,
    layout.state,
  ]) {
    await mkdir(dir, { recursive: true });
  }
}

export async function ensureLayout(layout: DataLayout): Promise<void> {
  for (const dir of [
    layout.inbox,
    ...LANE_FOLDERS.map((lane) => path.join(layout.inbox, lane)),
    layout.processing,
    ...LANE_FOLDERS.map((lane) => path.join(layout.processing, lane)),
    layout.archive,
    layout.rejects,
    layout.state,
    layout.outbox,
  ]) {
    await mkdir(dir, { recursive: true });
  }
}

/** Separated the original name from the replica in claims before `processing/<replica>/` (kept to take those over). */
export const LEGACY_CLAIM_SEPARATOR = "~";

/** The longest name of one path entry that Linux filesystems (ext4, xfs, NFS) take, in bytes. */
export const NAME_MAX = 255;

/**
 * The longest form of a dropped file's name used in the names the service derives from it. The
 * rest of NAME_MAX is room for what it adds: `<UTC time>-` (25) and a suffix such as
 * `.remainder.ndjson` (17) or `.summary.json` (13).
 */
export const STORAGE_NAME_MAX = 190;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=-]*$/;

/** Names the importer takes: no path tricks, no claim separator, an extension the lane reads (`laneFormatOf`). */
export function nameProblem(name: string, lane: ImportLane = "api"): string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX) return `the name is too long (${bytes} bytes; at most ${NAME_MAX}): shorten it`;
  if (name.includes(".."))
    return `the name "${name}" contains "..": rename it (letters, digits, . _ - @ + = only)`;
  if (!SAFE_NAME.test(name))
    return `the name "${name}" has characters the importer does not accept: use letters, digits, . _ - @ + = only`;
  if (laneFormatOf(name, lane) === undefined)
    return lane === "remove"
      ? `"${name}" is neither .csv nor .txt: drop the ids to remove as CSV (a header row with the list's id column) or as .txt (one id a line, no header)`
      : `"${name}" is neither .csv nor .ndjson/.jsonl: drop contacts as CSV (header row = contact-list columns) or NDJSON`;
  return undefined;
}

export type FileFormat = "csv" | "ndjson";

/** Contact ids as text, one a line with no header: a format of inbox/remove/ only. */
export type IdListFormat = "txt";

/**
 * How the lane a file was dropped in reads it; undefined when the lane does not take such files.
 * inbox/remove/ takes ids, as CSV or as text; every other lane takes contacts (`formatOf`).
 */
export function laneFormatOf(name: string, lane: ImportLane = "api"): FileFormat | IdListFormat | undefined {
  if (lane !== "remove") return formatOf(name);
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".txt")) return "txt";
  return undefined;
}

export function formatOf(name: string): FileFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl")) return "ndjson";
  return undefined;
}

/**
 * The form of a file's name that archive/, rejects/ and state/ names are built from: the name
 * itself up to STORAGE_NAME_MAX bytes; a longer one keeps its start, gains a hash of the whole
 * name (two long names that share a start stay apart) and keeps its extension. Summaries, logs
 * and the console keep the original name.
 */
export function storageName(name: string): string {
  if (Buffer.byteLength(name) <= STORAGE_NAME_MAX) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 16);
  const extension = /\.[A-Za-z0-9]{1,10}$/.exec(name)?.[0] ?? "";
  let head = name.slice(0, STORAGE_NAME_MAX - hash.length - 1 - extension.length);
  while (Buffer.byteLength(head) > STORAGE_NAME_MAX - hash.length - 1 - extension.length)
    head = head.slice(0, -1);
  return `${head}-${hash}${extension}`;
}

/** Writers' temporary names, left alone until they are renamed. */
export function isIgnored(name: string): boolean {
  return name.startsWith(".") || name.endsWith(".tmp") || name.endsWith(".part") || name.endsWith(".partial");
}

/** `2026-11-21T08-00-00-000Z`: sortable and safe in file names. */
export function timestampForName(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3}Z)-(.+)$/;

/** Splits `<timestampForName>-<original>` (archive/ and rejects/ names) back into time and name. */
export function parseStampedName(
  name: string,
): { readonly atMs: number; readonly original: string } | undefined {
  const match = STAMPED.exec(name);
  if (!match) return undefined;
  const atMs = Date.parse(`${match[1]}:${match[2]}:${match[3]}.${match[4]}`);
  return Number.isNaN(atMs) ? undefined : { atMs, original: match[5]! };
}
