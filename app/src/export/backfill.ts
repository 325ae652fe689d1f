import { rename } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { GenesysClient } from "../genesys/client";
import { timestampForName } from "../shared/layout";
import type { Clock } from "../time/clock";
import { jobWindow, type JobSettings } from "./details-source";
import { syncDirectory, writeTemporary } from "./export-state";
import { outcomeOf, routeField, type RouteOf } from "./outcomes";

export interface BackfillResult {
  readonly file: string | undefined;
  readonly exported: number;
  readonly pages: number;
}

/**
 * `--backfill FROM TO`: exports the conversations that ended in [FROM, TO) through the async
 * jobs API into one outbox file, `backfill-<from>_<to>.ndjson`, written completely before it is
 * renamed into view. It leaves the poller's watermark alone, so it can run beside a live service;
 * a range that overlaps windows already polled repeats those conversations (same conversationId).
 */
export async function backfill(
  client: GenesysClient,
  options: {
    readonly contactListIds: readonly string[];
    /** Names each record's import route, as the poller does. */
    readonly routeOf?: RouteOf;
    readonly outboxDir: string;
    readonly fromMs: number;
    readonly toMs: number;
    readonly jobs: JobSettings;
  },
  clock: Clock,
  logger: Logger,
): Promise<BackfillResult> {
  const { fromMs, toMs } = options;
  const fetched = await jobWindow(
    client,
    { contactListIds: options.contactListIds, startMs: fromMs, endMs: toMs },
    clock,
    options.jobs,
  );
  const lines: string[] = [];
  let running = 0;
  for (const conversation of fetched.conversations.values()) {
    const outcome = outcomeOf(conversation);
    if (outcome.conversationEnd === undefined) {
      running += 1;
      continue;
    }
    const endMs = Date.parse(outcome.conversationEnd);
    if (endMs >= fromMs && endMs < toMs)
      lines.push(JSON.stringify({ ...outcome, ...routeField(outcome, options.routeOf) }));
  }
  let file: string | undefined;
  if (lines.length > 0) {
    const name = `backfill-${timestampForName(fromMs)}_${timestampForName(toMs)}.ndjson`;
    const temporary = await writeTemporary(options.outboxDir, name, lines);
    file = path.join(options.outboxDir, name);
    await rename(temporary, file);
    await syncDirectory(options.outboxDir);
  }
  logger.info(
    {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      exported: lines.length,
      stillRunning: running,
      pages: fetched.pages,
      file,
    },
    "backfill done",
  );
  return { file, exported: lines.length, pages: fetched.pages };
}

/** Parses the two ISO-8601 times of `--backfill FROM TO`, or says what is wrong with them. */
export function parseBackfillRange(
  from: string | undefined,
  to: string | undefined,
  nowMs: number,
): { fromMs: number; toMs: number } | { problem: string } {
  const usage = "usage: --backfill FROM TO, both ISO-8601 times such as 2026-11-01T00:00:00Z";
  if (from === undefined || to === undefined) return { problem: `--backfill needs two times; ${usage}` };
  const fromMs = Date.parse(from);
  const toMs = Date.parse(to);
  if (Number.isNaN(fromMs)) return { problem: `"${from}" is not a time; ${usage}` };
  if (Number.isNaN(toMs)) return { problem: `"${to}" is not a time; ${usage}` };
  if (toMs <= fromMs) return { problem: `the range ends (${to}) before it starts (${from}); ${usage}` };
  if (toMs > nowMs) return { problem: `the range ends in the future (${to}); end it at or before now` };
  return { fromMs, toMs };
}
