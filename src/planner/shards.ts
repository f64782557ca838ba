/**
 * The planners of a process's shards, as one: each schedule goes to the planner of its shard
 * (redis/keys.ts shardOf), each planner fires through its shard's lease and firer. With one shard
 * it is that one planner, with the same calls.
 */
import { shardOf } from "../redis/keys.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Planner } from "./planner.ts";

export class ShardedPlanner {
  readonly #planners: readonly Planner[];

  constructor(planners: readonly Planner[]) {
    this.#planners = planners;
  }

  get planners(): readonly Planner[] {
    return this.#planners;
  }

  #of(name: string): Planner {
    return this.#planners[shardOf(name, this.#planners.length)] as Planner;
  }

  get size(): number {
    let size = 0;
    for (const planner of this.#planners) size += planner.size;
    return size;
  }

  get lastWakeAt(): number {
    let at = 0;
    for (const planner of this.#planners) at = Math.max(at, planner.lastWakeAt);
    return at;
  }

  get overdueMs(): number {
    let ms = 0;
    for (const planner of this.#planners) ms = Math.max(ms, planner.overdueMs);
    return ms;
  }

  rearm(): void {
    for (const planner of this.#planners) planner.rearm();
  }

  nextAtOf(name: string): number | undefined {
    return this.#of(name).nextAtOf(name);
  }

  upsert(schedule: Schedule, afterAt?: number): void {
    this.#of(schedule.name).upsert(schedule, afterAt);
  }

  remove(name: string): void {
    this.#of(name).remove(name);
  }

  invalidate(): void {
    for (const planner of this.#planners) planner.invalidate();
  }

  start(schedules: readonly Schedule[]): void {
    const groups = this.#planners.map((): Schedule[] => []);
    for (const schedule of schedules) groups[shardOf(schedule.name, this.#planners.length)]?.push(schedule);
    this.#planners.forEach((planner, shard) => planner.start(groups[shard] ?? []));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#planners.map((planner) => planner.stop()));
  }

  async quietFor(windowMs: number): Promise<void> {
    await Promise.all(this.#planners.map((planner) => planner.quietFor(windowMs)));
  }
}

/**
 * The fires in flight in this process, over its shards' planners: `track` each fire, and
 * `othersReplied` resolves when none is left (for the planner that awaited its own fire first).
 */
export class FiresInFlight {
  #count = 0;
  #waiting: (() => void)[] = [];
  /** The end of the last turn handed out (see turn). */
  #turns: Promise<void> = Promise.resolve();

  track<T>(fire: Promise<T>): Promise<T> {
    this.#count++;
    return fire.finally(() => {
      this.#count--;
      if (this.#count > 0) return;
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const resolve of waiting) resolve();
    });
  }

  othersReplied(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /**
   * A turn for the synchronous start of a big fire (taking its slots off the heap, its batches
   * out): the shards' planners due at one instant take theirs one after another, with a timer's
   * hop before each. Without it they ran back to back in one phase of the event loop, and a lease
   * renewal that fell due meanwhile waited for all of them (4 shards of 62,500 slots: 2.5-4.5 s
   * on a shared 2-core machine, longer than a 5 s lease has left). The hop's timer is set after
   * the previous turn ends, so any timer that fell due during that turn runs first. Resolves with
   * the release, which the fire calls once its batches are sent.
   */
  turn(): Promise<() => void> {
    let release: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (release = resolve));
    const ready = this.#turns.then(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
    this.#turns = ready.then(() => ended);
    return ready.then(() => release);
  }
}
