/**
 * Expectations: the leader judges, from the history and check-ins it already has, whether each
 * schedule with `expect` is ok, late, failed or missed, and emits each change ("expect:changed").
 * Nothing here is on the fire path: it runs on its own timer (tick()), reads only what it needs
 * (the newest few entries of a schedule once, then one HGET of the newest job's outcome until a
 * worker reports its end), and only for schedules with `expect`; each tick's work is bounded.
 *
 * The states, judged on the schedule's newest few enqueued slots (overlap skips enqueue nothing and
 * are passed over):
 * - failed: the newest slot whose job reported its end failed (with the error class);
 * - late: a slot newer than that one has not started within `startWithin` of its instant, or not
 *   finished within `finishWithin` (a stopped worker: slots pile up unstarted, and the oldest of them
 *   goes past its bound even when a new one comes every second); also when the next planned slot
 *   is that overdue and not enqueued at all (fires failing). The bound
 *   counts from the slot's instant, so a catch-up fire is judged late by its slot; a trigger and a
 *   backfill's slot count from when they were enqueued;
 * - missed: slots the catch-up policy skipped (the clock could not fire in their window); held until
 *   the next on-time fire (the catch-up fire of the same recovery does not clear it);
 * - ok: otherwise (succeeded, or still within its bounds).
 * Overlap skips are not missed: they are the schedule's own policy, and the running job is judged.
 */
import type { Redis } from "ioredis";
import { expectOf, type Expect } from "../config/expect.ts";
import type { ClockEvents } from "../events.ts";
import type { ClockKeys } from "../redis/keys.ts";
import { formatDuration } from "../schedule/duration.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { readNewestEntries, readOutcomes, type FireKind, type Outcome } from "./store.ts";
import { readStates, statedNames, writeStates, type ExpectState, type ScheduleState } from "./states.ts";

/** Enqueued slots judged per schedule (the newest): enough for a stopped worker's backlog to show, bounded. */
const WINDOW = 5;
/** History entries read per schedule when it starts being judged: the window, past a few overlap skips. */
const NEWEST = 2 * WINDOW;
/** Per tick at most: schedules loaded from Redis, outcomes polled, schedules judged (round robin past that). */
const LOAD_PER_TICK = 1_000;
const POLL_PER_TICK = 2_000;
const JUDGE_PER_TICK = 10_000;

/** A slot as the watch knows it: the newest enqueued one of its schedule. */
export interface SlotFacts {
  readonly slotAt: number;
  readonly jobId: string;
  readonly kind: FireKind;
  readonly enqueuedAt: number;
}

/** A slot's state at `now` from its facts and what the worker reported; pure. */
export function judgeSlot(slot: SlotFacts, outcome: Outcome | null, expect: Expect, now: number): { state: ExpectState; reason: string; error: string | null } {
  if (outcome?.result === "failed") return { state: "failed", reason: `failed${outcome.error === null ? "" : `: ${outcome.error}`}`, error: outcome.error };
  if (outcome?.result === "succeeded") return { state: "ok", reason: "succeeded", error: null };
  // A trigger or a backfill's old slot is judged from when it was enqueued, not from its (past) instant.
  const from = slot.kind === "trigger" || slot.kind === "backfill" ? slot.enqueuedAt : slot.slotAt;
  const started = outcome?.result === "started";
  if (!started && expect.startWithinMs !== undefined && now > from + expect.startWithinMs)
    return { state: "late", reason: `not started within ${formatDuration(expect.startWithinMs)} of its slot`, error: null };
  if (expect.finishWithinMs !== undefined && now > from + expect.finishWithinMs)
    return { state: "late", reason: `not finished within ${formatDuration(expect.finishWithinMs)} of its slot`, error: null };
  return { state: "ok", reason: started ? "running, within its bounds" : "enqueued, within its bounds", error: null };
}

/** One of a schedule's newest slots and what its worker reported so far. */
interface Watched {
  readonly slot: SlotFacts;
  outcome: Outcome | null;
}

interface Tracked {
  schedule: Schedule;
  expect: Expect;
  loaded: boolean;
  /** The newest enqueued slots, newest first, at most WINDOW. */
  slots: Watched[];
  /** Catch-up skipped slots since the last on-time fire (null: none). */
  missed: { readonly at: number; readonly count: number } | null;
  state: ScheduleState | null;
  lastSuccessAt: number | null;
  /** Whether this leader has reported its state yet (the first judgement always is, for the metrics). */
  announced: boolean;
}

export interface ExpectationOptions {
  readonly redis: Redis;
  readonly keys: ClockKeys;
  readonly events: ClockEvents;
  readonly now: () => number;
  /** Every schedule the clock knows (config and dynamic), and a number that changes when the set does. */
  readonly schedules: () => Iterable<Schedule>;
  readonly version: () => number;
  /** The planner's next slot of a schedule (undefined: not planned). */
  readonly plannedAt: (name: string) => number | undefined;
  /**
   * Shards of leadership: whether this process judges schedule `name` (it holds its shard). A
   * schedule that leaves by a shard move keeps its state for its new judge; absent: all of them.
   */
  readonly owns?: (name: string) => boolean;
}

const settled = (outcome: Outcome | null): boolean => outcome?.result === "succeeded" || outcome?.result === "failed";

export class ExpectationWatch {
  readonly #options: ExpectationOptions;
  readonly #tracked = new Map<string, Tracked>();
  #version = Number.NaN;
  #pollCursor = 0;
  #judgeCursor = 0;
  #cleaned = false;
  readonly #off: (() => void)[] = [];

  constructor(options: ExpectationOptions) {
    this.#options = options;
    const { events } = options;
    this.#off.push(
      events.on("fire:fired", ({ outcome, catchUp }) => {
        const tracked = this.#tracked.get(outcome.request.schedule.name);
        if (tracked === undefined) return;
        const kind: FireKind = outcome.request.manual !== undefined ? "trigger" : outcome.request.backfill === true ? "backfill" : catchUp ? "catch-up" : "on-time";
        tracked.slots.unshift({ slot: { slotAt: outcome.request.slotAt, jobId: outcome.jobId, kind, enqueuedAt: outcome.redisAt }, outcome: null });
        tracked.slots.length = Math.min(tracked.slots.length, WINDOW);
        if (kind === "on-time") tracked.missed = null;
      }),
      events.on("planner:skipped", ({ schedule, count }) => {
        const tracked = this.#tracked.get(schedule.name);
        if (tracked !== undefined) tracked.missed = { at: this.#options.now(), count: (tracked.missed?.count ?? 0) + count };
      }),
      // BullMQ's check-ins are heard by this leader: no need to wait for the next poll.
      events.on("checkin:recorded", ({ schedule, jobId, state, error }) => {
        const watched = this.#tracked.get(schedule)?.slots.find((item) => item.slot.jobId === jobId);
        if (watched === undefined) return;
        const now = this.#options.now();
        const startedAt = watched.outcome?.startedAt ?? (state === "started" ? now : null);
        watched.outcome = { result: state, startedAt, finishedAt: state === "started" ? null : now, error };
      }),
    );
  }

  /** Schedules judged now. */
  get size(): number {
    return this.#tracked.size;
  }

  /** Whether a tick has anything to do: schedules with `expect` are followed, or the set changed since the last tick. */
  get busy(): boolean {
    return this.#tracked.size > 0 || this.#options.version() !== this.#version;
  }

  /** The schedules with `expect`, followed when the set changes (O(schedules) then, not per tick). */
  #refresh(): string[] {
    const version = this.#options.version();
    if (version === this.#version) return [];
    this.#version = version;
    const seen = new Set<string>();
    for (const schedule of this.#options.schedules()) {
      const expect = expectOf(schedule);
      if (expect === undefined || !schedule.enabled) continue;
      seen.add(schedule.name);
      const tracked = this.#tracked.get(schedule.name);
      if (tracked === undefined) this.#tracked.set(schedule.name, { schedule, expect, loaded: false, slots: [], missed: null, state: null, lastSuccessAt: null, announced: false });
      else {
        tracked.schedule = schedule;
        tracked.expect = expect;
      }
    }
    const gone = [...this.#tracked.keys()].filter((name) => !seen.has(name));
    for (const name of gone) this.#tracked.delete(name);
    const owns = this.#options.owns;
    return owns === undefined ? gone : gone.filter(owns);
  }

  /** One round: follow the set, load new schedules, poll open outcomes, judge, write changes. Call it on the leader only. */
  async tick(): Promise<void> {
    const { redis, keys } = this.#options;
    const removed = this.#refresh();
    // A clock without `expect` costs nothing here: no read, no write (a state left by an older config is never shown).
    if (this.#tracked.size === 0 && removed.length === 0) return;
    if (!this.#cleaned) {
      // Once per leadership: states of schedules that lost their `expect` (or were removed) go.
      this.#cleaned = true;
      const owns = this.#options.owns ?? (() => true);
      removed.push(...(await statedNames(redis, keys)).filter((name) => !this.#tracked.has(name) && owns(name)));
    }
    await this.#load();
    await this.#poll();
    const changed = this.#judge();
    await writeStates(redis, keys, changed, removed);
    for (const name of removed) this.#options.events.emit("expect:removed", { schedule: name });
  }

  async #load(): Promise<void> {
    const names: string[] = [];
    for (const [name, tracked] of this.#tracked) {
      if (tracked.loaded) continue;
      names.push(name);
      if (names.length >= LOAD_PER_TICK) break;
    }
    if (names.length === 0) return;
    const { redis, keys } = this.#options;
    const [entries, states] = await Promise.all([readNewestEntries(redis, keys, names, NEWEST), readStates(redis, keys, names)]);
    names.forEach((name, index) => {
      const tracked = this.#tracked.get(name);
      if (tracked === undefined) return;
      tracked.loaded = true;
      tracked.state ??= states[index] ?? null;
      tracked.lastSuccessAt ??= tracked.state?.lastSuccessAt ?? null;
      // Fires heard since this schedule was added are newer than what the history says.
      const heard = new Set(tracked.slots.map((item) => item.slot.jobId));
      const older = (entries.get(name) ?? [])
        .filter((entry) => entry.kind !== "skipped" && !heard.has(entry.jobId))
        .map((entry) => ({
          slot: { slotAt: entry.slotAt, jobId: entry.jobId, kind: entry.kind, enqueuedAt: entry.enqueuedAt },
          outcome: entry.result === null ? null : entry,
        }));
      tracked.slots = [...tracked.slots, ...older].slice(0, WINDOW);
    });
  }

  /** The slots still open: newer than the newest one whose job reported its end. */
  static #open(tracked: Tracked): Watched[] {
    const settledAt = tracked.slots.findIndex((item) => settled(item.outcome));
    return settledAt < 0 ? tracked.slots : tracked.slots.slice(0, settledAt);
  }

  /** One HMGET per schedule with open slots (their job ids only); round robin past the bound. */
  async #poll(): Promise<void> {
    const open = [...this.#tracked.values()].filter((tracked) => tracked.loaded && ExpectationWatch.#open(tracked).length > 0);
    if (open.length === 0) return;
    const start = this.#pollCursor % open.length;
    const batch = [...open.slice(start), ...open.slice(0, start)].slice(0, POLL_PER_TICK);
    this.#pollCursor = start + batch.length;
    const asks = batch.map((tracked) => ({ tracked, watched: ExpectationWatch.#open(tracked) }));
    const outcomes = await readOutcomes(
      this.#options.redis,
      this.#options.keys,
      asks.map(({ tracked, watched }) => ({ schedule: tracked.schedule.name, jobIds: watched.map((item) => item.slot.jobId) })),
    );
    asks.forEach(({ watched }, index) => {
      watched.forEach((item, at) => {
        const outcome = outcomes[index]?.[at] ?? null;
        if (outcome !== null) item.outcome = outcome;
      });
    });
  }

  #judge(): Map<string, ScheduleState> {
    const now = this.#options.now();
    const changed = new Map<string, ScheduleState>();
    const all = [...this.#tracked.values()];
    const start = all.length === 0 ? 0 : this.#judgeCursor % all.length;
    const batch = all.length <= JUDGE_PER_TICK ? all : [...all.slice(start), ...all.slice(0, start)].slice(0, JUDGE_PER_TICK);
    this.#judgeCursor = start + batch.length;
    for (const tracked of batch) {
      if (!tracked.loaded) continue;
      const name = tracked.schedule.name;
      for (const { outcome } of tracked.slots) {
        if (outcome?.result !== "succeeded" || outcome.finishedAt === null || outcome.finishedAt <= (tracked.lastSuccessAt ?? 0)) continue;
        tracked.lastSuccessAt = outcome.finishedAt;
        this.#options.events.emit("expect:succeeded", { schedule: name, finishedAt: outcome.finishedAt });
      }
      const verdict = this.#verdict(tracked, now);
      const previous = tracked.state;
      if (previous !== null && previous.state === verdict.state) {
        // Same state: keep its `since`, follow the slot it is about (written with the next change).
        tracked.state = { ...previous, slotAt: verdict.slotAt, jobId: verdict.jobId, reason: verdict.reason, error: verdict.error, lastSuccessAt: tracked.lastSuccessAt };
        if (!tracked.announced) this.#options.events.emit("expect:changed", { schedule: name, from: previous.state, to: tracked.state });
        tracked.announced = true;
        continue;
      }
      tracked.announced = true;
      const next: ScheduleState = { ...verdict, since: now, lastSuccessAt: tracked.lastSuccessAt };
      tracked.state = next;
      changed.set(name, next);
      this.#options.events.emit("expect:changed", { schedule: name, from: previous?.state ?? null, to: next });
    }
    return changed;
  }

  #verdict(tracked: Tracked, now: number): Omit<ScheduleState, "since" | "lastSuccessAt"> {
    const { slots, expect } = tracked;
    const newest = slots[0]?.slot ?? null;
    const about = (slot: SlotFacts | null) => ({ slotAt: slot?.slotAt ?? null, jobId: slot?.jobId ?? null });
    if (tracked.missed !== null)
      return {
        state: "missed",
        ...about(newest),
        reason: `${tracked.missed.count} missed slot${tracked.missed.count === 1 ? "" : "s"} skipped by the catch-up policy`,
        error: null,
      };
    // The next planned slot, that overdue and not enqueued at all: fires are failing (or no clock fires).
    const plannedAt = this.#options.plannedAt(tracked.schedule.name);
    const bound = expect.startWithinMs ?? expect.finishWithinMs ?? 0;
    if (plannedAt !== undefined && (newest === null || plannedAt > newest.slotAt) && now > plannedAt + bound)
      return { state: "late", slotAt: plannedAt, jobId: null, reason: `slot not enqueued within ${formatDuration(bound)} of its instant`, error: null };
    // An open slot past its bound (the oldest first: it is the most overdue) makes it late...
    const open = ExpectationWatch.#open(tracked);
    for (let index = open.length - 1; index >= 0; index--) {
      const item = open[index] as Watched;
      const verdict = judgeSlot(item.slot, item.outcome, expect, now);
      if (verdict.state === "late") return { ...verdict, ...about(item.slot) };
    }
    // ...else the newest slot whose job ended says failed or ok.
    const ended = slots[open.length];
    if (ended !== undefined) return { ...judgeSlot(ended.slot, ended.outcome, expect, now), ...about(ended.slot) };
    if (newest === null) return { state: "ok", ...about(null), reason: "no slot fired yet", error: null };
    return { state: "ok", ...about(newest), reason: "enqueued, within its bounds", error: null };
  }

  /** Leadership ended: forget everything (the next leader loads the states it finds). */
  reset(): void {
    this.#tracked.clear();
    this.#version = Number.NaN;
    this.#cleaned = false;
  }

  stop(): void {
    for (const off of this.#off) off();
    this.#tracked.clear();
  }
}
