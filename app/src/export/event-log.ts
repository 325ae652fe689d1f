import { mkdir, open, readFile, rename, stat, truncate, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../time/clock";
import { timestampForName } from "../import/layout";

/**
 * An append-only log of pushed events with group commit: every append waiting while a write is
 * under way goes into the next single write + fsync, so a burst costs one fsync per batch, not
 * per event. An append resolves only once its line is on disk. The active segment has a dot-name;
 * it is published (renamed to events-<time>.ndjson) when it reaches `maxEventsPerSegment`, when
 * `rotate()` is called, and at startup for a segment a previous process left.
 */
export class EventLog {
  private handle: FileHandle | undefined;
  private eventsInSegment = 0;
  private queue: Array<{ line: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  /** Writes and fsyncs so far (a benchmark figure). */
  fsyncs = 0;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
    private readonly maxEventsPerSegment = 10_000,
  ) {}

  private get activePath(): string {
    return path.join(this.dir, ".events-active.ndjson");
  }

  /** Publishes a segment left by a previous process (its torn last line cut), and returns its lines. */
  async recover(): Promise<string[]> {
    await mkdir(this.dir, { recursive: true });
    const text = await readFile(this.activePath, "utf8").catch(() => "");
    if (text === "") return [];
    const intact = text.slice(0, text.lastIndexOf("\n") + 1);
    await truncate(this.activePath, Buffer.byteLength(intact));
    await this.publish();
    return intact.split("\n").filter(Boolean);
  }

  append(event: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(event)}\n`, resolve, reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  async rotate(): Promise<void> {
    await this.flushing;
    await this.publish();
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        this.handle ??= await open(this.activePath, "a");
        await this.handle.write(batch.map((entry) => entry.line).join(""));
        await this.handle.sync();
        this.fsyncs += 1;
        this.eventsInSegment += batch.length;
        for (const entry of batch) entry.resolve();
        if (this.eventsInSegment >= this.maxEventsPerSegment) await this.publish();
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
  }

  private async publish(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    this.eventsInSegment = 0;
    const exists = await stat(this.activePath).then(
      (info) => info.size > 0,
      () => false,
    );
    if (exists)
      await rename(
        this.activePath,
        path.join(this.dir, `events-${timestampForName(this.clock.now())}-${process.pid}.ndjson`),
      );
  }
}
