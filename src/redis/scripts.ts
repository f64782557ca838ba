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
  clockRepair(keyCount: number, ...keysAndArgs: string[]): Promise<string[] | -1>;
  clockPause(paused: string, pauses: string, changes: string, name: string, action: "pause" | "resume", atMs: string): Promise<[version: number, changed: number, atMs: number]>;
  clockPauseGroup(
    paused: string,
    pauses: string,
    changes: string,
    action: "pause" | "resume",
    atMs: string,
    ...names: string[]
  ): Promise<[version: number, changed: number, atMs: number]>;
  clockRemoveFired(schedules: string, paused: string, pauses: string, changes: string, ledger: string, name: string, raw: string, slotAt: string): Promise<number>;
}

export type ScriptedRedis = Redis & ClockCommands;

const defined = new WeakSet<Redis>();

export function withScripts(redis: Redis): ScriptedRedis {
  if (!defined.has(redis)) {
    redis.defineCommand("clockFire", { lua: lua.fire });
    redis.defineCommand("clockLeaseAcquire", { lua: lua.leaseAcquire2, numberOfKeys: 2 });
    redis.defineCommand("clockRepair", { lua: lua.repair });
    redis.defineCommand("clockLeaseRenew", { lua: lua.leaseRenew1, numberOfKeys: 1 });
    redis.defineCommand("clockLeaseRelease", { lua: lua.leaseRelease1, numberOfKeys: 1 });
    redis.defineCommand("clockPause", { lua: lua.pause3, numberOfKeys: 3 });
    redis.defineCommand("clockPauseGroup", { lua: lua.pauseGroup3, numberOfKeys: 3 });
    redis.defineCommand("clockRemoveFired", { lua: lua.removeFired5, numberOfKeys: 5 });
    defined.add(redis);
  }
  return redis as ScriptedRedis;
}
