/**
 * The history of each schedule's fires and what workers reported of them, and its layout (this
 * module alone reads and writes it; the Lua is lua/history-append.lua and lua/check-in-2.lua):
 *
 * - `{ns}:history:<schedule>`, a list: the schedule's last `history.size` fires, newest first. Each
 *   record is `<slotAt>|<enqueuedAt>|<kind>|<jobId>`: the slot (epoch ms), Redis time inside the
 *   fire script (epoch ms, 3 decimals: lag = enqueuedAt - slotAt), the kind (`o` on time, `c`
 *   catch-up, `t` trigger, `s` skipped by overlap, `b` backfill) and the job id. Written by the
 *   leader's recorder (recorder.ts) right after each fire batch, and by a client's trigger; capped
 *   by LTRIM in the same script that appends.
 * - `{ns}:outcomes:<schedule>`, a hash: job id -> `<startedAt>|<finishedAt>|<result>|<error class>`
 *   (epoch ms, empty while unknown; result `started`, `succeeded` or `failed`). Written by worker
 *   check-ins: BullMQ's events on the leader, the Sidekiq middleware
 *   (contrib/sidekiq/clock_check_in.rb), `client.checkIn()`, or any worker with plain HSET. Fields
 *   leave with their record when the list is trimmed; check-ins for jobs no longer in the list are
 *   swept once they pass the list's length by a tenth.
 * - `{ns}:history-size`, a string: the `history.size` of the leader's config, written when it starts
 *   leading (deleted for 0). Check-ins write only while it is above 0, so with history off no
 *   worker grows a key that no trim caps; it also lets a check-in land before the first record of a
 *   brand-new schedule is written (a worker can be that fast).
 *
 * A check-in finds its entry by (schedule, job id): one HSET, no scan. The job id alone names the
 * schedule for readable ids (`clock-<schedule>-<slot ms>`, BullMQ, Celery, list); Sidekiq's hex jids
 * do not, but its payload carries `clock.schedule`, as every adapter's does.
 */
import type { Redis } from "ioredis";
import type { ClockKeys } from "../redis/keys.ts";
import { withScripts } from "../redis/scripts.ts";

/** Fires kept per schedule unless the config's `history.size` says otherwise; 0 turns history off. */
export const DEFAULT_HISTORY_SIZE = 100;
/** Schedules per append script call: big enough to amortise a round trip, small enough not to hold Redis long. */
const SCHEDULES_PER_CALL = 250;
/** An error class longer than this is cut: a check-in records what failed, not a message. */
const MAX_ERROR_CLASS = 100;

export type FireKind = "on-time" | "catch-up" | "trigger" | "skipped" | "backfill";
export type CheckInState = "started" | "succeeded" | "failed";
export type Result = CheckInState;

const KIND_CODES: Readonly<Record<FireKind, string>> = { "on-time": "o", "catch-up": "c", trigger: "t", skipped: "s", backfill: "b" };
const KINDS: Readonly<Record<string, FireKind>> = Object.fromEntries(Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as FireKind]));

/** One fire as the recorder writes it. */
export interface FireRecord {
  readonly schedule: string;
  readonly slotAt: number;
  /** Redis time inside the fire script, epoch ms. */
  readonly enqueuedAt: number;
  readonly kind: FireKind;
  readonly jobId: string;
}

/** One entry of a schedule's history, as read back: the fire and what workers reported. */
export interface HistoryEntry {
  readonly slotAt: number;
  readonly jobId: string;
  readonly enqueuedAt: number;
  readonly lagMs: number;
  readonly kind: FireKind;
  /** Null until a worker checks in (always null for a skipped slot: nothing was enqueued). */
  readonly result: Result | null;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  /** The error class of a failed run (`TypeError`, `ActiveRecord::RecordNotFound`), null otherwise. */
  readonly error: string | null;
}

export const historyKey = (keys: ClockKeys, schedule: string): string => `${keys.history}:${schedule}`;
export const outcomesKey = (keys: ClockKeys, schedule: string): string => `${keys.outcomes}:${schedule}`;

export function encodeRecord(record: Omit<FireRecord, "schedule">): string {
  return `${record.slotAt}|${Math.round(record.enqueuedAt * 1000) / 1000}|${KIND_CODES[record.kind]}|${record.jobId}`;
}

/** An error class fit for the outcome field: no `|`, no line breaks, short. */
export function errorClassText(error: string | undefined): string {
  if (error === undefined) return "";
  return error
    .replace(/[|\r\n]+/g, " ")
    .trim()
    .slice(0, MAX_ERROR_CLASS);
}

/**
 * Appends records (any schedules, any order within a schedule: oldest first is kept) and caps each
 * schedule's history at `size`: one script call per few hundred schedules, all pipelined, so a
 * burst of 10,000 fires is a few calls in one round trip.
 */
export async function appendHistory(redis: Redis, keys: ClockKeys, records: readonly FireRecord[], size: number): Promise<void> {
  if (records.length === 0 || size <= 0) return;
  const bySchedule = new Map<string, FireRecord[]>();
  for (const record of records) {
    let list = bySchedule.get(record.schedule);
    if (list === undefined) bySchedule.set(record.schedule, (list = []));
    list.push(record);
  }
  const scripted = withScripts(redis);
  const groups = [...bySchedule.entries()];
  const calls: Promise<number>[] = [];
  for (let start = 0; start < groups.length; start += SCHEDULES_PER_CALL) {
    const chunk = groups.slice(start, start + SCHEDULES_PER_CALL);
    const keyNames = chunk.flatMap(([schedule]) => [historyKey(keys, schedule), outcomesKey(keys, schedule)]);
    // All of them, oldest first, even those the cap drops at once: a check-in that came first goes with its record.
    const args = chunk.flatMap(([, list]) => {
      const sorted = [...list].sort((a, b) => a.slotAt - b.slotAt || a.enqueuedAt - b.enqueuedAt);
      return [String(sorted.length), ...sorted.map(encodeRecord)];
    });
    calls.push(scripted.clockHistoryAppend(keyNames.length, ...keyNames, String(size), ...args));
  }
  await Promise.all(calls);
}

/**
 * Records a check-in (Redis time unless `atMs`); false when history is off (no leader has
 * published a size above 0), so check-ins never grow keys that no trim would cap.
 */
export async function recordCheckIn(
  redis: Redis,
  keys: ClockKeys,
  schedule: string,
  jobId: string,
  state: CheckInState,
  options: { readonly error?: string; readonly atMs?: number } = {},
): Promise<boolean> {
  const reply = await withScripts(redis).clockCheckIn(
    keys.historySize,
    outcomesKey(keys, schedule),
    jobId,
    state,
    state === "failed" ? errorClassText(options.error) : "",
    options.atMs === undefined ? "" : String(Math.round(options.atMs)),
  );
  return reply === 1;
}

/** Written by the leader when it starts leading: check-ins are recorded while it is above 0. */
export async function publishHistorySize(redis: Redis, keys: ClockKeys, size: number): Promise<void> {
  if (size > 0) await redis.set(keys.historySize, String(size));
  else await redis.del(keys.historySize);
}

/** The newest `limit` entries of a schedule's history, newest first, with their outcomes. */
export async function readHistory(redis: Redis, keys: ClockKeys, schedule: string, limit: number): Promise<HistoryEntry[]> {
  const raw = await redis.lrange(historyKey(keys, schedule), 0, Math.max(1, limit) - 1);
  const records = raw.map(decodeRecord).filter((record): record is Omit<FireRecord, "schedule"> => record !== null);
  if (records.length === 0) return [];
  const outcomes = await redis.hmget(outcomesKey(keys, schedule), ...records.map((record) => record.jobId));
  return records.map((record, index) => ({ ...record, lagMs: record.enqueuedAt - record.slotAt, ...decodeOutcome(outcomes[index] ?? null) }));
}

/** Several schedules' newest `limit` entries in one round trip (the status page's timelines). */
export async function readHistories(redis: Redis, keys: ClockKeys, schedules: readonly string[], limit: number): Promise<Map<string, HistoryEntry[]>> {
  const result = new Map<string, HistoryEntry[]>();
  if (schedules.length === 0 || limit <= 0) return result;
  const pipeline = redis.pipeline();
  for (const schedule of schedules) pipeline.lrange(historyKey(keys, schedule), 0, limit - 1).hgetall(outcomesKey(keys, schedule));
  const replies = (await pipeline.exec()) ?? [];
  schedules.forEach((schedule, index) => {
    const [listError, list] = replies[2 * index] ?? [null, []];
    const [hashError, hash] = replies[2 * index + 1] ?? [null, {}];
    if (listError !== null || hashError !== null) return;
    const outcomes = hash as Record<string, string>;
    const entries = (list as string[])
      .map(decodeRecord)
      .filter((record): record is Omit<FireRecord, "schedule"> => record !== null)
      .map((record) => ({ ...record, lagMs: record.enqueuedAt - record.slotAt, ...decodeOutcome(outcomes[record.jobId] ?? null) }));
    result.set(schedule, entries);
  });
  return result;
}

/**
 * Several schedules' newest `count` entries with their outcomes, in two pipelined round trips
 * (the lists, then one HMGET per schedule of just those job ids): what the expectation watch reads
 * when it starts judging a schedule, never a whole outcomes hash.
 */
export async function readNewestEntries(redis: Redis, keys: ClockKeys, schedules: readonly string[], count: number): Promise<Map<string, HistoryEntry[]>> {
  const result = new Map<string, HistoryEntry[]>();
  if (schedules.length === 0 || count <= 0) return result;
  const lists = redis.pipeline();
  for (const schedule of schedules) lists.lrange(historyKey(keys, schedule), 0, count - 1);
  const listReplies = (await lists.exec()) ?? [];
  const records = schedules.map((_, index) => {
    const [error, list] = listReplies[index] ?? [null, []];
    return error === null ? (list as string[]).map(decodeRecord).filter((record): record is Omit<FireRecord, "schedule"> => record !== null) : null;
  });
  const hashes = redis.pipeline();
  const asked: number[] = [];
  records.forEach((list, index) => {
    if (list === null || list.length === 0) return;
    asked.push(index);
    hashes.hmget(outcomesKey(keys, schedules[index] ?? ""), ...list.map((record) => record.jobId));
  });
  const hashReplies = asked.length === 0 ? [] : ((await hashes.exec()) ?? []);
  const outcomesAt = new Map(asked.map((index, at) => [index, hashReplies[at]]));
  schedules.forEach((schedule, index) => {
    const list = records[index];
    if (list === null || list === undefined) return;
    const [error, outcomes] = outcomesAt.get(index) ?? [null, []];
    const values = error === null ? ((outcomes ?? []) as (string | null)[]) : [];
    result.set(
      schedule,
      list.map((record, at) => ({ ...record, lagMs: record.enqueuedAt - record.slotAt, ...decodeOutcome(values[at] ?? null) })),
    );
  });
  return result;
}

/** What workers reported of each schedule's jobs (one pipelined HMGET per schedule); null where nothing yet, or the read failed. */
export async function readOutcomes(
  redis: Redis,
  keys: ClockKeys,
  asks: readonly { readonly schedule: string; readonly jobIds: readonly string[] }[],
): Promise<(Outcome | null)[][]> {
  if (asks.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const { schedule, jobIds } of asks) pipeline.hmget(outcomesKey(keys, schedule), ...jobIds);
  const replies = (await pipeline.exec()) ?? [];
  return asks.map((ask, index) => {
    const [error, raw] = replies[index] ?? [null, null];
    const values = error === null && Array.isArray(raw) ? (raw as (string | null)[]) : [];
    return ask.jobIds.map((_, at) => (typeof values[at] === "string" ? decodeOutcome(values[at] ?? null) : null));
  });
}

/** Removes a schedule's history (with the dynamic schedule itself). */
export function deleteHistory(multi: { del(...keys: string[]): unknown }, keys: ClockKeys, schedule: string): void {
  multi.del(historyKey(keys, schedule), outcomesKey(keys, schedule));
}

function decodeRecord(raw: string): Omit<FireRecord, "schedule"> | null {
  const [slot, enqueued, code, ...rest] = raw.split("|");
  const kind = KINDS[code ?? ""];
  const slotAt = Number(slot);
  const enqueuedAt = Number(enqueued);
  if (kind === undefined || !Number.isFinite(slotAt) || !Number.isFinite(enqueuedAt) || rest.length === 0) return null;
  return { slotAt, enqueuedAt, kind, jobId: rest.join("|") };
}

/** What a worker reported of a job. */
export type Outcome = Pick<HistoryEntry, "result" | "startedAt" | "finishedAt" | "error">;

function decodeOutcome(raw: string | null): Outcome {
  if (raw === null) return { result: null, startedAt: null, finishedAt: null, error: null };
  const [started = "", finished = "", result = "", ...error] = raw.split("|");
  const at = (text: string): number | null => (text === "" || !Number.isFinite(Number(text)) ? null : Number(text));
  return {
    result: result === "started" || result === "succeeded" || result === "failed" ? result : null,
    startedAt: at(started),
    finishedAt: at(finished),
    error: result === "failed" && error.join("|") !== "" ? error.join("|") : null,
  };
}

/**
 * The schedule a readable job id names (`clock-<schedule>-<slot ms>`, a trigger's
 * `clock-<schedule>-<ms>-manual-<hex>`), or null for ids that are not (Sidekiq's hex jids).
 */
export function scheduleOfJobId(jobId: string): string | null {
  const match = /^clock-(.+)-\d+(?:-manual-[0-9a-f]+)?$/.exec(jobId);
  return match === null ? null : (match[1] ?? "").replaceAll("%3A", ":");
}
