import { mkdir, open, readdir, readFile, rename, stat, truncate, type FileHandle } from "node:fs/promises";
import path from "node:path";
import type { Clock } from "../time/clock";
import { timestampForName } from "../shared/layout";

/**
 * An append-only log of pushed events with group commit: every append waiting while a write is
 * under way goes into the next single write + fsync, so a burst costs one fsync per batch, not
 * per event. An append resolves only once its line is on disk. Each replica writes its own active
 * segment, `.events-active-<owner>.ndjson`, on the shared volume; it is published (renamed to
 * events-<time>-<owner>.ndjson) when it reaches `maxEventsPerSegment` and when `rotate()` is
 * called. A segment whose owner died (untouched for longer than any live owner keeps one) is
 * adopted by `recover()`: its torn last line cut, then published.
 */
export class EventLog {
  private handle: FileHandle | undefined;
  private eventsInSegment = 0;
  private queue: Array<{ line: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;
  /** Writes and fsyncs so far (a benchmark figure). */
  fsyncs = 0;

  private readonly owner: string;
  private readonly maxEventsPerSegment: number;

  constructor(
    private readonly dir: string,
    private readonly clock: Clock,
    options: { readonly owner?: string; readonly maxEventsPerSegment?: number } = {},
  ) {
    this.owner = (options.owner ?? String(process.pid)).replace(/[^A-Za-z0-9._-]/g, "_");
    this.maxEventsPerSegment = options.maxEventsPerSegment ?? 10_000;
  }

  private get activePath(): string {
    return path.join(this.dir, `.events-active-${this.owner}.ndjson`);
  }

  /**
   * Publishes the active segments of other owners that are gone: untouched for `orphanAfterMs` (a
   * live owner publishes more often). Cuts a torn last line; answers the lines kept. This owner's
   * own segment is published by `rotate()`.
   */
  async recover(orphanAfterMs = 0): Promise<string[]> {
    await mkdir(this.dir, { recursive: true });
    const kept: string[] = [];
    for (const name of await readdir(this.dir)) {
      const match = /^\.events-active-(.+)\.ndjson$/.exec(name);
      if (!match) continue;
      if (match[1] === this.owner) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || this.clock.now() - info.mtimeMs < orphanAfterMs) continue;
      const text = await readFile(file, "utf8").catch(() => "");
      const intact = text.slice(0, text.lastIndexOf("\n") + 1);
      await truncate(file, Buffer.byteLength(intact));
      kept.push(...intact.split("\n").filter(Boolean));
      await publishSegment(file, this.dir, this.clock.now(), match[1]!);
    }
    return kept;
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
    await publishSegment(this.activePath, this.dir, this.clock.now(), this.owner);
  }
}

/** Renames a non-empty active segment into view (an empty one is left for reuse). */
async function publishSegment(file: string, dir: string, nowMs: number, owner: string): Promise<void> {
  const exists = await stat(file).then(
    (info) => info.size > 0,
    () => false,
  );
  if (exists) await rename(file, path.join(dir, `events-${timestampForName(nowMs)}-${owner}.ndjson`));
}
