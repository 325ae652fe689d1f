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
 * they are upserts). A journal written for different content is ignored.
 */
export class Journal {
  private pending: number[] = [];
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly handle: FileHandle,
    private readonly file: string,
    readonly acknowledged: ReadonlySet<number>,
  ) {}

  static async open(file: string, identity: FileIdentity): Promise<Journal> {
    const acknowledged = new Set<number>();
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
        if (/^\d+$/.test(line)) acknowledged.add(Number(line));
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
    return new Journal(handle, file, acknowledged);
  }

  /**
   * Records an acknowledged batch durably; resolves after fsync. Batches acknowledged while a
   * write is under way share the next write and fsync (group commit).
   */
  record(batchIndex: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push(batchIndex);
      this.waiters.push({ resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const indices = this.pending.splice(0);
      const waiters = this.waiters.splice(0);
      try {
        await this.handle.write(`${indices.join("\n")}\n`);
        await this.handle.sync();
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
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
