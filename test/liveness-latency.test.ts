/**
 * Issue 11, item 2: a leader that holds its lease but is briefly not valid wakes when it is valid
 * again; one whose Redis replies take longer than the lease's validity lets the lease go, so a
 * standby can lead. Real clocks, a real redis-server, a TCP proxy that delays every chunk.
 * Real time: the bounds are generous (a shared 2-core machine).
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { parseConfig, startClock, type RunningClock } from "../src/index.ts";
import { RedisLease } from "../src/lease/redis-lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import { HOUR, SECOND } from "../src/time.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { LogSink } from "./helpers/logs.ts";
import { startProxy } from "./helpers/proxy.ts";
import { startRedis } from "./helpers/redis.ts";

const TTL_MS = 2 * SECOND;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error("cleanup failed:", error));
});

interface Fire {
  readonly at: number;
  readonly slotAt: number;
  readonly by: string;
}

async function start(name: string, namespace: string, url: string, fires: Fire[]): Promise<{ clock: RunningClock; sink: LogSink }> {
  const sink = new LogSink();
  const config = parseConfig({
    namespace,
    adapter: "list",
    lease: { ttl: "2s", retry: "200ms" },
    schedules: { tick: { every: "1s", catchUp: { policy: "latest", window: "1h" }, job: { class: "Tick", queue: namespace } } },
  });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: url });
  cleanups.push(() => clock.stop());
  clock.events.on("fire:fired", ({ outcome }) => fires.push({ at: Date.now(), slotAt: outcome.request.slotAt, by: name }));
  return { clock, sink };
}

/** The longest time in [fromAt, untilAt] without a fire. */
function longestStall(fires: readonly Fire[], fromAt: number, untilAt: number): number {
  const times = [fromAt, ...fires.map((fire) => fire.at).filter((at) => at >= fromAt && at <= untilAt), untilAt];
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return longest;
}

test("with a 2 s TTL and 1 s Redis round trips the leader never stalls longer than TTL + 1 s (validity regained wakes the planner)", async (t) => {
  const server = await startRedis();
  cleanups.push(() => server.close());
  const proxy = await startProxy(server.port, { delayMs: 500 }); // each way: a 1 s round trip
  cleanups.push(() => proxy.close());
  const fires: Fire[] = [];
  const { sink } = await start("slow", "latency", proxy.url, fires);
  await sink.waitFor((line) => line.msg === "leadership acquired", 20 * SECOND);
  // Measured from the first fire (start-up itself takes a few round trips).
  const firstBy = Date.now() + 20 * SECOND;
  while (fires.length === 0) {
    assert.ok(Date.now() < firstBy, "no fire within 20 s of leadership");
    await sleep(50);
  }
  const fromAt = fires[0]?.at ?? 0;
  await sleep(15 * SECOND);
  const untilAt = Date.now();
  const stallMs = longestStall(fires, fromAt, untilAt);
  const slots = new Set(fires.map((fire) => fire.slotAt));
  const expected = Math.floor((untilAt - fromAt) / SECOND);
  t.diagnostic(`1 s round trips, ttl 2 s: longest stall ${stallMs} ms; ${slots.size} slots fired of ${expected} in ${untilAt - fromAt} ms`);
  assert.ok(stallMs <= TTL_MS + SECOND, `a stall of ${stallMs} ms (fires: ${fires.length} in ${untilAt - fromAt} ms)`);
  // Under "latest" a stall skips slots: nearly every slot fired (a slack of 2 for a loaded machine).
  assert.ok(slots.size >= expected - 2, `${slots.size} slots fired in ${untilAt - fromAt} ms, want about ${expected}`);
  assert.equal(fires.length, slots.size, "a slot fired twice");
});

test("a leader whose Redis round trips outgrow the lease's validity lets the lease go, and a standby with a fast path leads", async (t) => {
  const server = await startRedis();
  cleanups.push(() => server.close());
  const proxy = await startProxy(server.port, { delayMs: 0 });
  cleanups.push(() => proxy.close());
  const fires: Fire[] = [];
  const slow = await start("slow", "latency-handover", proxy.url, fires);
  await slow.sink.waitFor((line) => line.msg === "leadership acquired", 20 * SECOND);
  const fast = await start("fast", "latency-handover", server.url, fires);
  const slowBy = Date.now() + 20 * SECOND;
  while (!fires.some((fire) => fire.by === "slow")) {
    assert.ok(Date.now() < slowBy, "the first leader never fired");
    await sleep(50);
  }
  assert.ok(!fast.clock.leadership.isLeader(), "the clock started second is a standby");

  const slowedAt = Date.now();
  proxy.delayMs = 900; // a 1.8 s round trip: more than the 1.5 s a 2 s lease is valid for
  const fastLeads = fast.clock.events.next("lease:changed", ({ leading }) => leading, 20 * SECOND);
  await slow.sink.waitFor((line) => line.msg.startsWith("lease let go: Redis replies take longer than the lease's validity"), 20 * SECOND);
  await fastLeads;
  const fastBy = Date.now() + 20 * SECOND;
  while (!fires.some((fire) => fire.by === "fast")) {
    assert.ok(Date.now() < fastBy, "the new leader never fired");
    await sleep(50);
  }
  await sleep(3 * SECOND);
  const untilAt = Date.now();
  // From the slowdown: the slow leader's validity runs out (1.5 s), its late renewal comes back (1.8 s),
  // its release reaches Redis (0.9 s) and the standby takes over at once, through the notification.
  const stallMs = longestStall(fires, slowedAt, untilAt);
  t.diagnostic(`handover after a slowdown to 1.8 s round trips: longest stall ${stallMs} ms`);
  assert.ok(stallMs <= 2 * TTL_MS + 2 * SECOND, `a stall of ${stallMs} ms across the handover`);
  const bySlot = new Map<number, number>();
  for (const fire of fires) bySlot.set(fire.slotAt, (bySlot.get(fire.slotAt) ?? 0) + 1);
  assert.deepEqual(
    [...bySlot].filter(([, count]) => count > 1),
    [],
    "a slot fired twice",
  );
  assert.ok(fires.filter((fire) => fire.by === "fast" && fire.at > untilAt - 2 * SECOND).length >= 1, "the fast standby keeps firing");
});

test("fake clock, 1 s round trips, ttl 2 s: however the planner's ticks fall against the lease's valid and invalid halves, no stall exceeds TTL + 1 s", async (t) => {
  // The timing is the logic here, so fake time: the lease's real scripts run on a real redis-server,
  // and every reply (lease and fire) reaches the clock 1 s of fake time after it was sent. A real
  // proxy cannot show this reliably: whether the planner's 1 s ticks alias with the lease's ~1.01 s
  // valid/invalid cycle depends on the phase they happen to start in.
  const server = await startRedis();
  cleanups.push(() => server.close());
  const real = withScripts(new Redis(server.url));
  const subscriber = new Redis(server.url);
  cleanups.push(async () => {
    real.disconnect();
    subscriber.disconnect();
  });
  const ROUND_TRIP_MS = SECOND;
  // In the past, so slots are never ahead of Redis time (not that this fire function asks Redis).
  const clock = new FakeClock(Math.floor(Date.now() / SECOND) * SECOND - HOUR + 3);
  const pending = new Set<Promise<unknown>>();
  const late = <T>(reply: Promise<T>): Promise<T> => {
    pending.add(reply);
    void reply.finally(() => pending.delete(reply)).catch(() => undefined);
    return reply.then((value) => new Promise<T>((resolve) => clock.setTimeout(() => resolve(value), ROUND_TRIP_MS)));
  };
  const slow = Object.create(real) as ScriptedRedis;
  Object.assign(slow, {
    clockLeaseAcquire: (...args: Parameters<ScriptedRedis["clockLeaseAcquire"]>) => late(real.clockLeaseAcquire(...args)),
    clockLeaseRenew: (...args: Parameters<ScriptedRedis["clockLeaseRenew"]>) => late(real.clockLeaseRenew(...args)),
    clockLeaseRelease: (...args: Parameters<ScriptedRedis["clockLeaseRelease"]>) => late(real.clockLeaseRelease(...args)),
  });
  const events = new ClockEvents();
  const lease = new RedisLease({ redis: slow, subscriber, keys: clockKeys("fake-latency"), clock, ttlMs: TTL_MS, retryMs: 200, events });
  const fired: number[] = [];
  const ledger = new Map<string, number>();
  const fire = (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    late(Promise.resolve()).then(() =>
      requests.map((request) => {
        const last = ledger.get(request.schedule.name);
        if (last !== undefined && last >= request.slotAt) return { request, status: "duplicate" as const, jobId: "", redisAt: clock.now() };
        ledger.set(request.schedule.name, request.slotAt);
        fired.push(clock.now());
        return { request, status: "fired" as const, jobId: String(request.slotAt), redisAt: clock.now() };
      }),
    );
  const tick = parseSchedule(
    "tick",
    { every: "1s", catchUp: { policy: "latest", window: "1h" }, job: { class: "Tick" } },
    { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP },
  );
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership: lease, events });
  planner.start([tick]);
  void lease.start();
  const run = async (ms: number): Promise<void> => {
    const untilMono = clock.monotonic() + ms;
    while (clock.monotonic() < untilMono) {
      await clock.advance(10);
      while (pending.size > 0) await Promise.all([...pending]);
    }
  };
  await run(3 * SECOND); // acquire: one round trip
  const fromAt = clock.now();
  await run(120 * SECOND);
  const untilAt = clock.now();
  const times = [fromAt, ...fired.filter((at) => at >= fromAt), untilAt];
  let stallMs = 0;
  for (let i = 1; i < times.length; i++) stallMs = Math.max(stallMs, (times[i] ?? 0) - (times[i - 1] ?? 0));
  const count = fired.filter((at) => at >= fromAt).length;
  t.diagnostic(`fake time: ${count} fires in 120 s, longest stall ${stallMs} ms`);
  assert.ok(stallMs <= TTL_MS + SECOND, `a stall of ${stallMs} ms; ${count} fires in 120 s`);
  // Stopping waits for replies too: fake time must go on meanwhile.
  const stopped = Promise.all([planner.stop(), lease.stop()]);
  await run(3 * SECOND);
  await stopped;
});
