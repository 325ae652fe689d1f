import type { Clock } from "../../app/src/time/clock";

interface Timer {
  readonly atMs: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock that only moves when the test says so. `sleep` registers a timer; `advance` fires the
 * timers that fall due in order, letting promise chains run between them, so a test can step
 * through refresh schedules, backoffs and Retry-After waits in microseconds of real time.
 */
export class FakeClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: Timer[] = [];
  /** Every sleep requested, in order, for asserting backoff sequences. */
  readonly sleeps: number[] = [];

  constructor(startMs = Date.parse("2026-11-21T08:00:00Z")) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = {
        atMs: this.nowMs + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((candidate) => candidate !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Timers waiting to fire. */
  pending(): number {
    return this.timers.length;
  }

  /** Lets pending promise chains and mocked I/O callbacks run. */
  async flush(rounds = 20): Promise<void> {
    for (let round = 0; round < rounds; round += 1)
      await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Lets real I/O (files, loopback HTTP to the simulator) settle between fake-clock steps. */
  async settleIo(): Promise<void> {
    for (let round = 0; round < 5; round += 1) await new Promise((resolve) => setImmediate(resolve));
    await this.flush();
  }

  /**
   * For a service doing real I/O on this clock: moves time on `stepMs` at a time, letting the I/O
   * settle after each step, until `condition` holds; throws naming `what` after `maxSteps`.
   */
  async advanceUntil(
    condition: () => boolean,
    what: string,
    { stepMs = 100, maxSteps = 72_000 }: { stepMs?: number; maxSteps?: number } = {},
  ): Promise<void> {
    for (let step = 0; step < maxSteps && !condition(); step += 1) {
      await this.advance(stepMs);
      await this.settleIo();
    }
    if (!condition())
      throw new Error(`${what} did not happen within ${(maxSteps * stepMs) / 1000} s of fake time`);
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    await this.flush();
    for (;;) {
      const next = this.nextTimer();
      if (!next || next.atMs > target) break;
      this.fire(next);
      await this.flush();
    }
    this.nowMs = target;
    await this.flush();
  }

  /** Fires timers one after another until `promise` settles; returns its outcome. */
  async run<T>(promise: Promise<T>, maxMs = 7 * 24 * 3600 * 1000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    const limit = this.nowMs + maxMs;
    await this.flush();
    while (!settled) {
      const next = this.nextTimer();
      if (!next) throw new Error("FakeClock.run: nothing left to wait for, but the promise has not settled");
      if (next.atMs > limit) throw new Error(`FakeClock.run: still pending after ${maxMs} ms of fake time`);
      this.fire(next);
      await this.flush();
    }
    return tracked;
  }

  private nextTimer(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers)
      if (!best || timer.atMs < best.atMs || (timer.atMs === best.atMs && timer.seq < best.seq)) best = timer;
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((candidate) => candidate !== timer);
    this.nowMs = Math.max(this.nowMs, timer.atMs);
    timer.resolve();
  }
}
