/**
 * Pause state with shards > 1. Each shard's fire script may touch only its own slot (a Redis
 * Cluster refuses anything else), so the paused set it refuses slots by is the shard's,
 * `{ns:sK}:paused`, with the records beside it (`{ns:sK}:pauses`). The deployment's set and
 * records (`{ns}:paused`, `{ns}:pauses`, `{ns}:pause-ends`, the change counter) stay what clients,
 * status and sync read. One atomic write cannot reach both slots, so a change is two writes:
 *
 * 1. the shard's (shard-pause-2.lua): the pause holds from this instant (its Redis time is the
 *    record's pausedAt), and a resume lets slots fire from it (its resumedAt);
 * 2. the deployment's copy of the shard's record (pause-merge-4.lua), the counter, the publish.
 *
 * Records are ordered (shard-pause-2.lua's header) and every write on either side only moves a
 * record forward, so a copy never undoes a newer change, whoever writes it and whenever. A crash
 * between the writes leaves the shard ahead of the deployment: a pause that holds but status does
 * not show, or a resume that fires but status still calls paused. Neither lets a paused slot fire
 * nor keeps a resumed schedule paused; the shard's leader repairs both (reconcilePauses, at every
 * takeover and every minute) by copying the newer side onto the older. The same copy moves the
 * pauses of a deployment from before this layout (only `{ns}:paused`) into the shards, at start.
 */
import type { ClockKeys } from "../redis/keys.ts";
import { shardKeys, shardOf } from "../redis/keys.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";

type ShardAction = "pause" | "pause-keep" | "resume" | "expire" | "merge" | "delete";

/** One shard script call's answer: its Redis instant and, per name, whether the record changed and the record after (null: none). */
interface ShardAnswer {
  readonly atMs: number;
  readonly records: readonly { readonly changed: boolean; readonly record: string | null }[];
}

/** Pairs per script call at most: a migration of many pauses is a few calls, none of them long. */
const PAIRS_PER_CALL = 1000;

async function shardScript(
  redis: ScriptedRedis,
  shard: ClockKeys,
  action: ShardAction,
  args: readonly string[],
  options: { atMs?: number | undefined; reason?: string | undefined; untilAt?: number | undefined } = {},
): Promise<ShardAnswer> {
  const reply = await redis.clockShardPause(
    shard.paused,
    shard.pauses,
    action,
    options.atMs === undefined ? "" : String(Math.floor(options.atMs)),
    options.reason ?? "",
    options.untilAt === undefined ? "" : String(Math.floor(options.untilAt)),
    ...args,
  );
  const records: { changed: boolean; record: string | null }[] = [];
  for (let at = 1; at + 1 < reply.length; at += 2) records.push({ changed: Number(reply[at]) === 1, record: reply[at + 1] === "" ? null : String(reply[at + 1]) });
  return { atMs: Number(reply[0]), records };
}

/** Copies shard records into the deployment's (step 2); the change counter after, and how many were taken. */
async function mergeIntoDeployment(redis: ScriptedRedis, keys: ClockKeys, pairs: readonly (readonly [string, string])[]): Promise<{ version: number; changed: number }> {
  let version = 0;
  let changed = 0;
  for (let first = 0; first < pairs.length || first === 0; first += PAIRS_PER_CALL) {
    const [after, taken] = await redis.clockPauseMerge(keys.paused, keys.pauses, keys.changes, keys.pauseEnds, ...pairs.slice(first, first + PAIRS_PER_CALL).flat());
    version = after;
    changed += taken;
  }
  return { version, changed };
}

/** Names grouped by the shard that holds them, in shard order. */
function byShard(keys: ClockKeys, names: readonly string[]): Map<number, string[]> {
  const groups = new Map<number, string[]>();
  for (const name of names) {
    const shard = shardOf(name, keys.shardCount);
    groups.set(shard, [...(groups.get(shard) ?? []), name]);
  }
  return new Map([...groups].sort(([a], [b]) => a - b));
}

/**
 * Pauses (or resumes) one schedule of a sharded deployment: the shard first, then the deployment's
 * copy. `record` is the shard's record after (null when the shard had no pause to resume: then the
 * caller resumes the deployment's, a pause written before this layout or by an older version).
 */
export async function setShardPaused(
  redis: ScriptedRedis,
  keys: ClockKeys,
  name: string,
  paused: boolean,
  atMs: number | undefined,
  options: { reason?: string | undefined; untilAt?: number | undefined },
): Promise<{ version: number; changed: boolean; atMs: number; record: string | null }> {
  const shard = shardKeys(keys, shardOf(name, keys.shardCount));
  const answer = await shardScript(redis, shard, paused ? "pause" : "resume", [name], paused ? { atMs, ...options } : { atMs });
  const { changed, record } = answer.records[0] ?? { changed: false, record: null };
  if (!paused && !changed) return { version: -1, changed, atMs: answer.atMs, record: null };
  const { version } = await mergeIntoDeployment(redis, keys, record === null ? [] : [[name, record]]);
  await redis.publish(keys.changes, `${version} ${paused ? "pause" : "resume"} ${name}`);
  return { version, changed, atMs: answer.atMs, record };
}

/**
 * A group's pause or resume with shards: one atomic write per shard (one instant for that shard's
 * members; a paused member keeps its pause), then one copy into the deployment's records. The
 * members no shard had paused are returned for the caller to resume in the deployment's (older
 * pauses). Returns the counter after and how many members the shards changed.
 */
export async function setShardGroupPaused(
  redis: ScriptedRedis,
  keys: ClockKeys,
  members: readonly string[],
  paused: boolean,
  atMs?: number,
): Promise<{ version: number; changed: number; untouched: string[] }> {
  const pairs: [string, string][] = [];
  const untouched: string[] = [];
  for (const [shard, names] of byShard(keys, members)) {
    const answer = await shardScript(redis, shardKeys(keys, shard), paused ? "pause-keep" : "resume", names, { atMs });
    answer.records.forEach(({ changed, record }, index) => {
      if (changed && record !== null) pairs.push([names[index] as string, record]);
      else untouched.push(names[index] as string);
    });
  }
  const { version } = await mergeIntoDeployment(redis, keys, pairs);
  return { version, changed: pairs.length, untouched };
}

/**
 * A pause's end, with shards: the shard resumes it at `untilAt` if its pause still ends then (a
 * pause made again meanwhile may end later), then the deployment's copy follows. `expired` false:
 * the shard did not end it; `record` is the shard's (a paused one is copied to the deployment, so
 * its pause-ends entry says the end the shard keeps), null when the shard holds no pause of it.
 */
export async function expireShardPause(
  redis: ScriptedRedis,
  keys: ClockKeys,
  name: string,
  untilAt: number,
  nowMs?: number,
): Promise<{ expired: boolean; paused: boolean; version: number }> {
  const shard = shardKeys(keys, shardOf(name, keys.shardCount));
  const answer = await shardScript(redis, shard, "expire", [name, String(Math.floor(untilAt))], { atMs: nowMs });
  const { changed, record } = answer.records[0] ?? { changed: false, record: null };
  const paused = record !== null && !record.includes('"resumedAt"');
  if (!changed && !paused) return { expired: false, paused: false, version: -1 };
  const { version, changed: taken } = await mergeIntoDeployment(redis, keys, [[name, record as string]]);
  if (changed || taken > 0) await redis.publish(keys.changes, `${version} ${changed ? "resume" : "pause"} ${name}`);
  return { expired: changed, paused, version };
}

/** Forgets the shards' pause state of removed schedules; run before the deployment's removal (a crash between leaves the pause kept with its schedule). */
export async function deleteShardPauses(redis: ScriptedRedis, keys: ClockKeys, names: readonly string[]): Promise<void> {
  if (keys.shardCount <= 1) return;
  for (const [shard, group] of byShard(keys, names)) await shardScript(redis, shardKeys(keys, shard), "delete", group);
}

export interface PauseRepair {
  /** Deployment records copied into the shard (a pause from before this layout, or by an older version). */
  readonly toShard: string[];
  /** Shard records copied into the deployment's (a change whose second write did not happen). */
  readonly toDeployment: string[];
  /** Shard records of schedules that no longer exist (a removal that stopped halfway), forgotten. */
  readonly dropped: string[];
}

/**
 * Makes a shard's pause state and the deployment's agree, each record the newer of the two. Safe
 * beside concurrent pauses, resumes and other repairs: each copy is applied by a script that takes
 * it only when newer. `exists`: whether a schedule still exists (config or dynamic), asked only for
 * a shard record the deployment does not have. `only`: just these schedules (a change heard).
 */
export async function reconcilePauses(
  redis: ScriptedRedis,
  keys: ClockKeys,
  shard: number,
  exists: (name: string) => Promise<boolean>,
  only?: readonly string[],
): Promise<PauseRepair> {
  const own = shardKeys(keys, shard);
  const read = async (hash: string): Promise<Record<string, string>> => {
    if (only === undefined) return await redis.hgetall(hash);
    const values = only.length === 0 ? [] : await redis.hmget(hash, ...only);
    return Object.fromEntries(only.flatMap((name, index) => (values[index] === null || values[index] === undefined ? [] : [[name, values[index]]])));
  };
  const [shardRaw, deploymentRaw] = await Promise.all([read(own.pauses), read(keys.pauses)]);
  const deployment = new Map(Object.entries(deploymentRaw).filter(([name]) => shardOf(name, keys.shardCount) === shard));
  const records = new Map(Object.entries(shardRaw));
  const repair: PauseRepair = { toShard: [], toDeployment: [], dropped: [] };
  const intoShard = [...deployment].filter(([name, record]) => records.get(name) !== record);
  for (let first = 0; first < intoShard.length; first += PAIRS_PER_CALL) {
    const part = intoShard.slice(first, first + PAIRS_PER_CALL);
    const answer = await shardScript(redis, own, "merge", part.flat());
    answer.records.forEach(({ changed, record }, index) => {
      const name = (part[index] as [string, string])[0];
      if (changed) repair.toShard.push(name);
      if (record === null) records.delete(name);
      else records.set(name, record);
    });
  }
  const intoDeployment: [string, string][] = [];
  for (const [name, record] of records) {
    if (deployment.get(name) === record) continue;
    if (!deployment.has(name) && !(await exists(name))) repair.dropped.push(name);
    else intoDeployment.push([name, record]);
  }
  if (repair.dropped.length > 0) await shardScript(redis, own, "delete", repair.dropped);
  if (intoDeployment.length > 0) {
    const { version, changed } = await mergeIntoDeployment(redis, keys, intoDeployment);
    if (changed > 0) {
      repair.toDeployment.push(...intoDeployment.map(([name]) => name));
      // As a group write: every clock that hears it reconciles as a whole.
      await redis.publish(keys.changes, `${version} group pauses`);
    }
  }
  return repair;
}
