/**
 * One-shots and limits (issue 15 item 5): `once` (an instant, or a local time by the DST rule),
 * `maxRuns` counted by the fire script in Redis, `expireAfter` stamped for workers and dropped by
 * catch-up. Pure where it can be, a real redis-server for the script.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ConfigError } from "../src/errors.ts";
import { ClockEvents } from "../src/events.ts";
import { Firer, type FireOutcome, type FireRequest } from "../src/fire/fire.ts";
import { listAdapter } from "../src/adapters/list.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { selectDueSlots } from "../src/planner/catch-up.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { describeSchedule } from "../src/schedule/describe.ts";
import { HOUR, MINUTE, SECOND } from "../src/schedule/duration.ts";
import { nextSlots } from "../src/schedule/slots.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { referenceSlots } from "./helpers/reference-calendar.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };
const job = { class: "Job", queue: "limits" };

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;
before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

function issuesOf(definition: Record<string, unknown>): string[] {
  try {
    parseSchedule("x", { job, ...definition }, defaults);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

test("once: a local time is read in the schedule's zone by the DST rule, as the reference oracle reads that wall time", () => {
  const cases: [string, string][] = [
    ["America/New_York", "2024-03-10T02:30"], // in the spring-forward gap: shifted by the gap
    ["America/New_York", "2024-11-03T01:30"], // twice on the wall: the first occurrence
    ["Australia/Lord_Howe", "2024-10-06T02:15"], // a 30-minute gap
    ["Europe/London", "2026-12-24 18:00:30"],
    ["Pacific/Apia", "2011-12-30T12:00"], // a day that never happened
  ];
  for (const [timezone, local] of cases) {
    const [date, time] = local.split(/[T ]/) as [string, string];
    const [year, month, day] = date.split("-").map(Number) as [number, number, number];
    const [hour, minute, second = 0] = time.split(":").map(Number) as [number, number, number?];
    const [expected] = referenceSlots(`${second} ${minute} ${hour} ${day} ${month} *`, timezone, Date.UTC(year, month - 1, day) - 2 * 86_400_000, 1);
    const schedule = parseSchedule("x", { once: local, timezone, job }, defaults);
    assert.deepEqual(schedule.rule, { kind: "once", at: expected }, `${local} ${timezone}`);
    // Its only slot: next agrees, and nothing follows it.
    assert.deepEqual(nextSlots(schedule, (expected ?? 0) - HOUR, 3), [expected]);
  }
  const instant = parseSchedule("x", { once: "2026-12-24T18:00:00Z", timezone: "America/New_York", job }, defaults);
  assert.deepEqual(instant.rule, { kind: "once", at: Date.parse("2026-12-24T18:00:00Z") });
  assert.equal(describeSchedule(instant), "once, at 2026-12-24 18:00:00 UTC (2026-12-24T13:00:00-05:00 America/New_York)");
});

test("once, maxRuns, expireAfter, labels and group: bad values are refused with the field's path", () => {
  assert.deepEqual(issuesOf({ once: "2026-12-24" }), ['x.once: "2026-12-24" is a date: give a time too ("2026-12-24T09:00" in the schedule\'s zone, or with "Z")']);
  assert.deepEqual(issuesOf({ once: "2026-02-30T10:00" }), ['x.once: invalid local time "2026-02-30T10:00": no such date or time']);
  assert.deepEqual(issuesOf({ once: "2026-12-24T18:00:00Z", cron: "* * * * *" }), ["x: has cron and once: use exactly one"]);
  assert.deepEqual(issuesOf({ every: "1m", maxRuns: 0, expireAfter: "soon" }), [
    "x.maxRuns: must be at least 1",
    'x.expireAfter: invalid duration "soon" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)',
  ]);
  assert.deepEqual(issuesOf({ every: "1m", labels: { team: 7, "bad key": "x" }, group: "tenant 42" }), [
    "x.labels.team: expected a string of at most 200 characters",
    "x.labels.bad key: invalid label name \"bad key\": use letters, digits, '.', '_', '-' or '/' (at most 100)",
    "x.group: expected a group name (letters, digits, '.', '_', '-' or ':', at most 200)",
  ]);
});

test("maxRuns is counted by the fire script in Redis: a new firer (a restart) stops after N fires, and a plain schedule counts nothing", async () => {
  const keys = clockKeys("limits");
  const schedule = parseSchedule("thrice", { every: "1s", maxRuns: 3, job }, defaults);
  const plain = parseSchedule("plain", { every: "1s", job }, defaults);
  const adapters = new Map([["list", listAdapter({}, { namespace: "limits" })]]);
  const firer = () => new Firer({ redis: withScripts(redis), keys, adapters, token: () => "", now: () => Date.now() });
  const base = Math.floor(Date.now() / SECOND) * SECOND - 10 * SECOND;
  const slots = (s: typeof schedule, from: number, count: number): FireRequest[] => Array.from({ length: count }, (_, i) => ({ schedule: s, slotAt: base + (from + i) * SECOND }));
  const before = await firer().fire([...slots(schedule, 0, 2), ...slots(plain, 0, 2)]);
  assert.deepEqual(
    before.map((outcome) => outcome.status),
    ["fired", "fired", "fired", "fired"],
  );
  // "Restarted": a firer with no memory; the count is Redis's.
  const after = await firer().fire(slots(schedule, 2, 3));
  assert.deepEqual(
    after.map((outcome) => outcome.status),
    ["fired", "done", "done"],
  );
  assert.equal(await redis.hget(keys.runs, "thrice"), "3");
  assert.equal(await redis.hget(keys.runs, "plain"), null);
  assert.equal(await redis.hget(keys.ledger, "thrice"), String(base + 2 * SECOND), "a refused slot does not advance the ledger");
  const queued = (await redis.lrange("jobs:limits", 0, -1)).map((raw) => JSON.parse(raw) as { schedule: string });
  assert.equal(queued.filter((message) => message.schedule === "thrice").length, 3);
});

test("expireAfter: the payload carries expiresAt = slot + expireAfter, and catch-up drops the slots whose jobs would arrive after it", () => {
  const stale = parseSchedule("stale", { every: "1m", expireAfter: "15m", catchUp: { policy: "all", window: "1h", max: 100 }, job }, defaults);
  const adapter = listAdapter({}, { namespace: "limits" });
  const [write] = adapter.writes?.({ schedule: "stale", slotAt: 60_000, jobId: "j", job: stale.job, enqueuedAt: 61_000, expiresAt: 60_000 + 15 * MINUTE }) ?? [];
  assert.equal((JSON.parse(write?.args[0] ?? "{}") as { expiresAt?: number }).expiresAt, 60_000 + 15 * MINUTE);
  const now = Date.parse("2026-01-05T10:00:00Z");
  const selection = selectDueSlots(stale, now - 30 * MINUTE, now);
  // 30 due slots (10:00 and the 29 before): the 16 within expireAfter fire, the 14 older are dropped as expired.
  assert.equal(selection.fire.length, 16);
  assert.equal(selection.fire[0], now - 15 * MINUTE);
  assert.equal(selection.expired, 14);
  assert.equal(selection.skipped, 14);
});

/** A planner over a fake clock with the fire script's semantics in memory. */
async function plannerOf(schedules: Parameters<Planner["start"]>[0], startAt: number, ledger = new Map<string, number>()) {
  const clock = new FakeClock(startAt);
  const fired: number[] = [];
  const skipped: number[] = [];
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    requests.map((request) => {
      if ((ledger.get(request.schedule.name) ?? -Infinity) >= request.slotAt) return { request, status: "duplicate", jobId: "", redisAt: clock.now() };
      ledger.set(request.schedule.name, request.slotAt);
      fired.push(request.slotAt);
      return { request, status: "fired", jobId: "", redisAt: clock.now() };
    });
  const events = new ClockEvents();
  events.on("planner:skipped", ({ count }) => skipped.push(count));
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, events });
  planner.start(schedules);
  await leadership.start();
  return { clock, planner, fired, skipped, ledger };
}

test("once: a slot missed while no clock ran fires late within the catch-up window, or is skipped and said; then the schedule is done", async () => {
  const at = Date.parse("2026-12-24T18:00:00Z");
  const once = parseSchedule("once", { once: "2026-12-24T18:00:00Z", job }, defaults);
  // The clock starts 20 minutes late: within the default window (1h), the slot fires at once.
  const late = await plannerOf([once], at + 20 * MINUTE);
  await late.clock.advance(2 * SECOND);
  assert.deepEqual(late.fired, [at]);
  await late.clock.advance(HOUR);
  assert.deepEqual(late.fired, [at], "fired once, never again");
  assert.equal(late.planner.nextAtOf("once"), undefined);
  await late.planner.stop();
  // Restarted afterwards: the ledger has it; nothing fires.
  const again = await plannerOf([once], at + 2 * HOUR, late.ledger);
  await again.clock.advance(2 * SECOND);
  assert.deepEqual(again.fired, []);
  await again.planner.stop();
  // Two hours late, never fired: past the window, skipped and said.
  const missed = await plannerOf([once], at + 2 * HOUR);
  await missed.clock.advance(2 * SECOND);
  assert.deepEqual(missed.fired, []);
  assert.deepEqual(missed.skipped, [1]);
  await missed.planner.stop();
});
