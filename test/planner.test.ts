import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSchedule, DEFAULT_CATCH_UP } from "../src/config/resolve.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { AlwaysLeader, type Leadership } from "../src/lease/lease.ts";
import { ClockEvents } from "../src/events.ts";
import { Planner } from "../src/planner/planner.ts";
import { selectDueSlots } from "../src/planner/catch-up.ts";
import { DAY, HOUR, MINUTE, SECOND } from "../src/schedule/duration.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { FakeClock } from "./helpers/fake-clock.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };

function schedule(name: string, definition: Record<string, unknown>): Schedule {
  return parseSchedule(name, { job: { class: "Job" }, ...definition }, defaults);
}

interface Harness {
  clock: FakeClock;
  planner: Planner;
  fired: { schedule: string; slotAt: number; firedAt: number }[];
  ledger: Map<string, number>;
  events: string[];
  leadership: Leadership;
  failNext: { count: number };
}

/** A planner over a fake clock and an in-memory ledger that behaves like the fire script. */
async function harness(schedules: Schedule[], options: { startAt?: number; ledger?: Map<string, number>; leadership?: Leadership } = {}): Promise<Harness> {
  const clock = new FakeClock(options.startAt ?? T0);
  const ledger = options.ledger ?? new Map<string, number>();
  const fired: Harness["fired"] = [];
  const events: string[] = [];
  const failNext = { count: 0 };
  const leadership = options.leadership ?? new AlwaysLeader();
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> => {
    if (failNext.count > 0) {
      failNext.count--;
      throw new Error("connection lost");
    }
    return requests.map((request) => {
      const last = ledger.get(request.schedule.name);
      if (request.slotAt > clock.now()) return { request, status: "early", jobId: "", redisAt: clock.now() };
      if (last !== undefined && last >= request.slotAt) return { request, status: "duplicate", jobId: "", redisAt: clock.now() };
      ledger.set(request.schedule.name, request.slotAt);
      fired.push({ schedule: request.schedule.name, slotAt: request.slotAt, firedAt: clock.now() });
      return { request, status: "fired", jobId: `${request.schedule.name}-${request.slotAt}`, redisAt: clock.now() };
    });
  };
  const bus = new ClockEvents();
  bus.on("planner:skipped", ({ schedule: s, count, capped }) => events.push(`skipped ${s.name} ${count}${capped ? " capped" : ""}`));
  bus.on("planner:clock-jump", ({ jumpMs }) => events.push(`jump ${jumpMs > 0 ? "forward" : "backward"}`));
  bus.on("fire:failed", () => events.push("failed"));
  bus.on("planner:ledger-lost", ({ schedules: count, examples }) =>
    events.push(`ledger lost ${count} ${examples.map((e) => `${e.name}@${e.ledgerAt === null ? "gone" : e.ledgerAt}`).join(",")}`),
  );
  bus.on("planner:late-wake", () => events.push("late"));
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, events: bus });
  planner.start(schedules);
  await leadership.start();
  return { clock, planner, fired, ledger, events, leadership, failNext };
}

test("fires every slot at its instant, never before it", async () => {
  const h = await harness([schedule("tick", { every: "1s" }), schedule("five", { cron: "*/5 * * * * *" })]);
  await h.clock.advance(10 * SECOND + 1);
  const ticks = h.fired.filter((fire) => fire.schedule === "tick");
  assert.deepEqual(
    ticks.map((fire) => fire.slotAt - T0),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * SECOND),
  );
  assert.deepEqual(
    h.fired.filter((fire) => fire.schedule === "five").map((fire) => fire.slotAt - T0),
    [5 * SECOND, 10 * SECOND],
  );
  for (const fire of h.fired) {
    assert.ok(fire.firedAt >= fire.slotAt, `fired ${fire.slotAt - fire.firedAt} ms early`);
    assert.equal(fire.firedAt, fire.slotAt, "the fake clock has no latency: the fire is at the instant");
  }
  await h.planner.stop();
});

test("one timer for all schedules, however many", async () => {
  const schedules = Array.from({ length: 500 }, (_, i) => schedule(`s${i}`, { every: `${(i % 7) + 1}s` }));
  const h = await harness(schedules);
  await h.clock.advance(3 * SECOND);
  assert.ok(h.clock.pendingTimers <= 1, `${h.clock.pendingTimers} timers pending`);
  await h.planner.stop();
});

test("sleeps at most a second while nothing is due, and fires nothing early after a long sleep", async () => {
  const h = await harness([schedule("daily", { cron: "0 0 * * *" })]);
  await h.clock.advance(HOUR);
  assert.equal(h.fired.length, 0);
  // One wake-up a second at most: cheap, and a wall-clock jump is noticed within a second.
  assert.ok(h.clock.fired <= 3700, `${h.clock.fired} wake-ups in an hour`);
  assert.ok(h.clock.fired >= 3500, `${h.clock.fired} wake-ups in an hour: sleeping too long to notice jumps`);
  await h.clock.advance(14 * HOUR);
  assert.deepEqual(
    h.fired.map((fire) => new Date(fire.slotAt).toISOString()),
    ["2026-01-06T00:00:00.000Z"],
  );
  await h.planner.stop();
});

test("a restart continues after the ledger: the slot already fired is not fired again", async () => {
  const ledger = new Map([["tick", T0]]);
  const h = await harness([schedule("tick", { every: "1s" })], { startAt: T0 + 200, ledger });
  await h.clock.advance(2 * SECOND);
  assert.deepEqual(
    h.fired.map((fire) => fire.slotAt - T0),
    [SECOND, 2 * SECOND],
  );
  await h.planner.stop();
});

test("catch-up policy latest fires only the newest missed slot, late rather than never", async () => {
  const ledger = new Map([["tick", T0 - 30 * SECOND]]);
  const h = await harness([schedule("tick", { every: "10s" })], { startAt: T0 + 500, ledger });
  await h.clock.advance(1);
  assert.deepEqual(
    h.fired.map((fire) => fire.slotAt - T0),
    [0],
  );
  assert.deepEqual(h.events, ["skipped tick 2"]);
  await h.planner.stop();
});

test("catch-up policy all fires every missed slot up to max, and says when the bound is hit", async () => {
  const ledger = new Map([["tick", T0 - 60 * SECOND]]);
  const s = schedule("tick", { every: "10s", catchUp: { policy: "all", window: "10m", max: 3 } });
  const h = await harness([s], { startAt: T0 + 500, ledger });
  await h.clock.advance(1);
  assert.deepEqual(
    h.fired.map((fire) => fire.slotAt - T0),
    [-20 * SECOND, -10 * SECOND, 0],
  );
  assert.deepEqual(h.events, ["skipped tick 3 capped"]);
  await h.planner.stop();
});

test("catch-up policy none skips missed slots but still fires an on-time one", async () => {
  const ledger = new Map([["tick", T0 - 60 * SECOND]]);
  const s = schedule("tick", { every: "10s", catchUp: { policy: "none" } });
  const h = await harness([s], { startAt: T0 + 20 * SECOND + 500, ledger });
  await h.clock.advance(1);
  assert.equal(h.fired.length, 1, "the 20 s slot is 500 ms late: on time");
  const late = await harness([schedule("tock", { every: "10s", catchUp: { policy: "none" } })], { startAt: T0 + 27 * SECOND, ledger: new Map([["tock", T0]]) });
  await late.clock.advance(1);
  assert.equal(late.fired.length, 0, "the 20 s slot is 7 s late: missed, and policy none skips it");
  await late.clock.advance(3 * SECOND);
  assert.deepEqual(
    late.fired.map((fire) => fire.slotAt - T0),
    [30 * SECOND],
  );
  await h.planner.stop();
  await late.planner.stop();
});

test("slots older than the catch-up window never fire", () => {
  const s = schedule("hourly", { cron: "0 * * * *", catchUp: { policy: "all", window: "90m", max: 10 } });
  const selection = selectDueSlots(s, T0 - 5 * HOUR, T0 + 10 * MINUTE);
  assert.deepEqual(
    selection.fire.map((at) => (at - T0) / HOUR),
    [-1, 0],
  );
  assert.equal(selection.skipped, 3);
});

test("a brand-new schedule does not back-fill history", async () => {
  const h = await harness([schedule("hourly", { cron: "0 * * * *", catchUp: { policy: "all", window: "1d", max: 100 } })], { startAt: T0 + 30 * MINUTE });
  await h.clock.advance(MINUTE);
  assert.equal(h.fired.length, 0);
  await h.clock.advance(30 * MINUTE);
  assert.deepEqual(
    h.fired.map((fire) => fire.slotAt - T0),
    [HOUR],
  );
  await h.planner.stop();
});

test("a Redis outage: retries with backoff, then catches up per policy", async () => {
  const s = schedule("tick", { every: "1s", catchUp: { policy: "all", window: "1m", max: 100 } });
  const h = await harness([s]);
  await h.clock.advance(2 * SECOND);
  h.failNext.count = 6;
  await h.clock.advance(5 * SECOND);
  assert.ok(h.events.includes("failed"));
  await h.clock.advance(5 * SECOND);
  const slots = h.fired.map((fire) => (fire.slotAt - T0) / SECOND);
  assert.deepEqual(
    slots,
    Array.from({ length: 12 }, (_, i) => i + 1),
    "every slot once, none lost, none doubled",
  );
  await h.planner.stop();
});

for (const policy of ["all", "latest"] as const) {
  test(`Redis restarted without its data during an outage: the outage's slots follow the catch-up policy (${policy}), said loudly, none fired twice`, async () => {
    const s = schedule("tick", { every: "1s", catchUp: { policy, window: "1m", max: 100 } });
    const h = await harness([s]);
    await h.clock.advance(3 * SECOND);
    h.failNext.count = 6;
    h.ledger.clear(); // the restarted Redis has no ledger
    await h.clock.advance(5 * SECOND);
    assert.ok(h.events.includes("failed"));
    await h.clock.advance(5 * SECOND);
    const slots = h.fired.map((fire) => (fire.slotAt - T0) / SECOND);
    assert.equal(new Set(slots).size, slots.length, "no slot fires twice");
    assert.ok(h.events.includes("ledger lost 1 tick@gone"), h.events.join("; "));
    if (policy === "all") {
      assert.deepEqual(
        slots,
        Array.from({ length: 13 }, (_, i) => i + 1),
        "every slot once: the outage's caught up",
      );
    } else {
      const firstAfter = slots.findIndex((slot, i) => i > 0 && slot !== (slots[i - 1] ?? 0) + 1);
      assert.equal(firstAfter, 3, `slots ${slots.join(",")}`);
      const skippedEvent = h.events.find((event) => event.startsWith("skipped tick"));
      assert.ok(skippedEvent !== undefined, "the outage's older slots are skipped by policy, and said");
      const skipped = Number(skippedEvent.split(" ")[2]);
      assert.equal((slots[3] ?? 0) - 3 - 1, skipped, "every slot between the last fired and the caught-up one is counted as skipped");
    }
    await h.planner.stop();
  });
}

test("a ledger that went back (a failover to a replica behind): the slots after it fire again per policy, said loudly", async () => {
  const s = schedule("tick", { every: "1s", catchUp: { policy: "all", window: "1h", max: 100 } });
  const h = await harness([s]);
  await h.clock.advance(5 * SECOND);
  // The replica had slots up to 2 s: the jobs of 3..5 went with the writes it never received.
  h.ledger.set("tick", T0 + 2 * SECOND);
  h.planner.invalidate();
  await h.clock.advance(3 * SECOND);
  assert.deepEqual(
    h.fired.map((fire) => (fire.slotAt - T0) / SECOND),
    [1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8],
  );
  assert.ok(h.events.includes(`ledger lost 1 tick@${T0 + 2 * SECOND}`), h.events.join("; "));
  await h.planner.stop();
});

test("a forward wall-clock jump is noticed within a second and caught up per policy", async () => {
  const h = await harness([schedule("minutely", { cron: "* * * * *" })]);
  await h.clock.advance(MINUTE + 1);
  h.clock.jump(10 * MINUTE);
  await h.clock.advance(SECOND);
  assert.ok(h.events.includes("jump forward"));
  assert.deepEqual(
    h.fired.map((fire) => (fire.slotAt - T0) / MINUTE),
    [1, 11],
  );
  assert.ok(h.events.includes("skipped minutely 9"));
  await h.planner.stop();
});

test("a backward wall-clock jump never fires a slot twice", async () => {
  const h = await harness([schedule("tick", { every: "1s" })]);
  await h.clock.advance(5 * SECOND);
  h.clock.jump(-HOUR);
  await h.clock.advance(SECOND);
  assert.ok(h.events.includes("jump backward"));
  await h.clock.advance(HOUR + 3 * SECOND);
  const slots = h.fired.map((fire) => fire.slotAt);
  assert.equal(new Set(slots).size, slots.length, "no duplicate slot");
  assert.deepEqual(
    slots.slice(0, 6).map((at) => (at - T0) / SECOND),
    [1, 2, 3, 4, 5, 6],
  );
  await h.planner.stop();
});

test("a multi-day suspend: bounded catch-up and no spinning", async () => {
  const s = schedule("minutely", { cron: "* * * * *", catchUp: { policy: "all", window: "7d", max: 50 } });
  const h = await harness([s]);
  await h.clock.advance(MINUTE);
  const wakeups = h.clock.fired;
  h.clock.freeze(3 * DAY);
  await h.clock.advance(SECOND);
  assert.equal(h.fired.length, 1 + 50, "the bound holds");
  assert.ok(h.events.some((event) => event.startsWith("skipped minutely") && event.endsWith("capped")));
  assert.ok(h.clock.fired - wakeups < 10, `${h.clock.fired - wakeups} wake-ups after resume`);
  await h.planner.stop();
});

test("a standby fires nothing; on becoming leader it continues after the ledger", async () => {
  let leading = false;
  const listeners: ((leader: boolean) => void)[] = [];
  const leadership: Leadership = {
    token: () => "t",
    isLeader: () => leading,
    onChange: (listener) => listeners.push(listener),
    start: async () => undefined,
    stop: async () => undefined,
  };
  const ledger = new Map<string, number>();
  const h = await harness([schedule("tick", { every: "1s" })], { leadership, ledger });
  await h.clock.advance(5 * SECOND);
  assert.equal(h.fired.length, 0);
  ledger.set("tick", T0 + 4 * SECOND); // another process fired up to here
  leading = true;
  for (const listener of listeners) listener(true);
  await h.clock.advance(2 * SECOND);
  assert.deepEqual(
    h.fired.map((fire) => (fire.slotAt - T0) / SECOND),
    [5, 6, 7],
  );
  await h.planner.stop();
});

test("a schedule replaced while running keeps its ledger position; a removed one stops", async () => {
  const h = await harness([schedule("tick", { every: "1s" })]);
  await h.clock.advance(3 * SECOND);
  h.planner.upsert(schedule("tick", { every: "2s" }));
  await h.clock.advance(4 * SECOND);
  assert.deepEqual(
    h.fired.map((fire) => (fire.slotAt - T0) / SECOND),
    [1, 2, 3, 4, 6],
  );
  h.planner.remove("tick");
  await h.clock.advance(4 * SECOND);
  assert.equal(h.fired.length, 5);
  await h.planner.stop();
});

test("endAt stops a schedule; startAt holds it back", async () => {
  const bounded = schedule("bounded", { every: "1s", startAt: T0 + 3 * SECOND, endAt: T0 + 5 * SECOND });
  const h = await harness([bounded]);
  await h.clock.advance(10 * SECOND);
  assert.deepEqual(
    h.fired.map((fire) => (fire.slotAt - T0) / SECOND),
    [3, 4, 5],
  );
  await h.planner.stop();
});

test("a fenced fire (the lease was lost) backs off instead of retrying in a hot loop", async () => {
  const clock = new FakeClock(T0);
  let calls = 0;
  const leadership = new AlwaysLeader();
  const planner = new Planner({
    clock,
    leadership,
    readLedger: async () => new Map(),
    events: new ClockEvents(),
    fire: async (requests) => {
      calls++;
      return requests.map((request) => ({ request, status: "fenced" as const, jobId: "", redisAt: clock.now() }));
    },
  });
  planner.start([schedule("tick", { every: "1s" })]);
  await leadership.start();
  await clock.advance(3 * SECOND);
  assert.ok(calls <= 4, `${calls} fire attempts in 3 s while fenced`);
  await planner.stop();
});

test("paced catch-up: 20 missed slots at 5/s go out 5 a second, oldest first, while another schedule's slots fire on time", async () => {
  // Ledger 20 minutes back on a 1-minute schedule: 20 missed slots (the 20th on time at T0).
  const ledger = new Map([["report", T0 - 20 * MINUTE]]);
  const paced = schedule("report", { every: "1m", catchUp: { policy: "all", window: "1h", rate: "5/s" } });
  const tick = schedule("tick", { every: "1s" });
  const h = await harness([paced, tick], { startAt: T0 + 500, ledger });
  await h.clock.advance(5 * SECOND);
  const reports = h.fired.filter((fire) => fire.schedule === "report");
  assert.deepEqual(
    reports.map((fire) => (fire.slotAt - T0) / MINUTE),
    Array.from({ length: 20 }, (_, i) => i - 19),
    "every missed slot once, in order",
  );
  const perSecond = new Map<number, number>();
  for (const fire of reports) perSecond.set(Math.floor((fire.firedAt - T0) / SECOND), (perSecond.get(Math.floor((fire.firedAt - T0) / SECOND)) ?? 0) + 1);
  assert.deepEqual([...perSecond.values()], [5, 5, 5, 5], "at most 5 a second, not one burst of 20");
  const ticks = h.fired.filter((fire) => fire.schedule === "tick");
  assert.deepEqual(
    ticks.map((fire) => fire.firedAt - fire.slotAt),
    [0, 0, 0, 0, 0],
    "the other schedule's slots are not held back",
  );
  assert.equal(h.planner.nextAtOf("report"), T0 + MINUTE, "status shows the next slot, not the next batch");
  await h.planner.stop();
});

test("catchUp.rate is validated with the schedule and field named", () => {
  assert.throws(
    () => schedule("report", { every: "1m", catchUp: { policy: "all", rate: "fast" } }),
    (error: Error) => /report\.catchUp\.rate: invalid rate "fast"/.test(error.message),
  );
  assert.throws(
    () => schedule("report", { every: "1m", catchUp: { policy: "latest", rate: "10/s" } }),
    (error: Error) => /report\.catchUp\.rate: only applies to policy "all"/.test(error.message),
  );
  assert.equal(schedule("report", { every: "1m", catchUp: { policy: "all", rate: "600/m" } }).catchUp.ratePerSecond, 10);
});

test("overdueMs: 0 through a long sleep, growing while a fire does not end (what /healthz calls stuck)", async () => {
  const clock = new FakeClock(T0);
  const leadership = new AlwaysLeader();
  let release = (): void => undefined;
  const fire = (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    new Promise((resolve) => {
      release = () => resolve(requests.map((request) => ({ request, status: "fired" as const, jobId: "j", redisAt: clock.now() })));
    });
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(), leadership, events: new ClockEvents(), tickMs: MINUTE });
  planner.start([schedule("daily", { cron: "0 0 * * *" })]);
  await leadership.start();
  await clock.advance(10 * MINUTE);
  assert.equal(planner.overdueMs, 0, "asleep on time, a minute at a time");
  planner.upsert(schedule("tick", { every: "1s" }));
  await clock.advance(1500);
  await clock.advance(6 * SECOND);
  assert.ok(planner.overdueMs >= 6 * SECOND, `${planner.overdueMs} ms overdue with a fire in flight for 6 s`);
  release();
  await clock.advance(10);
  assert.ok(planner.overdueMs < SECOND, `${planner.overdueMs} ms overdue after the fire ended`);
  const stopped = planner.stop();
  release();
  await stopped;
});
