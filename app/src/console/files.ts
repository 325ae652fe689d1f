import { readdir, readFile, rename, stat } from "node:fs/promises";
import path from "node:path";
import type { DataLayout } from "../import/layout";

export interface FolderSummary {
  readonly count: number;
  /** Age of the oldest file, in seconds (0 when empty). */
  readonly oldestAgeSeconds: number;
  readonly newest: ReadonlyArray<{ readonly name: string; readonly ageSeconds: number }>;
}

export interface RejectedFile {
  readonly name: string;
  readonly ageSeconds: number;
  readonly bytes: number;
  /** Why it was refused (refused files), or that it is the unread rest of a file (remainders). */
  readonly reason: string;
  /** The name it gets back in inbox/. */
  readonly requeueAs: string;
}

const STAMP = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-(.+)$/;

async function entries(dir: string, nowMs: number) {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => !name.startsWith("."));
  const found = await Promise.all(
    names.map(async (name) => {
      const info = await stat(path.join(dir, name)).catch(() => undefined);
      return info?.isFile()
        ? { name, ageSeconds: Math.max(0, Math.round((nowMs - info.mtimeMs) / 1000)), bytes: info.size }
        : undefined;
    }),
  );
  return found.filter((entry) => entry !== undefined).sort((a, b) => a.ageSeconds - b.ageSeconds);
}

export async function summarise(dir: string, nowMs: number, only: (name: string) => boolean = () => true) {
  const files = (await entries(dir, nowMs)).filter((entry) => only(entry.name));
  return {
    count: files.length,
    oldestAgeSeconds: files.length > 0 ? files[files.length - 1]!.ageSeconds : 0,
    newest: files.slice(0, 5).map(({ name, ageSeconds }) => ({ name, ageSeconds })),
  } satisfies FolderSummary;
}

/**
 * Files in rejects/ that can go back to the inbox once fixed: files refused as a whole (they have
 * a `.reason.txt` beside them) and unread remainders (`.remainder.csv`/`.ndjson`). Row reports
 * (`.rejects.csv`) are for reading, not importing.
 */
export async function rejectedFiles(layout: DataLayout, nowMs: number): Promise<RejectedFile[]> {
  const all = await entries(layout.rejects, nowMs);
  const names = new Set(all.map((entry) => entry.name));
  const result: RejectedFile[] = [];
  for (const entry of all) {
    const original = STAMP.exec(entry.name)?.[1];
    if (!original || entry.name.endsWith(".reason.txt") || entry.name.endsWith(".rejects.csv")) continue;
    let reason: string;
    if (names.has(`${entry.name}.reason.txt`)) {
      reason = (
        await readFile(path.join(layout.rejects, `${entry.name}.reason.txt`), "utf8").catch(() => "")
      ).trim();
    } else if (/\.remainder\.(csv|ndjson)$/.test(entry.name)) {
      reason = "the unread rest of a file after a structural error; fix it and requeue";
    } else continue;
    result.push({ ...entry, reason, requeueAs: original });
  }
  return result;
}

export class RequeueError extends Error {}

/** Moves a fixed file from rejects/ back into inbox/ under its original name. */
export async function requeue(layout: DataLayout, name: string, nowMs: number): Promise<string> {
  const candidate = (await rejectedFiles(layout, nowMs)).find((file) => file.name === name);
  if (!candidate)
    throw new RequeueError(
      `${name} is not a rejected file that can be requeued (it may have been requeued already)`,
    );
  const target = path.join(layout.inbox, candidate.requeueAs);
  if (
    await stat(target).then(
      () => true,
      () => false,
    )
  )
    throw new RequeueError(
      `inbox/ already holds ${candidate.requeueAs}: wait until it is imported, then requeue`,
    );
  await rename(path.join(layout.rejects, name), target);
  await rename(
    path.join(layout.rejects, `${name}.reason.txt`),
    path.join(layout.rejects, `.${name}.reason.txt.requeued`),
  ).catch(() => undefined);
  return candidate.requeueAs;
}
