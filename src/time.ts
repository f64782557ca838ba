/** Time, injected: the wall clock for slots, the monotonic clock for leases and jump detection. */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Resolves at the next turn of the event loop (after pending I/O): long loops await it now and then so timers, sockets and lease renewals run. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
export interface Clock {
  /** Wall-clock time, epoch ms. */
  now(): number;
  /** Monotonic ms since an arbitrary origin; never jumps. */
  monotonic(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** One reading of a reference clock (Redis TIME), bracketed by the local monotonic clock. */
export interface TimeSample {
  /** The reference's time during the call, epoch ms. */
  readonly referenceMs: number;
  /** Local monotonic ms just before the call was sent and just after its reply arrived. */
  readonly sentMono: number;
  readonly receivedMono: number;
}

/** A change of the offset a `ReferenceClock` applies, for the log and the metric. */
export interface OffsetChange {
  readonly offsetMs: number;
  readonly previousMs: number;
  /** How uncertain the new offset is: half the round trip of the sample that set it. */
  readonly uncertaintyMs: number;
}

/** The local wall clock moved against the monotonic clock by at least this: a step, not a slew. */
const STEP_MS = 250;
/** An offset within this of zero is measurement noise: the local clock is used as it is. */
const DEADBAND_MS = 1;

/**
 * The wall clock as the reference (Redis TIME, which the fire script judges slots by) tells it:
 * local wall time plus a measured offset. A host whose clock is off still decides slots by the
 * reference, so it fires every slot once and on time by Redis, instead of asking for slots Redis
 * calls early (or firing late).
 *
 * Between samples, a step of the local wall clock (an NTP step, a jump by hand, a resume from
 * suspend) shows at once against the monotonic clock, which never steps: `now()` then keeps the
 * reference's time by the monotonic clock and `onStep` asks for a fresh sample. A slow NTP slew is
 * followed by the wall clock and corrected at the next sample.
 */
export class ReferenceClock implements Clock {
  readonly #base: Clock;
  readonly #onChange: (change: OffsetChange) => void;
  readonly #onStep: (stepMs: number) => void;
  #offsetMs = 0;
  /** Local wall minus monotonic at the last sample: a step shows as a change of it. */
  #wallMinusMono: number;
  #stepReported = false;

  constructor(base: Clock, hooks: { onChange?: (change: OffsetChange) => void; onStep?: (stepMs: number) => void } = {}) {
    this.#base = base;
    this.#onChange = hooks.onChange ?? (() => undefined);
    this.#onStep = hooks.onStep ?? (() => undefined);
    this.#wallMinusMono = base.now() - base.monotonic();
  }

  /** What is added to local wall time (ms): positive when this host's clock is behind the reference. */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  now(): number {
    const wall = this.#base.now();
    const stepMs = wall - this.#base.monotonic() - this.#wallMinusMono;
    if (Math.abs(stepMs) < STEP_MS) return wall + this.#offsetMs;
    if (!this.#stepReported) {
      this.#stepReported = true;
      this.#onStep(stepMs);
    }
    return wall - stepMs + this.#offsetMs;
  }

  monotonic(): number {
    return this.#base.monotonic();
  }

  setTimeout(callback: () => void, ms: number): unknown {
    return this.#base.setTimeout(callback, ms);
  }

  clearTimeout(handle: unknown): void {
    this.#base.clearTimeout(handle);
  }

  /**
   * Takes a reading. The reference's time is compared with the local time at the middle of the
   * round trip, so the estimate is off by at most half of it; a reading that agrees with the offset
   * in use within that is no news (the offset does not wander with each round trip's noise).
   */
  sample({ referenceMs, sentMono, receivedMono }: TimeSample): void {
    const mono = this.#base.monotonic();
    const wallMinusMono = this.#base.now() - mono;
    const uncertaintyMs = Math.max(0, receivedMono - sentMono) / 2;
    const localMid = wallMinusMono + (sentMono + receivedMono) / 2;
    const measuredMs = referenceMs - localMid;
    const stepMs = wallMinusMono - this.#wallMinusMono;
    const stepped = Math.abs(stepMs) >= STEP_MS;
    // A step first seen here (not by now()) is reported all the same.
    if (stepped && !this.#stepReported) this.#onStep(stepMs);
    this.#wallMinusMono = wallMinusMono;
    this.#stepReported = false;
    const previousMs = this.#offsetMs;
    if (!stepped && Math.abs(measuredMs - previousMs) <= Math.max(uncertaintyMs, DEADBAND_MS)) return;
    this.#offsetMs = Math.abs(measuredMs) <= Math.max(uncertaintyMs, DEADBAND_MS) ? 0 : measuredMs;
    if (this.#offsetMs !== previousMs) this.#onChange({ offsetMs: this.#offsetMs, previousMs, uncertaintyMs });
  }
}
