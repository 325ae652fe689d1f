import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { once } from "node:events";

/**
 * The rejects report of one file: a CSV of `line,reason,row` (the row's fields as JSON), written
 * under a temporary name and renamed into place when the file is done, so a report that is
 * visible is complete. A resumed import rewrites it from the start.
 */
export class RejectsReport {
  private stream: WriteStream | undefined;
  private count = 0;

  constructor(
    /** Where the finished report goes. */
    readonly finalPath: string,
    private readonly partialPath: string,
  ) {}

  get rejected(): number {
    return this.count;
  }

  async add(line: number, reason: string, record?: Readonly<Record<string, string>>): Promise<void> {
    if (!this.stream) {
      this.stream = createWriteStream(this.partialPath, { flags: "w" });
      this.stream.write("line,reason,row\n");
    }
    this.count += 1;
    const row = `${line},${csvField(reason)},${csvField(record ? JSON.stringify(record) : "")}\n`;
    if (!this.stream.write(row)) await once(this.stream, "drain");
  }

  /** Closes the report and moves it into place; returns its path, or undefined when nothing was rejected. */
  async finish(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    await this.close();
    await rename(this.partialPath, this.finalPath);
    return this.finalPath;
  }

  /** Drops the partial report (the import stops and will be resumed, which rewrites it). */
  async discard(): Promise<void> {
    await this.close();
    await rm(this.partialPath, { force: true });
  }

  private async close(): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.closed) return;
    await new Promise<void>((resolve, reject) =>
      stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
