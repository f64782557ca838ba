/**
 * The clock's Lua scripts, one per file under lua/ (the key count in the name where it is fixed),
 * embedded at build time by scripts/embed-lua.mjs, each loaded once and run by EVALSHA.
 */
import type { Redis } from "ioredis";
import * as lua from "./lua.generated.ts";

export interface ClockCommands {
  clockFire(keyCount: number, ...keysAndArgs: string[]): Promise<number[]>;
  clockLeaseAcquire(lease: string, aside: string, token: string, ttlMs: string): Promise<number>;
  clockLeaseRenew(lease: string, token: string, ttlMs: string): Promise<number>;
  clockLeaseRelease(lease: string, token: string, channel: string): Promise<number>;
  clockTime(anyKey: string): Promise<[seconds: string, micros: string]>;
  clockRepair(keyCount: number, ...keysAndArgs: string[]): Promise<string[] | -1>;
  clockPause(
    paused: string,
    pauses: string,
    changes: string,
    pauseEnds: string,
    name: string,
    action: "pause" | "resume" | "expire",
    atMs: string,
    reason: string,
    untilAt: string,
  ): Promise<[version: number, changed: number, atMs: number]>;
  clockHistoryAppend(keyCount: number, ...keysAndArgs: string[]): Promise<number>;
  clockCheckIn(historySize: string, outcomes: string, jobId: string, state: string, errorClass: string, atMs: string): Promise<number>;
  clockPauseGroup(
    paused: string,
    pauses: string,
    changes: string,
    pauseEnds: string,
    action: "pause" | "resume",
    atMs: string,
    ...names: string[]
  ): Promise<[version: number, changed: number, atMs: number]>;
  clockShardPause(
    paused: string,
    pauses: string,
    action: "pause" | "pause-keep" | "resume" | "expire" | "merge" | "delete",
    atMs: string,
    reason: string,
    untilAt: string,
    ...namesOrPairs: string[]
  ): Promise<(number | string)[]>;
  clockPauseMerge(paused: string, pauses: string, changes: string, pauseEnds: string, ...pairs: string[]): Promise<[version: number, changed: number]>;
  clockRemoveFired(schedules: string, paused: string, pauses: string, changes: string, ledger: string, index: string, name: string, raw: string, slotAt: string): Promise<number>;
  clockIndexClean(schedules: string, index: string, ...names: string[]): Promise<number>;
}

export type ScriptedRedis = Redis & ClockCommands;

const defined = new WeakSet<Redis>();

export function withScripts(redis: Redis): ScriptedRedis {
  if (!defined.has(redis)) {
    redis.defineCommand("clockFire", { lua: lua.fire });
    redis.defineCommand("clockLeaseAcquire", { lua: lua.leaseAcquire2, numberOfKeys: 2 });
    redis.defineCommand("clockRepair", { lua: lua.repair });
    redis.defineCommand("clockTime", { lua: lua.time1, numberOfKeys: 1 });
    redis.defineCommand("clockLeaseRenew", { lua: lua.leaseRenew1, numberOfKeys: 1 });
    redis.defineCommand("clockLeaseRelease", { lua: lua.leaseRelease1, numberOfKeys: 1 });
    redis.defineCommand("clockPause", { lua: lua.pause4, numberOfKeys: 4 });
    redis.defineCommand("clockHistoryAppend", { lua: lua.historyAppend });
    redis.defineCommand("clockCheckIn", { lua: lua.checkIn2, numberOfKeys: 2 });
    redis.defineCommand("clockPauseGroup", { lua: lua.pauseGroup4, numberOfKeys: 4 });
    redis.defineCommand("clockShardPause", { lua: lua.shardPause2, numberOfKeys: 2 });
    redis.defineCommand("clockPauseMerge", { lua: lua.pauseMerge4, numberOfKeys: 4 });
    redis.defineCommand("clockRemoveFired", { lua: lua.removeFired6, numberOfKeys: 6 });
    redis.defineCommand("clockIndexClean", { lua: lua.indexClean2, numberOfKeys: 2 });
    defined.add(redis);
  }
  return redis as ScriptedRedis;
}
