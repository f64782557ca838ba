/**
 * Shards of leadership, in process (the fault test test/faults/shards.test.ts runs real processes):
 * the hash that places a schedule (shardOf), the keys a single-shard deployment keeps, the count a
 * deployment cannot change, schedules spread over the shards of two clocks with each slot in its own
 * shard's ledger as status and `clock status` read them, and ShardBalance on fake leases. Every
 * Redis is a throwaway redis-server of the test's own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { main } from "../src/cli/main.ts";
import { ConfigError, createClient, parseConfig, startClock, type RunningClock } from "../src/index.ts";
import { ShardBalance, ShardLeadership, type ShardLease } from "../src/lease/shards.ts";
import { allShardKeys, clockKeys, keysOfSchedule, shardKeys, shardOf } from "../src/redis/keys.ts";
import { pollUntil, sleep } from "./helpers/fired.ts";
import { LogSink } from "./helpers/logs.ts";
import { testScope, type Scope } from "./helpers/scope.ts";
import { readListSlots } from "./helpers/verifier.ts";
import { namesCoveringShards } from "./helpers/shards.ts";
import { DEFAULT_CATCH_UP } from "../src/config/resolve.ts";
import { DynamicSync } from "../src/dynamic/sync.ts";
import { encodeEntry } from "../src/dynamic/store.ts";
import { ClockEvents } from "../src/events.ts";
import type { Schedule } from "../src/schedule/schedule.ts";

/** Real-time bounds only for waiting (never asserted as speed): a shared machine, other files beside. */
const WAIT_MS = 15_000;
const EVERY_SECOND = (queue: string) => ({ every: "1s", adapter: "list", job: { class: "Tick", queue } }) as const;

/** FNV-1a, 32 bits, written from the spec apart from src: UTF-8 bytes, BigInt arithmetic mod 2^32. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x01000193n) % 0x1_0000_0000n;
  }
  return Number(hash);
}

/** Every key in the Redis, by SCAN. */
async function allKeys(redis: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.sort();
}

/** Clients connected to the server, the asking one included. */
async function connectedClients(redis: Redis): Promise<number> {
  const list = (await redis.client("LIST")) as string;
  return list.split("\n").filter((line) => line.trim() !== "").length;
}

async function started(scope: Scope, url: string, raw: Record<string, unknown>, options: { leaseTtlMs?: number; leaseRetryMs?: number } = {}): Promise<RunningClock> {
  const clock = await startClock({ config: parseConfig(raw), logger: new LogSink().logger, redisUrl: url, ...options });
  scope.defer(() => clock.stop());
  return clock;
}

/** The refusal a start with another shard count gets: a ConfigError on `shards`, with both counts and the way out. */
function assertCountRefused(error: unknown, running: number, wanted: number): true {
  assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
  assert.deepEqual(
    error.issues.map((issue) => issue.path),
    ["shards"],
  );
  const message = error.issues[0]?.message ?? "";
  assert.match(message, new RegExp(`runs with ${running} shards?\\b`), message);
  assert.match(message, new RegExp(`\\b${wanted}\\b`), `the count asked for (${wanted}) is not named: ${message}`);
  assert.match(message, new RegExp(`keep shards: ${running}\\b`), message);
  assert.match(message, /new namespace/, message);
  return true;
}

test("shardOf: FNV-1a of the UTF-8 bytes mod the count, fixed values, every shard reachable, one shard is 0", () => {
  // The published FNV-1a 32-bit vectors: the independent implementation is FNV-1a.
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  // Fixed values: a change of the hash would move a running deployment's schedules between ledgers.
  const known: [string, number, number][] = [
    ["", 8, 5],
    ["a", 16, 12],
    ["foobar", 1024, 360],
    ["tick", 3, 2],
    ["nightly-report", 4, 3],
    ["tenant-42", 1024, 450],
    ["café", 16, 9], // UTF-8 bytes, not UTF-16 code units
    ["日報", 1024, 43],
  ];
  for (const [name, count, shard] of known) {
    assert.equal(shardOf(name, count), shard, `shardOf(${JSON.stringify(name)}, ${count})`);
    assert.equal(fnv1a32(name) % count, shard, `FNV-1a(${JSON.stringify(name)}) mod ${count}`);
  }
  const names = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? `tenant-${i}` : i % 3 === 1 ? `rapport-été-${i}` : `報告-${i}`));
  for (const name of names.slice(0, 200)) for (const count of [2, 5, 7, 64, 1000]) assert.equal(shardOf(name, count), fnv1a32(name) % count, `${name} mod ${count}`);
  for (let count = 1; count <= 16; count++) {
    const seen = new Set(names.map((name) => shardOf(name, count)));
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      Array.from({ length: count }, (_, shard) => shard),
      `shards reached with ${count}`,
    );
  }
  for (const name of ["", "a", "tick", "日報", ...names.slice(0, 50)]) assert.equal(shardOf(name, 1), 0);
});

test("one shard (the default): the keys a clock always had; no {clock:sK} key, no {clock}:shards", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const raw = { schedules: { tick: EVERY_SECOND("single") } };
  await started(scope, server.url, raw);
  const keys = clockKeys("clock");
  await pollUntil("tick in {clock}:ledger", async () => (await redis.hget("{clock}:ledger", "tick")) !== null, WAIT_MS);
  assert.deepEqual(allShardKeys(keys), [keys], "one shard: the deployment's keys");
  assert.equal(keysOfSchedule(keys, "tick"), keys);
  const present = await allKeys(redis);
  assert.deepEqual(
    present.filter((key) => key.startsWith("{clock:s")),
    [],
  );
  assert.ok(!present.includes("{clock}:shards"), `{clock}:shards written: ${present.join(" ")}`);
  assert.deepEqual(
    present.filter((key) => !key.startsWith("{clock}:") && key !== "jobs:single"),
    [],
    "every key of the clock's under {clock}",
  );
  for (const key of ["{clock}:ledger", "{clock}:lease", "{clock}:peers", "{clock}:stats"]) assert.ok(present.includes(key), `${key} missing: ${present.join(" ")}`);
  const [slotAt] = await readListSlots(redis, "jobs:single", "tick");
  assert.ok(slotAt !== undefined && Number(await redis.hget("{clock}:ledger", "tick")) >= slotAt);
  const client = createClient({ redis, config: parseConfig(raw) });
  const status = await client.status();
  assert.equal(status.shards, undefined, "no shards in a single-shard status");
  assert.ok(status.leader !== null);
  assert.ok(status.schedules.find((s) => s.name === "tick")?.lastFiredAt !== null);
  await client.close();
});

test("the shard count cannot change: recorded at 4, a start with 2 or 1 is refused; a single-shard deployment refuses 4; a refused start fires nothing and leaves no connection open", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const four = { shards: 4, schedules: { tick: EVERY_SECOND("four") } };
  const first = await started(scope, server.url, four);
  assert.equal(await redis.get("{clock}:shards"), "4");
  const tickLedger = keysOfSchedule(clockKeys("clock", 4), "tick").ledger;
  assert.match(tickLedger, /^\{clock:s\d\}:ledger$/);
  await pollUntil(`tick in ${tickLedger}`, async () => (await redis.hget(tickLedger, "tick")) !== null, WAIT_MS);
  await first.stop();
  const before = { keys: await allKeys(redis), ledger: await redis.hget(tickLedger, "tick"), clients: await connectedClients(redis) };

  // Nobody leads now: a refused start that went on to plan or lead would fire `refused` within a second.
  const refused = (shards: number) => parseConfig({ shards, schedules: { refused: EVERY_SECOND("refused") } });
  for (const shards of [2, 1]) {
    await assert.rejects(startClock({ config: refused(shards), logger: new LogSink().logger, redisUrl: server.url }), (error) => assertCountRefused(error, 4, shards));
  }
  await sleep(1500);
  assert.equal(await redis.get("{clock}:shards"), "4", "the recorded count stays");
  assert.deepEqual(await allKeys(redis), before.keys, "a refused start wrote nothing (no lease, heartbeat, ledger or job)");
  assert.equal(await redis.hget(tickLedger, "tick"), before.ledger);
  // A library caller that catches the refusal must be able to exit: no connection left reconnecting.
  assert.equal(await connectedClients(redis), before.clients, "connections the refused starts left open");
  // The same count starts again.
  await (await started(scope, server.url, four)).stop();

  // A deployment that ran with one shard: its ledger is {clock}:ledger, which shards: 4 would not read.
  const single = await scope.redis();
  const singleRedis = scope.client(single.url);
  const one = await started(scope, single.url, { schedules: { tick: EVERY_SECOND("one") } });
  await pollUntil("tick in {clock}:ledger", async () => (await singleRedis.hget("{clock}:ledger", "tick")) !== null, WAIT_MS);
  await one.stop();
  const singleBefore = { keys: await allKeys(singleRedis), ledger: await singleRedis.hgetall("{clock}:ledger"), clients: await connectedClients(singleRedis) };
  const fourOnSingle = parseConfig({ shards: 4, schedules: { tick: EVERY_SECOND("one") } });
  await assert.rejects(startClock({ config: fourOnSingle, logger: new LogSink().logger, redisUrl: single.url }), (error) => assertCountRefused(error, 1, 4));
  await sleep(1500);
  assert.equal(await singleRedis.get("{clock}:shards"), null, "no count recorded by the refused start");
  assert.deepEqual(await allKeys(singleRedis), singleBefore.keys, "no {clock:sK} key, nothing fired");
  assert.deepEqual(await singleRedis.hgetall("{clock}:ledger"), singleBefore.ledger);
  assert.equal(await connectedClients(singleRedis), singleBefore.clients, "connections the refused start left open");
});

test("shards: 4 on two clocks: each leads 2, every fired slot is in its own shard's ledger, status and `clock status` read the shards", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const SHARDS = 4;
  const keys = clockKeys("clock", SHARDS);
  // Names until every shard holds two schedules (the hash decides), and one that never fires.
  const names = namesCoveringShards(SHARDS);
  const never = "yearly";
  const raw = {
    shards: SHARDS,
    redis: server.url,
    schedules: {
      ...Object.fromEntries(names.map((name) => [name, EVERY_SECOND("spread")])),
      [never]: { once: "2099-01-01T00:00:00Z", adapter: "list", job: { class: "Y", queue: "spread" } },
    },
  };
  const lease = { leaseTtlMs: 2000, leaseRetryMs: 100 };
  const a = await started(scope, server.url, raw, lease);
  const b = await started(scope, server.url, raw, lease);
  const firedBy = new Map<RunningClock, Set<string>>([
    [a, new Set()],
    [b, new Set()],
  ]);
  for (const [clock, fired] of firedBy) clock.events.on("fire:fired", ({ outcome }) => fired.add(outcome.request.schedule.name));
  const ledOf = (clock: RunningClock): number[] => {
    assert.ok(clock.leadership instanceof ShardLeadership);
    return clock.leadership.led();
  };
  const ledgerOf = async (name: string): Promise<string | null> => redis.hget(keysOfSchedule(keys, name).ledger, name);
  await pollUntil(
    "2 shards led by each clock, every schedule fired, both clocks firing",
    async () =>
      ledOf(a).length === 2 &&
      ledOf(b).length === 2 &&
      (await Promise.all(names.map(ledgerOf))).every((at) => at !== null) &&
      [...firedBy.values()].every((fired) => fired.size > 0),
    WAIT_MS,
    () => `a leads ${ledOf(a).join(",")}, b leads ${ledOf(b).join(",")}; fired by a ${[...(firedBy.get(a) ?? [])].join(",")}, by b ${[...(firedBy.get(b) ?? [])].join(",")}`,
  );
  assert.deepEqual([...ledOf(a), ...ledOf(b)].sort(), [0, 1, 2, 3], "every shard led by exactly one clock");

  const client = createClient({ redis, config: parseConfig(raw) });
  scope.defer(() => client.close());
  const status = await client.status();
  assert.deepEqual(
    status.shards?.map(({ shard, leader }) => [shard, leader?.pid, (leader?.ttlMs ?? 0) > 0]),
    Array.from({ length: SHARDS }, (_, shard) => [shard, process.pid, true]),
    `every shard led: ${JSON.stringify(status.shards)}`,
  );
  const out: string[] = [];
  const io = { out: (text: string) => out.push(text), err: (text: string) => out.push(text), now: () => Date.now() };
  assert.equal(await main(["status", "--config", scope.configFile(raw)], io), 0, out.join("\n"));
  const shardLine = out.join("\n").match(/^shards: {4}(\d+); (.*)$/m);
  assert.ok(shardLine !== null, `no shards line in:\n${out.join("\n")}`);
  assert.equal(shardLine[1], "4");
  assert.ok(!shardLine[2]?.includes("nobody"), shardLine[0]);
  assert.deepEqual(shardLine[2]?.match(/\b\d\b/g)?.sort(), ["0", "1", "2", "3"], shardLine[0]);

  await Promise.all([a.stop(), b.stop()]);
  // Stopped: the ledgers and the queue stay as they are now.
  const deploymentLedger = await redis.hgetall("{clock}:ledger");
  assert.deepEqual(deploymentLedger, {}, "nothing in the deployment's ledger with shards");
  const ledgers = await Promise.all(allShardKeys(keys).map((shard) => redis.hgetall(shard.ledger)));
  const lastFired = new Map((await client.status({ limit: 1000 })).schedules.map((s) => [s.name, s.lastFiredAt]));
  for (const name of names) {
    const own = shardOf(name, SHARDS);
    assert.equal(keysOfSchedule(keys, name).ledger, shardKeys(keys, own).ledger);
    assert.deepEqual(
      ledgers.flatMap((ledger, shard) => (ledger[name] === undefined ? [] : [shard])),
      [own],
      `${name} (shard ${own}): in the ledgers of`,
    );
    const slots = await readListSlots(redis, "jobs:spread", name);
    assert.equal(new Set(slots).size, slots.length, `${name}: a slot enqueued twice`);
    assert.equal(Number(ledgers[own]?.[name]), Math.max(...slots), `${name}: its shard's ledger holds its newest enqueued slot`);
    assert.equal(lastFired.get(name), Number(ledgers[own]?.[name]), `${name}: status lastFiredAt from shard ${own}'s ledger`);
  }
  assert.equal(lastFired.get(never), null);
  assert.ok(
    ledgers.every((ledger) => ledger[never] === undefined),
    "the schedule that never fired is in no ledger",
  );
});

/** A shard's lease as ShardBalance and ShardLeadership see it, led or not by hand. */
class FakeLease implements ShardLease {
  leading = false;
  releases = 0;
  readonly #listeners: ((leader: boolean) => void)[] = [];
  token(): string {
    return "";
  }
  isLeader(): boolean {
    return this.leading;
  }
  onChange(listener: (leader: boolean) => void): void {
    this.#listeners.push(listener);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async release(): Promise<void> {
    this.releases++;
    this.lead(false);
  }
  lead(leading: boolean): void {
    this.leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}

test("ShardBalance: the gate refuses past the share counting tries in flight; note(live) releases the highest-numbered extra shards", async () => {
  const leases = Array.from({ length: 8 }, () => new FakeLease());
  const balance = new ShardBalance(8);
  balance.attach(leases);
  assert.equal(balance.share, 8, "alone: every shard");
  assert.deepEqual(await balance.note(3), []);
  assert.equal(balance.share, 3, "ceil(8 / 3)");

  // Tries in flight count: a fourth try while three are out is refused, whatever has been won yet.
  const tries = [balance.gate(), balance.gate(), balance.gate()];
  assert.ok(tries.every((done) => done !== null));
  assert.equal(balance.gate(), null, "a try beyond the share");
  tries[0]?.();
  tries[0]?.(); // done twice counts once
  const again = balance.gate();
  assert.ok(again !== null, "a finished try frees its place");
  assert.equal(balance.gate(), null, "a done called twice freed two places");
  for (const done of [again, tries[1], tries[2]]) done?.();

  // Leases led count as the tries did.
  leases[0]?.lead(true);
  leases[5]?.lead(true);
  const third = balance.gate();
  assert.ok(third !== null);
  assert.equal(balance.gate(), null, "2 led + 1 trying = the share");
  third?.();

  // More live processes: the share shrinks, the newest-numbered extras are handed over.
  leases[2]?.lead(true);
  leases[7]?.lead(true);
  assert.deepEqual(await balance.note(3), [7], "leads 0 2 5 7, share 3");
  assert.deepEqual(
    leases.map((lease) => lease.releases),
    [0, 0, 0, 0, 0, 0, 0, 1],
  );
  assert.deepEqual(await balance.note(4), [5], "leads 0 2 5, share 2");
  assert.equal(balance.live, 4);
  assert.equal(balance.gate(), null, "at its share: no try");
  assert.deepEqual(await balance.note(8), [2], "share 1");
  assert.deepEqual(await balance.note(20), [], "share 1 (ceil): the last shard is kept");
  assert.equal(balance.share, 1);
  assert.ok(leases[0]?.isLeader());
  // Fewer live: the share grows again, nothing is released, tries are let through.
  assert.deepEqual(await balance.note(0), [], "no process seen: this one is counted");
  assert.equal(balance.live, 1);
  assert.equal(balance.share, 8);
  assert.ok(balance.gate() !== null);
  assert.deepEqual(
    leases.map((lease) => lease.releases),
    [0, 0, 1, 0, 0, 1, 0, 1],
  );
});

test("ShardLeadership: leads while it leads any shard, says so once on the first gain and once on the last loss", async () => {
  const leases = Array.from({ length: 3 }, () => new FakeLease());
  const leadership = new ShardLeadership(leases);
  const heard: boolean[] = [];
  leadership.onChange((leading) => heard.push(leading));
  assert.equal(leadership.isLeader(), false);
  leases[1]?.lead(true);
  leases[2]?.lead(true);
  assert.deepEqual(leadership.led(), [1, 2]);
  assert.ok(leadership.leads(2) && !leadership.leads(0) && !leadership.leads(3));
  await leases[1]?.release();
  assert.equal(leadership.isLeader(), true, "one shard still led");
  leases[2]?.lead(false);
  assert.equal(leadership.isLeader(), false);
  assert.deepEqual(heard, [true, false]);
});

test("started while Redis is down, a clock with another shard count than the deployment's never leads once Redis answers: it says so", async (t) => {
  const scope = testScope(t);
  // Persistence on: the recorded count survives the server's restart.
  const server = await scope.redis(["--appendonly", "yes", "--appendfsync", "always"]);
  const redis = scope.client(server.url, { lazyConnect: true });
  await redis.connect();
  await redis.set("{clock}:shards", "4");
  await server.stop();
  const sink = new LogSink();
  const clock = await startClock({
    config: parseConfig({ shards: 2, schedules: { tick: EVERY_SECOND("late") } }),
    logger: sink.logger,
    redisUrl: server.url,
    leaseTtlMs: 2000,
    leaseRetryMs: 100,
  });
  scope.defer(() => clock.stop());
  await server.start();
  await pollUntil(
    "the refusal said",
    async () => sink.lines.some((line) => line.msg === "shard count differs from the deployment's: this process will not lead (fix shards in the config and restart it)"),
    WAIT_MS,
    () => sink.lines.map((line) => String(line.msg)).join(" | "),
  );
  // Leases are tried every 100 ms: a clock that went on would lead and fire within this wait.
  await sleep(1500);
  const keys = await allKeys(redis);
  assert.deepEqual(
    keys.filter((key) => /lease|ledger|jobs/.test(key)),
    [],
    `no lease taken, nothing fired: ${keys.join(" ")}`,
  );
  assert.equal(clock.leadership.isLeader(), false);
  assert.equal(await redis.get("{clock}:shards"), "4");
});

test("a shard lost and taken again is adopted without decoding its unchanged entries again; a changed one is decoded", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const subscriber = scope.client(server.url);
  const keys = clockKeys("kept", 2);
  const names = namesCoveringShards(2, 3);
  for (const name of names) await redis.hset(keys.schedules, name, encodeEntry({ every: "1h", job: { class: "Report", queue: "kept" } }, Date.now()));
  const held = new Set([0, 1]);
  const sync = new DynamicSync({
    redis,
    subscriber,
    keys,
    configSchedules: [],
    defaults: { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP },
    adapterCheck: { settings: {}, namespace: "kept" },
    adapters: { ensure: () => undefined },
    events: new ClockEvents(),
    now: () => Date.now(),
    shards: { count: 2, leads: (shard) => held.has(shard) },
  });
  const planned = new Map<string, Schedule>();
  const planner = { upsert: (schedule: Schedule) => planned.set(schedule.name, schedule), remove: (name: string) => planned.delete(name), invalidate: () => undefined };
  for (const schedule of await sync.load()) planner.upsert(schedule);
  await sync.start(planner);
  const inShard0 = names.filter((name) => shardOf(name, 2) === 0);
  const before = new Map(inShard0.map((name) => [name, sync.dynamicSchedules.get(name)]));
  assert.equal(before.size, 3);
  assert.ok([...before.values()].every((schedule) => schedule !== undefined && planned.get(schedule.name) === schedule));

  held.delete(0);
  sync.release(0);
  assert.ok(
    inShard0.every((name) => !sync.dynamicSchedules.has(name) && !planned.has(name)),
    "a lost shard's schedules are dropped at once",
  );
  const inShard1 = names.filter((name) => shardOf(name, 2) === 1);
  assert.ok(inShard1.length > 0 && inShard1.every((name) => sync.dynamicSchedules.has(name) && planned.has(name)), "the other shard's stay");
  const changed = inShard0[0] as string;
  await redis.hset(keys.schedules, changed, encodeEntry({ every: "2h", job: { class: "Report", queue: "kept" } }, Date.now()));
  held.add(0);
  await sync.adopt(0);
  for (const name of inShard0) {
    const again = sync.dynamicSchedules.get(name);
    assert.ok(again !== undefined && planned.get(name) === again, `${name} planned again`);
    if (name === changed) assert.notEqual(again, before.get(name), "the changed entry is decoded again");
    else assert.equal(again, before.get(name), `${name}: the schedule decoded before, not decoded again`);
  }
});
