/**
 * Start-up work that the first fire does not need (the config fingerprint, the config snapshot
 * clients read) waits for it in a big config: at 100,000 schedules that work is seconds of CPU on
 * the one thread that also has to read the ledger and fire what is due. Clients find the snapshot
 * a moment after the first fire then, not before startClock returns.
 */
import type { ClockEvents } from "../events.ts";
import type { Clock } from "../time.ts";

/**
 * From this many config schedules on, the work waits. Below it, it costs well under 50 ms and goes
 * where it always did: before startClock returns (a client started right after finds the snapshot).
 */
export const DEFER_FROM_SCHEDULES = 10_000;

export function defersStartupWork(schedules: number): boolean {
  return schedules >= DEFER_FROM_SCHEDULES;
}

/** Past this, a leader whose planner has not read the ledger yet (Redis slow or away) runs the deferred work anyway. */
export const FIRST_FIRE_WAIT_MS = 5_000;
/** The deferred work blocks the event loop for a while: it starts where no slot is due this soon. */
const QUIET_MS = 1_000;

export class FirstFire {
  #resynced = false;
  readonly #waiters: (() => void)[] = [];

  /** Listens from now on: construct it before the leases start, so the first resync is not missed. */
  constructor(events: ClockEvents) {
    const off = events.on("planner:resynced", () => {
      off();
      this.#resynced = true;
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
  }

  /**
   * Resolves once the first fire is behind us: a leader's planner has read the ledger and fired
   * what was due (or `maxWaitMs` passed), then no slot is due within a second. A process that does
   * not lead has no first fire to wait for.
   */
  async passed(leading: boolean, planner: { quietFor(windowMs: number): Promise<void> }, clock: Clock, maxWaitMs = FIRST_FIRE_WAIT_MS): Promise<void> {
    if (leading && !this.#resynced) {
      await new Promise<void>((resolve) => {
        const timer = clock.setTimeout(resolve, maxWaitMs);
        this.#waiters.push(() => {
          clock.clearTimeout(timer);
          resolve();
        });
      });
    }
    if (leading) await planner.quietFor(QUIET_MS);
  }
}
