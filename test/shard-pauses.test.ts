/**
 * Pause state with shards (dynamic/shard-pauses.ts): each shard's paused set in its own slot,
 * written before the deployment's copy. A crash between the two writes is simulated by making only
 * the first (the shard script by hand) or only the deployment's (the single-script path of the last
 * release), and the shard leader's reconcile is judged: a paused slot never fires, a resumed
 * schedule never stays paused, a stale copy never undoes a newer change, and a deployment from
 * before keeps its pauses when a clock of this version starts. One throwaway redis-server.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { createClient, parseConfig, startClock, type Adapter } from "../src/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { expirePauses, parsePauseRecord, setPaused } from "../src/dynamic/pauses.ts";
import { reconcilePauses } from "../src/dynamic/shard-pauses.ts";
import { Firer } from "../src/fire/fire.ts";
import { clockKeys, keysOfSchedule, shardKeys, shardOf, type ClockKeys } from "../src/redis/keys.ts";
import { repairKeys } from "../src/redis/repair.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import { SECOND } from "../src/schedule/duration.ts";
import { pollUntil } from "./helpers/fired.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "./helpers/scope.ts";

const suite = suiteScope();
const SHARDS = 4;
const T0 = Date.UTC(2024, 0, 1);
const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP } as const;
let server: TestRedis;
let redis: Redis;
let scripted: ScriptedRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
  scripted = withScripts(redis);
});

const always = async (): Promise<boolean> => true;

/** A fresh sharded deployment's keys. */
function deployment(): ClockKeys {
  return clockKeys(`sp${++n}`, SHARDS);
}

/** A fresh sharded deployment (its count recorded, as a clock records it) and a client of it, closed by `scope`. */
async function shardedClient(scope: Scope): Promise<{ keys: ClockKeys; client: ReturnType<typeof createClient> }> {
  const keys = deployment();
  await redis.set(keys.shards, String(SHARDS));
  const client = createClient({ redis, namespace: keys.namespace });
  scope.defer(() => client.close());
  return { keys, client };
}

/** A clock of `keys`' deployment with schedules `held` and `free` (every second, a list per shard), stopped by `scope`: its log. */
async function startSharded(scope: Scope, keys: ClockKeys): Promise<LogSink> {
  const sink = new LogSink();
  const config = parseConfig({
    namespace: keys.namespace,
    shards: SHARDS,
    adapters: { list: { key: `{${keys.namespace}:s{shard}}:jobs:{queue}` } },
    schedules: { held: { every: "1s", adapter: "list", job: { class: "H" } }, free: { every: "1s", adapter: "list", job: { class: "F" } } },
    lease: { ttl: "2s", retry: "200ms" },
  });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  return sink;
}

/** Fires one scheduled slot of `name` through its shard's fire script (unfenced, as a client's firer): the script's status. */
async function fireOnce(keys: ClockKeys, name: string, slotAt: number): Promise<string | undefined> {
  const list: Adapter = { name: "list", writes: (e) => [{ command: "RPUSH", key: `{${keys.namespace}:s${e.shard ?? 0}}:jobs`, args: [String(e.slotAt)] }] };
  const firer = new Firer({ redis: scripted, keys: keysOfSchedule(keys, name), adapters: new Map([["list", list]]), token: () => "", now: () => Date.now() });
  const [outcome] = await firer.fire([{ schedule: parseSchedule(name, { every: "10s", job: { class: "S" } }, defaults), slotAt }]);
  return outcome?.status;
}

/** Only the shard's write of a pause or resume, as if the writer died right after it. */
async function shardWriteOnly(keys: ClockKeys, name: string, action: "pause" | "resume"): Promise<void> {
  const shard = keysOfSchedule(keys, name);
  await scripted.clockShardPause(shard.paused, shard.pauses, action, "", "", "", name);
}

test("a pause whose writer died after the shard's write: its slots are refused at once; the reconcile copies it into the deployment's records", async () => {
  const keys = deployment();
  await shardWriteOnly(keys, "s", "pause");
  assert.equal(await redis.sismember(keys.paused, "s"), 0, "the deployment's copy was never written");
  assert.equal(await fireOnce(keys, "s", T0), "paused", "the pause holds from the shard's write");
  const shard = shardOf("s", SHARDS);
  const repair = await reconcilePauses(scripted, keys, shard, always);
  assert.deepEqual(repair, { toShard: [], toDeployment: ["s"], dropped: [] });
  assert.equal(await redis.sismember(keys.paused, "s"), 1);
  assert.equal(await redis.hget(keys.pauses, "s"), await redis.hget(shardKeys(keys, shard).pauses, "s"), "the same record on both sides");
  assert.equal(await fireOnce(keys, "s", T0 + 10 * SECOND), "paused");
  assert.deepEqual(await reconcilePauses(scripted, keys, shard, always), { toShard: [], toDeployment: [], dropped: [] }, "nothing left to repair");
});

test("a resume whose writer died after the shard's write fires again at once; the reconcile completes it, never pausing the schedule again", async () => {
  const keys = deployment();
  await setPaused(scripted, keys, "s", true);
  assert.equal(await fireOnce(keys, "s", T0), "paused");
  await shardWriteOnly(keys, "s", "resume");
  assert.equal(await redis.sismember(keys.paused, "s"), 1, "the deployment still says paused");
  assert.equal(await fireOnce(keys, "s", T0 + 10 * SECOND), "fired", "the resume holds from the shard's write");
  const repair = await reconcilePauses(scripted, keys, shardOf("s", SHARDS), always);
  assert.deepEqual(repair.toDeployment, ["s"]);
  assert.equal(await redis.sismember(keys.paused, "s"), 0);
  const record = parsePauseRecord(await redis.hget(keys.pauses, "s"));
  assert.equal(typeof record?.resumedAt, "number");
  assert.equal(await redis.sismember(keysOfSchedule(keys, "s").paused, "s"), 0);
  assert.equal(await fireOnce(keys, "s", T0 + 20 * SECOND), "fired");
});

test("a copy read before a pause or a resume never undoes it: stale records are refused on both sides", async () => {
  const keys = deployment();
  const shard = keysOfSchedule(keys, "s");
  await setPaused(scripted, keys, "s", true);
  const paused = (await redis.hget(shard.pauses, "s")) as string;
  await setPaused(scripted, keys, "s", false);
  const resumed = (await redis.hget(shard.pauses, "s")) as string;
  // A reconcile that read the paused record before the resume copies it now: neither side takes it.
  const [, taken] = await scripted.clockPauseMerge(keys.paused, keys.pauses, keys.changes, keys.pauseEnds, "s", paused);
  assert.equal(taken, 0);
  const reply = await scripted.clockShardPause(shard.paused, shard.pauses, "merge", "", "", "", "s", paused);
  assert.equal(reply[1], 0);
  assert.equal(await redis.hget(shard.pauses, "s"), resumed);
  assert.equal(await redis.hget(keys.pauses, "s"), resumed);
  assert.equal(await fireOnce(keys, "s", T0), "fired");
  // And the other way: a pause after the resume is not undone by the resumed record read before it.
  await setPaused(scripted, keys, "s", true);
  await scripted.clockShardPause(shard.paused, shard.pauses, "merge", "", "", "", "s", resumed);
  await scripted.clockPauseMerge(keys.paused, keys.pauses, keys.changes, keys.pauseEnds, "s", resumed);
  assert.equal(await fireOnce(keys, "s", T0 + 10 * SECOND), "paused");
  assert.equal(await redis.sismember(keys.paused, "s"), 1);
  const again = parsePauseRecord(await redis.hget(shard.pauses, "s"));
  assert.ok((again?.pausedAt ?? 0) > (parsePauseRecord(resumed)?.pausedAt ?? Infinity), "a new pause is newer than the last one");
});

test("a pause's until with shards: the shard resumes it at until, then the deployment's copy and pause ends follow", async () => {
  const keys = deployment();
  await setPaused(scripted, keys, "s", true, T0, { untilAt: T0 + 5 * SECOND, reason: "migration" });
  const shard = keysOfSchedule(keys, "s");
  assert.deepEqual(parsePauseRecord(await redis.hget(shard.pauses, "s")), { pausedAt: T0, reason: "migration", until: T0 + 5 * SECOND });
  assert.equal(await redis.zscore(keys.pauseEnds, "s"), String(T0 + 5 * SECOND));
  assert.deepEqual(await expirePauses(scripted, keys, T0 + 4 * SECOND), [], "not yet");
  assert.deepEqual(await expirePauses(scripted, keys, T0 + 6 * SECOND), [{ name: "s", untilAt: T0 + 5 * SECOND }]);
  assert.deepEqual(parsePauseRecord(await redis.hget(shard.pauses, "s")), { pausedAt: T0, resumedAt: T0 + 5 * SECOND });
  assert.equal(await redis.hget(keys.pauses, "s"), await redis.hget(shard.pauses, "s"));
  assert.equal(await redis.sismember(shard.paused, "s"), 0);
  assert.equal(await redis.zcard(keys.pauseEnds), 0);
});

test("removing a paused dynamic schedule forgets its shard's pause (made again, it fires); a shard pause of a schedule gone is dropped by the reconcile", async (t) => {
  const { keys, client } = await shardedClient(testScope(t));
  const definition = { every: "10s", adapter: "list", job: { class: "S" } } as const;
  await client.schedules.set("dyn", definition);
  await client.schedules.pause("dyn");
  assert.equal(await redis.sismember(keysOfSchedule(keys, "dyn").paused, "dyn"), 1, "the client writes the shard's set");
  assert.equal(await fireOnce(keys, "dyn", T0), "paused");
  assert.equal(await client.schedules.remove("dyn"), true);
  assert.equal(await redis.hexists(keysOfSchedule(keys, "dyn").pauses, "dyn"), 0);
  await client.schedules.set("dyn", definition);
  assert.equal(await fireOnce(keys, "dyn", T0 + 10 * SECOND), "fired");
  // A one-shot removal that stopped before forgetting the shard's pause: the schedule is gone, so the pause goes.
  await shardWriteOnly(keys, "ghost", "pause");
  const repair = await reconcilePauses(scripted, keys, shardOf("ghost", SHARDS), async (name) => (await redis.hexists(keys.schedules, name)) === 1);
  assert.deepEqual(repair.dropped, ["ghost"]);
  assert.equal(await redis.hexists(keys.pauses, "ghost"), 0, "not copied into the deployment's");
  assert.equal(await redis.sismember(keysOfSchedule(keys, "ghost").paused, "ghost"), 0);
});

test("a group pause with shards: every member's shard refuses its slots, the deployment lists them paused; the resume fires them all again", async (t) => {
  const { keys, client } = await shardedClient(testScope(t));
  const names = ["g-a", "g-b", "g-c", "g-d", "g-e", "g-f"];
  assert.ok(new Set(names.map((name) => shardOf(name, SHARDS))).size > 1, "members in more than one shard");
  for (const name of names) await client.schedules.set(name, { every: "10s", adapter: "list", group: "g", job: { class: "S" } });
  const paused = await client.groups.pause("g");
  assert.equal(paused.changed, names.length);
  for (const name of names) assert.equal(await fireOnce(keys, name, T0), "paused", name);
  assert.deepEqual((await redis.smembers(keys.paused)).sort(), names);
  const resumed = await client.groups.resume("g");
  assert.equal(resumed.changed, names.length);
  for (const name of names) assert.equal(await fireOnce(keys, name, T0 + 10 * SECOND), "fired", name);
  assert.equal(await redis.scard(keys.paused), 0);
});

test("a sharded deployment from before each shard kept its pauses (only {ns}:paused) keeps them when this version starts: moved into the shards before any fire", async (t) => {
  const scope = testScope(t);
  const keys = deployment();
  await redis.set(keys.shards, String(SHARDS));
  // The last release's pause: one script on the deployment's keys only.
  await scripted.clockPause(keys.paused, keys.pauses, keys.changes, keys.pauseEnds, "held", "pause", "", "", "");
  const sink = await startSharded(scope, keys);
  const held = keysOfSchedule(keys, "held");
  assert.equal(await redis.sismember(held.paused, "held"), 1, "in its shard's paused set once started");
  assert.equal(await redis.hget(held.pauses, "held"), await redis.hget(keys.pauses, "held"), "the same record");
  const moved = sink.lines.find((line) => String(line.msg).startsWith("pause state of a shard and the deployment made to agree"));
  assert.equal(moved?.["shard"], shardOf("held", SHARDS));
  assert.equal(await fireOnce(keys, "held", T0), "paused", "the shard's fire script refuses it");
  // `free` fires from its shard's list; `held` never does.
  const freeList = `{${keys.namespace}:s${shardOf("free", SHARDS)}}:jobs:default`;
  await pollUntil("free fires", async () => (await redis.llen(freeList)) >= 2, 15_000);
  const heldList = `{${keys.namespace}:s${shardOf("held", SHARDS)}}:jobs:default`;
  const heldJobs = (await redis.lrange(heldList, 0, -1)).filter((raw) => raw.includes('"schedule":"held"'));
  assert.deepEqual(heldJobs, []);
  assert.equal(await redis.hget(held.ledger, "held"), null, "no slot of the paused schedule fired");
});

test("a pause by an older client (the deployment's set only) on a running sharded clock reaches the shard's paused set when the change is heard, not at the minute", async (t) => {
  const scope = testScope(t);
  const keys = deployment();
  const sink = await startSharded(scope, keys);
  await sink.waitFor((line) => line.msg === "leadership acquired", 15_000);
  const [version] = await scripted.clockPause(keys.paused, keys.pauses, keys.changes, keys.pauseEnds, "held", "pause", "", "", "");
  await redis.publish(keys.changes, `${version} pause held`);
  // Well under the minute's reconcile; generous for a loaded machine.
  await pollUntil("the shard's paused set has the older client's pause", async () => (await redis.sismember(keysOfSchedule(keys, "held").paused, "held")) === 1, 20_000);
  assert.equal(await fireOnce(keys, "held", T0), "paused");
});

test("repair with shards: a shard's corrupt paused set is moved aside fenced by its lease, the deployment's keys by shard 0's leader", async () => {
  const keys = deployment();
  const one = shardKeys(keys, 1);
  const zero = shardKeys(keys, 0);
  await redis.set(one.lease, "token-1");
  await redis.set(zero.lease, "token-0");
  await redis.set(one.paused, "not a set");
  await redis.set(keys.paused, "not a set either");
  assert.equal(await repairKeys(scripted, one, "someone else"), null, "fenced");
  assert.deepEqual(
    (await repairKeys(scripted, one, "token-1"))?.map((repaired) => repaired.key),
    [one.paused],
    "shard 1 checks its own keys only",
  );
  assert.deepEqual(
    (await repairKeys(scripted, zero, "token-0"))?.map((repaired) => repaired.key),
    [keys.paused],
  );
  assert.equal(await redis.type(`${one.paused}:corrupt`), "string");
  assert.equal(await redis.type(`${keys.paused}:corrupt`), "string");
});
