import {
  getDetailsJob,
  getDetailsJobResults,
  queryConversationDetails,
  submitDetailsJob,
  type ConversationDetailsQuery,
} from "../genesys/api";
import type { GenesysClient } from "../genesys/client";
import type { Clock } from "../time/clock";
import { ExportError } from "./errors";

export type Conversation = Record<string, unknown> & { readonly conversationId: string };

export interface WindowQuery {
  readonly contactListIds: readonly string[];
  readonly startMs: number;
  readonly endMs: number;
}

export interface JobSettings {
  /** How often the job's state is read while it runs; default 2 s. */
  readonly pollIntervalMs: number;
  /** Give up on a job that is not fulfilled after this long; default 30 min. */
  readonly timeoutMs: number;
  /** Conversations per results page (the jobs API allows up to 1,000). */
  readonly pageSize: number;
}

export interface FetchedWindow {
  /** Every conversation found, once each (pages shift while data arrives). */
  readonly conversations: Map<string, Conversation>;
  /** Requests for pages (query pages or job result pages). */
  readonly pages: number;
  readonly method: "query" | "job";
}

/**
 * A conversation details job ended without results (FAILED, CANCELLED, EXPIRED). Submitting the
 * window again can succeed: the poller's next poll and a second backfill run do exactly that.
 */
export class DetailsJobFailedError extends ExportError {
  readonly jobId: string;
  readonly state: string;
  constructor(jobId: string, state: string, errorMessage: string | undefined) {
    super(
      "EXPORT_JOB_FAILED",
      `the conversation details job ${jobId} ended ${state}${errorMessage ? `: ${errorMessage}` : ""}; run it again (a smaller range is quicker)`,
      { retryable: true },
    );
    this.jobId = jobId;
    this.state = state;
  }
}

/** A conversation details job still running at the deadline; Genesys may be slow now, a later try may pass. */
export class DetailsJobTimeoutError extends ExportError {
  readonly jobId: string;
  readonly timeoutMs: number;
  constructor(jobId: string, timeoutMs: number) {
    super(
      "EXPORT_JOB_TIMEOUT",
      `the conversation details job ${jobId} was not fulfilled within ${Math.round(timeoutMs / 1000)} s; try a smaller range`,
      { retryable: true },
    );
    this.jobId = jobId;
    this.timeoutMs = timeoutMs;
  }
}

function baseQuery(window: WindowQuery): Omit<ConversationDetailsQuery, "paging"> {
  return {
    interval: `${new Date(window.startMs).toISOString()}/${new Date(window.endMs).toISOString()}`,
    order: "asc",
    orderBy: "conversationStart",
    segmentFilters: [
      {
        type: "or",
        predicates: window.contactListIds.map((value) => ({ dimension: "outboundContactListId", value })),
      },
    ],
  };
}

/** The synchronous details query, every page followed, de-duplicated by conversation id. */
export async function queryWindow(
  client: GenesysClient,
  window: WindowQuery,
  pageSize: number,
): Promise<FetchedWindow> {
  const conversations = new Map<string, Conversation>();
  let pages = 0;
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await queryConversationDetails(client, {
      ...baseQuery(window),
      paging: { pageSize, pageNumber },
    });
    pages += 1;
    const found = page.conversations ?? [];
    for (const conversation of found) conversations.set(conversation.conversationId, conversation);
    if (found.length < pageSize || pageNumber * pageSize >= (page.totalHits ?? 0)) break;
  }
  return { conversations, pages, method: "query" };
}

/** At most this many ids go into one read by id (what Genesys accepts, and what clients send). */
export const IDS_PER_READ = 100;

/** A read by id given more ids than Genesys takes: the caller splits them, IDS_PER_READ at a time. */
export class TooManyConversationIdsError extends ExportError {
  readonly count: number;
  constructor(count: number) {
    super(
      "EXPORT_TOO_MANY_IDS",
      `at most ${IDS_PER_READ} conversation ids per read, not ${count}: split them into reads of ${IDS_PER_READ}`,
    );
    this.count = count;
  }
}

/**
 * `GET /api/v2/analytics/conversations/details?id=a,b,…`: the current details of up to
 * `IDS_PER_READ` conversations in one request, from the same store as the details query (not the
 * data lake the jobs read). Ids Genesys no longer knows are simply absent from the answer.
 */
export async function readConversationsById(
  client: GenesysClient,
  ids: readonly string[],
): Promise<Conversation[]> {
  if (ids.length === 0) return [];
  if (ids.length > IDS_PER_READ) throw new TooManyConversationIdsError(ids.length);
  const answer = await client.request<{ conversations?: Conversation[] }>({
    method: "GET",
    path: "/api/v2/analytics/conversations/details",
    query: { id: ids.join(",") },
  });
  return answer.conversations ?? [];
}

/**
 * The asynchronous jobs API, for large ranges and first runs: submit, read the state until
 * FULFILLED (waiting on the injected clock), then follow the results cursor to the end.
 */
export async function jobWindow(
  client: GenesysClient,
  window: WindowQuery,
  clock: Clock,
  settings: JobSettings,
  signal?: AbortSignal,
): Promise<FetchedWindow> {
  const { jobId } = await submitDetailsJob(client, baseQuery(window));
  const deadline = clock.now() + settings.timeoutMs;
  for (;;) {
    const status = await getDetailsJob(client, jobId);
    if (status.state === "FULFILLED") break;
    if (status.state === "FAILED" || status.state === "CANCELLED" || status.state === "EXPIRED") {
      throw new DetailsJobFailedError(jobId, status.state, status.errorMessage);
    }
    if (clock.now() >= deadline) throw new DetailsJobTimeoutError(jobId, settings.timeoutMs);
    await clock.sleep(settings.pollIntervalMs, signal);
  }
  const conversations = new Map<string, Conversation>();
  let pages = 0;
  let cursor: string | undefined;
  do {
    const page = await getDetailsJobResults(client, jobId, cursor, settings.pageSize);
    pages += 1;
    for (const conversation of page.conversations ?? [])
      conversations.set(conversation.conversationId, conversation);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { conversations, pages, method: "job" };
}
