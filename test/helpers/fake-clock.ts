/** A clock tests drive by hand: timers run in due order as time is advanced; the wall clock can jump. */
import type { Clock } from "../../src/time.ts";

interface Timer {
  readonly id: number;
  readonly dueMono: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #wall: number;
  #mono = 0;
  #timers: Timer[] = [];
  #nextId = 1;
  /** How many timer callbacks have run: a spinning loop shows up here. */
  fired = 0;

  constructor(startAt: number) {
    this.#wall = startAt;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer = { id: this.#nextId++, dueMono: this.#mono + Math.max(0, ms), callback };
    this.#timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle);
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves both clocks forward, running due timers in order and letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const endMono = this.#mono + ms;
    for (;;) {
      await settle();
      const next = this.#timers.filter((timer) => timer.dueMono <= endMono).sort((a, b) => a.dueMono - b.dueMono || a.id - b.id)[0];
      if (next === undefined) break;
      this.#timers = this.#timers.filter((timer) => timer !== next);
      // A timer overdue after freeze() runs at once: clocks never move backwards here.
      if (next.dueMono > this.#mono) {
        this.#wall += next.dueMono - this.#mono;
        this.#mono = next.dueMono;
      }
      this.fired++;
      next.callback();
    }
    this.#wall += endMono - this.#mono;
    this.#mono = endMono;
    await settle();
  }

  /** Moves only the wall clock (an NTP step, or a VM resumed after a suspend). */
  jump(ms: number): void {
    this.#wall += ms;
  }

  /** Both clocks move without timers running (a process frozen by SIGSTOP, a machine suspended). */
  freeze(ms: number): void {
    this.#wall += ms;
    this.#mono += ms;
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
