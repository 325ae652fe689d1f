import { open, readFile, rename } from "node:fs/promises";
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
