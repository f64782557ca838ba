/**
 * Backfills: every slot of a past range of one schedule, enqueued once, on request. A client writes
 * the request into Redis; the leader runs it through the same fenced fire script as the planner
 * (a process that lost the lease writes nothing), paced by its rate, and writes its progress back.
 *
 * The safe rule, because the ledger keeps only the newest fired slot per schedule: a slot at or
 * before the ledger's newest *may* have fired (the ledger cannot say which older ones did), so it
 * is skipped and counted; a slot after it has not fired, and is the backfill's. Each is fired as a
 * scheduled slot (ledger-checked, the ledger advanced to it), so slots go out oldest first, the
 * ledger never goes back, and a backfill run twice enqueues nothing the second time. A slot inside
 * a pause is skipped too (pause means skip, for a backfill as for catch-up).
 *
 * Layout (this module alone reads and writes it):
 * - `{ns}:backfills`, a set: ids of backfills not finished (pending or running); the leader polls it.
 * - `{ns}:backfills:<id>`, a hash: the request (`schedule`, `fromAt`, `toAt`, `ratePerSecond`,
 *   `requestedAt`, `total`) and the progress the leader writes (`state`, `cursorAt` the newest slot
 *   handled, `fired`, `skipped`, `paused`, `startedAt`, `finishedAt`, `error`, `by`); `cancel` = 1
 *   when cancelled by a client. Separate fields, so a cancel never races a progress write. Expires a
 *   week after it finished.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { paceOf } from "../config/rate.ts";
import type { BackfillReport, ClockEvents } from "../events.ts";
import type { FireOutcome, FireRequest } from "../fire/fire.ts";
import { keysOfSchedule, type ClockKeys } from "../redis/keys.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { nextSlotAfter } from "../schedule/slots.ts";
import { DAY, type Clock } from "../time.ts";
import { parsePauseRecord, type PauseRecord } from "./pauses.ts";

export type BackfillState = BackfillReport["state"];

export interface BackfillRecord extends BackfillReport {
  readonly id: string;
  readonly schedule: string;
  /** The range, inclusive, epoch ms. */
  readonly fromAt: number;
  readonly toAt: number;
  readonly ratePerSecond: number;
  readonly state: BackfillState;
  /** Slots of the schedule in the range. */
  readonly total: number;
  readonly fired: number;
  /** Slots at or before the ledger's newest fired slot when their turn came: they may have fired. */
  readonly skipped: number;
  /** Slots inside a pause: never fired. */
  readonly paused: number;
  /** The newest slot handled so far (fired or skipped); null before the first. */
  readonly cursorAt: number | null;
  readonly requestedAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** A cancel was asked for (the leader stops before its next batch). */
  readonly cancelRequested: boolean;
  readonly error: string | null;
}

/** A backfill covers at most this many slots (counting them walks the calendar). */
export const MAX_BACKFILL_SLOTS = 100_000;
const KEEP_FINISHED_MS = 7 * DAY;
const FINISHED: ReadonlySet<BackfillState> = new Set(["done", "cancelled", "failed"]);

export const isFinished = (state: BackfillState): boolean => FINISHED.has(state);

export const backfillKey = (keys: ClockKeys, id: string): string => `${keys.backfills}:${id}`;

const numberOr = <T>(value: string | undefined, fallback: T): number | T => (value === undefined || value === "" || !Number.isFinite(Number(value)) ? fallback : Number(value));

function parseRecord(id: string, raw: Record<string, string>): BackfillRecord | null {
  if (raw["schedule"] === undefined) return null;
  const state = raw["state"] as BackfillState | undefined;
  return {
    id,
    schedule: raw["schedule"],
    fromAt: numberOr(raw["fromAt"], 0),
    toAt: numberOr(raw["toAt"], 0),
    ratePerSecond: numberOr(raw["ratePerSecond"], 1),
    state: state !== undefined && ["pending", "running", "done", "cancelled", "failed"].includes(state) ? state : "failed",
    total: numberOr(raw["total"], 0),
    fired: numberOr(raw["fired"], 0),
    skipped: numberOr(raw["skipped"], 0),
    paused: numberOr(raw["paused"], 0),
    cursorAt: numberOr(raw["cursorAt"], null),
    requestedAt: numberOr(raw["requestedAt"], 0),
    startedAt: numberOr(raw["startedAt"], null),
    finishedAt: numberOr(raw["finishedAt"], null),
    cancelRequested: raw["cancel"] === "1",
    error: raw["error"] ?? null,
  };
}

export async function readBackfill(redis: Redis, keys: ClockKeys, id: string): Promise<BackfillRecord | null> {
  return parseRecord(id, await redis.hgetall(backfillKey(keys, id)));
}

/** Writes a request for the leader; returns its id. */
export async function requestBackfill(
  redis: Redis,
  keys: ClockKeys,
  request: { schedule: string; fromAt: number; toAt: number; ratePerSecond: number; total: number; requestedAt: number },
): Promise<string> {
  const id = randomBytes(6).toString("hex");
  await redis
    .multi()
    .hset(backfillKey(keys, id), {
      schedule: request.schedule,
      fromAt: String(request.fromAt),
      toAt: String(request.toAt),
      ratePerSecond: String(request.ratePerSecond),
      total: String(request.total),
      requestedAt: String(request.requestedAt),
      state: "pending",
      fired: "0",
      skipped: "0",
      paused: "0",
    })
    .sadd(keys.backfills, id)
    // The leader hears it at once (its poll of the set is only a safety net).
    .publish(keys.backfills, id)
    .exec();
  return id;
}

/** Asks the leader to stop a backfill before its next batch; false when there is no such backfill. */
export async function cancelBackfill(redis: Redis, keys: ClockKeys, id: string): Promise<boolean> {
  const key = backfillKey(keys, id);
  if ((await redis.exists(key)) === 0) return false;
  await redis.hset(key, "cancel", "1");
  return true;
}

/** Whether a slot lies inside the schedule's pause (the last one, as `{ns}:pauses` keeps it). */
export function insidePause(slotAt: number, pause: PauseRecord | null): boolean {
  if (pause === null || pause.pausedAt === null) return false;
  return slotAt >= pause.pausedAt && (pause.resumedAt === undefined || slotAt < pause.resumedAt);
}

/** The slots of (afterAt, toAt], oldest first, at most `limit`. */
export function slotsUpTo(schedule: Schedule, afterAt: number, toAt: number, limit: number): number[] {
  const slots: number[] = [];
  for (let at = nextSlotAfter(schedule, afterAt); at !== null && at <= toAt && slots.length < limit; at = nextSlotAfter(schedule, at)) slots.push(at);
  return slots;
}

/** Splits slots by the rule above: fire those after the ledger's newest and outside a pause. */
export function splitSlots(slots: readonly number[], ledgerAt: number | null, pause: PauseRecord | null): { fire: number[]; skipped: number; paused: number } {
  const fire: number[] = [];
  let skipped = 0;
  let paused = 0;
  for (const at of slots) {
    if (ledgerAt !== null && at <= ledgerAt) skipped++;
    else if (insidePause(at, pause)) paused++;
    else fire.push(at);
  }
  return { fire, skipped, paused };
}

/** The schedule's ledger entry and pause record, as a backfill judges slots by them. */
export async function readSlotState(redis: Redis, keys: ClockKeys, name: string): Promise<{ ledgerAt: number | null; pause: PauseRecord | null }> {
  const [ledger, pause] = await Promise.all([redis.hget(keysOfSchedule(keys, name).ledger, name), redis.hget(keys.pauses, name)]);
  return { ledgerAt: numberOr(ledger ?? undefined, null), pause: parsePauseRecord(pause) };
}

export interface BackfillRunnerOptions {
  readonly redis: Redis;
  readonly keys: ClockKeys;
  readonly clock: Clock;
  /** Whether this process leads (with a schedule's name: leads the shard that schedule belongs to). */
  readonly isLeader: (schedule?: string) => boolean;
  /** The schedule of that name this clock knows (config or dynamic, enabled or not). */
  readonly scheduleOf: (name: string) => Schedule | undefined;
  /** The leader's fenced firer. */
  readonly fire: (requests: readonly FireRequest[]) => Promise<FireOutcome[]>;
  readonly events: ClockEvents;
  /** Names this process in the record (`by`). */
  readonly peer: string;
}

/** Runs the backfills in Redis while this process leads: each in its own loop, one batch per pace interval. */
export class BackfillRunner {
  readonly #options: BackfillRunnerOptions;
  readonly #running = new Map<string, Promise<void>>();
  #stopping = false;

  constructor(options: BackfillRunnerOptions) {
    this.#options = options;
  }

  /** Starts the backfills waiting in Redis (a new request, or one a previous leader left running). */
  async poll(): Promise<void> {
    if (this.#stopping || !this.#options.isLeader()) return;
    const ids = await this.#options.redis.smembers(this.#options.keys.backfills);
    for (const id of ids) {
      if (this.#running.has(id)) continue;
      const run = this.#run(id)
        .catch((error: unknown) => this.#options.events.emit("task:failed", { task: "backfill", error: error instanceof Error ? error : new Error(String(error)) }))
        .finally(() => this.#running.delete(id));
      this.#running.set(id, run);
    }
  }

  /** Stops after each backfill's batch in flight (a new leader goes on from its cursor). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#running.values());
  }

  async #finish(record: BackfillRecord, state: BackfillState, fields: Record<string, string> = {}): Promise<void> {
    const { redis, keys, events, clock } = this.#options;
    const key = backfillKey(keys, record.id);
    await redis
      .multi()
      .hset(key, { ...fields, state, finishedAt: String(clock.now()) })
      .pexpire(key, KEEP_FINISHED_MS)
      .srem(keys.backfills, record.id)
      .exec();
    const done = await readBackfill(redis, keys, record.id);
    events.emit("backfill:finished", { record: done ?? { ...record, state } });
  }

  async #run(id: string): Promise<void> {
    const { redis, keys, clock, events } = this.#options;
    const key = backfillKey(keys, id);
    const record = await readBackfill(redis, keys, id);
    if (record === null) {
      await redis.srem(keys.backfills, id); // expired or deleted by hand
      return;
    }
    if (isFinished(record.state)) {
      await redis.srem(keys.backfills, id);
      return;
    }
    // Another shard's: its leader runs it (with one shard, this process leads it, or poll returned).
    if (!this.#options.isLeader(record.schedule)) return;
    if (record.cancelRequested) return await this.#finish(record, "cancelled");
    const schedule = this.#options.scheduleOf(record.schedule);
    if (schedule === undefined) return await this.#finish(record, "failed", { error: `schedule "${record.schedule}" is not known to the leader` });
    await redis.hset(key, { state: "running", by: this.#options.peer, ...(record.startedAt === null ? { startedAt: String(clock.now()) } : {}) });
    events.emit("backfill:started", { record, resumed: record.cursorAt !== null });
    const { count, intervalMs } = paceOf(record.ratePerSecond);
    let cursorAt = record.cursorAt ?? record.fromAt - 1;
    const counts = { fired: record.fired, skipped: record.skipped, paused: record.paused };
    for (;;) {
      // Leadership lost or stopping: the record stays running, and the next leader goes on from the cursor.
      if (this.#stopping || !this.#options.isLeader(record.schedule)) return;
      if ((await redis.hget(key, "cancel")) === "1") return await this.#finish(record, "cancelled");
      const slots = slotsUpTo(schedule, cursorAt, record.toAt, count);
      if (slots.length === 0) return await this.#finish(record, "done");
      const { ledgerAt, pause } = await readSlotState(redis, keys, schedule.name);
      const split = splitSlots(slots, ledgerAt, pause);
      const outcomes = await this.#options.fire(split.fire.map((slotAt): FireRequest => ({ schedule, slotAt, backfill: true })));
      const outcomeAt = new Map(outcomes.map((outcome) => [outcome.request.slotAt, outcome]));
      // Oldest first; a slot fenced, early or failed stops the batch there: it is tried again from it.
      let stopped = false;
      for (const at of slots) {
        const outcome = outcomeAt.get(at);
        if (outcome === undefined) {
          if (ledgerAt !== null && at <= ledgerAt) counts.skipped++;
          else counts.paused++;
        } else if (outcome.status === "fired" || outcome.status === "outboxed") {
          counts.fired++;
          if (outcome.status === "fired") events.emit("fire:fired", { outcome, lagMs: outcome.redisAt - at, catchUp: false });
        } else if (outcome.status === "duplicate") counts.skipped++;
        else if (outcome.status === "paused") counts.paused++;
        else {
          if (outcome.status !== "fenced") events.emit("fire:refused", { outcome });
          stopped = true;
          break;
        }
        cursorAt = at;
      }
      await redis.hset(key, { cursorAt: String(cursorAt), fired: String(counts.fired), skipped: String(counts.skipped), paused: String(counts.paused) });
      if (stopped) return; // the next poll goes on from the cursor
      await new Promise<void>((resolve) => clock.setTimeout(resolve, intervalMs));
    }
  }
}
