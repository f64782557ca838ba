/**
 * Bursts built ahead: a second before an instant at which many slots are due, the planner has the
 * firer build them (payloads, job ids, script arguments), and at the instant only the script calls
 * go out. A change to one of them in between drops what was built; the fire is built then, whole.
 * The planner on a fake clock, and the real Firer against a real redis-server.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildAdapters } from "../src/adapters/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockEvents } from "../src/events.ts";
import { Firer, type FireOutcome, type FireRequest } from "../src/fire/fire.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { HOUR, SECOND } from "../src/schedule/duration.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { testScope } from "./helpers/scope.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };
const hourly = (count: number): Schedule[] =>
  Array.from({ length: count }, (_, i) => parseSchedule(`tenant-${i}`, { cron: "0 * * * *", job: { class: "HourlyJob", args: [i], queue: "q" } }, defaults));

async function plannerWith(schedules: Schedule[], onPrepare?: () => void) {
  const clock = new FakeClock(T0 + 30 * 60 * SECOND);
  const prepared: { at: number; instantAt: number; count: number; handle: object }[] = [];
  const fires: { at: number; requests: readonly FireRequest[]; handle: unknown }[] = [];
  const ledger = new Map<string, number>();
  const leadership = new AlwaysLeader();
  const planner = new Planner({
    clock,
    leadership,
    events: new ClockEvents(),
    readLedger: async () => new Map(ledger),
    prepare: (requests, instantAt) => {
      const handle = { requests };
      prepared.push({ at: clock.now(), instantAt, count: requests.length, handle });
      onPrepare?.();
      return handle;
    },
    fire: async (requests, handle) => {
      fires.push({ at: clock.now(), requests, handle });
      return requests.map((request): FireOutcome => {
        ledger.set(request.schedule.name, request.slotAt);
        return { request, status: "fired", jobId: "", redisAt: clock.now() };
      });
    },
  });
  planner.start(schedules);
  await leadership.start();
  return { clock, planner, prepared, fires };
}

test("a burst of 200 slots at one instant is built a second ahead; at the instant the fire gets what was built", async () => {
  const h = await plannerWith(hourly(200));
  const instantAt = T0 + HOUR;
  await h.clock.advance(instantAt - h.clock.now() - 1500);
  assert.equal(h.prepared.length, 0, "not built earlier than a second ahead");
  await h.clock.advance(1000);
  assert.equal(h.prepared.length, 1);
  assert.equal(h.prepared[0]?.instantAt, instantAt);
  assert.equal(h.prepared[0]?.count, 200);
  assert.ok((h.prepared[0]?.at ?? 0) <= instantAt - 500, "built ahead of the instant");
  await h.clock.advance(600);
  assert.equal(h.fires.length, 1);
  const fire = h.fires[0];
  assert.equal(fire?.at, instantAt, "fired at the instant");
  assert.equal(fire?.handle, h.prepared[0]?.handle, "with what was built");
  const built = (h.prepared[0]?.handle as { requests: readonly FireRequest[] }).requests;
  assert.ok(fire !== undefined && fire.requests.length === built.length && built.every((request, i) => fire.requests[i] === request), "the same requests, first");
  await h.planner.stop();
});

test("beside a one-second tick (the instant is under a second away at every wake) the burst is still built ahead, not at the instant", async () => {
  const tick = parseSchedule("tick", { every: "1s", job: { class: "Tick", queue: "q" } }, defaults);
  const h = await plannerWith([...hourly(200), tick]);
  const instantAt = T0 + HOUR;
  await h.clock.advance(instantAt - h.clock.now() - 100);
  const built = h.prepared.find((entry) => entry.instantAt === instantAt);
  assert.ok(built !== undefined, "built before the instant");
  assert.equal(built.count, 201, "the 200 and the tick due at the same instant");
  assert.ok(built.at <= instantAt - 900, `built ${instantAt - built.at} ms ahead`);
  await h.clock.advance(200);
  assert.equal(h.fires.find((fire) => fire.at === instantAt)?.handle, built.handle);
  await h.planner.stop();
});

test("a change to one schedule of the burst in between drops what was built: the fire is built at the instant, with the change", async () => {
  const schedules = hourly(100);
  const h = await plannerWith(schedules);
  const instantAt = T0 + HOUR;
  await h.clock.advance(instantAt - h.clock.now() - 300);
  assert.equal(h.prepared.length, 1);
  const changed = parseSchedule("tenant-7", { cron: "0 * * * *", job: { class: "HourlyJob", args: ["changed"], queue: "q" } }, defaults);
  h.planner.upsert(changed);
  await h.clock.advance(400);
  assert.equal(h.fires.length, 1);
  assert.equal(h.fires[0]?.handle, undefined, "nothing built ahead is used");
  assert.deepEqual(h.fires[0]?.requests.find((request) => request.schedule.name === "tenant-7")?.schedule.job.args, ["changed"]);
  assert.equal(h.fires[0]?.requests.length, 100);
  await h.planner.stop();
});

test("a small instant (under 50 slots) is built at the instant, as before", async () => {
  const h = await plannerWith(hourly(10));
  await h.clock.advance(T0 + HOUR - h.clock.now() + 100);
  assert.equal(h.prepared.length, 0);
  assert.equal(h.fires.length, 1);
  assert.equal(h.fires[0]?.handle, undefined);
  await h.planner.stop();
});

test("the Firer: a prepared fire writes exactly what a fire built at the instant writes", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const adapters = buildAdapters(new Set(["list"]), {}, { namespace: "clock", connect: () => scope.client(server.url) } as never);
  const schedules = hourly(120);
  const slotAt = Date.now() - 1000;
  const results: string[][] = [];
  for (const way of ["at the instant", "prepared"] as const) {
    const redis = withScripts(scope.client(server.url));
    await redis.flushdb(); // the throwaway server of this test only
    const firer = new Firer({ redis, keys: clockKeys("clock"), adapters, token: () => "", now: () => slotAt, batchSize: 50 });
    const requests = schedules.map((schedule) => ({ schedule, slotAt }));
    const outcomes = way === "prepared" ? await firer.fire(requests, firer.prepare(requests, slotAt)) : await firer.fire(requests);
    assert.ok(
      outcomes.every((outcome) => outcome.status === "fired"),
      way,
    );
    results.push(await redis.lrange("jobs:q", 0, -1));
  }
  assert.equal(results[0]?.length, 120);
  assert.deepEqual(results[1], results[0]);
});

test("a burst of 20,000 is built from 4 s ahead, 5,000 at a time (the event loop turns between parts); the fire gets all of it", async () => {
  let partsAtNextTurn = -1;
  const h = await plannerWith(hourly(20_000), () => {
    // At the first part: how many are built by the next turn of the event loop.
    if (h.prepared.length === 1) setImmediate(() => (partsAtNextTurn = h.prepared.length));
  });
  const instantAt = T0 + HOUR;
  await h.clock.advance(instantAt - h.clock.now() - 4500);
  assert.equal(h.prepared.length, 0, "not built earlier than 4 s ahead");
  await h.clock.advance(1000);
  for (let turns = 0; h.prepared.length < 4 && turns < 100; turns++) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(
    h.prepared.map((part) => part.count),
    [5000, 5000, 5000, 5000],
  );
  assert.ok(partsAtNextTurn >= 1 && partsAtNextTurn < 4, `${partsAtNextTurn} of 4 parts built before the event loop turned`);
  assert.ok(h.prepared.every((part) => part.instantAt === instantAt && part.at <= instantAt - 3000));
  await h.clock.advance(instantAt - h.clock.now() + 100);
  assert.equal(h.fires.length, 1);
  const fire = h.fires[0];
  assert.equal(fire?.handle, h.prepared[3]?.handle, "with the last part's handle (the parts extend the first)");
  assert.equal(fire?.requests.length, 20_000);
  await h.planner.stop();
});

test("the Firer: a burst prepared in parts writes exactly what a fire built at the instant writes; a big fire lets the event loop turn every 10 script calls", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const adapters = buildAdapters(new Set(["list"]), {}, { namespace: "clock", connect: () => scope.client(server.url) } as never);
  const schedules = hourly(1300);
  const slotAt = Date.now() - 1000;
  const results: string[][] = [];
  for (const way of ["at the instant", "prepared in parts"] as const) {
    const redis = withScripts(scope.client(server.url));
    await redis.flushdb(); // the throwaway server of this test only
    let calls = 0;
    const counted = new Proxy(redis, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== "clockFire" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
        return (...args: unknown[]) => {
          calls++;
          return (value as (...args: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const firer = new Firer({ redis: counted, keys: clockKeys("clock"), adapters, token: () => "", now: () => slotAt, batchSize: 50 });
    const requests = schedules.map((schedule) => ({ schedule, slotAt }));
    let prepared;
    if (way === "prepared in parts") for (let from = 0; from < 1000; from += 250) prepared = firer.prepare(requests.slice(from, from + 250), slotAt, prepared);
    let callsAtNextTurn = -1;
    setImmediate(() => (callsAtNextTurn = calls));
    const outcomes = await firer.fire(requests, prepared);
    assert.ok(
      outcomes.every((outcome) => outcome.status === "fired"),
      way,
    );
    assert.equal(calls, 26, `${way}: 1,300 slots in script calls of 50`);
    assert.equal(callsAtNextTurn, 10, `${way}: script calls sent before the event loop turned`);
    results.push(await redis.lrange("jobs:q", 0, -1));
  }
  assert.equal(results[0]?.length, 1300);
  assert.deepEqual(results[1], results[0]);
});
