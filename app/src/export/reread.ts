import type { Logger } from "pino";
import type { GenesysClient } from "../genesys/client";
import { timestampForName } from "../shared/layout";
import type { Clock } from "../time/clock";
import { IDS_PER_READ, readConversationsById } from "./details-source";
import { finishPublish, publishFile, removeOrphans, type PublishHooks } from "./export-state";
import {
  fingerprintOf,
  type FingerprintState,
  type FingerprintStore,
  type WrittenRecord,
} from "./fingerprints";
import { outcomeOf, routeField, type RouteOf } from "./outcomes";
import { LeadershipLostError } from "./poller";

export interface RereadSettings {
  /** Conversations are re-read until they ended this long ago; default 48 h (Genesys' re-processing). */
  readonly windowMs: number;
  /** Each conversation in the window is read again about this often; default 6 h. */
  readonly intervalMs: number;
  /** Never more re-read requests than this per minute on average; default 5 (under 2 % of one token's 300). */
  readonly maxRequestsPerMinute: number;
  readonly outboxDir: string;
  /** The import route a list belongs to, named in each record as the poller names it. */
  readonly routeOf?: RouteOf;
}

export interface RereadStep {
  /** Reads by id sent in this step (each up to IDS_PER_READ conversations). */
  readonly requests: number;
  readonly read: number;
  readonly corrections: number;
  readonly file: string | undefined;
}

const NOTHING: RereadStep = { requests: 0, read: 0, corrections: 0, file: undefined };

/**
 * Late data: Genesys re-processes analytics data nightly, and a conversation's details can change
 * for up to two days after it ended (wrap-up codes, late segments). The re-read reads the
 * conversations the outbox already holds again, by id, 100 per request, in passes: a pass starts
 * every `intervalMs` and covers every conversation that ended in the last `windowMs +
 * intervalMs` (so the last read of each comes after its window closed). A conversation whose
 * record changed is written again to `outbox/corrections-<time>.ndjson` with the next revision;
 * an unchanged one is not written. Nothing is kept but a fingerprint per conversation
 * (fingerprints.ts), on the shared volume, so a restart or a new leader carries on.
 *
 * Gentle by construction: `step()` runs after each poll and sends only its share of what is left
 * of the pass (spread over the polls that remain before the next pass), never more than
 * `maxRequestsPerMinute` on average, and nothing while `busy()` says the client's rate budget is
 * in demand (the import, the poll: `budgetInDemand` in shared/rate-budget.ts). The client paces
 * per token and serves in arrival order, so a step of one or two reads delays nobody by more than
 * those requests.
 */
export class Rereader {
  constructor(
    private readonly client: GenesysClient,
    private readonly store: FingerprintStore,
    private readonly settings: RereadSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: {
      /** Asked before anything is published: false (leadership lost) stops the step there. */
      readonly mayPublish?: () => boolean;
      /** True while others need the rate budget: the step sends nothing and the pass waits. */
      readonly busy?: () => boolean;
      /** Told of each step of publishing (export-state.ts). */
      readonly hooks?: PublishHooks;
    } = {},
  ) {}

  /**
   * One step of the current pass; `stepMs` is how long until the next step (the poll interval),
   * to spread the pass over the polls that remain before the next one starts.
   */
  async step(stepMs: number): Promise<RereadStep> {
    let state = await this.store.load();
    if (state.pending) state = await this.finishPending(state);
    await removeOrphans(this.settings.outboxDir, "corrections-");
    const now = this.clock.now();
    const { intervalMs } = this.settings;
    let pass = state.pass;
    if (!pass || (pass.done && now >= pass.startedMs + intervalMs)) {
      pass = { startedMs: now, after: undefined, done: false };
      state = await this.store.save({ ...state, pass }, now);
    }
    if (pass.done) return NOTHING;

    // Due: conversations written before the pass started, not yet read in it, in (end, id) order.
    const after = pass.after;
    const due = Object.entries(state.conversations)
      .filter(([id, [endMs]]) => endMs < pass.startedMs && (!after || isAfter(endMs, id, after)))
      .sort(([idA, [endA]], [idB, [endB]]) => endA - endB || (idA < idB ? -1 : 1));
    if (due.length === 0) {
      await this.store.save({ ...state, pass: { ...pass, done: true } }, now);
      return NOTHING;
    }
    if (this.options.busy?.()) return NOTHING;

    const readsLeft = Math.ceil(due.length / IDS_PER_READ);
    const stepsLeft = Math.max(1, Math.floor((pass.startedMs + intervalMs - now) / stepMs));
    const cap = Math.max(1, Math.floor((this.settings.maxRequestsPerMinute * stepMs) / 60_000));
    const reads = Math.min(cap, Math.ceil(readsLeft / stepsLeft));
    const batch = due.slice(0, reads * IDS_PER_READ);

    const updates: Record<string, WrittenRecord> = {};
    const lines: string[] = [];
    let read = 0;
    for (let offset = 0; offset < batch.length; offset += IDS_PER_READ) {
      const ids = batch.slice(offset, offset + IDS_PER_READ).map(([id]) => id);
      const conversations = await readConversationsById(this.client, ids);
      read += conversations.length;
      for (const conversation of conversations) {
        const previous = state.conversations[conversation.conversationId];
        const outcome = outcomeOf(conversation);
        // Unknown to us, or running again (a late segment still open): a later read settles it.
        if (!previous || outcome.conversationEnd === undefined) continue;
        const fingerprint = fingerprintOf(outcome);
        if (fingerprint === previous[1]) continue;
        const revision = previous[2] + 1;
        updates[conversation.conversationId] = [Date.parse(outcome.conversationEnd), fingerprint, revision];
        lines.push(
          JSON.stringify({
            ...outcome,
            ...routeField(outcome, this.settings.routeOf),
            revision,
            correctedAt: new Date(now).toISOString(),
          }),
        );
      }
    }
    const last = batch[batch.length - 1]!;
    const reachedAfter: readonly [number, string] = [last[1][0], last[0]];

    if (this.options.mayPublish && !this.options.mayPublish()) throw new LeadershipLostError();
    let file: string | undefined;
    if (lines.length > 0) {
      const name = `corrections-${timestampForName(now)}.ndjson`;
      const savePending = async (temporaryFile: string, finalFile: string) => {
        const pending = { temporaryFile, finalFile, updates, after: reachedAfter };
        state = await this.store.save({ ...state, pending }, now);
      };
      file = await publishFile(this.settings.outboxDir, name, lines, savePending, this.options.hooks);
      await this.commit(state, updates, reachedAfter);
    } else {
      await this.commit(state, {}, reachedAfter);
    }
    if (lines.length > 0)
      this.logger.info(
        { corrections: lines.length, read, requests: reads, file },
        "re-read found conversations that changed after they were exported",
      );
    return { requests: reads, read, corrections: lines.length, file };
  }

  /** A crash left a corrections file half-published: finish it (rename if not done), then commit. */
  private async finishPending(state: FingerprintState): Promise<FingerprintState> {
    const pending = state.pending!;
    await finishPublish(pending);
    this.logger.warn({ file: pending.finalFile }, "finished publishing corrections interrupted by a restart");
    return this.commit(state, pending.updates, pending.after);
  }

  private async commit(
    state: FingerprintState,
    updates: Readonly<Record<string, WrittenRecord>>,
    after: readonly [number, string] | undefined,
  ): Promise<FingerprintState> {
    const pass = state.pass && { ...state.pass, after };
    return this.store.save(
      { conversations: { ...state.conversations, ...updates }, pass, pending: undefined },
      this.clock.now(),
    );
  }
}

function isAfter(endMs: number, id: string, after: readonly [number, string]): boolean {
  return endMs > after[0] || (endMs === after[0] && id > after[1]);
}
