/**
 * Spread, excluded dates and rule unions, judged by the independent oracle
 * (test/helpers/reference-modifiers.ts): the slot functions return the moved instants, never an
 * excluded one, strictly increasing, through DST gaps and overlaps.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseConfig, type ClockConfig } from "../../src/config/resolve.ts";
import { MINUTE } from "../../src/schedule/duration.ts";
import type { Schedule } from "../../src/schedule/schedule.ts";
import { nextSlots, slotsBetween } from "../../src/schedule/slots.ts";
import { at, iso } from "../helpers/calendar.ts";
import { referenceModifiedSlots, referenceScheduleOffset, type ReferenceDefinition } from "../helpers/reference-modifiers.ts";

const job = { class: "Job" };

function only(config: Record<string, unknown>): Schedule {
  const [schedule] = parseConfig(config).schedules;
  assert.ok(schedule !== undefined);
  return schedule;
}

function assertIncreasing(slots: readonly number[], what: string): void {
  for (let i = 1; i < slots.length; i++)
    assert.ok((slots[i] as number) > (slots[i - 1] as number), `${what}: slot ${i} (${iso(slots[i] as number)}) is not after ${iso(slots[i - 1] as number)}`);
}

describe("spread", () => {
  test("10,000 schedules on 0 0 * * * with spread 10m land evenly over ten minutes, each at the documented offset", () => {
    const schedules: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) schedules[`tenant-${i}`] = { cron: "0 0 * * *", spread: "10m", job };
    const config: ClockConfig = parseConfig({ namespace: "app", schedules });
    const midnight = at("2026-03-02T00:00:00Z");
    const buckets = Array.from({ length: 10 }, () => 0);
    for (const schedule of config.schedules) {
      const [slot] = nextSlots(schedule, midnight - 1, 1);
      assert.ok(slot !== undefined);
      const offset = slot - midnight;
      assert.ok(offset >= 0 && offset < 10 * MINUTE && offset % 1000 === 0, `${schedule.name}: offset ${offset}`);
      assert.equal(offset, referenceScheduleOffset("app", schedule.name, 10 * MINUTE), schedule.name);
      buckets[Math.floor(offset / MINUTE)]!++;
    }
    // Chi-square with 9 degrees of freedom: 27.9 is the 0.1% tail; the names are fixed, so this never flakes.
    const chiSquare = buckets.reduce((sum, count) => sum + (count - 1000) ** 2 / 1000, 0);
    assert.ok(chiSquare < 27.9, `buckets ${buckets.join(", ")}: chi-square ${chiSquare.toFixed(1)}`);
    assert.ok(Math.max(...buckets.map((count) => Math.abs(count - 1000))) < 100, `buckets ${buckets.join(", ")}`);
  });

  test("the offset depends on namespace and name, and every slot of a schedule moves by the same one", () => {
    const a = only({ namespace: "one", schedules: { nightly: { cron: "0 0 * * *", spread: "1h", job } } });
    const b = only({ namespace: "two", schedules: { nightly: { cron: "0 0 * * *", spread: "1h", job } } });
    const offsets = (schedule: Schedule) => nextSlots(schedule, at("2026-01-01T00:00:00Z") - 1, 5).map((slot) => slot % (24 * 60 * MINUTE));
    assert.equal(new Set(offsets(a)).size, 1);
    assert.notDeepEqual(offsets(a), offsets(b));
  });

  test("per slot: offsets differ from slot to slot and match the oracle", () => {
    const schedule = only({ schedules: { s: { cron: "0 0 * * *", spread: { max: "10m", per: "slot" }, job } } });
    const from = at("2026-01-01T00:00:00Z") - 1;
    const slots = nextSlots(schedule, from, 20);
    assert.deepEqual(
      slots.map(iso),
      referenceModifiedSlots({ expressions: ["0 0 * * *"], zone: "UTC", name: "s", spread: { maxMs: 10 * MINUTE, per: "slot" } }, from, 20).map(iso),
    );
    assert.ok(new Set(slots.map((slot) => slot % (24 * 60 * MINUTE))).size > 10);
  });

  test("catch-up's arithmetic for intervals counts the moved slots the walk yields", () => {
    for (const spread of ["7m", { max: "1500ms", per: "slot" }]) {
      const schedule = only({ schedules: { s: { every: spread === "7m" ? "15m" : "1500ms", spread, job } } });
      const from = at("2026-01-01T00:00:00Z");
      const until = from + (spread === "7m" ? 6 * 60 * MINUTE : MINUTE);
      const walked = nextSlots(schedule, from, 1000).filter((slot) => slot <= until);
      const { slots, total } = slotsBetween(schedule, from, until, 1000);
      assert.deepEqual(slots, walked);
      assert.equal(total, walked.length);
      assertIncreasing(walked, "interval");
      for (let i = 1; i < walked.length; i++) assert.ok((walked[i] as number) - (walked[i - 1] as number) >= 1000, "moved slots stay a second apart");
    }
  });

  test("a per-slot spread wider than the rule's shortest gap is refused; a per-schedule one is not", () => {
    assert.throws(
      () => only({ schedules: { s: { cron: "*/5 * * * *", spread: { max: "6m", per: "slot" }, job } } }),
      /schedules\.s\.spread: a per-slot spread of 6m is wider than the rule's shortest gap between slots \(5m\)/,
    );
    assert.throws(() => only({ schedules: { s: { cron: ["0 9 * * *", "30 9 * * *"], spread: { max: "31m", per: "slot" }, job } } }), /shortest gap between slots \(30m\)/);
    assert.doesNotThrow(() => only({ schedules: { s: { cron: "*/5 * * * *", spread: { max: "5m", per: "slot" }, job } } }));
    assert.doesNotThrow(() => only({ schedules: { s: { cron: "*/5 * * * *", spread: "1h", job } } }));
  });
});

describe("exclusions and unions", () => {
  test("an excluded date has no slot: clock next skips it and catch-up does not count it", () => {
    const schedule = only({
      calendars: { holidays: { dates: ["2026-12-25"], ranges: [{ from: "2026-12-31", to: "2027-01-01" }] } },
      schedules: { daily: { cron: "0 9 * * *", timezone: "America/New_York", exclude: ["holidays"], job } },
    });
    const slots = nextSlots(schedule, at("2026-12-23T00:00:00Z"), 6).map(iso);
    assert.deepEqual(slots, ["2026-12-23T14:00:00Z", "2026-12-24T14:00:00Z", "2026-12-26T14:00:00Z", "2026-12-27T14:00:00Z", "2026-12-28T14:00:00Z", "2026-12-29T14:00:00Z"]);
    assert.equal(slotsBetween(schedule, at("2026-12-20T00:00:00Z"), at("2027-01-03T00:00:00Z"), 100).total, 11);
  });

  test("a function calendar is asked about the local date in the schedule's zone (weekday 0 is Sunday)", () => {
    const seen: string[] = [];
    const schedule = only({
      calendars: { weekends: (date: { weekday: number }) => date.weekday === 0 || date.weekday === 6 },
      schedules: { s: { cron: "30 23 * * *", timezone: "Asia/Tokyo", exclude: ["weekends"], job } },
    });
    for (const slot of nextSlots(schedule, at("2026-03-01T00:00:00Z"), 10)) seen.push(new Date(slot + 9 * 60 * MINUTE).getUTCDay().toString());
    assert.ok(
      seen.every((day) => day !== "0" && day !== "6"),
      seen.join(","),
    );
  });

  test("several rules are one union: an instant two rules share is one slot", () => {
    const schedule = only({ schedules: { s: { cron: ["0 9 * * 1-5", "0 12 * * 6", "0 9 * * 1"], job } } });
    const from = at("2026-03-01T00:00:00Z");
    const slots = nextSlots(schedule, from, 12);
    assertIncreasing(slots, "union");
    assert.deepEqual(slots.map(iso), referenceModifiedSlots({ expressions: ["0 9 * * 1-5", "0 12 * * 6", "0 9 * * 1"], zone: "UTC" }, from, 12).map(iso));
  });

  test("random unions, calendars and spreads in DST zones agree with the oracle and are strictly increasing", () => {
    const rules = ["0 9 * * 1-5", "30 2 * * *", "0 12 * * 6", "*/30 * * * *", "15 1 * * *", "0 0 * * *", "45 * * * *"];
    const zones = ["UTC", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Europe/London"];
    // Around New York's and Santiago's changes, London's, and a plain stretch.
    const starts = ["2024-03-09T12:00:00Z", "2024-11-02T12:00:00Z", "2024-04-06T12:00:00Z", "2024-09-07T12:00:00Z", "2024-10-26T12:00:00Z", "2026-06-01T00:00:00Z"];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...rules), { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...zones),
        fc.constantFrom(...starts),
        fc.constantFrom<"none" | "schedule" | "slot">("none", "schedule", "slot"),
        fc.integer({ min: 1, max: 29 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
        (expressions, zone, start, per, spreadMinutes, excludedDays) => {
          const fromAt = at(start);
          const dates = excludedDays.map((day) => new Date(fromAt + day * 24 * 60 * MINUTE).toISOString().slice(0, 10));
          const spread = per === "none" ? undefined : { maxMs: spreadMinutes * MINUTE, per };
          let schedule: Schedule;
          try {
            schedule = only({
              calendars: { off: { dates } },
              schedules: { s: { cron: expressions, timezone: zone, exclude: ["off"], ...(spread === undefined ? {} : { spread: { max: spread.maxMs, per } }), job } },
            });
          } catch (error) {
            // A per-slot spread wider than the union's shortest gap is refused (tested above): not a case.
            assert.match(String(error), /shortest gap between slots/);
            fc.pre(false);
            return;
          }
          const definition: ReferenceDefinition = { expressions, zone, name: "s", excludeDates: dates, ...(spread === undefined ? {} : { spread }) };
          const slots = nextSlots(schedule, fromAt, 15);
          assertIncreasing(slots, `${expressions.join(" | ")} ${zone}`);
          assert.deepEqual(slots.map(iso), referenceModifiedSlots(definition, fromAt, 15).map(iso), `${expressions.join(" | ")} ${zone} ${per} ${spreadMinutes}m`);
        },
      ),
      { numRuns: 60, seed: 15 },
    );
  });
});

describe("DST with spread and exclusions", () => {
  test("a spring-forward gap's slot still fires once, shifted, then moved by its spread; an excluded gap day has none", () => {
    const offset = referenceScheduleOffset("clock", "s", 10 * MINUTE);
    const schedule = only({ schedules: { s: { cron: "30 2 * * *", timezone: "America/New_York", spread: "10m", job } } });
    // 2024-03-10 02:30 does not exist in New York: it fires at 03:30 EDT (07:30Z), plus the offset.
    assert.deepEqual(nextSlots(schedule, at("2024-03-09T12:00:00Z"), 2), [at("2024-03-10T07:30:00Z") + offset, at("2024-03-11T06:30:00Z") + offset]);
    const excluded = only({ calendars: { gap: { dates: ["2024-03-10"] } }, schedules: { s: { cron: "30 2 * * *", timezone: "America/New_York", exclude: ["gap"], job } } });
    assert.deepEqual(nextSlots(excluded, at("2024-03-09T12:00:00Z"), 1).map(iso), ["2024-03-11T06:30:00Z"]);
  });

  test("a fall-back overlap with a wildcard hour keeps both passes, each moved within its own gap", () => {
    const definition: ReferenceDefinition = { expressions: ["30 * * * *"], zone: "America/New_York", name: "s", spread: { maxMs: 60 * MINUTE, per: "slot" } };
    const schedule = only({ schedules: { s: { cron: "30 * * * *", timezone: "America/New_York", spread: { max: "1h", per: "slot" }, job } } });
    const from = at("2024-11-03T03:00:00Z");
    const slots = nextSlots(schedule, from, 6);
    assertIncreasing(slots, "overlap");
    assert.deepEqual(slots.map(iso), referenceModifiedSlots(definition, from, 6).map(iso));
    // 01:30 EDT (05:30Z) and 01:30 EST (06:30Z) are two slots, each moved less than an hour.
    assert.ok(slots.some((slot) => slot >= at("2024-11-03T05:30:00Z") && slot < at("2024-11-03T06:30:00Z")));
    assert.ok(slots.some((slot) => slot >= at("2024-11-03T06:30:00Z") && slot < at("2024-11-03T07:30:00Z")));
  });

  test("where a spring-forward shortens a gap below a per-slot spread, slots keep their order", () => {
    // 02:30 fires at 03:30 EDT on 2024-03-10, one minute after 03:29: a 59-minute spread must not reorder them.
    const expressions = ["30 2 * * *", "29 3 * * *"];
    const schedule = only({ schedules: { s: { cron: expressions, timezone: "America/New_York", spread: { max: "59m", per: "slot" }, job } } });
    const from = at("2024-03-09T12:00:00Z");
    const slots = nextSlots(schedule, from, 6);
    assertIncreasing(slots, "shortened gap");
    assert.deepEqual(slots.map(iso), referenceModifiedSlots({ expressions, zone: "America/New_York", name: "s", spread: { maxMs: 59 * MINUTE, per: "slot" } }, from, 6).map(iso));
  });
});
