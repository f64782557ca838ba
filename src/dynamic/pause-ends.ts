/**
 * When the leader resumes pauses that end by themselves (`until`): a timer for the earliest end in
 * `{ns}:pause-ends`, read again after each expiry, each change heard and each safety poll, instead
 * of a read every second. The resume itself (pauses.ts expirePauses) decides by Redis time and
 * stamps each at its `until`, so a timer that wakes a little early or late changes nothing but
 * when the catch-up of the slots after it is fired.
 */
import type { Redis } from "ioredis";
import type { ClockKeys } from "../redis/keys.ts";
import type { Clock } from "../time.ts";

/** A timer that found nothing due yet (this host's idea of Redis time a little ahead) waits this long before it looks again. */
const EARLY_RETRY_MS = 50;
/** A far end is looked at again after this long (a timer of days would overflow; the safety poll reads sooner anyway). */
const MAX_DELAY_MS = 60_000;

/** The earliest `until` of a pause (epoch ms, Redis time), or null when no pause ends by itself. */
export async function nextPauseEnd(redis: Redis, keys: ClockKeys): Promise<number | null> {
  const [name, score] = await redis.zrange(keys.pauseEnds, 0, 0, "WITHSCORES");
  if (name === undefined || score === undefined) return null;
  const at = Number(score);
  return Number.isFinite(at) ? at : null;
}

export interface PauseEndTimerOptions {
  readonly clock: Clock;
  /** Whether this process resumes ended pauses (it leads): otherwise nothing is read or armed. */
  readonly active: () => boolean;
  readonly nextEnd: () => Promise<number | null>;
  /** Resumes every pause whose end has come (by Redis time); resolves with how many. */
  readonly expire: () => Promise<number>;
  /** Runs a task with the daemon's failure reporting (tasks.ts once). */
  readonly run: (name: string, task: () => Promise<void>) => void;
}

export class PauseEndTimer {
  readonly #options: PauseEndTimerOptions;
  #timer: unknown = null;
  #stopped = false;
  /** A check in flight, and whether another was asked for meanwhile (a burst of changes is a read or two, not one each). */
  #checking = false;
  #again = false;

  constructor(options: PauseEndTimerOptions) {
    this.#options = options;
  }

  /**
   * Reads the earliest end again and arms the timer for it (in the background, failures reported;
   * asked for while one is in flight: one more read after it).
   */
  check(): void {
    if (this.#checking) {
      this.#again = true;
      return;
    }
    this.#checking = true;
    this.#options.run("pause expiry", async () => {
      try {
        do {
          this.#again = false;
          await this.#refresh();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#checking = false;
      }
    });
  }

  /** Resumes what has ended, then arms the timer for the earliest end left. */
  async #refresh(): Promise<void> {
    if (this.#stopped || !this.#options.active()) return this.#disarm();
    const { clock } = this.#options;
    let endAt = await this.#options.nextEnd();
    if (endAt !== null && endAt <= clock.now()) {
      const resumed = await this.#options.expire();
      endAt = await this.#options.nextEnd();
      // Nothing resumed although due by this host's clock: Redis's time is not there yet.
      if (resumed === 0 && endAt !== null && endAt <= clock.now()) return this.#arm(EARLY_RETRY_MS);
    }
    if (endAt === null) return this.#disarm();
    this.#arm(Math.min(MAX_DELAY_MS, Math.max(0, endAt - clock.now())));
  }

  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  #arm(delayMs: number): void {
    this.#disarm();
    if (this.#stopped) return;
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = null;
      this.check();
    }, delayMs);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
