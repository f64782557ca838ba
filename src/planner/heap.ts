/** A binary min-heap of entries keyed by `nextAt`, with removal by position for schedule changes. */
export interface HeapItem {
  nextAt: number;
  heapIndex: number;
}

export class SlotHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Every item due at or before `at`, without taking them out (a walk that skips the subtrees past it). */
  dueBy(at: number): T[] {
    const found: T[] = [];
    const stack = this.#items.length > 0 ? [0] : [];
    while (stack.length > 0) {
      const index = stack.pop() as number;
      const item = this.#items[index];
      if (item === undefined || item.nextAt > at) continue;
      found.push(item);
      stack.push(2 * index + 1, 2 * index + 2);
    }
    return found;
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0 || this.#items[index] !== item) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#down(index);
    this.#up(last.heapIndex);
  }

  #up(start: number): void {
    let index = start;
    const item = this.#items[index] as T;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = this.#items[parentIndex] as T;
      if (parent.nextAt <= item.nextAt) break;
      this.#items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    this.#items[index] = item;
    item.heapIndex = index;
  }

  #down(start: number): void {
    let index = start;
    const length = this.#items.length;
    const item = this.#items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && (this.#items[right] as T).nextAt < (this.#items[left] as T).nextAt ? right : left;
      const childItem = this.#items[child] as T;
      if (childItem.nextAt >= item.nextAt) break;
      this.#items[index] = childItem;
      childItem.heapIndex = index;
      index = child;
    }
    this.#items[index] = item;
    item.heapIndex = index;
  }
}
