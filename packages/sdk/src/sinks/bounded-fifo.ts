/** A FIFO with a hard bound that refuses (and counts) what does not fit; items can be put back in front. */
export class BoundedFifo<T> {
  readonly capacity: number;
  private items: T[] = [];
  private head = 0;
  /** Items refused because the FIFO was full. */
  refused = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Appends `item`; false (and counted) when full. */
  push(item: T): boolean {
    if (this.length >= this.capacity) {
      this.refused++;
      return false;
    }
    this.items.push(item);
    return true;
  }

  /** Puts `item` back at the front (a publish that failed goes out first next time); false when full. */
  unshift(item: T): boolean {
    if (this.length >= this.capacity) {
      this.refused++;
      return false;
    }
    if (this.head > 0) {
      this.head--;
      this.items[this.head] = item;
    } else {
      this.items.unshift(item);
    }
    return true;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
