/**
 * The planner on a fake clock fires what `clock next` shows: an excluded holiday never fires (not
 * as catch-up either), and a spread slot fires at its moved instant, never at the rule's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/resolve.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { ClockEvents } from "../src/events.ts";
import { Planner } from "../src/planner/planner.ts";
import { DAY, HOUR, SECOND } from "../src/schedule/duration.ts";
import { nextSlots } from "../src/schedule/slots.ts";
import { FakeClock } from "./helpers/fake-clock.ts";

test("an excluded holiday never fires, a spread slot fires at its moved instant: what clock next shows", async () => {
  const config = parseConfig({
    calendars: { holidays: { dates: ["2026-12-25"] } },
    schedules: {
      daily: { cron: "0 9 * * *", exclude: ["holidays"], spread: "30m", catchUp: { policy: "all", window: "7d" }, job: { class: "Job" } },
    },
  });
  const startAt = Date.parse("2026-12-23T00:00:00Z");
  const clock = new FakeClock(startAt);
  const ledger = new Map<string, number>();
  const fired: number[] = [];
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    requests.map((request) => {
      ledger.set(request.schedule.name, request.slotAt);
      fired.push(request.slotAt);
      return { request, status: "fired", jobId: `${request.schedule.name}-${request.slotAt}`, redisAt: clock.now() };
    });
  const leadership = new AlwaysLeader();
  // Hour-long ticks: four days of 1 s ticks on the fake clock took ~35 s of real time (the slots are
  // armed for their instants either way).
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, events: new ClockEvents(), tickMs: HOUR });
  planner.start(config.schedules);
  await leadership.start();
  await clock.advance(4 * DAY);
  await planner.stop();
  const [schedule] = config.schedules;
  assert.ok(schedule !== undefined);
  const expected = nextSlots(schedule, startAt, 3);
  assert.deepEqual(fired, expected);
  assert.ok(!fired.some((at) => new Date(at).toISOString().startsWith("2026-12-25")), "the holiday fired");
  const offsetMs = schedule.spread?.per === "schedule" ? schedule.spread.offsetMs : Number.NaN;
  assert.deepEqual(
    fired,
    ["2026-12-23", "2026-12-24", "2026-12-26"].map((day) => Date.parse(`${day}T09:00:00Z`) + offsetMs),
  );
});

test("catch-up after an outage across a holiday fires the missed slots but never the holiday's", async () => {
  const config = parseConfig({
    calendars: { holidays: { dates: ["2026-12-25"] } },
    schedules: { daily: { cron: "0 9 * * *", exclude: ["holidays"], catchUp: { policy: "all", window: "7d" }, job: { class: "Job" } } },
  });
  // Down from after the 24th's slot until the 27th at noon: the 26th and 27th are missed, the 25th is no slot.
  const ledger = new Map([["daily", Date.parse("2026-12-24T09:00:00Z")]]);
  const clock = new FakeClock(Date.parse("2026-12-27T12:00:00Z"));
  const fired: number[] = [];
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    requests.map((request) => {
      ledger.set(request.schedule.name, request.slotAt);
      fired.push(request.slotAt);
      return { request, status: "fired", jobId: `${request.schedule.name}-${request.slotAt}`, redisAt: clock.now() };
    });
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, events: new ClockEvents() });
  planner.start(config.schedules);
  await leadership.start();
  await clock.advance(5 * SECOND); // the catch-up is the first wake's: an hour of 1 s ticks on the fake clock took ~37 s of real time
  await planner.stop();
  assert.deepEqual(
    fired.map((at) => new Date(at).toISOString()),
    ["2026-12-26T09:00:00.000Z", "2026-12-27T09:00:00.000Z"],
  );
});
