import { open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";

/**
 * The export's durable state: the watermark (results before it are in the outbox), the ids
 * exported in the overlap window (so a re-polled overlap adds no duplicate), and the file being
 * published, if a crash interrupted it. Written atomically: temporary file, fsync, rename.
 */
export interface ExportState {
  readonly watermarkMs: number | undefined;
  /** conversationId → conversation end, for the overlap window. */
  readonly recent: Readonly<Record<string, number>>;
  readonly pending:
    | {
        readonly temporaryFile: string;
        readonly finalFile: string;
        readonly windowEndMs: number;
        readonly ids: Readonly<Record<string, number>>;
        /** conversationId → fingerprint of the record written (fingerprints.ts), when the re-read is on. */
        readonly fingerprints?: Readonly<Record<string, string>>;
      }
    | undefined;
}

export const EMPTY_STATE: ExportState = { watermarkMs: undefined, recent: {}, pending: undefined };

export async function loadState(file: string): Promise<ExportState> {
  try {
    return { ...EMPTY_STATE, ...(JSON.parse(await readFile(file, "utf8")) as Partial<ExportState>) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_STATE;
    throw error;
  }
}

export async function saveState(file: string, state: ExportState): Promise<void> {
  await writeDurably(file, JSON.stringify(state));
}

/** Writes `content` to `file` so that a reader sees the old content or the new, never a part. */
export async function writeDurably(file: string, content: string): Promise<void> {
  const temporary = `${file}.tmp`;
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
  await syncDirectory(path.dirname(file));
}

/** Writes lines to `.<name>.tmp` in `dir`, fsynced; the caller renames it to `name` to publish. */
export async function writeTemporary(dir: string, name: string, lines: readonly string[]): Promise<string> {
  const temporary = path.join(dir, `.${name}.tmp`);
  const handle = await open(temporary, "w");
  try {
    await handle.writeFile(lines.length > 0 ? `${lines.join("\n")}\n` : "");
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temporary;
}

/** Makes a rename in `dir` durable (the directory entry itself is fsynced). */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The steps of publishing a file, in order: written under a temporary name, the intent saved in
 * the state, renamed into place. A restart after any of them finishes the publish, never redoes it.
 */
export type PublishStep = "after-temporary-file" | "after-pending-saved" | "after-rename";

/** Called as a publish passes each step; tests throw from it to stop there as a crash would. */
export interface PublishHooks {
  readonly afterStep?: (step: PublishStep) => void;
}

/**
 * Publishes `lines` as `name` in `dir` so that a restart at any step finishes the publish and
 * never redoes it: a temporary file (fsynced), then `savePending` records the intent with both
 * names, then the rename (and the directory fsynced). Returns the published file's path.
 */
export async function publishFile(
  dir: string,
  name: string,
  lines: readonly string[],
  savePending: (temporaryFile: string, finalFile: string) => Promise<void>,
  hooks: PublishHooks | undefined,
): Promise<string> {
  const file = path.join(dir, name);
  const temporary = await writeTemporary(dir, name, lines);
  hooks?.afterStep?.("after-temporary-file");
  await savePending(temporary, file);
  hooks?.afterStep?.("after-pending-saved");
  await rename(temporary, file);
  await syncDirectory(dir);
  hooks?.afterStep?.("after-rename");
  return file;
}

/** Finishes a publish a restart interrupted after its intent was saved: renames, unless that was done. */
export async function finishPublish(pending: { readonly temporaryFile: string; readonly finalFile: string }) {
  const temporaryExists = await stat(pending.temporaryFile).then(
    () => true,
    () => false,
  );
  if (temporaryExists) await rename(pending.temporaryFile, pending.finalFile);
}

/**
 * Removes the temporary files of publishes named `<prefix>...` whose intent was never saved (a
 * crash came first): no pending publish refers to them, so nothing will finish them.
 */
export async function removeOrphans(dir: string, prefix: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith(`.${prefix}`) && name.endsWith(".tmp"))
      await rm(path.join(dir, name), { force: true });
  }
}
