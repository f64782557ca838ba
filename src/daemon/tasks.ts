/**
 * The running clock's background tasks (change-counter poll, reconcile, time sync, outbox drain,
 * config check): each re-armed after it finishes, so a slow one never overlaps itself. A task's
 * first failure of a run of them is reported ("task:failed"); none is swallowed silently, and
 * none re-arms once stopping began.
 */
import type { ClockEvents } from "../events.ts";
import type { Clock } from "../time.ts";

export class Tasks {
  readonly #clock: Clock;
  readonly #events: ClockEvents;
  readonly #timers = new Set<unknown>();
  #stopping = false;

  constructor(clock: Clock, events: ClockEvents) {
    this.#clock = clock;
    this.#events = events;
  }

  /** Runs `task` every `ms` (after the previous run ends). */
  every(name: string, ms: number, task: () => Promise<void>): void {
    this.together(ms, [[name, task]]);
  }

  /**
   * Runs several tasks every `ms` on one timer, side by side: one wake-up a period for all of them,
   * and their Redis commands leave in the same turn (one round trip's wait, not one each). Each is
   * reported under its own name, its first failure of a run only.
   */
  together(ms: number, tasks: readonly (readonly [name: string, task: () => Promise<void>])[]): void {
    const failing = tasks.map(() => false);
    const loop = (): void => {
      if (this.#stopping) return;
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(timer);
        void Promise.all(
          tasks.map(([name, task], index) =>
            this.once(name, task, failing[index]).then((failed) => {
              failing[index] = failed;
            }),
          ),
        ).finally(loop);
      }, ms);
      this.#timers.add(timer);
    };
    loop();
  }

  /**
   * Runs `task` every `ms` while `active()` holds. Once it does not, no timer is kept (an idle
   * process wakes for nothing); `wake()` starts the loop again when `active()` may hold once more.
   */
  loop(name: string, ms: number, task: () => Promise<void>, active: () => boolean): { wake(): void } {
    let armed = false;
    let failing = false;
    const arm = (): void => {
      if (this.#stopping || armed || !active()) return;
      armed = true;
      const timer = this.#clock.setTimeout(() => {
        this.#timers.delete(timer);
        void this.once(name, task, failing)
          .then((failed) => {
            failing = failed;
          })
          .finally(() => {
            armed = false;
            arm();
          });
      }, ms);
      this.#timers.add(timer);
    };
    arm();
    return { wake: arm };
  }

  /** Runs `task` now; reports its failure unless `quiet` (a repeat of the last failure). Resolves true when it failed. */
  async once(name: string, task: () => Promise<void>, quiet = false): Promise<boolean> {
    try {
      await task();
      return false;
    } catch (error) {
      if (!quiet && !this.#stopping) this.#events.emit("task:failed", { task: name, error: error instanceof Error ? error : new Error(String(error)) });
      return true;
    }
  }

  stop(): void {
    this.#stopping = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
  }
}
