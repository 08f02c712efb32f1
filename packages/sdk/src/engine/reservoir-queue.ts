/**
 * A bounded FIFO that, once full, keeps a uniform random sample of everything offered since it
 * was last empty (Algorithm R), so what waits for a busy variant stays representative of the
 * traffic instead of being the first or the last burst. Every offer that does not end up queued
 * is handed back to the caller, which records it as dropped.
 */
export class ReservoirQueue<T> {
  readonly capacity: number;
  private readonly random: () => number;
  private items: T[] = [];
  private head = 0;
  private offeredSinceEmpty = 0;

  constructor(capacity: number, random: () => number) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new RangeError("capacity must be an integer >= 0");
    this.capacity = capacity;
    this.random = random;
  }

  /** How many items wait. */
  get length(): number {
    return this.items.length - this.head;
  }

  /** Queues `item`; returns the item that lost its place (`item` itself or an evicted one), if any. */
  offer(item: T): T | undefined {
    this.offeredSinceEmpty++;
    if (this.length < this.capacity) {
      this.items.push(item);
      return undefined;
    }
    if (this.capacity === 0) return item;
    const j = Math.floor(this.random() * this.offeredSinceEmpty);
    if (j >= this.capacity) return item;
    const at = this.head + j;
    const evicted = this.items[at] as T;
    this.items[at] = item;
    return evicted;
  }

  /** Takes the oldest item. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      this.offeredSinceEmpty = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns everything that waits. */
  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.offeredSinceEmpty = 0;
    return out;
  }
}
