import type { Logger } from "pino";
import type { GenesysClient } from "../genesys/client";
import type { Clock } from "../time/clock";
import { timestampForName } from "../shared/layout";
import { jobWindow, queryWindow, type JobSettings } from "./details-source";
import { ExportError } from "./errors";
import {
  finishPublish,
  loadState,
  publishFile,
  removeOrphans,
  saveState,
  type ExportState,
  type PublishHooks,
} from "./export-state";
import { fingerprintOf, type FingerprintStore } from "./fingerprints";
import { outcomeOf, routeField, type RouteOf } from "./outcomes";

export interface PollerSettings {
  /** Read at every poll: with routes, the service adds each route's list once it is resolved. */
  readonly contactListIds: readonly string[];
  /** The import route a list belongs to, named in each record (`route`) so the CRM knows the campaign. */
  readonly routeOf?: RouteOf;
  /** Where result files appear (write-then-rename, so a reader never sees half a file). */
  readonly outboxDir: string;
  readonly stateFile: string;
  /** Re-read this much before the watermark, for conversations that arrive late; default 15 min. */
  readonly overlapMs: number;
  /** A first run starts this far back; default 1 h (older ranges: the backfill through async jobs). */
  readonly initialLookbackMs: number;
  /** Page size of the details query (Genesys allows up to 100). */
  readonly pageSize: number;
  /** Windows longer than this use the async jobs API; default 6 h. */
  readonly jobThresholdMs: number;
  readonly jobs: JobSettings;
}

export const DEFAULT_JOB_SETTINGS: JobSettings = {
  pollIntervalMs: 2000,
  timeoutMs: 30 * 60_000,
  pageSize: 1000,
};

export interface PollResult {
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly exported: number;
  readonly pages: number;
  readonly method: "query" | "job";
  readonly file: string | undefined;
}

/**
 * This replica stopped leading while it polled: it published nothing, and the new leader polls the
 * same window. Nothing is lost and nothing needs fixing; this replica polls again if it leads again.
 */
export class LeadershipLostError extends ExportError {
  constructor() {
    super(
      "EXPORT_LEADERSHIP_LOST",
      "leadership lost during the poll: nothing published; the new leader polls this window",
      { retryable: true },
    );
  }
}

/**
 * The export's backbone: each poll queries conversation details for the window since the last
 * watermark (minus an overlap for late data), follows every page, drops conversations already
 * exported or not yet ended, and publishes one file per window, each record with `"revision": 1`
 * (a later change is written again by the re-read, with the next revision: reread.ts). The
 * watermark moves only after the file is durable, through a pending step, so a restart at any
 * point leaves no gap and no duplicate: an interrupted publish is finished, never redone.
 */
export class ResultsPoller {
  constructor(
    private readonly client: GenesysClient,
    private readonly settings: PollerSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: {
      /** Told of each step of publishing (export-state.ts). */
      readonly hooks?: PublishHooks;
      /** Aborts waits for a job (shutdown, lost leadership). */
      readonly signal?: AbortSignal;
      /** Asked just before anything is published: false (leadership lost) stops the poll there. */
      readonly mayPublish?: () => boolean;
      /** The re-read's record of what was written (reread.ts): first writes are added to it. */
      readonly fingerprints?: FingerprintStore;
    } = {},
  ) {}

  async pollOnce(): Promise<PollResult> {
    let state = await loadState(this.settings.stateFile);
    if (state.pending) state = await this.finishPending(state);
    await removeOrphans(this.settings.outboxDir, "results-");
    const now = this.clock.now();
    const watermark = state.watermarkMs ?? now - this.settings.initialLookbackMs;
    const windowStartMs = watermark - this.settings.overlapMs;
    const windowEndMs = now;

    const window = {
      contactListIds: this.settings.contactListIds,
      startMs: windowStartMs,
      endMs: windowEndMs,
    };
    // A long window (a first run, or catching up after an outage) goes through the async jobs API.
    const fetched =
      windowEndMs - windowStartMs > this.settings.jobThresholdMs
        ? await jobWindow(this.client, window, this.clock, this.settings.jobs, this.options.signal)
        : await queryWindow(this.client, window, this.settings.pageSize);
    const found = fetched.conversations;
    const pages = fetched.pages;

    // Written before and still re-read: a change (a late segment moving its end) is a correction, not news.
    const rereading = (await this.options.fingerprints?.load())?.conversations ?? {};
    const fresh: Record<string, number> = {};
    const fingerprints: Record<string, string> = {};
    const lines: string[] = [];
    for (const [id, conversation] of found) {
      const outcome = outcomeOf(conversation);
      if (outcome.conversationEnd === undefined) continue; // still running: a later window has it
      const endMs = Date.parse(outcome.conversationEnd);
      // The API may return more than the interval (any day it touches): earlier windows had those.
      if (endMs < windowStartMs || endMs > windowEndMs || state.recent[id] !== undefined) continue;
      if (rereading[id] !== undefined) continue;
      fresh[id] = endMs;
      if (this.options.fingerprints) fingerprints[id] = fingerprintOf(outcome);
      lines.push(JSON.stringify({ ...outcome, ...routeField(outcome, this.settings.routeOf), revision: 1 }));
    }

    if (this.options.mayPublish && !this.options.mayPublish()) {
      throw new LeadershipLostError();
    }
    let file: string | undefined;
    if (lines.length > 0) {
      const name = `results-${timestampForName(windowStartMs)}_${timestampForName(windowEndMs)}.ndjson`;
      const savePending = async (temporaryFile: string, finalFile: string) => {
        state = { ...state, pending: { temporaryFile, finalFile, windowEndMs, ids: fresh, fingerprints } };
        await saveState(this.settings.stateFile, state);
      };
      file = await publishFile(this.settings.outboxDir, name, lines, savePending, this.options.hooks);
      state = await this.commit(state, windowEndMs, fresh, fingerprints);
    } else {
      state = await this.commit(state, windowEndMs, {}, {});
    }
    this.logger.info(
      {
        windowStart: new Date(windowStartMs).toISOString(),
        windowEnd: new Date(windowEndMs).toISOString(),
        exported: lines.length,
        pages,
        method: fetched.method,
        file,
      },
      "results poll done",
    );
    return { windowStartMs, windowEndMs, exported: lines.length, pages, method: fetched.method, file };
  }

  /** A crash left a file half-published: finish it (rename if not done), then commit. */
  private async finishPending(state: ExportState): Promise<ExportState> {
    const pending = state.pending!;
    await finishPublish(pending);
    this.logger.warn(
      { file: pending.finalFile },
      "finished publishing a result file interrupted by a restart",
    );
    return this.commit(state, pending.windowEndMs, pending.ids, pending.fingerprints ?? {});
  }

  private async commit(
    state: ExportState,
    windowEndMs: number,
    ids: Readonly<Record<string, number>>,
    fingerprints: Readonly<Record<string, string>>,
  ): Promise<ExportState> {
    // Before the state: a crash in between repeats this commit, and recording is idempotent.
    const written = Object.entries(fingerprints).map(([id, print]) => [id, [ids[id]!, print] as const]);
    if (written.length > 0)
      await this.options.fingerprints?.recordFirstWrites(Object.fromEntries(written), this.clock.now());
    const horizon = windowEndMs - 2 * this.settings.overlapMs;
    const recent: Record<string, number> = {};
    for (const [id, endMs] of Object.entries({ ...state.recent, ...ids }))
      if (endMs >= horizon) recent[id] = endMs;
    const next: ExportState = {
      watermarkMs: Math.max(windowEndMs, state.watermarkMs ?? 0),
      recent,
      pending: undefined,
    };
    await saveState(this.settings.stateFile, next);
    return next;
  }
}
