import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";

/**
 * The rejects report of one file: a CSV of `line,reason,row` (the row's fields as JSON), written
 * under a temporary name and renamed into place when the file is done, so a report that is
 * visible is complete. A resumed import rewrites it from the start. At most `maxRows` rows are
 * listed (IMPORT_MAX_REJECTED_ROWS); the rest are only counted, so a file of bad rows cannot fill
 * the shared volume with its report.
 */
export class RejectsReport {
  private stream: WriteStream | undefined;
  private streamError: Error | undefined;
  private count = 0;

  constructor(
    /** Where the finished report goes. */
    readonly finalPath: string,
    private readonly partialPath: string,
    private readonly maxRows: number = Number.POSITIVE_INFINITY,
  ) {}

  get rejected(): number {
    return this.count;
  }

  /** True once the report lists as many rows as it may. */
  get full(): boolean {
    return this.count >= this.maxRows;
  }

  /** Rejected rows counted but not listed, past the limit. */
  get notListed(): number {
    return Math.max(0, this.count - this.maxRows);
  }

  async add(line: number, reason: string, record?: Readonly<Record<string, string>>): Promise<void> {
    this.count += 1;
    if (this.count > this.maxRows) return;
    if (this.streamError) throw this.streamError;
    if (!this.stream) {
      const stream = createWriteStream(this.partialPath, { flags: "w" });
      // A write that fails later (ENOSPC) surfaces at the next add or at finish, never as an
      // unhandled 'error' event.
      stream.on("error", (error) => {
        this.streamError ??= error;
      });
      stream.write("line,reason,row\n");
      this.stream = stream;
    }
    const row = `${line},${csvField(reason)},${csvField(record ? JSON.stringify(record) : "")}\n`;
    if (!this.stream.write(row)) await once(this.stream, "drain");
  }

  /** Closes the report and moves it into place; returns its path, or undefined when nothing was rejected. */
  async finish(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    await this.close();
    if (this.streamError) throw this.streamError;
    await rename(this.partialPath, this.finalPath);
    return this.finalPath;
  }

  /** Drops the partial report (the import stops and will be resumed, which rewrites it). */
  async discard(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.partialPath, { force: true });
  }

  private async close(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.closed || stream.destroyed) return;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
