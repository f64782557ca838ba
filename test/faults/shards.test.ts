/**
 * Shards of leadership on real processes (README "Growing past one machine"): three `clock start`
 * children with `shards: 8` against one throwaway redis-server share the shards (each leads at
 * most ceil(8 / 3) = 3); one is SIGKILLed (the other two take its shards within TTL + retry), one
 * joins (the others hand shards over to it, by release, not by expiry). Every schedule's queue is
 * then checked slot by slot: each slot exactly once, across all the moves. Timings are printed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../../src/config/resolve.ts";
import { encodeEntry } from "../../src/dynamic/store.ts";
import { parsePeers } from "../../src/lease/peers.ts";
import { clockKeys, shardKeys, shardOf } from "../../src/redis/keys.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { pollUntil } from "../helpers/fired.ts";
import { assertBuilt } from "../helpers/process.ts";
import { testScope } from "../helpers/scope.ts";
import { balanced, layout, namesCoveringShards, shardHolders, shardsPerPid } from "../helpers/shards.ts";
import { ClockFleet, readListSlots, verifySlots } from "../helpers/verifier.ts";

const SHARDS = 8;
const QUEUE = "shards";
const TTL_MS = 2 * SECOND;
const RETRY_MS = 200;
const SCHEDULE_INPUT = { every: "1s", adapter: "list", catchUp: { policy: "all", window: "5m", max: 1000 }, job: { class: "Tick", queue: QUEUE } } as const;
/** Generous: a shared 2-core machine, node boots slowly, and takeovers wait out a TTL. */
const WAIT_MS = 30 * SECOND;

async function waitBalanced(redis: Redis, fleet: ClockFleet, what: string): Promise<(number | null)[]> {
  let holders: (number | null)[] = [];
  await pollUntil(
    what,
    async () => {
      holders = await shardHolders(redis, SHARDS);
      return balanced(
        holders,
        fleet.alive.map((proc) => proc.pid),
      );
    },
    WAIT_MS,
    () => `shard:pid ${layout(holders)}; live ${fleet.alive.map((proc) => proc.pid).join(" ")}`,
  );
  return holders;
}

test("3 processes x 8 shards: one SIGKILLed, one joins; shards rebalance and every slot fires exactly once", async (t) => {
  assertBuilt();
  const scope = testScope(t);
  const names = namesCoveringShards(SHARDS);
  // Half in the config (every process plans them in its shards' planners), half dynamic (each
  // process keeps only those of the shards it holds, loaded when it takes a shard).
  const configNames = names.filter((_, index) => index % 2 === 0);
  const dynamicNames = names.filter((_, index) => index % 2 === 1);
  const config = {
    shards: SHARDS,
    lease: { ttl: `${TTL_MS}ms`, retry: `${RETRY_MS}ms` },
    schedules: Object.fromEntries(configNames.map((name) => [name, SCHEDULE_INPUT])),
  };
  const redis = await scope.redis();
  const fleet = new ClockFleet(scope, scope.configFile(config), redis.url);
  const client = scope.client(redis.url);
  for (const name of dynamicNames) await client.hset("{clock}:schedules", name, encodeEntry(SCHEDULE_INPUT, Date.now()));
  /** Each live process plans the config's schedules and only the dynamic ones of the shards it leads (its heartbeat's count). */
  const assertDivided = async (holders: readonly (number | null)[]): Promise<void> => {
    await pollUntil(
      "each process planning only its shards' dynamic schedules",
      async () => {
        const peers = [...parsePeers(await client.hgetall("{clock}:peers"), null).values()];
        return fleet.alive.every((proc) => {
          const led = dynamicNames.filter((name) => holders[shardOf(name, SHARDS)] === proc.pid).length;
          return peers.some((peer) => peer.pid === proc.pid && peer.schedules === configNames.length + led);
        });
      },
      WAIT_MS,
      async () =>
        JSON.stringify([...parsePeers(await client.hgetall("{clock}:peers"), null).values()].map((peer) => ({ pid: peer.pid, schedules: peer.schedules, shards: peer.shards }))),
    );
  };
  try {
    const spawnedAt = Date.now();
    for (let i = 0; i < 3; i++) fleet.spawn();
    let holders = await waitBalanced(client, fleet, "8 shards led by 3 processes, at most 3 each");
    const balancedMs = Date.now() - spawnedAt;
    console.log(`[shards] 3 processes: every shard led ${balancedMs} ms after spawn: ${layout(holders)}`);
    await assertDivided(holders);

    // Let every shard fire a few slots, then SIGKILL the process that leads the most.
    await sleep(3 * SECOND);
    const counts = shardsPerPid(holders);
    const victimPid = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const victim = fleet.alive.find((proc) => proc.pid === victimPid)!;
    const killedAt = Date.now();
    victim.signal("SIGKILL");
    await victim.waitExit(WAIT_MS);
    holders = await waitBalanced(client, fleet, "the killed process's shards taken by the two left");
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `[shards] SIGKILL of pid ${victimPid} (${counts.get(victimPid)} shards): all 8 led again by 2 processes after ${takeoverMs} ms (TTL ${TTL_MS} + retry ${RETRY_MS}): ${layout(holders)}`,
    );
    assert.ok(takeoverMs <= TTL_MS + RETRY_MS + 10 * SECOND, `takeover took ${takeoverMs} ms`);
    await assertDivided(holders);

    await sleep(2 * SECOND);
    const handoversBefore = fleet.heard("shards handed over (this process led more than its share)").length;
    const joinedAt = Date.now();
    const joiner = fleet.spawn();
    holders = await waitBalanced(client, fleet, "the joiner given its share");
    const joinMs = Date.now() - joinedAt;
    const handovers = fleet.heard("shards handed over (this process led more than its share)").slice(handoversBefore);
    console.log(
      `[shards] a process joined: balanced over 3 again ${joinMs} ms after its spawn (handovers: ${handovers.map((h) => `${h.proc.name} gave ${JSON.stringify(h.line["shards"])}`).join(", ")}): ${layout(holders)}`,
    );
    assert.ok(holders.filter((pid) => pid === joiner.pid).length >= 2, `the joiner leads ${holders.filter((pid) => pid === joiner.pid).length} shards`);
    // By handover: the others released the shards (an expiry would have taken a TTL with no such line).
    assert.ok(handovers.length > 0, "no process handed shards over to the joiner");
    await assertDivided(holders);

    await sleep(3 * SECOND);
    const untilAt = Math.floor(Date.now() / SECOND) * SECOND - 2 * SECOND;
    // Every slot up to untilAt is in before the stop (the fires of the last second are in flight).
    await sleep(SECOND);
    const exits = await fleet.stopAll(WAIT_MS);
    for (const [proc, exit] of exits) assert.equal(exit.code, 0, `${proc.name} exit after SIGTERM: ${JSON.stringify(exit)}\n${proc.tail()}`);

    let expected = 0;
    for (const name of names) {
      const slots = await readListSlots(client, `jobs:${QUEUE}`, name);
      assert.ok(slots.length > 0, `${name}: nothing was enqueued`);
      const fromAt = Math.min(...slots);
      // A missing head would not show as a gap: each schedule's first slot comes with the first leaders.
      assert.ok(fromAt <= spawnedAt + balancedMs + 2 * SECOND, `${name}: first slot ${new Date(fromAt).toISOString()} long after the shards were led`);
      const schedule = parseSchedule(name, SCHEDULE_INPUT, { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP });
      const verdict = verifySlots(schedule, slots, fromAt, untilAt);
      expected += verdict.expected;
      assert.deepEqual([verdict.duplicates, verdict.missing, verdict.unexpected], [[], [], []], verdict.summary);
    }
    const fenceRefusals = (
      await Promise.all(Array.from({ length: SHARDS }, (_, shard) => client.hget(shardKeys(clockKeys("clock", SHARDS), shard).stats, "fenceRefusals")))
    ).reduce((sum, value) => sum + Number(value ?? 0), 0);
    console.log(`[shards] ${names.length} schedules, ${expected} slots checked: each exactly once; fence refusals ${fenceRefusals}`);
  } catch (error) {
    console.error(`[shards] process logs at failure:\n${fleet.diagnostics(40)}`);
    throw error;
  }
});
