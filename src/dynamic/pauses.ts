/**
 * Pause means skip. A paused schedule fires nothing: from the instant the pause reaches Redis the
 * fire script refuses its slots, even from a clock that has not heard of the pause yet. On resume
 * it continues from the resume instant: a slot before it that has not fired never fires, whatever
 * the catch-up policy (catch-up is for outages, not pauses); a slot at or after it fires normally.
 *
 * Both instants are Redis time, stored with the pause (`{ns}:pauses`), not the time a clock
 * happened to hear of them: a clock restarted during the pause, one that was down across the
 * resume, and a standby that becomes leader after it all skip the same slots.
 */
import type { Redis } from "ioredis";
import { parseLedger } from "../fire/ledger.ts";
import type { ClockKeys } from "../redis/keys.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";
import { expireShardPause, setShardPaused } from "./shard-pauses.ts";

export interface PauseRecord {
  /** Null for a pause written by a version that did not stamp it. */
  readonly pausedAt: number | null;
  /** Absent while paused. */
  readonly resumedAt?: number;
  /** Why it was paused (while paused; absent when none was given). */
  readonly reason?: string;
  /** When the pause ends by itself (while paused): the leader resumes it then, stamped at this instant. */
  readonly until?: number;
}

/** What a pause may say besides its start: why, and when it ends by itself. */
export interface PauseOptions {
  readonly reason?: string;
  /** Epoch ms (Redis time): the leader resumes the schedule at this instant, as a resume sent then would. */
  readonly untilAt?: number;
}

export function parsePauseRecord(raw: string | null | undefined): PauseRecord | null {
  if (raw === null || raw === undefined) return null;
  try {
    const { pausedAt, resumedAt, reason, until } = JSON.parse(raw) as { pausedAt?: unknown; resumedAt?: unknown; reason?: unknown; until?: unknown };
    return {
      pausedAt: typeof pausedAt === "number" && Number.isFinite(pausedAt) ? pausedAt : null,
      ...(typeof resumedAt === "number" && Number.isFinite(resumedAt) ? { resumedAt } : {}),
      ...(typeof reason === "string" ? { reason } : {}),
      ...(typeof until === "number" && Number.isFinite(until) ? { until } : {}),
    };
  } catch {
    return null;
  }
}

/**
 * Pauses or resumes a schedule, stamped with Redis time, and announces the change. `atMs` is for
 * tests on a fake clock only; everything else lets Redis stamp it. With shards (`keys.shardCount`
 * above 1) the shard's pause state is written first (shard-pauses.ts).
 */
export async function setPaused(
  redis: ScriptedRedis,
  keys: ClockKeys,
  name: string,
  paused: boolean,
  atMs?: number,
  options: PauseOptions = {},
): Promise<{ version: number; changed: boolean; atMs: number }> {
  const kind = paused ? "pause" : "resume";
  if (keys.shardCount > 1) {
    const sharded = await setShardPaused(redis, keys, name, paused, atMs, { reason: options.reason, untilAt: options.untilAt });
    const record = parsePauseRecord(sharded.record);
    // A resume no shard had paused: a pause from before the shards' own state, resumed in the deployment's below.
    if (paused || sharded.changed) return { version: sharded.version, changed: sharded.changed, atMs: (paused ? record?.pausedAt : record?.resumedAt) ?? sharded.atMs };
  }
  const [version, changed, stampedAt] = await redis.clockPause(
    keys.paused,
    keys.pauses,
    keys.changes,
    keys.pauseEnds,
    name,
    kind,
    atMs === undefined ? "" : String(Math.floor(atMs)),
    paused ? (options.reason ?? "") : "",
    paused && options.untilAt !== undefined ? String(Math.floor(options.untilAt)) : "",
  );
  await redis.publish(keys.changes, `${version} ${kind} ${name}`);
  return { version, changed: changed === 1, atMs: stampedAt };
}

/** Pauses ended by the leader per call at most (the rest the next second). */
const EXPIRE_BATCH = 100;

/**
 * The leader's part of `until`: resumes every pause whose end has come by Redis time (`nowMs` is for
 * tests on a fake clock only), each stamped at its `until` — exactly the resume a person would
 * have sent at that instant, so no slot inside the pause fires and the slots since follow the
 * catch-up policy like any outage's. Returns the names resumed, with their until.
 */
export async function expirePauses(redis: ScriptedRedis, keys: ClockKeys, nowMs?: number): Promise<{ name: string; untilAt: number }[]> {
  let now = nowMs;
  if (now === undefined) {
    const [seconds, micros] = await redis.time();
    now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
  const due = await redis.zrangebyscore(keys.pauseEnds, "-inf", String(now), "WITHSCORES", "LIMIT", 0, EXPIRE_BATCH);
  const resumed: { name: string; untilAt: number }[] = [];
  for (let at = 0; at + 1 < due.length; at += 2) {
    const name = due[at] as string;
    if (keys.shardCount > 1) {
      // The shard first: its pause ends there, at its until; the deployment's copy follows.
      const sharded = await expireShardPause(redis, keys, name, Number(due[at + 1]), nowMs);
      if (sharded.expired) resumed.push({ name, untilAt: Number(due[at + 1]) });
      // Still paused in the shard (its end moved): the copy above took the shard's end; else a pause from before the shards' own state.
      if (sharded.expired || sharded.paused) continue;
    }
    const [version, changed, untilAt] = await redis.clockPause(
      keys.paused,
      keys.pauses,
      keys.changes,
      keys.pauseEnds,
      name,
      "expire",
      nowMs === undefined ? "" : String(Math.floor(now)),
      "",
      "",
    );
    if (changed !== 1) continue;
    await redis.publish(keys.changes, `${version} resume ${name}`);
    resumed.push({ name, untilAt });
  }
  return resumed;
}

/** Where a resumed schedule continues: after its latest fired slot, and never before its resume instant. */
export function resumeFloor(firedAt: number | undefined, resumedAt: number): number {
  // Slots are whole ms: "after resumedAt - 1" is "at the resume instant or later".
  return Math.max(firedAt ?? Number.NEGATIVE_INFINITY, resumedAt - 1);
}

/**
 * The ledger as the planner must see it: per schedule the latest slot fired, or the instant
 * before its resume when that is later (or before the deployment began, when that is later), so a resync (a restart, a failover, after a Redis outage)
 * never catches up the slots of a pause.
 */
export async function readPlannerLedger(redis: Redis, keys: ClockKeys, since = Number.NEGATIVE_INFINITY): Promise<Map<string, number>> {
  const [ledgerRaw, pausesRaw] = await Promise.all([redis.hgetall(keys.ledger), redis.hgetall(keys.pauses)]);
  const ledger = parseLedger(ledgerRaw);
  // Nothing before the deployment began can have been missed (ledger.ts deploymentSince).
  for (const [name, at] of ledger) if (at < since - 1) ledger.set(name, since - 1);
  for (const [name, raw] of Object.entries(pausesRaw)) {
    const resumedAt = parsePauseRecord(raw)?.resumedAt;
    if (resumedAt !== undefined) ledger.set(name, resumeFloor(ledger.get(name), resumedAt));
  }
  return ledger;
}
