/** The clock's Lua scripts, one per file under lua/, each loaded once and run by EVALSHA. */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";

// From dist/redis/ and src/redis/ alike, the Lua sources are in src/redis/lua.
const LUA_DIR = new URL("../../src/redis/lua/", import.meta.url);

function lua(name: string): string {
  return readFileSync(new URL(`${name}.lua`, LUA_DIR), "utf8");
}

export interface ClockCommands {
  clockFire(keyCount: number, ...keysAndArgs: string[]): Promise<number[]>;
  clockLeaseRenew(lease: string, token: string, ttlMs: string): Promise<number>;
  clockLeaseRelease(lease: string, token: string, channel: string): Promise<number>;
  clockPause(paused: string, pauses: string, changes: string, name: string, action: "pause" | "resume", atMs: string): Promise<[version: number, changed: number, atMs: number]>;
}

export type ScriptedRedis = Redis & ClockCommands;

const defined = new WeakSet<Redis>();

export function withScripts(redis: Redis): ScriptedRedis {
  if (!defined.has(redis)) {
    redis.defineCommand("clockFire", { lua: lua("fire") });
    redis.defineCommand("clockLeaseRenew", { lua: lua("lease-renew"), numberOfKeys: 1 });
    redis.defineCommand("clockLeaseRelease", { lua: lua("lease-release"), numberOfKeys: 1 });
    redis.defineCommand("clockPause", { lua: lua("pause"), numberOfKeys: 3 });
    defined.add(redis);
  }
  return redis as ScriptedRedis;
}
