import { AsyncLocalStorage } from "node:async_hooks";

/**
 * How urgent a request is, most urgent first. The pacer serves a class only while no more urgent
 * one has a request waiting (strict priority), and shares each class round-robin by `key`.
 * - `removal`: taking contacts out of a list (an opt-out must not wait behind new contacts).
 * - `addition`: importing contacts, and every request made without a share (see `RequestShare`).
 * - `background`: work that can wait for budget nobody else wants (the export's re-read). It is
 *   served only while no removal or addition waits, so it may wait as long as an import runs.
 */
export const REQUEST_PRIORITIES = ["removal", "addition", "background"] as const;

export type RequestPriority = (typeof REQUEST_PRIORITIES)[number];

/**
 * Whose work a request is, for sharing the rate budget: `key` names the owner (an import route),
 * and every key with requests waiting in a class gets its turn in that class.
 *
 * A request made without a share (the export's poll, list look-ups, anything not tagged) ranks as
 * an `addition` and takes its turns as one key of its own, the same as one more route: it is never
 * held back by additions, only by removals. Among themselves such requests are served first come,
 * first served, so a service that tags nothing is paced exactly as before shares existed.
 */
export interface RequestShare {
  /** The owner, such as the route's name: from configuration, never from a file's name or content. */
  readonly key: string;
  readonly priority: RequestPriority;
}

const current = new AsyncLocalStorage<RequestShare>();

/**
 * Runs `work` with `share` as the share of every Genesys request it makes, across its awaits,
 * timers and retries, without passing it down through each call (an explicit `share` on a request
 * still wins). Concurrent calls each keep their own; a nested call wins inside its `work`.
 */
export function withRequestShare<T>(share: RequestShare, work: () => Promise<T>): Promise<T> {
  if (!REQUEST_PRIORITIES.includes(share.priority))
    throw new TypeError(
      `withRequestShare: priority "${String(share.priority)}" is not one of ${REQUEST_PRIORITIES.join(", ")}`,
    );
  // async: a `work` that throws before its first await still ends in a rejected promise.
  return current.run(share, async () => work());
}

/** The share set by the innermost `withRequestShare` around the caller, if any. */
export function currentRequestShare(): RequestShare | undefined {
  return current.getStore();
}
