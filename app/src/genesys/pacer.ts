import { ClientClosedError } from "./errors";
import type { Clock } from "../time/clock";
import type { RateLimitHeaderReading } from "./retry-after";
import type { TokenPacing } from "../shared/rate-budget";
import { REQUEST_PRIORITIES, type RequestPriority, type RequestShare } from "./request-share";

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** A first-in, first-out queue that takes from the front in O(1) (`Array.shift` moves every item). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue, returning what it held in order. */
  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/** The key of requests made without a share: one more owner, which no route's name can equal. */
const UNSHARED = Symbol("unshared");
type ShareKey = string | typeof UNSHARED;

/** One owner's waiters in one class, first come, first served. */
interface KeyQueue {
  readonly key: ShareKey;
  readonly waiters: Fifo<Waiter>;
}

/**
 * One priority class: a queue per key that has waiters, and the ring they take turns in. A key
 * joins the ring's end when its first waiter arrives and leaves it when its last is served, so a
 * grant is O(1) and the class holds only keys with work.
 */
class PriorityClass {
  private readonly byKey = new Map<ShareKey, KeyQueue>();
  private readonly turns = new Fifo<KeyQueue>();
  waiting = 0;

  add(key: ShareKey, waiter: Waiter): void {
    let queue = this.byKey.get(key);
    if (!queue) {
      queue = { key, waiters: new Fifo<Waiter>() };
      this.byKey.set(key, queue);
      this.turns.push(queue);
    }
    queue.waiters.push(waiter);
    this.waiting += 1;
  }

  /** The oldest waiter of the key whose turn it is; that key goes to the ring's end if it has more. */
  next(): Waiter | undefined {
    const queue = this.turns.shift();
    if (!queue) return undefined;
    const waiter = queue.waiters.shift()!;
    this.waiting -= 1;
    if (queue.waiters.size > 0) this.turns.push(queue);
    else this.byKey.delete(queue.key);
    return waiter;
  }

  /**
   * At most how many of this class's waiters go before one of `key` queued now: the key's own,
   * and from every other key one per turn the new waiter waits (O(keys with waiters)).
   */
  ahead(key: ShareKey): number {
    const own = this.byKey.get(key)?.waiters.size ?? 0;
    let ahead = own;
    for (const queue of this.byKey.values())
      if (queue.key !== key) ahead += Math.min(queue.waiters.size, own + 1);
    return ahead;
  }

  drain(): Waiter[] {
    const all: Waiter[] = [];
    for (let queue = this.turns.shift(); queue; queue = this.turns.shift())
      for (const waiter of queue.waiters.drain()) all.push(waiter);
    this.byKey.clear();
    this.waiting = 0;
    return all;
  }
}

const RANK = Object.fromEntries(REQUEST_PRIORITIES.map((priority, rank) => [priority, rank])) as Record<
  RequestPriority,
  number
>;

/** A share's class; requests without one rank as additions (see `RequestShare`). */
function rankOf(share: RequestShare | undefined): number {
  return RANK[share?.priority ?? "addition"] ?? RANK.addition;
}

/**
 * Paces one token's requests so it never sends more than its budget (`tokenPacing` in
 * shared/rate-budget.ts) in any window: a sliding log of send times (at most `requestsPerWindow`
 * entries). A sliding window bounds every fixed window the server might count in, so normal
 * operation draws no 429s, while still allowing a full burst when the budget is unused.
 *
 * Who goes next when the budget frees (request-share.ts): waiters of the most urgent class with
 * any (removal, then addition, then background), and within a class each key with waiters in
 * turn, one request a turn, each key's own first come, first served. Requests without a share
 * are one key among the additions, so with no shares at all this is first come, first served.
 * The window alone decides when: a waiter is granted as soon as the budget has room, whoever it
 * is, so no budget is left unused while anyone waits.
 *
 * Written here rather than taken from p-queue or bottleneck: those read the real clock, and this
 * one must also pause on demand (a 429's Retry-After, low rate-limit headers) under a fake clock.
 */
export class RequestPacer {
  private readonly sent: number[] = [];
  private sentHead = 0;
  private pausedUntilMs = 0;
  /** Indexed by rank, most urgent first. */
  private readonly classes = REQUEST_PRIORITIES.map(() => new PriorityClass());
  private waiting = 0;
  private pumping = false;
  private wake: AbortController | undefined;
  private closed = false;

  constructor(
    private readonly settings: TokenPacing,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves when a request may be sent now; the send is counted against the budget. `share` says
   * whose request it is and how urgent (none: an addition of its own key, see `RequestShare`).
   */
  acquire(share?: RequestShare): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    return new Promise<void>((resolve, reject) => {
      this.classes[rankOf(share)]!.add(share ? share.key : UNSHARED, { resolve, reject });
      this.waiting += 1;
      void this.pump();
    });
  }

  /** Holds every request on this token until `untilMs` (a 429's Retry-After applies to the token). */
  pauseUntil(untilMs: number): void {
    if (untilMs <= this.pausedUntilMs) return;
    this.pausedUntilMs = untilMs;
    this.wake?.abort();
  }

  /** Uses rate-limit headers where a proxy or older deployment sends them. */
  observe(reading: RateLimitHeaderReading): void {
    if (reading.limit > 0 && reading.remaining < reading.limit * this.settings.lowWaterRatio) {
      this.pauseUntil(this.clock.now() + reading.resetInMs);
    }
  }

  /** Requests counted in the current window. */
  inUse(): number {
    this.prune(this.clock.now());
    return this.sent.length - this.sentHead;
  }

  /** Requests waiting for a slot. */
  queued(): number {
    return this.waiting;
  }

  /**
   * At most how many waiting requests would be granted before one with `share` queued now: every
   * waiter of a more urgent class, and its own class's turns ahead of it (none of a less urgent).
   * What the client weighs when it chooses a token for a request.
   */
  queuedAhead(share?: RequestShare): number {
    const rank = rankOf(share);
    let ahead = 0;
    for (let more = 0; more < rank; more += 1) ahead += this.classes[more]!.waiting;
    return ahead + this.classes[rank]!.ahead(share ? share.key : UNSHARED);
  }

  /** The earliest time a new request could be sent, ignoring those already queued. */
  nextFreeAtMs(): number {
    const now = this.clock.now();
    this.prune(now);
    const full = this.sent.length - this.sentHead >= this.settings.requestsPerWindow;
    const windowFreeAt = full ? this.sent[this.sentHead]! + this.spanMs() : now;
    return Math.max(now, this.pausedUntilMs, windowFreeAt);
  }

  close(): void {
    this.closed = true;
    this.wake?.abort();
    this.waiting = 0;
    for (const priorityClass of this.classes)
      for (const waiter of priorityClass.drain()) waiter.reject(new ClientClosedError());
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting > 0 && !this.closed) {
        const freeAt = this.nextFreeAtMs();
        const now = this.clock.now();
        if (freeAt <= now) {
          this.sent.push(now);
          this.next().resolve();
          continue;
        }
        this.wake = new AbortController();
        try {
          await this.clock.sleep(freeAt - now, this.wake.signal);
        } catch {
          // Woken early: a pause changed or the pacer closed; the loop re-reads both.
        }
        this.wake = undefined;
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The waiter whose turn it is: the most urgent class with any, then that class's next key. */
  private next(): Waiter {
    this.waiting -= 1;
    for (const priorityClass of this.classes) {
      const waiter = priorityClass.next();
      if (waiter) return waiter;
    }
    throw new Error("RequestPacer: a waiter was counted but none is queued");
  }

  private spanMs(): number {
    return this.settings.windowMs + this.settings.safetyMarginMs;
  }

  private prune(now: number): void {
    const horizon = now - this.spanMs();
    while (this.sentHead < this.sent.length && this.sent[this.sentHead]! <= horizon) this.sentHead += 1;
    if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) {
      this.sent.splice(0, this.sentHead);
      this.sentHead = 0;
    }
  }
}
