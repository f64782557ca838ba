/**
 * With shards, which dynamic schedules are whose: one set of names per shard
 * (`keys.scheduleIndex`, `{ns}:schedules:s<k>`), beside the entries' hash in the deployment's slot.
 * Every writer of an entry adds or drops its name in the same MULTI (client.ts, remove-fired-6.lua),
 * so a process reads only the entries of the shards it leads (SSCAN of their sets, HMGET of their
 * entries) instead of every entry of the deployment, at start, at each shard taken and at each
 * reconcile. With one shard nothing here is written or read.
 *
 * The entries' hash stays the truth. An entry written without its name (by hand, by a client that
 * read the shard count before it was recorded) shows as more entries than names: one process then
 * rebuilds the index from the hash (under a SET NX lock) while the others read every entry, as
 * before. A name whose entry is gone is skipped, and dropped by a script that checks it is still
 * gone (index-clean-2.lua), so a write racing the reader keeps its name.
 */
import type { ChainableCommander, Redis } from "ioredis";
import { allShardKeys, shardKeys, shardOf, type ClockKeys } from "../redis/keys.ts";
import { withScripts } from "../redis/scripts.ts";

/** Names read per SSCAN step and entries per HMGET (and entries per HSCAN page of a rebuild). */
export const INDEX_PAGE = 2000;
/** How long a rebuild may hold its lock (one rebuild of 1,000,000 entries takes seconds). */
const BUILD_LOCK_MS = 120_000;

function byShard(keys: ClockKeys, names: readonly string[]): Map<number, string[]> {
  const grouped = new Map<number, string[]>();
  for (const name of names) {
    const shard = shardOf(name, keys.shardCount);
    const list = grouped.get(shard);
    if (list === undefined) grouped.set(shard, [name]);
    else list.push(name);
  }
  return grouped;
}

/** Within the write of these entries (a MULTI): their names join their shards' sets (nothing with one shard). */
export function indexAdd(multi: ChainableCommander, keys: ClockKeys, names: readonly string[]): void {
  if (keys.shardCount <= 1 || names.length === 0) return;
  for (const [shard, group] of byShard(keys, names)) multi.sadd(shardKeys(keys, shard).scheduleIndex, ...group);
}

/** Within the removal of these entries (a MULTI): their names leave their shards' sets (nothing with one shard). */
export function indexRemove(multi: ChainableCommander, keys: ClockKeys, names: readonly string[]): void {
  if (keys.shardCount <= 1 || names.length === 0) return;
  for (const [shard, group] of byShard(keys, names)) multi.srem(shardKeys(keys, shard).scheduleIndex, ...group);
}

export type IndexCheck = "ready" | "built" | "elsewhere";

/**
 * Whether the index covers every entry: `ready` (as many names as entries, or more: stale names
 * cost a skip), `built` (it did not, and this process rebuilt it now), `elsewhere` (it does not,
 * and another process is rebuilding it: read every entry this time).
 */
export async function checkIndex(redis: Redis, keys: ClockKeys): Promise<IndexCheck> {
  const shards = allShardKeys(keys);
  const pipeline = redis.pipeline().hlen(keys.schedules);
  for (const shard of shards) pipeline.scard(shard.scheduleIndex);
  const replies = (await pipeline.exec()) ?? [];
  for (const [error] of replies) if (error !== null) throw error;
  const [entries, ...names] = replies.map(([, count]) => Number(count));
  if ((entries ?? 0) <= names.reduce((sum, count) => sum + count, 0)) return "ready";
  if ((await redis.set(keys.scheduleIndexBuild, String(process.pid), "PX", BUILD_LOCK_MS, "NX")) === null) return "elsewhere";
  try {
    let cursor = "0";
    do {
      const [next, flat] = await redis.hscan(keys.schedules, cursor, "COUNT", INDEX_PAGE);
      const page: string[] = [];
      for (let index = 0; index < flat.length; index += 2) page.push(flat[index] as string);
      if (page.length > 0) {
        // A name added for an entry removed meanwhile is stale: skipped and dropped by readers.
        const multi = redis.pipeline();
        indexAdd(multi, keys, page);
        for (const [error] of (await multi.exec()) ?? []) if (error !== null) throw error;
      }
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await redis.del(keys.scheduleIndexBuild);
  }
  return "built";
}

/**
 * The entries of shards `shards`, through their sets, to `each` (a name may come twice: SSCAN's
 * rule). Names without an entry are skipped and dropped. Returns how many were dropped.
 */
export async function readIndexed(redis: Redis, keys: ClockKeys, shards: Iterable<number>, each: (name: string, raw: string) => void): Promise<number> {
  const scripted = withScripts(redis);
  let dropped = 0;
  for (const shard of shards) {
    const index = shardKeys(keys, shard).scheduleIndex;
    let cursor = "0";
    do {
      const [next, names] = await redis.sscan(index, cursor, "COUNT", INDEX_PAGE);
      cursor = next;
      if (names.length === 0) continue;
      const raws = await redis.hmget(keys.schedules, ...names);
      const gone: string[] = [];
      for (let i = 0; i < names.length; i++) {
        const raw = raws[i];
        if (raw === null || raw === undefined) gone.push(names[i] as string);
        else each(names[i] as string, raw);
      }
      if (gone.length > 0) dropped += await scripted.clockIndexClean(keys.schedules, index, ...gone);
    } while (cursor !== "0");
  }
  return dropped;
}
