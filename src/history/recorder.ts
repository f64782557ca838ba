/**
 * The leader's history writer: it hears fires and overlap skips (events.ts), and writes their
 * records (store.ts) right after the fire batch, off the slot's path. The planner never waits for
 * it: records of a burst are gathered until the burst's events are all out (setImmediate), then sent
 * as a few pipelined script calls. While Redis fails, records wait in memory up to MAX_PENDING (the
 * oldest dropped past it, counted); while the leader leads, adapters with check-ins of their own
 * (BullMQ's QueueEvents) report their jobs' starts and finishes.
 */
import type { Redis } from "ioredis";
import type { CheckIn, CheckInSource } from "../adapters/types.ts";
import type { ClockEvents } from "../events.ts";
import type { FireOutcome } from "../fire/fire.ts";
import type { AdapterLookup } from "../fire/ledger.ts";
import type { ClockKeys } from "../redis/keys.ts";
import { SECOND } from "../time.ts";
import { appendHistory, recordCheckIn, scheduleOfJobId, type FireKind, type FireRecord } from "./store.ts";

/** Records held while Redis fails; past it the oldest go (a 10,000-schedule burst fits ten times). */
export const MAX_PENDING = 100_000;
const RETRY_MS = SECOND;

export interface RecorderOptions {
  readonly redis: Redis;
  readonly keys: ClockKeys;
  readonly events: ClockEvents;
  /** Fires kept per schedule (> 0: a recorder is not made for 0). */
  readonly size: number;
  readonly adapters: AdapterLookup;
  readonly isLeader: () => boolean;
}

export class HistoryRecorder {
  readonly #options: RecorderOptions;
  #pending: FireRecord[] = [];
  #scheduled = false;
  #writing: Promise<void> | null = null;
  #failing = false;
  #retry: NodeJS.Timeout | null = null;
  #stopped = false;
  /** By adapter name; null for an adapter without check-ins of its own (looked up once). */
  readonly #sources = new Map<string, CheckInSource | null>();
  readonly #off: (() => void)[] = [];

  constructor(options: RecorderOptions) {
    this.#options = options;
    const { events } = options;
    this.#off.push(
      events.on("fire:fired", ({ outcome, catchUp }) => this.#add(outcome, catchUp ? "catch-up" : "on-time")),
      events.on("fire:overlap-skipped", ({ outcome }) => this.#add(outcome, "skipped")),
      events.on("lease:changed", ({ leading }) => {
        if (!leading) void this.#closeSources();
      }),
    );
  }

  #add(outcome: FireOutcome, kind: FireKind): void {
    if (this.#stopped) return;
    const { schedule, slotAt } = outcome.request;
    this.#pending.push({ schedule: schedule.name, slotAt, enqueuedAt: outcome.redisAt, kind, jobId: outcome.jobId });
    if (this.#pending.length > MAX_PENDING) this.#drop(this.#pending.length - MAX_PENDING);
    this.#watch(schedule.adapter, schedule.job.queue, outcome.redisAt);
    if (!this.#scheduled && this.#retry === null) {
      this.#scheduled = true;
      // After the burst: every fire:fired of this batch is emitted in the same turn of the loop.
      setImmediate(() => {
        this.#scheduled = false;
        void this.flush();
      });
    }
  }

  #drop(count: number): void {
    this.#pending.splice(0, count);
    this.#options.events.emit("history:dropped", { records: count });
  }

  /** Writes what is pending (one write at a time); resolves when it is written or has failed. */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#writing = appendHistory(this.#options.redis, this.#options.keys, batch, this.#options.size).then(
      () => {
        if (this.#failing) this.#options.events.emit("history:recovered", {});
        this.#failing = false;
      },
      (error: unknown) => {
        this.#options.events.emit("history:failed", { error: error as Error, records: batch.length, again: this.#failing });
        this.#failing = true;
        // Back in front of anything newer, for the retry; the bound holds across retries.
        this.#pending = [...batch, ...this.#pending];
        if (this.#pending.length > MAX_PENDING) this.#drop(this.#pending.length - MAX_PENDING);
        if (!this.#stopped && this.#retry === null) {
          this.#retry = setTimeout(() => {
            this.#retry = null;
            void this.flush();
          }, RETRY_MS);
          this.#retry.unref();
        }
      },
    );
    try {
      await this.#writing;
    } finally {
      this.#writing = null;
    }
  }

  /** The leader hears check-ins of the queues it fires into, from the adapters that have them (BullMQ). */
  #watch(adapterName: string, queue: string, sinceMs: number): void {
    if (!this.#options.isLeader()) return;
    let source = this.#sources.get(adapterName);
    if (source === undefined) {
      let adapter;
      try {
        adapter = this.#options.adapters.get(adapterName);
      } catch {
        adapter = undefined;
      }
      source =
        adapter?.checkIns?.(
          (checkIn) => void this.#checkIn(checkIn),
          (error) => this.#options.events.emit("checkin:failed", { error }),
        ) ?? null;
      this.#sources.set(adapterName, source);
    }
    source?.watch(queue, sinceMs);
  }

  async #checkIn(checkIn: CheckIn): Promise<void> {
    const schedule = scheduleOfJobId(checkIn.jobId);
    if (schedule === null) return; // not the clock's job
    try {
      const recorded = await recordCheckIn(this.#options.redis, this.#options.keys, schedule, checkIn.jobId, checkIn.state, {
        ...(checkIn.error === undefined ? {} : { error: checkIn.error }),
        ...(checkIn.atMs === undefined ? {} : { atMs: checkIn.atMs }),
      });
      if (recorded) this.#options.events.emit("checkin:recorded", { schedule, jobId: checkIn.jobId, state: checkIn.state, error: checkIn.error ?? null });
    } catch (error) {
      this.#options.events.emit("checkin:failed", { error: error as Error });
    }
  }

  async #closeSources(): Promise<void> {
    const sources = [...this.#sources.values()];
    this.#sources.clear();
    await Promise.all(sources.map((source) => source?.close().catch(() => undefined)));
  }

  /** Writes what is pending (once), stops listening. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const off of this.#off) off();
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    await this.#closeSources();
    await this.flush().catch(() => undefined);
  }
}
