/**
 * The per-shard index of dynamic schedules (src/dynamic/schedule-index.ts): every writer keeps it
 * (client set, remove, group remove, the leader's removal of a fired one-shot), a single-shard
 * deployment never gets one, a deployment whose entries lack it is indexed at the first read, an
 * entry written around it is still found, a stale name is dropped, and a shard taken is read
 * alone (counted with MONITOR: only its entries, never every entry). Each Redis is a throwaway
 * redis-server of the test's own.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { createClient } from "../src/index.ts";
import { allShardKeys, clockKeys, keysOfSchedule, shardOf, type ClockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { checkIndex } from "../src/dynamic/schedule-index.ts";
import { encodeEntry, removeFiredOneShot } from "../src/dynamic/store.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { namesCoveringShards } from "./helpers/shards.ts";
import { testScope, type Scope } from "./helpers/scope.ts";
import { testSync } from "./helpers/sync.ts";
import { pollUntil } from "./helpers/fired.ts";

const SHARDS = 4;
const HOURLY = { every: "1h", adapter: "list", job: { class: "Report", queue: "idx" } } as const;

/** Each shard's index, as sorted names. */
async function indexOf(redis: Redis, keys: ClockKeys): Promise<string[][]> {
  return await Promise.all(allShardKeys(keys).map(async (shard) => (await redis.smembers(shard.scheduleIndex)).sort()));
}

/** What each shard's index must hold for these names. */
function expected(names: readonly string[], shards = SHARDS): string[][] {
  return Array.from({ length: shards }, (_, shard) => names.filter((name) => shardOf(name, shards) === shard).sort());
}

function plannerOf(): { planned: Map<string, Schedule>; upsert: (s: Schedule) => void; remove: (n: string) => void; invalidate: () => void } {
  const planned = new Map<string, Schedule>();
  return { planned, upsert: (schedule) => planned.set(schedule.name, schedule), remove: (name) => planned.delete(name), invalidate: () => undefined };
}

/** Writes entries around the client (by hand, as an older writer would): no index. */
async function writeRaw(redis: Redis, keys: ClockKeys, names: readonly string[]): Promise<void> {
  for (const name of names) await redis.hset(keys.schedules, name, encodeEntry(HOURLY, Date.now()));
}

/** Every command MONITOR sees while `run` runs, as argument lists. */
async function monitored(scope: Scope, url: string, run: () => Promise<void>): Promise<string[][]> {
  const monitorClient = scope.client(url);
  const monitor = await monitorClient.monitor();
  const seen: string[][] = [];
  monitor.on("monitor", (_time: string, args: string[]) => seen.push(args));
  // A marker both before and after: MONITOR's stream is ordered, so everything between is `run`'s.
  const marker = scope.client(url);
  await marker.echo("index-test-begin");
  await run();
  await marker.echo("index-test-end");
  await pollUntil("MONITOR saw the end marker", async () => seen.some((args) => args[0]?.toLowerCase() === "echo" && args[1] === "index-test-end"), 5000);
  monitor.disconnect();
  const begin = seen.findIndex((args) => args[1] === "index-test-begin");
  const end = seen.findIndex((args) => args[1] === "index-test-end");
  return seen.slice(begin + 1, end);
}

/** A throwaway Redis holding a deployment of SHARDS shards (its count recorded) and a client of it. */
async function shardedDeployment(t: TestContext) {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const keys = clockKeys("idx", SHARDS);
  await redis.set(keys.shards, String(SHARDS));
  const client = createClient({ redis, namespace: "idx" });
  scope.defer(() => client.close());
  return { scope, server, redis, keys, client };
}

test("the client keeps each shard's index: set, replace, remove, group remove; a fired one-shot's removal drops its name", async (t) => {
  const { redis, keys, client } = await shardedDeployment(t);
  const names = namesCoveringShards(SHARDS, 3);
  for (const name of names) await client.schedules.set(name, { ...HOURLY, group: name.endsWith("1") ? "ones" : "rest" });
  assert.deepEqual(await indexOf(redis, keys), expected(names), "every name in its own shard's set, and only there");
  await client.schedules.set(names[0] as string, { ...HOURLY, every: "2h" });
  assert.deepEqual(await indexOf(redis, keys), expected(names), "a replacement adds no second name");

  const removed = names[2] as string;
  assert.equal(await client.schedules.remove(removed), true);
  let left = names.filter((name) => name !== removed);
  assert.deepEqual(await indexOf(redis, keys), expected(left), "a removed schedule leaves its set");

  const ones = left.filter((name) => name.endsWith("1"));
  assert.ok(ones.length > 0);
  assert.equal((await client.groups.remove("ones")).changed, ones.length);
  left = left.filter((name) => !ones.includes(name));
  assert.deepEqual(await indexOf(redis, keys), expected(left), "a group's removal takes its members' names");

  // The leader removes a one-shot once its slot is in the ledger (remove-fired-6.lua).
  const slotAt = Date.now() + 3_600_000;
  const oneShot = "one-shot-report";
  await client.schedules.set(oneShot, { once: new Date(slotAt).toISOString(), adapter: "list", job: { class: "Report", queue: "idx" } });
  assert.ok((await indexOf(redis, keys)).flat().includes(oneShot));
  await redis.hset(keysOfSchedule(keys, oneShot).ledger, oneShot, String(slotAt));
  const raw = (await redis.hget(keys.schedules, oneShot)) as string;
  assert.equal(await removeFiredOneShot(withScripts(redis), keys, oneShot, raw, slotAt), true);
  assert.deepEqual(await indexOf(redis, keys), expected(left), "the fired one-shot's name is gone with its entry");
});

test("one shard (the default): the client and the sync write no index key", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const subscriber = scope.client(server.url);
  const client = createClient({ redis });
  scope.defer(() => client.close());
  for (const name of ["a", "b", "c"]) await client.schedules.set(name, HOURLY);
  await client.schedules.remove("b");
  const sync = testSync(redis, subscriber, clockKeys("clock"));
  assert.deepEqual((await sync.load()).map((schedule) => schedule.name).sort(), ["a", "c"]);
  assert.deepEqual((await redis.keys("*schedules*")).sort(), ["{clock}:schedules"]);
});

test("entries written without the index (an older writer, by hand) are indexed at the first read; one written around it later is still found", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const keys = clockKeys("idx", SHARDS);
  const names = namesCoveringShards(SHARDS, 4);
  await writeRaw(redis, keys, names);
  assert.deepEqual(await indexOf(redis, keys), expected([]), "no index yet");

  // While another process holds the build lock, a reader reads every entry (nothing is missed).
  await redis.set(keys.scheduleIndexBuild, "other", "PX", 60_000);
  const early = testSync(redis, scope.client(server.url), keys, (shard) => shard === 1);
  assert.deepEqual((await early.load()).map((schedule) => schedule.name).sort(), expected(names)[1]);
  assert.deepEqual(await indexOf(redis, keys), expected([]), "the lock's holder builds, not this reader");
  await redis.del(keys.scheduleIndexBuild);

  const sync = testSync(redis, scope.client(server.url), keys, (shard) => shard === 2);
  const planner = plannerOf();
  for (const schedule of await sync.load()) planner.upsert(schedule);
  assert.deepEqual(await indexOf(redis, keys), expected(names), "built from the entries at the first read");
  assert.deepEqual([...planner.planned.keys()].sort(), expected(names)[2]);
  assert.equal(await redis.exists(keys.scheduleIndexBuild), 0, "the build lock is let go");
  await sync.start(planner);

  // An entry in shard 2 written by hand, no index, no counter: found at the next reconcile.
  const late = namesCoveringShards(SHARDS, 6).find((name) => shardOf(name, SHARDS) === 2 && !names.includes(name)) as string;
  await writeRaw(redis, keys, [late]);
  await sync.reconcile();
  assert.ok(planner.planned.has(late), "the hand-written entry is planned");
  assert.ok((await redis.smembers(allShardKeys(keys)[2]!.scheduleIndex)).includes(late), "and indexed");
  assert.equal(await checkIndex(redis, keys), "ready");
});

test("a name whose entry is gone is skipped and dropped; one whose entry was written again stays", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const keys = clockKeys("idx", SHARDS);
  const names = namesCoveringShards(SHARDS, 3).filter((name) => shardOf(name, SHARDS) === 0);
  await writeRaw(redis, keys, names);
  assert.equal(await checkIndex(redis, keys), "built");
  const [gone, back] = names as [string, string, string];
  // Removed by hand (HDEL only): its name stays in the set, stale.
  await redis.hdel(keys.schedules, gone);
  const sync = testSync(redis, scope.client(server.url), keys, (shard) => shard === 0);
  const loaded = (await sync.load()).map((schedule) => schedule.name).sort();
  assert.deepEqual(loaded, names.filter((name) => name !== gone).sort());
  assert.deepEqual((await redis.smembers(keys.scheduleIndex)).sort(), loaded, "the stale name is dropped");
  // The clean-up script keeps a name whose entry exists (a write racing the reader).
  await redis.sadd(keys.scheduleIndex, gone);
  assert.equal(await withScripts(redis).clockIndexClean(keys.schedules, keys.scheduleIndex, back, gone), 1);
  assert.ok((await redis.sismember(keys.scheduleIndex, back)) === 1, "an existing entry's name is kept");
});

test("a shard taken reads its own entries only (MONITOR): no HSCAN of the deployment, one HMGET name per entry of the shard", async (t) => {
  const { scope, server, redis, keys, client } = await shardedDeployment(t);
  const names = namesCoveringShards(SHARDS, 25);
  for (const name of names) await client.schedules.set(name, HOURLY);
  const held = new Set<number>();
  const sync = testSync(redis, scope.client(server.url), keys, (shard) => held.has(shard));
  const planner = plannerOf();
  const commands = await monitored(scope, server.url, async () => {
    for (const schedule of await sync.load()) planner.upsert(schedule);
  });
  assert.equal(planner.planned.size, 0, "a process that leads nothing plans no dynamic schedule");
  assert.ok(!commands.some((args) => /^(hscan|hgetall|hmget)$/i.test(args[0] ?? "")), `no entry read at start: ${JSON.stringify(commands)}`);
  await sync.start(planner);

  held.add(3);
  const adopted = await monitored(scope, server.url, () => sync.adopt(3));
  const inShard3 = expected(names)[3] as string[];
  assert.deepEqual([...planner.planned.keys()].sort(), inShard3);
  assert.ok(!adopted.some((args) => /^(hscan|hgetall)$/i.test(args[0] ?? "")), `no read of every entry: ${JSON.stringify(adopted.map((args) => args[0]))}`);
  const hmgetNames = adopted.filter((args) => args[0]?.toLowerCase() === "hmget").flatMap((args) => args.slice(2));
  assert.deepEqual(hmgetNames.sort(), inShard3, "only shard 3's entries were read");

  // The minute's reconcile reads the led shard only, too.
  const reconciled = await monitored(scope, server.url, () => sync.reconcile());
  assert.deepEqual(
    reconciled
      .filter((args) => args[0]?.toLowerCase() === "hmget")
      .flatMap((args) => args.slice(2))
      .sort(),
    inShard3,
  );
});
