/**
 * Shards of leadership as seen from outside, in Redis: who holds each shard's lease, and whether
 * the shards are balanced over a set of live processes. For the shards fault test and the benchmark.
 */
import type { Redis } from "ioredis";
import { holderOf } from "../../src/lease/lease.ts";
import { clockKeys, shardKeys, shardOf } from "../../src/redis/keys.ts";

/** pid of each shard's lease holder, in shard order (null where the lease is free). */
export async function shardHolders(redis: Redis, shards: number, namespace = "clock"): Promise<(number | null)[]> {
  const keys = clockKeys(namespace, shards);
  const values = await Promise.all(Array.from({ length: shards }, (_, shard) => redis.get(shardKeys(keys, shard).lease)));
  return values.map((value) => (value === null ? null : (holderOf(value)?.pid ?? null)));
}

/** Every shard led, by exactly the live processes (pids), none leading more than its share ceil(shards / live). */
export function balanced(holders: readonly (number | null)[], livePids: readonly number[]): boolean {
  if (holders.includes(null)) return false;
  const share = Math.ceil(holders.length / livePids.length);
  const pids = new Set(livePids);
  const counts = shardsPerPid(holders);
  return [...counts].every(([pid, count]) => pids.has(pid) && count <= share) && counts.size === livePids.length;
}

/** How many shards each holder leads. */
export function shardsPerPid(holders: readonly (number | null)[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const pid of holders) if (pid !== null) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  return counts;
}

/** "0:pid 1:pid 2:- ...": each shard's holder, for a message. */
export const layout = (holders: readonly (number | null)[]): string => holders.map((pid, shard) => `${shard}:${pid ?? "-"}`).join(" ");

/** Names `tenant-0`, `tenant-1`, ... until every one of `shards` shards holds at least `perShard` of them (the hash decides). */
export function namesCoveringShards(shards: number, perShard = 2): string[] {
  const names: string[] = [];
  const counts = new Array<number>(shards).fill(0);
  for (let i = 0; counts.some((count) => count < perShard); i++) {
    const name = `tenant-${i}`;
    names.push(name);
    counts[shardOf(name, shards)]! += 1;
  }
  return names;
}
