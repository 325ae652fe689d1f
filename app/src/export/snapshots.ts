import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { Leadership } from "../cluster/leader-election";
import type { GenesysClient } from "../genesys/client";
import {
  downloadListExport,
  readListExport,
  startListExport,
  type ListExport,
} from "../genesys/list-export-api";
import { withRequestShare, type RequestShare } from "../genesys/request-share";
import { timestampForName } from "../shared/layout";
import { BACKOFF, backoffDelayMs } from "../shared/retry";
import type { Clock, Random } from "../time/clock";
import { ListExportNotReadyError } from "./errors";
import { syncDirectory } from "./export-state";
import { SNAPSHOT_OUTCOMES, type ListSnapshotMetrics, type SnapshotOutcome } from "./metrics";

/**
 * Contact-list snapshots (issue 21, "Contact snapshots out"): on a schedule, the leader asks
 * Genesys for each route's list as its own export (the list's columns plus the dialer's system
 * columns: ContactCallable, CallRecordLastAttempt-<col>, CallRecordLastResult-<col>, ...) and
 * publishes it as `outbox/lists/<route>-<UTC time>.csv`:
 *
 *   1. the export is started and waited for (at most the ready timeout, on the clock);
 *   2. the CSV streams to `outbox/lists/.<route>-<UTC time>.csv.partial` (memory does not grow
 *      with the list), is fsynced, then renamed to its final name and the folder fsynced;
 *   3. the route keeps its newest `keep` snapshots, the older ones are removed.
 *
 * A failure removes the partial file, counts `export_list_snapshots_total{outcome}` and is tried
 * again at the next scheduled time; a crash leaves only a dot-named partial, which the next
 * leader removes before its first snapshot. Only the leader snapshots; losing the lead aborts a
 * snapshot under way. When a route was last published is read from the files, so the schedule
 * carries on across restarts and leaders.
 */

/** A route whose list is snapshotted: its name (the default route's is "default") and list. */
export interface SnapshotRoute {
  readonly name: string;
  readonly contactListId: string;
}

/** When snapshots are taken: never, every interval after the last one, or daily at a UTC time. */
export type SnapshotSchedule =
  | { readonly kind: "off" }
  | { readonly kind: "interval"; readonly intervalMs: number }
  | { readonly kind: "daily"; readonly minuteOfDay: number };

/** The schedule from the settings (EXPORT_LIST_SNAPSHOT_INTERVAL_SECONDS, EXPORT_LIST_SNAPSHOT_DAILY_AT). */
export function snapshotSchedule(settings: {
  readonly listSnapshotIntervalSeconds: number;
  readonly listSnapshotDailyAt?: string | undefined;
}): SnapshotSchedule {
  if (settings.listSnapshotIntervalSeconds > 0)
    return { kind: "interval", intervalMs: settings.listSnapshotIntervalSeconds * 1000 };
  const daily = /^(\d\d):(\d\d)$/.exec(settings.listSnapshotDailyAt ?? "");
  if (daily) return { kind: "daily", minuteOfDay: Number(daily[1]) * 60 + Number(daily[2]) };
  return { kind: "off" };
}

/** The schedule in words, for the console and the log. */
export function describeSchedule(schedule: SnapshotSchedule): string {
  if (schedule.kind === "off") return "off";
  if (schedule.kind === "daily") {
    const pad = (value: number) => String(value).padStart(2, "0");
    return `daily at ${pad(Math.floor(schedule.minuteOfDay / 60))}:${pad(schedule.minuteOfDay % 60)} UTC`;
  }
  const seconds = schedule.intervalMs / 1000;
  return seconds % 3600 === 0
    ? `every ${seconds / 3600} h`
    : seconds % 60 === 0
      ? `every ${seconds / 60} min`
      : `every ${seconds} s`;
}

/** The folder below the outbox the snapshots are published in. */
export const SNAPSHOT_FOLDER = "lists";

export interface ListSnapshotDeps {
  /** Starts and reads the exports and resolves each download (paced, on the token budget). */
  readonly client: GenesysClient;
  /** The client's dispatcher (proxy, NO_PROXY) for the download itself, which is not an API call. */
  readonly dispatcher: Dispatcher;
  /** The routes now: the default one and every running route (read at each pass). */
  readonly routes: () => readonly SnapshotRoute[];
  readonly leadership: Leadership;
  /** The outbox (layout.outbox); snapshots go to its lists/ folder. */
  readonly outboxDir: string;
  readonly schedule: SnapshotSchedule;
  /** Snapshots kept per route (EXPORT_LIST_SNAPSHOT_KEEP), at least 1. */
  readonly keep: number;
  /** How long an export may take to be ready (EXPORT_LIST_SNAPSHOT_READY_TIMEOUT_SECONDS), in ms. */
  readonly readyTimeoutMs: number;
  /** Hosts the signed download URL may point at (shared/download-hosts.ts downloadHosts). */
  readonly allowedHosts: readonly string[];
  readonly metrics: ListSnapshotMetrics;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Aborted at shutdown: the loop stops and a snapshot under way is abandoned (its partial removed). */
  readonly signal: AbortSignal;
  /** Longest sleep between two looks at the schedule, the routes and the lead; default 60,000 ms. */
  readonly checkIntervalMs?: number;
}

/** A route's snapshots, for the console. */
export interface RouteSnapshotStatus {
  readonly route: string;
  readonly contactListId: string;
  /** The newest snapshot in outbox/lists/ for the route. */
  readonly last: { readonly file: string; readonly atMs: number; readonly bytes: number } | undefined;
  /** The last attempt's failure, until a snapshot of the route succeeds. */
  readonly lastError: { readonly message: string; readonly code?: string; readonly atMs: number } | undefined;
  /** When the route is next due (this replica's view; only the leader acts on it). */
  readonly nextDueMs: number | undefined;
}

export interface ListSnapshotStatus {
  readonly enabled: boolean;
  /** `every 6 h`, `daily at 02:30 UTC` or `off`. */
  readonly schedule: string;
  readonly leader: boolean;
  /** The snapshot under way on this replica, if any. */
  readonly running:
    | {
        readonly route: string;
        readonly phase: "exporting" | "downloading";
        readonly bytes: number;
        readonly sinceMs: number;
      }
    | undefined;
  readonly routes: readonly RouteSnapshotStatus[];
}

/** One snapshot's end, as `snapshotRoute` returns it. */
export interface SnapshotResult {
  readonly outcome: SnapshotOutcome | "abandoned";
  readonly file?: string;
  readonly bytes?: number;
  readonly error?: Error;
}

/**
 * The share of the snapshots' API calls (genesys/request-share.ts): a few requests a minute at
 * most (start, reads of the export while it is made, one resolve per download), taking turns with
 * the import's routes like one more route. As `background` they would wait out a whole import of
 * a large file, and the export would seem not ready for that long.
 */
const SNAPSHOT_SHARE: RequestShare = { key: "list-snapshots", priority: "addition" };

interface OnDisk {
  readonly file: string;
  readonly atMs: number;
  readonly bytes: number;
}

/**
 * The snapshots of one replica: a loop that, while this replica leads, takes every due route's
 * snapshot in turn. Build it, `start()` it once a token is held, await `stopped()` at shutdown.
 */
export class ListSnapshots {
  private readonly dir: string;
  private readonly lastAttemptMs = new Map<string, number>();
  private readonly lastErrors = new Map<string, NonNullable<RouteSnapshotStatus["lastError"]>>();
  private onDisk = new Map<string, OnDisk>();
  private running: ListSnapshotStatus["running"];
  private wake: AbortController | undefined;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: ListSnapshotDeps) {
    this.dir = path.join(deps.outboxDir, SNAPSHOT_FOLDER);
    deps.leadership.onChange((leading) => {
      if (!leading) this.current?.abort(new Error("this replica stopped leading"));
      this.wake?.abort();
    });
  }

  get enabled(): boolean {
    return this.deps.schedule.kind !== "off";
  }

  /** Starts the loop (nothing when snapshots are off); returns at once. */
  start(): void {
    if (!this.enabled || this.loop) return;
    this.loop = this.run();
  }

  /** Resolves once the loop stopped (after the signal aborted) and a snapshot under way was cleaned up. */
  async stopped(): Promise<void> {
    this.wake?.abort();
    await this.loop;
  }

  status(): ListSnapshotStatus {
    const now = this.deps.clock.now();
    return {
      enabled: this.enabled,
      schedule: describeSchedule(this.deps.schedule),
      leader: this.deps.leadership.isLeader(),
      running: this.running,
      routes: this.deps.routes().map((route) => ({
        route: route.name,
        contactListId: route.contactListId,
        last: this.onDisk.get(route.name),
        lastError: this.lastErrors.get(route.name),
        nextDueMs: this.enabled ? this.nextDueMs(route.name, now) : undefined,
      })),
    };
  }

  /**
   * One pass: reads what is published, and while this replica leads, removes partial files a crash
   * left and takes the snapshot of every route that is due. The loop runs it; tests call it.
   */
  async runDue(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await this.readPublished();
    if (!this.deps.leadership.isLeader() || this.deps.signal.aborted) return;
    await this.removePartials();
    for (const route of this.deps.routes()) {
      if (this.deps.signal.aborted || !this.deps.leadership.isLeader()) return;
      if (this.nextDueMs(route.name, this.deps.clock.now()) > this.deps.clock.now()) continue;
      await this.snapshotRoute(route);
    }
  }

  /** Takes one route's snapshot now, whatever the schedule; never throws (the result says what happened). */
  async snapshotRoute(route: SnapshotRoute): Promise<SnapshotResult> {
    const { clock, logger } = this.deps;
    const startedAt = clock.now();
    this.lastAttemptMs.set(route.name, startedAt);
    const name = `${route.name}-${timestampForName(startedAt)}.csv`;
    const partial = path.join(this.dir, `.${name}.partial`);
    const controller = (this.current = new AbortController());
    const signal = AbortSignal.any([this.deps.signal, controller.signal]);
    this.running = { route: route.name, phase: "exporting", bytes: 0, sinceMs: startedAt };
    try {
      await mkdir(this.dir, { recursive: true });
      const bytes = await withRequestShare(SNAPSHOT_SHARE, () =>
        this.fetchExport(route, partial, startedAt, signal),
      );
      if (!this.deps.leadership.isLeader()) throw new Error("this replica stopped leading");
      const file = path.join(this.dir, name);
      await rename(partial, file);
      await syncDirectory(this.dir);
      this.published(route, { file: name, atMs: startedAt, bytes });
      await this.prune(route.name);
      logger.info({ route: route.name, file: name, bytes }, "contact-list snapshot published");
      return { outcome: "ok", file: name, bytes };
    } catch (error) {
      await rm(partial, { force: true }).catch(() => undefined);
      return this.failed(route, error as Error, signal.aborted);
    } finally {
      this.running = undefined;
      this.current = undefined;
    }
  }

  /** Steps 1 and 2: the export started and waited for, then downloaded into `partial`. */
  private async fetchExport(
    route: SnapshotRoute,
    partial: string,
    startedAt: number,
    signal: AbortSignal,
  ): Promise<number> {
    const { client, clock, random, logger } = this.deps;
    // An export made earlier may still be answered: only one that differs from it is this one.
    const previous = await readListExport(client, route.contactListId);
    await startListExport(client, route.contactListId);
    const ready = await this.waitReady(route.contactListId, previous, startedAt, signal);
    this.running = { route: route.name, phase: "downloading", bytes: 0, sinceMs: startedAt };
    return downloadListExport(client, ready.uri, partial, {
      dispatcher: this.deps.dispatcher,
      allowedHosts: this.deps.allowedHosts,
      clock,
      random,
      signal,
      logger: logger.child({ route: route.name }),
      onProgress: (bytes) => {
        if (this.running) this.running = { ...this.running, bytes };
      },
    });
  }

  /**
   * Reads the export until a new one is ready, backing off as Genesys' Terraform provider does
   * between reads (2 s doubling there; here the back-off of Genesys work, 5 s doubling to 60 s),
   * never past the ready timeout, which ends it with ListExportNotReadyError.
   */
  private async waitReady(
    contactListId: string,
    previous: ListExport | undefined,
    startedAt: number,
    signal: AbortSignal,
  ): Promise<ListExport> {
    const { client, clock, random, readyTimeoutMs } = this.deps;
    for (let attempt = 0; ; attempt += 1) {
      const ready = await readListExport(client, contactListId);
      if (ready && isNewExport(ready, previous)) return ready;
      const left = startedAt + readyTimeoutMs - clock.now();
      if (left <= 0) throw new ListExportNotReadyError(contactListId, clock.now() - startedAt);
      await clock.sleep(Math.min(left, backoffDelayMs(BACKOFF.genesysWork, attempt, random)), signal);
    }
  }

  /** What a failure means: counted (unless abandoned for shutdown or a lost lead), logged, shown. */
  private failed(route: SnapshotRoute, error: Error, abandoned: boolean): SnapshotResult {
    if (abandoned) {
      this.deps.logger.info({ route: route.name }, "contact-list snapshot abandoned (shutdown or lead lost)");
      return { outcome: "abandoned", error };
    }
    const outcome: SnapshotOutcome = error instanceof ListExportNotReadyError ? "not_ready" : "failed";
    const code = (error as { code?: unknown }).code;
    this.deps.metrics.snapshots.inc({ route: route.name, outcome });
    this.lastErrors.set(route.name, {
      message: error.message,
      ...(typeof code === "string" ? { code } : {}),
      atMs: this.deps.clock.now(),
    });
    this.deps.logger.error(
      { route: route.name, err: { message: error.message, code } },
      "contact-list snapshot failed; the next scheduled one tries again",
    );
    return { outcome, error };
  }

  private published(route: SnapshotRoute, snapshot: OnDisk): void {
    const { metrics } = this.deps;
    metrics.snapshots.inc({ route: route.name, outcome: "ok" });
    metrics.bytes.inc({ route: route.name }, snapshot.bytes);
    metrics.lastSuccessTimestamp.set({ route: route.name }, snapshot.atMs / 1000);
    this.onDisk.set(route.name, snapshot);
    this.lastErrors.delete(route.name);
  }

  /** When the route is next due: now or earlier means due. */
  private nextDueMs(route: string, now: number): number {
    const schedule = this.deps.schedule;
    const last = Math.max(
      this.onDisk.get(route)?.atMs ?? -Infinity,
      this.lastAttemptMs.get(route) ?? -Infinity,
    );
    if (schedule.kind === "interval") return last === -Infinity ? now : last + schedule.intervalMs;
    if (schedule.kind === "off") return Infinity;
    const slot = latestDailySlot(schedule.minuteOfDay, now);
    return last < slot ? slot : slot + DAY_MS;
  }

  /**
   * The newest snapshot of each route, from the files (what a restart or a new leader knows). Every
   * replica reports it as the last success, and counts every outcome from zero, so that an alert
   * sees the age after a restart and the first failure of a process (a counter first seen at 1
   * shows Prometheus no increase).
   */
  private async readPublished(): Promise<void> {
    const { metrics } = this.deps;
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const found = new Map<string, OnDisk>();
    for (const route of this.deps.routes()) {
      for (const outcome of SNAPSHOT_OUTCOMES) metrics.snapshots.inc({ route: route.name, outcome }, 0);
      const newest = snapshotsOf(names, route.name).at(-1);
      if (newest === undefined) continue;
      const bytes = await stat(path.join(this.dir, newest.file)).then(
        (info) => info.size,
        () => undefined,
      );
      if (bytes === undefined) continue;
      found.set(route.name, { ...newest, bytes });
      metrics.lastSuccessTimestamp.set({ route: route.name }, newest.atMs / 1000);
    }
    this.onDisk = found;
  }

  /** Keeps the route's newest `keep` snapshots. */
  private async prune(route: string): Promise<void> {
    const all = snapshotsOf(await readdir(this.dir), route);
    for (const old of all.slice(0, Math.max(0, all.length - Math.max(1, this.deps.keep))))
      await rm(path.join(this.dir, old.file), { force: true });
  }

  /** Partial files no snapshot of this replica is writing: a crash (or a deposed leader) left them. */
  private async removePartials(): Promise<void> {
    for (const name of await readdir(this.dir))
      if (name.startsWith(".") && name.endsWith(".csv.partial"))
        await rm(path.join(this.dir, name), { force: true });
  }

  private async run(): Promise<void> {
    const { signal, clock, logger } = this.deps;
    while (!signal.aborted) {
      try {
        await this.runDue();
      } catch (error) {
        logger.error(
          { err: { message: (error as Error).message } },
          "contact-list snapshots: a pass failed; trying again",
        );
      }
      if (signal.aborted) break;
      const now = clock.now();
      const due = Math.min(...this.deps.routes().map((route) => this.nextDueMs(route.name, now)));
      await this.sleep(Math.max(1_000, Math.min(due - now, this.deps.checkIntervalMs ?? 60_000)));
    }
  }

  private async sleep(ms: number): Promise<void> {
    this.wake = new AbortController();
    const onAbort = () => this.wake?.abort();
    this.deps.signal.addEventListener("abort", onAbort, { once: true });
    await this.deps.clock.sleep(ms, this.wake.signal).catch(() => undefined);
    this.deps.signal.removeEventListener("abort", onAbort);
  }
}

const DAY_MS = 86_400_000;

/** The latest time at `minuteOfDay` UTC that is not after `now`. */
export function latestDailySlot(minuteOfDay: number, now: number): number {
  const today = Math.floor(now / DAY_MS) * DAY_MS + minuteOfDay * 60_000;
  return today <= now ? today : today - DAY_MS;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d)-(\d\d)-(\d\d)-(\d{3}Z)\.csv$/;

/** The route's published snapshots among `names`, oldest first. */
export function snapshotsOf(
  names: readonly string[],
  route: string,
): Array<{ readonly file: string; readonly atMs: number }> {
  const prefix = `${route}-`;
  return names
    .flatMap((file) => {
      if (!file.startsWith(prefix)) return [];
      const match = STAMP.exec(file.slice(prefix.length));
      if (!match) return [];
      const atMs = Date.parse(`${match[1]}:${match[2]}:${match[3]}.${match[4]}`);
      return Number.isNaN(atMs) ? [] : [{ file, atMs }];
    })
    .sort((a, b) => a.atMs - b.atMs);
}

/** A ready export other than the one answered before this snapshot started it. */
function isNewExport(ready: ListExport, previous: ListExport | undefined): boolean {
  return (
    previous === undefined || ready.uri !== previous.uri || ready.exportTimestamp !== previous.exportTimestamp
  );
}
