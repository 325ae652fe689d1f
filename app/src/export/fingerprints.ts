import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { writeDurably } from "./export-state";
import type { ConversationOutcome } from "./outcomes";

/** What the outbox last said about one conversation: its end, a fingerprint of that record, its revision. */
export type WrittenRecord = readonly [endMs: number, fingerprint: string, revision: number];

/** Where a re-read pass stands: conversations are read in (end, id) order. */
export interface RereadPass {
  readonly startedMs: number;
  /** The last conversation read, as [end, id]; undefined before the first read of the pass. */
  readonly after: readonly [number, string] | undefined;
  readonly done: boolean;
}

/**
 * The re-read's durable state, `state/export-fingerprints.json` on the shared volume (one writer:
 * the poller's leader). `pending` is a corrections file being published, finished after a crash
 * exactly as the poller finishes its own (export-state.ts).
 */
export interface FingerprintState {
  /** conversationId → what was written, for the conversations still inside the re-read window. */
  readonly conversations: Readonly<Record<string, WrittenRecord>>;
  readonly pass: RereadPass | undefined;
  readonly pending:
    | {
        readonly temporaryFile: string;
        readonly finalFile: string;
        readonly updates: Readonly<Record<string, WrittenRecord>>;
        readonly after: readonly [number, string] | undefined;
      }
    | undefined;
}

const EMPTY: FingerprintState = { conversations: {}, pass: undefined, pending: undefined };

/**
 * A fingerprint of the record a consumer reads (not of Genesys' raw detail record): details that
 * change without changing the outcome (a metric, an attribute) cause no correction. 96 bits of
 * SHA-256 in base64url, 16 characters: a collision among a day's conversations is not a concern.
 */
export function fingerprintOf(outcome: ConversationOutcome): string {
  return createHash("sha256").update(JSON.stringify(outcome)).digest("base64url").slice(0, 16);
}

/**
 * The conversations the outbox holds within the re-read window, compact (about 70 bytes each as
 * JSON) and bounded twice: a conversation is dropped once it ended longer than `retentionMs` ago,
 * and beyond `maxConversations` the ones that ended first are dropped. Every change is a
 * load-modify-write of the whole file through a temporary file and a rename, so a reader (a new
 * leader, a restarted process) sees the old state or the new one.
 */
export class FingerprintStore {
  constructor(
    readonly file: string,
    private readonly retentionMs: number,
    private readonly maxConversations: number,
  ) {}

  async load(): Promise<FingerprintState> {
    try {
      return { ...EMPTY, ...(JSON.parse(await readFile(this.file, "utf8")) as Partial<FingerprintState>) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return EMPTY;
      throw error;
    }
  }

  async save(state: FingerprintState, nowMs: number): Promise<FingerprintState> {
    const kept = { ...state, conversations: this.bounded(state.conversations, nowMs) };
    await writeDurably(this.file, JSON.stringify(kept));
    return kept;
  }

  /**
   * Records first writes (revision 1). Idempotent: an id already recorded keeps its record, so a
   * commit the poller repeats after a crash changes nothing.
   */
  async recordFirstWrites(
    written: Readonly<Record<string, readonly [endMs: number, fingerprint: string]>>,
    nowMs: number,
  ): Promise<void> {
    const state = await this.load();
    const conversations: Record<string, WrittenRecord> = { ...state.conversations };
    for (const [id, [endMs, fingerprint]] of Object.entries(written))
      conversations[id] ??= [endMs, fingerprint, 1];
    await this.save({ ...state, conversations }, nowMs);
  }

  private bounded(
    conversations: Readonly<Record<string, WrittenRecord>>,
    nowMs: number,
  ): Record<string, WrittenRecord> {
    const horizon = nowMs - this.retentionMs;
    let entries = Object.entries(conversations).filter(([, [endMs]]) => endMs >= horizon);
    if (entries.length > this.maxConversations) {
      entries.sort(([idA, [endA]], [idB, [endB]]) => endB - endA || (idA < idB ? -1 : 1));
      entries = entries.slice(0, this.maxConversations);
    }
    return Object.fromEntries(entries);
  }
}
