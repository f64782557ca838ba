/**
 * A host whose clock is off from Redis TIME (the clock the fire script judges slots by): the
 * planner over a ReferenceClock fires every slot once, on time by Redis. The "Redis" here is the
 * fake clock plus an offset, and each fire's reply is a reading of it, as in fire.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSchedule, DEFAULT_CATCH_UP } from "../src/config/resolve.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { ClockEvents } from "../src/events.ts";
import { Planner } from "../src/planner/planner.ts";
import { HOUR, MINUTE, SECOND } from "../src/schedule/duration.ts";
import type { CatchUpPolicy, Schedule } from "../src/schedule/schedule.ts";
import { ReferenceClock, type Clock, type OffsetChange } from "../src/time.ts";
import { FakeClock } from "./helpers/fake-clock.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
/** Redis's replies take this long each way. */
const HALF_TRIP_MS = 2;

function schedule(name: string, every: string, policy: CatchUpPolicy): Schedule {
  return parseSchedule(name, { every, job: { class: "Job" }, catchUp: { policy } }, { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP });
}

interface Run {
  readonly host: FakeClock;
  readonly reference: ReferenceClock;
  readonly fired: { slotAt: number; redisAt: number }[];
  readonly early: number[];
  readonly skipped: number[];
  readonly changes: OffsetChange[];
  readonly steps: number[];
  /** Redis time: the host's monotonic clock (which never steps) plus where Redis stood at its start. */
  redisNow(): number;
  stop(): Promise<void>;
}

/** A planner whose host clock is `skewMs` ahead of Redis, reading Redis time as the daemon does: once before planning, then from each fire's reply. */
async function run(skewMs: number, schedules: Schedule[], options: { corrected?: boolean } = {}): Promise<Run> {
  const host = new FakeClock(T0 + skewMs);
  const redisNow = (): number => T0 + host.monotonic();
  const changes: OffsetChange[] = [];
  const steps: number[] = [];
  const reference = new ReferenceClock(host, {
    onChange: (change) => changes.push(change),
    onStep: (stepMs) => {
      steps.push(stepMs);
      read();
    },
  });
  const read = (): void => reference.sample({ referenceMs: redisNow(), sentMono: host.monotonic() - HALF_TRIP_MS, receivedMono: host.monotonic() + HALF_TRIP_MS });
  const clock: Clock = options.corrected === false ? host : reference;
  const fired: Run["fired"] = [];
  const early: number[] = [];
  const ledger = new Map<string, number>();
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> => {
    const redisAt = redisNow();
    read();
    return requests.map((request): FireOutcome => {
      if (request.slotAt > redisAt) {
        early.push(request.slotAt);
        return { request, status: "early", jobId: "", redisAt };
      }
      if ((ledger.get(request.schedule.name) ?? -Infinity) >= request.slotAt) return { request, status: "duplicate", jobId: "", redisAt };
      ledger.set(request.schedule.name, request.slotAt);
      fired.push({ slotAt: request.slotAt, redisAt });
      return { request, status: "fired", jobId: "", redisAt };
    });
  };
  const events = new ClockEvents();
  const skipped: number[] = [];
  events.on("planner:skipped", ({ count }) => skipped.push(count));
  if (options.corrected !== false) read(); // start.ts reads Redis time before the planner starts
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, events });
  planner.start(schedules);
  await leadership.start();
  return { host, reference, fired, early, skipped, changes, steps, redisNow, stop: () => planner.stop() };
}

function assertEverySlotOnce(r: Run, fromRedis: number, periodMs: number, count: number, maxLagMs: number): void {
  const slots = r.fired.map((fire) => fire.slotAt);
  assert.equal(new Set(slots).size, slots.length, "no slot fires twice");
  const expected = Array.from({ length: count }, (_, i) => fromRedis + (i + 1) * periodMs);
  assert.deepEqual(
    slots.filter((slot) => slot <= expected.at(-1)!).map((slot) => slot - T0),
    expected.map((slot) => slot - T0),
  );
  for (const fire of r.fired) {
    assert.ok(fire.redisAt >= fire.slotAt, "never before the slot by Redis time");
    assert.ok(fire.redisAt - fire.slotAt <= maxLagMs, `slot ${fire.slotAt - T0} fired ${fire.redisAt - fire.slotAt} ms late by Redis time`);
  }
}

test("the planner on the host's own clock, 3 s ahead of Redis, fires almost nothing under latest (the bug a ReferenceClock fixes)", async () => {
  const r = await run(3 * SECOND, [schedule("tick", "1s", "latest")], { corrected: false });
  await r.host.advance(40 * SECOND);
  assert.ok(r.fired.length < 10, `${r.fired.length} of 40 slots fired`);
  assert.ok(r.early.length > 10, "Redis refused the host's slots as early");
  await r.stop();
});

for (const { skewMs, every, periodMs, slots } of [
  { skewMs: 3 * SECOND, every: "1s", periodMs: SECOND, slots: 40 },
  { skewMs: -3 * SECOND, every: "1s", periodMs: SECOND, slots: 40 },
  { skewMs: 30 * SECOND, every: "1s", periodMs: SECOND, slots: 40 },
  { skewMs: 30 * SECOND, every: "10s", periodMs: 10 * SECOND, slots: 4 },
]) {
  for (const policy of ["latest", "none", "all"] as const) {
    test(`a host ${skewMs / SECOND} s off from Redis fires every slot of an every-${every} schedule once, on time by Redis (${policy})`, async () => {
      const r = await run(skewMs, [schedule("tick", every, policy)]);
      assert.ok(Math.abs(r.reference.offsetMs + skewMs) <= HALF_TRIP_MS, `offset ${r.reference.offsetMs}`);
      await r.host.advance(slots * periodMs + 100);
      // The fake Redis answers at once: "on time" here is within the measurement's uncertainty.
      assertEverySlotOnce(r, T0, periodMs, slots, 2 * HALF_TRIP_MS);
      assert.deepEqual(r.skipped, [], "no slot is called missed");
      assert.ok(r.early.length <= 2, `${r.early.length} early refusals`);
      await r.stop();
    });
  }
}

test("a fresh start with policy all on a host 30 s ahead fires its first 30 s of slots (it starts from Redis's now, not its own)", async () => {
  const r = await run(30 * SECOND, [schedule("tick", "1s", "all")]);
  await r.host.advance(5 * SECOND + 100);
  assert.deepEqual(
    r.fired.map((fire) => fire.slotAt - T0),
    [1, 2, 3, 4, 5].map((s) => s * SECOND),
  );
  await r.stop();
});

for (const jumpMs of [HOUR, -HOUR, 5 * MINUTE]) {
  test(`the host's wall clock stepping by ${jumpMs / MINUTE} min mid-run changes nothing: every slot once, on time by Redis`, async () => {
    const r = await run(0, [schedule("tick", "1s", "latest")]);
    await r.host.advance(10 * SECOND + 500);
    r.host.jump(jumpMs);
    await r.host.advance(20 * SECOND);
    assertEverySlotOnce(r, T0, SECOND, 30, 2 * HALF_TRIP_MS);
    assert.equal(r.steps.length, 1, "the step is reported once");
    assert.equal(Math.round(r.steps[0]!), jumpMs);
    assert.ok(Math.abs(r.reference.offsetMs + jumpMs) <= HALF_TRIP_MS, "the next reading takes the step into the offset");
    await r.stop();
  });
}

test("a reading within its own round trip of the offset in use changes nothing; a larger one is reported", () => {
  const host = new FakeClock(T0);
  const changes: OffsetChange[] = [];
  const reference = new ReferenceClock(host, { onChange: (change) => changes.push(change) });
  const at = (offsetMs: number, halfTripMs: number): void =>
    reference.sample({ referenceMs: T0 + host.monotonic() + offsetMs, sentMono: host.monotonic() - halfTripMs, receivedMono: host.monotonic() + halfTripMs });
  at(0.4, 0.1);
  assert.equal(reference.offsetMs, 0, "under a millisecond: noise");
  at(3, 5);
  assert.equal(reference.offsetMs, 0, "3 ms off with a 10 ms round trip: within the reading's uncertainty");
  at(700, 1);
  assert.equal(reference.offsetMs, 700);
  assert.equal(reference.now(), host.now() + 700);
  at(700.5, 1);
  assert.equal(reference.offsetMs, 700, "no wandering with each reading");
  at(0, 1);
  assert.deepEqual(
    changes.map((change) => [change.previousMs, change.offsetMs]),
    [
      [0, 700],
      [700, 0],
    ],
  );
});

test("a step first seen by a reading (not by now()) is reported once all the same", () => {
  const host = new FakeClock(T0);
  const steps: number[] = [];
  const reference = new ReferenceClock(host, { onStep: (stepMs) => steps.push(stepMs) });
  host.jump(30 * SECOND);
  reference.sample({ referenceMs: T0, sentMono: 0, receivedMono: 0 });
  assert.deepEqual(steps, [30 * SECOND]);
  assert.equal(reference.now(), T0, "and the reading puts the step into the offset");
  assert.deepEqual(steps, [30 * SECOND], "now() does not report it again");
});
