import { mkdtempSync, rmSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Fastify from "fastify";
import { spawn } from "node:child_process";
import { EventLog } from "../../app/src/export/event-log";
import { MemoryReplayGuard, VolumeReplayGuard, type ReplayGuard } from "../../app/src/export/replay-guard";
import { registerWebhook } from "../../app/src/export/webhook";
import { createLogger } from "../../app/src/logging";
import { systemClock } from "../../app/src/time/clock";

/**
 * The export part of `npm run bench`: durable webhook events per second and p50/p99 latency, the
 * group-commit event log against a naive log that appends and fsyncs once per request, both
 * behind the same fastify route; and the replay window in memory (one replica's, lost on restart)
 * against the one on the volume that replicas share (a file created with O_EXCL per event id; here
 * on a local disk, where NFS adds a round trip or two). The server runs in this process; the load comes over loopback from
 * a separate process (simulator/bench/webhook-load.ts), so the server's one JavaScript thread is its own.
 */
class NaiveLog {
  private handle: FileHandle | undefined;
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly file: string) {}
  append(event: unknown): Promise<void> {
    const next = this.chain.then(async () => {
      this.handle ??= await open(this.file, "a");
      await this.handle.write(`${JSON.stringify(event)}\n`);
      await this.handle.sync();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
  async close(): Promise<void> {
    await this.chain;
    await this.handle?.close();
  }
}

async function load(
  log: { append(event: unknown): Promise<void> },
  events: number,
  concurrency: number,
  replay: ReplayGuard,
) {
  const app = Fastify();
  registerWebhook(
    app,
    log,
    { username: "u", password: "p", maxBodyBytes: 65_536 },
    createLogger({ level: "silent" }),
    replay,
  );
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address() as { port: number };
  const loader = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      path.join(__dirname, "webhook-load.ts"),
      `http://127.0.0.1:${address.port}`,
      String(events),
      String(concurrency),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  loader.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => loader.once("exit", resolve));
  if (code !== 0) throw new Error(`the load generator failed (exit ${code})`);
  const result = JSON.parse(output.trim().split("\n").pop()!) as {
    eventsPerSecond: number;
    p50: number;
    p99: number;
    failed: number;
  };
  await app.close();
  return result;
}

export async function runWebhookBench(events = 20_000, concurrency = 64): Promise<void> {
  console.log(
    `\n## Export: durable webhook events (${events.toLocaleString()} events, ${concurrency} in flight, loopback, load from another process)\n`,
  );
  const dir = mkdtempSync(path.join(tmpdir(), "bench-webhook-"));
  const shared = new EventLog(path.join(dir, "shared"), systemClock, { maxEventsPerSegment: 1_000_000 });
  await shared.recover();
  const volumeGuard = new VolumeReplayGuard(
    { dir: path.join(dir, "replay"), windowMs: 86_400_000, maxIds: events * 2 },
    systemClock,
    "bench",
  );
  const sharedResult = await load(shared, events, concurrency, volumeGuard);
  const sharedFsyncs = shared.fsyncs;
  await shared.close();
  const grouped = new EventLog(path.join(dir, "grouped"), systemClock, { maxEventsPerSegment: 1_000_000 });
  await grouped.recover();
  const groupResult = await load(grouped, events, concurrency, new MemoryReplayGuard(events * 2));
  const fsyncs = grouped.fsyncs;
  await grouped.close();
  const naive = new NaiveLog(path.join(dir, "naive.ndjson"));
  const naiveResult = await load(naive, events, concurrency, new MemoryReplayGuard(events * 2));
  await naive.close();
  rmSync(dir, { recursive: true, force: true });
  console.table([
    {
      log: "group commit, replay window on the volume (this service)",
      "events/s": Math.round(sharedResult.eventsPerSecond),
      "p50 ms": +sharedResult.p50.toFixed(1),
      "p99 ms": +sharedResult.p99.toFixed(1),
      fsyncs: sharedFsyncs,
      failed: sharedResult.failed,
    },
    {
      log: "group commit, replay window in memory",
      "events/s": Math.round(groupResult.eventsPerSecond),
      "p50 ms": +groupResult.p50.toFixed(1),
      "p99 ms": +groupResult.p99.toFixed(1),
      fsyncs,
      failed: groupResult.failed,
    },
    {
      log: "fsync per request (baseline)",
      "events/s": Math.round(naiveResult.eventsPerSecond),
      "p50 ms": +naiveResult.p50.toFixed(1),
      "p99 ms": +naiveResult.p99.toFixed(1),
      fsyncs: events,
      failed: naiveResult.failed,
    },
  ]);
  console.log(
    `group commit: ${(groupResult.eventsPerSecond / naiveResult.eventsPerSecond).toFixed(1)}× the baseline's events/s (target ≥ 5,000 events/s with p99 < 50 ms)`,
  );
  console.log(
    `replay window on the volume: ${(sharedResult.eventsPerSecond / groupResult.eventsPerSecond).toFixed(2)}× the events/s of the in-memory one, p50 ${(sharedResult.p50 - groupResult.p50).toFixed(1)} ms apart`,
  );
}
