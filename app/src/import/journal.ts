import { createHash } from "node:crypto";
import { open, readFile, rm, stat, truncate, type FileHandle } from "node:fs/promises";

/** Identifies a file's content well enough that a journal never applies to a different file. */
export interface FileIdentity {
  readonly name: string;
  readonly size: number;
  readonly headSha256: string;
}

export async function fileIdentity(file: string, name: string): Promise<FileIdentity> {
  const { size } = await stat(file);
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(Math.min(size, 65_536));
    await handle.read(head, 0, head.length, 0);
    return { name, size, headSha256: createHash("sha256").update(head).digest("hex") };
  } finally {
    await handle.close();
  }
}

/**
 * The crash-safety journal of one file: a line per batch that Genesys acknowledged, fsync'd
 * before the batch counts as done. After `kill -9` at any point, a restart skips the batches
 * listed and sends the rest: no row lost, at most the batches in flight sent again (harmless,
 * they are upserts). A journal written for different content is ignored. A batch may carry a
 * detail (one line of text, such as the ids Genesys kept from a removal), written in the same line
 * and so made durable together with the batch.
 */
export class Journal {
  private pending: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    private readonly file: string,
    readonly acknowledged: ReadonlySet<number>,
    /** The details recorded with acknowledged batches, by batch (only batches that had one). */
    readonly details: ReadonlyMap<number, string>,
  ) {}

  static async open(file: string, identity: FileIdentity): Promise<Journal> {
    const acknowledged = new Set<number>();
    const details = new Map<number, string>();
    let matches = false;
    const text = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const lines = text.split("\n");
    try {
      const head = JSON.parse(lines[0] ?? "") as { identity?: FileIdentity };
      matches = JSON.stringify(head.identity) === JSON.stringify(identity);
    } catch {
      matches = false;
    }
    if (matches) {
      // The last element follows the final newline: empty, or a line torn by a crash mid-write,
      // which is ignored (that batch is simply sent again).
      for (const line of lines.slice(1, -1)) {
        const entry = /^(\d+)(?: (.+))?$/.exec(line);
        if (!entry) continue;
        acknowledged.add(Number(entry[1]));
        if (entry[2] !== undefined) details.set(Number(entry[1]), entry[2]);
      }
    }
    if (matches) {
      // Cut a torn tail so the next append starts on a line of its own.
      await truncate(file, Buffer.byteLength(text.slice(0, text.lastIndexOf("\n") + 1)));
    }
    const handle = await open(file, matches ? "a" : "w");
    if (!matches) {
      await handle.write(`${JSON.stringify({ identity })}\n`);
      await handle.sync();
    }
    return new Journal(handle, file, acknowledged, details);
  }

  /**
   * Records an acknowledged batch durably, with its detail if any (one line: no newline);
   * resolves after fsync. Batches acknowledged while a write is under way share the next write
   * and fsync (group commit).
   */
  record(batchIndex: number, detail?: string): Promise<void> {
    if (detail !== undefined && (detail === "" || /[\r\n]/.test(detail)))
      return Promise.reject(new RangeError("a journal detail is one non-empty line"));
    return new Promise<void>((resolve, reject) => {
      this.pending.push(detail === undefined ? `${batchIndex}` : `${batchIndex} ${detail}`);
      this.waiters.push({ resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    // `flushing` is cleared in the same synchronous step that finds nothing pending: a record()
    // made after it starts a new flush, one made before it is written by this one. (Cleared in a
    // `.finally`, a record() made by a waiter resumed here could land in between and never be written.)
    while (this.pending.length > 0) {
      const lines = this.pending.splice(0);
      const waiters = this.waiters.splice(0);
      try {
        await this.handle.write(`${lines.join("\n")}\n`);
        await this.handle.sync();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }

  /** The file is done: its journal goes. */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.file, { force: true });
  }
}
