/**
 * Issue 11, item 4: no start-up race. A clock that starts while Redis is unreachable (a proxy
 * between it and a real redis-server refuses it, the data intact) plans nothing until it has read
 * the paused set and the ledger, and its subscriptions are made on every (re)connect.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { parseConfig, startClock, type RunningClock } from "../src/index.ts";
import { setPaused } from "../src/dynamic/pauses.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { SECOND } from "../src/time.ts";
import { LogSink } from "./helpers/logs.ts";
import { startProxy, type TcpProxy } from "./helpers/proxy.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error("cleanup failed:", error));
});

async function rig(): Promise<{ server: TestRedis; proxy: TcpProxy; redis: Redis }> {
  const server = await startRedis();
  cleanups.push(() => server.close());
  const proxy = await startProxy(server.port);
  cleanups.push(() => proxy.close());
  const redis = new Redis(server.url);
  redis.on("error", () => undefined); // the restart test stops the server under it
  cleanups.push(async () => redis.disconnect());
  return { server, proxy, redis };
}

async function start(namespace: string, url: string, schedules: Record<string, unknown>): Promise<{ clock: RunningClock; sink: LogSink }> {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", lease: { ttl: "2s", retry: "200ms" }, schedules });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: url });
  cleanups.push(() => clock.stop());
  return { clock, sink };
}

/** Polls `check` (a Redis read) until it returns true; fails with `describe()` after the deadline. */
async function until(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(await describe());
    await sleep(50);
  }
}

const floorSecond = (at: number): number => Math.floor(at / SECOND) * SECOND;
const every1s = (queue: string) => ({ every: "1s", catchUp: { policy: "all", window: "5m", max: 100 }, job: { class: "Tick", queue } });

test("a clock started while Redis is unreachable plans no slot of a schedule paused there, and catches the others up from the ledger once it has read both", async () => {
  const { proxy, redis } = await rig();
  const namespace = "startup-paused";
  const keys = clockKeys(namespace);
  // Both schedules fired up to 5 s ago; "held" has been paused since.
  const ledgerAt = floorSecond(Date.now()) - 5 * SECOND;
  await redis.hset(keys.ledger, "tick", String(ledgerAt), "held", String(ledgerAt));
  await setPaused(withScripts(redis), keys, "held", true);

  proxy.cut();
  const { clock, sink } = await start(namespace, proxy.url, { tick: every1s(namespace), held: every1s(namespace) });
  const attempts: { schedule: string; slotAt: number; status: string }[] = [];
  clock.events.on("fire:fired", ({ outcome }) => attempts.push({ schedule: outcome.request.schedule.name, slotAt: outcome.request.slotAt, status: outcome.status }));
  clock.events.on("fire:refused", ({ outcome }) => attempts.push({ schedule: outcome.request.schedule.name, slotAt: outcome.request.slotAt, status: outcome.status }));
  const leading = clock.events.next("lease:changed", ({ leading }) => leading, 20 * SECOND);
  await sleep(1500); // the outage: at least one slot passes in it
  proxy.restore();
  await leading;
  const restoredAt = Date.now();
  // Once "tick" fired a slot after the restore, its catch-up is done and the first reads are long over.
  const throughAt = floorSecond(restoredAt) + 2 * SECOND;
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "tick" && Date.parse(String(line["slot"])) >= throughAt, 15 * SECOND);

  assert.deepEqual(
    attempts.filter((attempt) => attempt.schedule === "held"),
    [],
    "the planner asked to fire slots of a schedule paused in Redis (only the fire script's check stopped them)",
  );
  const queued = (await redis.lrange(`jobs:${namespace}`, 0, -1)).map((raw) => JSON.parse(raw) as { schedule: string; slotAt: number });
  assert.deepEqual(
    queued.filter((job) => job.schedule === "held"),
    [],
    "a paused schedule's slot was enqueued",
  );
  const tickSlots = queued.filter((job) => job.schedule === "tick").map((job) => job.slotAt);
  const expected: number[] = [];
  for (let at = ledgerAt + SECOND; at <= throughAt; at += SECOND) expected.push(at);
  assert.deepEqual(
    tickSlots.filter((at) => at <= throughAt),
    expected,
    "every slot after the ledger, the outage's included, fired once, in order (catch-up policy all)",
  );
  assert.ok(
    sink.lines.some((line) => line.msg === "could not read schedules and pauses at start; nothing fires until Redis answers"),
    "the failed first read is logged",
  );
  assert.ok(sink.lines.some((line) => line.msg === "schedules and pauses read from Redis: planning starts, missed slots follow the catch-up policy" && line["paused"] === 1));
});

test("a clock started while Redis is unreachable subscribes to the lease-release and change channels once it answers, and again after a Redis restart", async () => {
  const { server, proxy, redis } = await rig();
  const namespace = "startup-subscribe";
  const keys = clockKeys(namespace);
  const numsub = async (): Promise<[number, number]> => {
    const reply = (await redis.pubsub("NUMSUB", keys.released, keys.changes)) as (string | number)[];
    return [Number(reply[1]), Number(reply[3])];
  };
  const bothSubscribed = async (): Promise<boolean> => (await numsub()).every((count) => count === 1);
  const describe = (when: string) => async () => `${when}: PUBSUB NUMSUB ${keys.released} ${keys.changes} = ${JSON.stringify(await numsub())}, want [1,1]`;

  proxy.cut();
  const { clock } = await start(namespace, proxy.url, { tick: every1s(namespace) });
  const leading = clock.events.next("lease:changed", ({ leading }) => leading, 20 * SECOND);
  await sleep(500);
  assert.deepEqual(await numsub(), [0, 0]);
  proxy.restore();
  await leading;
  await until(bothSubscribed, 5 * SECOND, describe("after Redis became reachable"));

  const down = clock.events.next("redis:down", () => true, 20 * SECOND);
  await server.stop();
  await down;
  const restored = clock.events.next("redis:restored", () => true, 20 * SECOND);
  await server.start();
  await restored;
  await redis.ping(); // the test's own connection is back too
  await until(bothSubscribed, 5 * SECOND, describe("after a Redis restart"));
});
