/**
 * One corrupt key must not stall every schedule. Each of the clock's own keys has one type (see
 * keys.ts for what each holds); a key that holds another (a string where the ledger hash goes, a
 * hand edit, a stray write from another program) makes every command on it fail with WRONGTYPE.
 * The leader moves such keys aside to `<key>:corrupt` in one fenced script, and the owner of each
 * starts it afresh: the ledger from what the planner knows it fired (a loud "ledger reset"), the
 * dynamic schedules empty (a loud reset), the outbox and counters empty. The lease key is the
 * acquire script's to move (nobody leads while it is corrupt, so no leader could run this).
 */
import type { ClockKeys } from "./keys.ts";
import { asideOf, clockKeys, hashTagOf, shardTagOf } from "./keys.ts";
import type { ScriptedRedis } from "./scripts.ts";

/** The clock's keys and their types (the lease is the acquire script's; the config digests are read-only and expire). */
const TYPED: readonly [Exclude<keyof ClockKeys, "shardCount" | "shard">, string][] = [
  ["ledger", "hash"],
  ["outbox", "hash"],
  ["pushed", "hash"],
  ["runs", "hash"],
  ["stats", "hash"],
  ["peers", "hash"],
  ["schedules", "hash"],
  ["scheduleIndex", "set"],
  ["paused", "set"],
  ["pauses", "hash"],
  ["pauseEnds", "zset"],
  ["backfills", "set"],
  ["historySize", "string"],
  ["audit", "stream"],
  ["states", "hash"],
  ["changes", "string"],
  ["config", "string"],
];

export interface RepairedKey {
  readonly key: string;
  /** The type it held. */
  readonly found: string;
  readonly aside: string;
}

/** Whether an error is Redis saying a key holds the wrong type. */
export const isWrongType = (error: unknown): boolean => error instanceof Error && /WRONGTYPE/.test(error.message);

/**
 * Moves aside the keys that hold the wrong type; null when the caller does not lead (nothing is
 * touched then). With shards, one script may touch one slot (a Redis Cluster's rule): a shard's own
 * keys are checked fenced by its lease, and the deployment's (`{ns}`) by shard 0's leader in a
 * script of their own, unfenced (no lease lives in their slot; TYPE and RENAME in one script only
 * ever move a key that holds the wrong type, so a deposed leader's late run does no harm).
 */
export async function repairKeys(redis: ScriptedRedis, keys: ClockKeys, token: string): Promise<RepairedKey[] | null> {
  const own = keys.shardCount <= 1 ? TYPED : TYPED.filter(([name]) => hashTagOf(keys[name]) === shardTagOf(keys));
  const repaired = await repairTyped(redis, keys.lease, own, keys, token);
  if (repaired === null || keys.shardCount <= 1) return repaired;
  const base = clockKeys(keys.namespace, keys.shardCount);
  // The shard's index of names is in the deployment's slot (beside the entries): unfenced, as below.
  if (keys.shard !== 0) return [...repaired, ...((await repairTyped(redis, base.lease, [["scheduleIndex", "set"]], keys, "")) ?? [])];
  const deployment = TYPED.filter(([name]) => hashTagOf(base[name]) === keys.namespace);
  return [...repaired, ...((await repairTyped(redis, base.lease, deployment, base, "")) ?? [])];
}

async function repairTyped(redis: ScriptedRedis, fence: string, typed: typeof TYPED, keys: ClockKeys, token: string): Promise<RepairedKey[] | null> {
  const checked = typed.map(([name]) => keys[name]);
  const reply = await redis.clockRepair(1 + 2 * checked.length, fence, ...checked, ...checked.map(asideOf), token, ...typed.map(([, type]) => type));
  if (!Array.isArray(reply)) return null;
  const repaired: RepairedKey[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) repaired.push({ key: String(reply[i]), found: String(reply[i + 1]), aside: asideOf(String(reply[i])) });
  return repaired;
}
