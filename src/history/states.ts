/**
 * The expectation states the leader judged (expect.ts), and their layout (this module alone reads
 * and writes it): `{ns}:states`, a hash of schedule name -> JSON `{ state, since, slotAt, jobId,
 * reason, error, lastSuccessAt }`. Written by the leader on each transition only (one HSET), read
 * by status for a page's names (one HMGET), so the page costs O(page) and a new leader carries on
 * from the states its predecessor saw instead of alerting them again.
 */
import type { Redis } from "ioredis";
import type { ClockKeys } from "../redis/keys.ts";

import { EXPECT_STATES, type ExpectState, type ScheduleState } from "../events.ts";

export { EXPECT_STATES, type ExpectState, type ScheduleState };

function decodeState(raw: string | null | undefined): ScheduleState | null {
  if (typeof raw !== "string") return null;
  try {
    const value = JSON.parse(raw) as Partial<ScheduleState>;
    if (typeof value.state !== "string" || !(EXPECT_STATES as readonly string[]).includes(value.state) || typeof value.since !== "number") return null;
    return {
      state: value.state,
      since: value.since,
      slotAt: typeof value.slotAt === "number" ? value.slotAt : null,
      jobId: typeof value.jobId === "string" ? value.jobId : null,
      reason: typeof value.reason === "string" ? value.reason : "",
      error: typeof value.error === "string" ? value.error : null,
      lastSuccessAt: typeof value.lastSuccessAt === "number" ? value.lastSuccessAt : null,
    };
  } catch {
    return null;
  }
}

/** The states of these schedules (null where none is kept, or the entry does not decode). */
export async function readStates(redis: Redis, keys: ClockKeys, names: readonly string[]): Promise<(ScheduleState | null)[]> {
  if (names.length === 0) return [];
  return (await redis.hmget(keys.states, ...names)).map(decodeState);
}

/** Writes changed states and removes those of schedules no longer judged, in one round trip. */
export async function writeStates(redis: Redis, keys: ClockKeys, changed: ReadonlyMap<string, ScheduleState>, removed: readonly string[] = []): Promise<void> {
  if (changed.size === 0 && removed.length === 0) return;
  const multi = redis.multi();
  if (changed.size > 0) multi.hset(keys.states, ...[...changed].flatMap(([name, state]) => [name, JSON.stringify(state)]));
  if (removed.length > 0) multi.hdel(keys.states, ...removed);
  await multi.exec();
}

/** The names a state is kept for (the leader drops those no longer judged when it starts leading). */
export async function statedNames(redis: Redis, keys: ClockKeys): Promise<string[]> {
  return await redis.hkeys(keys.states);
}
