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
}
