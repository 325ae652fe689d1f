/**
 * The ids of the last `size` accepted rows, with their line, to catch an id repeated within a file.
 * Bounded: a ring forgets the oldest in O(1). Evicting through `Map.keys().next()` instead walks
 * V8's deleted entries at the front of the Map's table each time, which made a 1,000,000-row file
 * take minutes past the window.
 */
export class RecentIds {
  private readonly lines = new Map<string, number>();
  private readonly ring: string[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  /** The line `id` was first seen on, if it is a repeat; otherwise undefined, and `id` is remembered. */
  firstLine(id: string, line: number): number | undefined {
    const first = this.lines.get(id);
    if (first !== undefined) return first;
    this.lines.set(id, line);
    if (this.ring.length < this.size) this.ring.push(id);
    else {
      this.lines.delete(this.ring[this.next]!);
      this.ring[this.next] = id;
      this.next = (this.next + 1) % this.size;
    }
    return undefined;
  }
}
