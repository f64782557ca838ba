/**
 * Calendar tests: pure, a reference instant in, instants out. No fake timers, no sleeping.
 *
 * Expected instants are written literally (UTC), worked out by hand from each zone's rules
 * (checked against `zdump -v`), with the local wall time alongside. The DST rule under test is
 * the one at the top of src/schedule/slots.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DateTime } from "luxon";
import { nextSlotAfter, nextSlots, slotsBetween, type Calendar } from "../src/schedule/slots.ts";
import { atToCron } from "../src/schedule/at.ts";
import { DAY, HOUR, MINUTE, SECOND, formatDuration, parseDuration } from "../src/schedule/duration.ts";
import { parseConfig } from "../src/config/resolve.ts";

interface Bounds {
  readonly startAt?: number;
  readonly endAt?: number;
}

function cronCalendar(expression: string | readonly string[], timezone = "UTC", bounds: Bounds = {}): Calendar {
  const expressions = typeof expression === "string" ? [expression] : expression;
  return { rule: { kind: "cron", expressions }, timezone, ...bounds };
}

function everyCalendar(intervalMs: number, anchorAt = 0, bounds: Bounds = {}): Calendar {
  return { rule: { kind: "every", intervalMs, anchorAt }, timezone: "UTC", ...bounds };
}

/** UTC ISO without milliseconds when they are zero: what the expected literals are written as. */
function iso(at: number): string {
  return new Date(at).toISOString().replace(".000Z", "Z");
}

function at(text: string): number {
  const parsed = Date.parse(text);
  assert.ok(Number.isFinite(parsed), `bad literal ${text}`);
  return parsed;
}

function slotsAfter(calendar: Calendar, from: string, count: number): string[] {
  return nextSlots(calendar, at(from), count).map(iso);
}

/** Slots in (from, until], all of them. */
function slotsIn(calendar: Calendar, from: string, until: string): string[] {
  return slotsBetween(calendar, at(from), at(until), 10_000).slots.map(iso);
}

// ---------------------------------------------------------------------------------------------
// DST: one rule, four zones, both directions.
// ---------------------------------------------------------------------------------------------

describe("DST in America/New_York (2024-03-10 02:00 EST -> 03:00 EDT; 2024-11-03 02:00 EDT -> 01:00 EST)", () => {
  const zone = "America/New_York";

  test("a daily 02:30 in the spring-forward gap fires once, an hour late (03:30 EDT)", () => {
    assert.deepEqual(slotsAfter(cronCalendar("30 2 * * *", zone), "2024-03-08T12:00:00Z", 4), [
      "2024-03-09T07:30:00Z", // Mar 9 02:30 EST
      "2024-03-10T07:30:00Z", // Mar 10 02:30 does not exist: 03:30 EDT
      "2024-03-11T06:30:00Z", // Mar 11 02:30 EDT
      "2024-03-12T06:30:00Z",
    ]);
  });

  test("a daily 01:30 in the fall-back overlap fires once, at its first (EDT) occurrence", () => {
    assert.deepEqual(slotsAfter(cronCalendar("30 1 * * *", zone), "2024-11-01T12:00:00Z", 4), [
      "2024-11-02T05:30:00Z", // Nov 2 01:30 EDT
      "2024-11-03T05:30:00Z", // Nov 3 01:30 EDT (not again at 01:30 EST = 06:30Z)
      "2024-11-04T06:30:00Z", // Nov 4 01:30 EST
      "2024-11-05T06:30:00Z",
    ]);
  });

  test("a fixed-hour slot is not fired again when the reference instant sits between the two 01:30s", () => {
    // 05:45Z is 01:45 EDT, after the first 01:30 and before the second (06:30Z).
    assert.equal(iso(nextSlotAfter(cronCalendar("30 1 * * *", zone), at("2024-11-03T05:45:00Z")) ?? 0), "2024-11-04T06:30:00Z");
  });

  test("hourly across spring forward: every real hour exactly once (23 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-03-10T04:30:00Z", "2024-03-10T09:00:00Z"), [
      "2024-03-10T05:00:00Z", // 00:00 EST
      "2024-03-10T06:00:00Z", // 01:00 EST
      "2024-03-10T07:00:00Z", // 02:00 (gap) shifted to 03:00 EDT, which is also 03:00 itself: one slot
      "2024-03-10T08:00:00Z", // 04:00 EDT
      "2024-03-10T09:00:00Z", // 05:00 EDT
    ]);
    // Local day Mar 10: 00:00 EST (05:00Z) to Mar 11 00:00 EDT (04:00Z) is 23 real hours.
    assert.equal(slotsBetween(hourly, at("2024-03-10T05:00:00Z") - 1, at("2024-03-11T04:00:00Z") - 1, 100).total, 23);
  });

  test("hourly across fall back: every real hour exactly once, 01:00 twice (25 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-11-03T03:30:00Z", "2024-11-03T08:00:00Z"), [
      "2024-11-03T04:00:00Z", // 00:00 EDT
      "2024-11-03T05:00:00Z", // 01:00 EDT
      "2024-11-03T06:00:00Z", // 01:00 EST
      "2024-11-03T07:00:00Z", // 02:00 EST
      "2024-11-03T08:00:00Z", // 03:00 EST
    ]);
    assert.equal(slotsBetween(hourly, at("2024-11-03T04:00:00Z") - 1, at("2024-11-04T05:00:00Z") - 1, 100).total, 25);
  });

  test("every 15 minutes across both transitions: every real quarter hour exactly once", () => {
    const quarter = cronCalendar("*/15 * * * *", zone);
    assert.deepEqual(slotsIn(quarter, "2024-03-10T06:30:00Z", "2024-03-10T07:30:00Z"), [
      "2024-03-10T06:45:00Z", // 01:45 EST
      "2024-03-10T07:00:00Z", // 03:00 EDT (02:00 shifted)
      "2024-03-10T07:15:00Z",
      "2024-03-10T07:30:00Z",
    ]);
    assert.deepEqual(slotsIn(quarter, "2024-11-03T05:30:00Z", "2024-11-03T07:00:00Z"), [
      "2024-11-03T05:45:00Z", // 01:45 EDT
      "2024-11-03T06:00:00Z", // 01:00 EST
      "2024-11-03T06:15:00Z",
      "2024-11-03T06:30:00Z",
      "2024-11-03T06:45:00Z", // 01:45 EST
      "2024-11-03T07:00:00Z", // 02:00 EST
    ]);
  });

  test("a fixed-hour rule whose minute is a wildcard fires the overlap hour once", () => {
    // "* 1 * * *": hour field is not a wildcard, so 01:00-01:59 fire at their first (EDT) pass only.
    const slots = slotsBetween(cronCalendar("* 1 * * *", zone), at("2024-11-03T04:00:00Z"), at("2024-11-03T08:00:00Z"), 1000);
    assert.equal(slots.total, 60);
    assert.equal(iso(slots.slots[0] ?? 0), "2024-11-03T05:00:00Z");
    assert.equal(iso(slots.slots.at(-1) ?? 0), "2024-11-03T05:59:00Z");
  });

  test("@daily and @hourly across the transitions", () => {
    assert.deepEqual(slotsAfter(cronCalendar("@daily", zone), "2024-03-09T12:00:00Z", 3), [
      "2024-03-10T05:00:00Z", // Mar 10 00:00 EST
      "2024-03-11T04:00:00Z", // Mar 11 00:00 EDT
      "2024-03-12T04:00:00Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("@hourly", zone), "2024-11-03T04:30:00Z", 3), [
      "2024-11-03T05:00:00Z", // 01:00 EDT
      "2024-11-03T06:00:00Z", // 01:00 EST: @hourly is a wildcard hour
      "2024-11-03T07:00:00Z",
    ]);
  });
});

describe("DST in Europe/London (2024-03-31 01:00 GMT -> 02:00 BST; 2024-10-27 02:00 BST -> 01:00 GMT)", () => {
  const zone = "Europe/London";

  test("a daily 01:30 in the spring-forward gap fires once at 02:30 BST", () => {
    assert.deepEqual(slotsAfter(cronCalendar("30 1 * * *", zone), "2024-03-29T12:00:00Z", 4), [
      "2024-03-30T01:30:00Z", // Mar 30 01:30 GMT
      "2024-03-31T01:30:00Z", // Mar 31 01:30 does not exist: 02:30 BST
      "2024-04-01T00:30:00Z", // Apr 1 01:30 BST
      "2024-04-02T00:30:00Z",
    ]);
  });

  test("a daily 01:30 in the fall-back overlap fires once, at its BST occurrence", () => {
    assert.deepEqual(slotsAfter(cronCalendar("30 1 * * *", zone), "2024-10-25T12:00:00Z", 4), [
      "2024-10-26T00:30:00Z", // Oct 26 01:30 BST
      "2024-10-27T00:30:00Z", // Oct 27 01:30 BST (not again at 01:30 GMT)
      "2024-10-28T01:30:00Z", // Oct 28 01:30 GMT
      "2024-10-29T01:30:00Z",
    ]);
  });

  test("hourly across spring forward: every real hour once (23 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-03-30T22:30:00Z", "2024-03-31T03:00:00Z"), [
      "2024-03-30T23:00:00Z", // 23:00 GMT
      "2024-03-31T00:00:00Z", // 00:00 GMT
      "2024-03-31T01:00:00Z", // 01:00 (gap) -> 02:00 BST, the same instant as 02:00 BST
      "2024-03-31T02:00:00Z", // 03:00 BST
      "2024-03-31T03:00:00Z", // 04:00 BST
    ]);
    assert.equal(slotsBetween(hourly, at("2024-03-31T00:00:00Z") - 1, at("2024-03-31T23:00:00Z") - 1, 100).total, 23);
  });

  test("hourly across fall back: every real hour once, 01:00 twice (25 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-10-26T21:30:00Z", "2024-10-27T02:00:00Z"), [
      "2024-10-26T22:00:00Z", // 23:00 BST
      "2024-10-26T23:00:00Z", // 00:00 BST
      "2024-10-27T00:00:00Z", // 01:00 BST
      "2024-10-27T01:00:00Z", // 01:00 GMT
      "2024-10-27T02:00:00Z", // 02:00 GMT
    ]);
    assert.equal(slotsBetween(hourly, at("2024-10-26T23:00:00Z") - 1, at("2024-10-28T00:00:00Z") - 1, 100).total, 25);
  });
});

describe("DST in Australia/Lord_Howe (half-hour shifts: 2024-10-06 02:00 -> 02:30 at +10:30 -> +11; 2024-04-07 02:00 -> 01:30 at +11 -> +10:30)", () => {
  const zone = "Australia/Lord_Howe";

  test("a daily 02:15 in the 30-minute gap fires once, 30 minutes late (02:45 +11)", () => {
    assert.deepEqual(slotsAfter(cronCalendar("15 2 * * *", zone), "2024-10-04T00:00:00Z", 4), [
      "2024-10-04T15:45:00Z", // Oct 5 02:15 +10:30
      "2024-10-05T15:45:00Z", // Oct 6 02:15 does not exist: 02:45 +11
      "2024-10-06T15:15:00Z", // Oct 7 02:15 +11
      "2024-10-07T15:15:00Z",
    ]);
  });

  test("a daily 01:45 in the 30-minute overlap fires once, at its +11 occurrence", () => {
    assert.deepEqual(slotsAfter(cronCalendar("45 1 * * *", zone), "2024-04-05T00:00:00Z", 4), [
      "2024-04-05T14:45:00Z", // Apr 6 01:45 +11
      "2024-04-06T14:45:00Z", // Apr 7 01:45 +11 (not again at 01:45 +10:30 = 15:15Z)
      "2024-04-07T15:15:00Z", // Apr 8 01:45 +10:30
      "2024-04-08T15:15:00Z",
    ]);
  });

  test("hourly across spring forward: 02:00 fires at 02:30, then 03:00 (24 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-10-05T13:00:00Z", "2024-10-05T17:00:00Z"), [
      "2024-10-05T13:30:00Z", // 00:00 +10:30
      "2024-10-05T14:30:00Z", // 01:00 +10:30
      "2024-10-05T15:30:00Z", // 02:00 (gap) -> 02:30 +11
      "2024-10-05T16:00:00Z", // 03:00 +11
      "2024-10-05T17:00:00Z", // 04:00 +11
    ]);
    // Oct 6 00:00 +10:30 (Oct 5 13:30Z) to Oct 7 00:00 +11 (Oct 6 13:00Z): 24 wall hours, none lost.
    assert.equal(slotsBetween(hourly, at("2024-10-05T13:30:00Z") - 1, at("2024-10-06T13:00:00Z") - 1, 100).total, 24);
  });

  test("every 15 minutes across spring forward: every real quarter hour once", () => {
    assert.deepEqual(slotsIn(cronCalendar("*/15 * * * *", zone), "2024-10-05T15:00:00Z", "2024-10-05T16:15:00Z"), [
      "2024-10-05T15:15:00Z", // 01:45 +10:30
      "2024-10-05T15:30:00Z", // 02:00 (gap) -> 02:30 +11 = 02:30 itself
      "2024-10-05T15:45:00Z", // 02:15 (gap) -> 02:45 +11 = 02:45 itself
      "2024-10-05T16:00:00Z", // 03:00 +11
      "2024-10-05T16:15:00Z",
    ]);
  });

  test("hourly at :30 across fall back: 01:30 fires at both occurrences (25 slots that day)", () => {
    const halfPast = cronCalendar("30 * * * *", zone);
    assert.deepEqual(slotsIn(halfPast, "2024-04-06T13:00:00Z", "2024-04-06T17:00:00Z"), [
      "2024-04-06T13:30:00Z", // 00:30 +11
      "2024-04-06T14:30:00Z", // 01:30 +11
      "2024-04-06T15:00:00Z", // 01:30 +10:30
      "2024-04-06T16:00:00Z", // 02:30 +10:30
      "2024-04-06T17:00:00Z", // 03:30 +10:30
    ]);
    // Apr 7 00:00 +11 (Apr 6 13:00Z) to Apr 8 00:00 +10:30 (Apr 7 13:30Z).
    assert.equal(slotsBetween(halfPast, at("2024-04-06T13:00:00Z") - 1, at("2024-04-07T13:30:00Z") - 1, 100).total, 25);
    // On the hour nothing repeats: 01:00 is before the overlap (01:30-01:59).
    assert.equal(slotsBetween(cronCalendar("0 * * * *", zone), at("2024-04-06T13:00:00Z") - 1, at("2024-04-07T13:30:00Z") - 1, 100).total, 24);
  });

  test("every 15 minutes across fall back: every real quarter hour once", () => {
    assert.deepEqual(slotsIn(cronCalendar("*/15 * * * *", zone), "2024-04-06T14:00:00Z", "2024-04-06T15:45:00Z"), [
      "2024-04-06T14:15:00Z", // 01:15 +11
      "2024-04-06T14:30:00Z", // 01:30 +11
      "2024-04-06T14:45:00Z", // 01:45 +11
      "2024-04-06T15:00:00Z", // 01:30 +10:30
      "2024-04-06T15:15:00Z", // 01:45 +10:30
      "2024-04-06T15:30:00Z", // 02:00 +10:30
      "2024-04-06T15:45:00Z",
    ]);
  });
});

describe("DST in America/Santiago (at midnight: 2024-09-08 00:00 -04 -> 01:00 -03; 2024-04-07 00:00 -03 -> 2024-04-06 23:00 -04)", () => {
  const zone = "America/Santiago";

  test("a daily midnight in the gap fires once, at 01:00 -03 of the same day", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * *", zone), "2024-09-06T12:00:00Z", 4), [
      "2024-09-07T04:00:00Z", // Sep 7 00:00 -04
      "2024-09-08T04:00:00Z", // Sep 8 00:00 does not exist: 01:00 -03
      "2024-09-09T03:00:00Z", // Sep 9 00:00 -03
      "2024-09-10T03:00:00Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("30 0 * * *", zone), "2024-09-07T12:00:00Z", 2), [
      "2024-09-08T04:30:00Z", // Sep 8 00:30 does not exist: 01:30 -03
      "2024-09-09T03:30:00Z",
    ]);
  });

  test("a daily 23:30 in the overlap (the evening before the change) fires once, at -03", () => {
    assert.deepEqual(slotsAfter(cronCalendar("30 23 * * *", zone), "2024-04-04T12:00:00Z", 4), [
      "2024-04-05T02:30:00Z", // Apr 4 23:30 -03
      "2024-04-06T02:30:00Z", // Apr 5 23:30 -03
      "2024-04-07T02:30:00Z", // Apr 6 23:30 -03 (not again at 23:30 -04 = 03:30Z)
      "2024-04-08T03:30:00Z", // Apr 7 23:30 -04
    ]);
  });

  test("a daily midnight on the fall-back day exists once (after the overlap)", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * *", zone), "2024-04-05T12:00:00Z", 3), [
      "2024-04-06T03:00:00Z", // Apr 6 00:00 -03
      "2024-04-07T04:00:00Z", // Apr 7 00:00 -04
      "2024-04-08T04:00:00Z",
    ]);
  });

  test("hourly across spring forward: every real hour once (23 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-09-08T01:30:00Z", "2024-09-08T06:00:00Z"), [
      "2024-09-08T02:00:00Z", // Sep 7 22:00 -04
      "2024-09-08T03:00:00Z", // Sep 7 23:00 -04
      "2024-09-08T04:00:00Z", // Sep 8 00:00 (gap) -> 01:00 -03 = 01:00 itself
      "2024-09-08T05:00:00Z", // 02:00 -03
      "2024-09-08T06:00:00Z",
    ]);
    // Sep 8 00:00 (shifted, 04:00Z) to Sep 9 00:00 -03 (03:00Z).
    assert.equal(slotsBetween(hourly, at("2024-09-08T04:00:00Z") - 1, at("2024-09-09T03:00:00Z") - 1, 100).total, 23);
  });

  test("hourly across fall back: every real hour once, 23:00 twice (25 slots that day)", () => {
    const hourly = cronCalendar("0 * * * *", zone);
    assert.deepEqual(slotsIn(hourly, "2024-04-07T00:30:00Z", "2024-04-07T05:00:00Z"), [
      "2024-04-07T01:00:00Z", // Apr 6 22:00 -03
      "2024-04-07T02:00:00Z", // Apr 6 23:00 -03
      "2024-04-07T03:00:00Z", // Apr 6 23:00 -04
      "2024-04-07T04:00:00Z", // Apr 7 00:00 -04
      "2024-04-07T05:00:00Z", // Apr 7 01:00 -04
    ]);
    // Apr 6 00:00 -03 (03:00Z) to Apr 7 00:00 -04 (Apr 7 04:00Z): 25 real hours.
    assert.equal(slotsBetween(hourly, at("2024-04-06T03:00:00Z") - 1, at("2024-04-07T04:00:00Z") - 1, 100).total, 25);
  });
});

// ---------------------------------------------------------------------------------------------
// Cron syntax.
// ---------------------------------------------------------------------------------------------

describe("cron expressions", () => {
  test("L is the last day of each month, leap February included", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 L * *"), "2024-01-15T00:00:00Z", 5), [
      "2024-01-31T00:00:00Z",
      "2024-02-29T00:00:00Z",
      "2024-03-31T00:00:00Z",
      "2024-04-30T00:00:00Z",
      "2024-05-31T00:00:00Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 L 2 *"), "2025-01-01T00:00:00Z", 1), ["2025-02-28T00:00:00Z"]);
  });

  test("W is the weekday nearest the given day, within the month", () => {
    // 2024-06-15 is a Saturday -> Fri 14th; 2024-07-15 a Monday; 2024-08-15 a Thursday;
    // 2024-09-15 a Sunday -> Mon 16th.
    assert.deepEqual(slotsAfter(cronCalendar("0 0 15W * *"), "2024-06-01T00:00:00Z", 4), [
      "2024-06-14T00:00:00Z",
      "2024-07-15T00:00:00Z",
      "2024-08-15T00:00:00Z",
      "2024-09-16T00:00:00Z",
    ]);
    // 2024-06-01 is a Saturday: the nearest weekday in June is Monday the 3rd, not May 31st.
    assert.deepEqual(slotsAfter(cronCalendar("0 0 1W * *"), "2024-05-31T12:00:00Z", 1), ["2024-06-03T00:00:00Z"]);
  });

  test("# is the nth weekday of the month: 5#2 is the second Friday, 5#L the last", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * 5#2"), "2024-01-01T00:00:00Z", 4), [
      "2024-01-12T00:00:00Z",
      "2024-02-09T00:00:00Z",
      "2024-03-08T00:00:00Z",
      "2024-04-12T00:00:00Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * 5#L"), "2024-01-01T00:00:00Z", 3), [
      "2024-01-26T00:00:00Z",
      "2024-02-23T00:00:00Z",
      "2024-03-29T00:00:00Z",
    ]);
  });

  test("Feb 29 waits for the next leap year", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 29 2 *"), "2025-01-01T00:00:00Z", 2), ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]);
  });

  test("the 31st skips the months that do not have one", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 31 * *"), "2024-01-01T00:00:00Z", 7), [
      "2024-01-31T00:00:00Z",
      "2024-03-31T00:00:00Z",
      "2024-05-31T00:00:00Z",
      "2024-07-31T00:00:00Z",
      "2024-08-31T00:00:00Z",
      "2024-10-31T00:00:00Z",
      "2024-12-31T00:00:00Z",
    ]);
  });

  test("a date that never comes yields no slots", () => {
    assert.deepEqual(nextSlots(cronCalendar("0 0 30 2 *"), at("2024-01-01T00:00:00Z"), 3), []);
    assert.equal(nextSlotAfter(cronCalendar("0 0 31 4 *"), at("2024-01-01T00:00:00Z")), null);
  });

  test("day-of-month and day-of-week both restricted: either matches (Vixie OR)", () => {
    // 2024-01-01 and 2024-04-01 are Mondays; 2024-02-01 a Thursday, 2024-03-01 a Friday.
    assert.deepEqual(slotsAfter(cronCalendar("0 0 1 * 1"), "2023-12-31T12:00:00Z", 9), [
      "2024-01-01T00:00:00Z", // the 1st and a Monday
      "2024-01-08T00:00:00Z",
      "2024-01-15T00:00:00Z",
      "2024-01-22T00:00:00Z",
      "2024-01-29T00:00:00Z",
      "2024-02-01T00:00:00Z", // the 1st, a Thursday
      "2024-02-05T00:00:00Z",
      "2024-02-12T00:00:00Z",
      "2024-02-19T00:00:00Z",
    ]);
  });

  test("one day field restricted, the other *: only the restricted one counts", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 13 * *"), "2024-01-01T00:00:00Z", 2), ["2024-01-13T00:00:00Z", "2024-02-13T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 9 * * 1-5"), "2024-01-05T12:00:00Z", 2), ["2024-01-08T09:00:00Z", "2024-01-09T09:00:00Z"]);
  });

  test("six fields: the first is seconds", () => {
    assert.deepEqual(slotsAfter(cronCalendar("*/20 * * * * *"), "2024-01-01T00:00:00Z", 4), [
      "2024-01-01T00:00:20Z",
      "2024-01-01T00:00:40Z",
      "2024-01-01T00:01:00Z",
      "2024-01-01T00:01:20Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("30 0 9 * * *", "America/New_York"), "2024-03-10T00:00:00Z", 2), [
      "2024-03-10T13:00:30Z", // 09:00:30 EDT
      "2024-03-11T13:00:30Z",
    ]);
  });

  test("a reference instant between whole seconds still gets the next slot, and only after it", () => {
    const everySecond = cronCalendar("* * * * * *");
    assert.equal(nextSlotAfter(everySecond, at("2024-01-01T00:00:00.500Z")), at("2024-01-01T00:00:01Z"));
    assert.equal(nextSlotAfter(cronCalendar("0 * * * *"), at("2024-01-01T00:59:59.999Z")), at("2024-01-01T01:00:00Z"));
    assert.equal(nextSlotAfter(cronCalendar("0 * * * *"), at("2024-01-01T01:00:00Z")), at("2024-01-01T02:00:00Z"));
  });

  test("@daily and @hourly are the usual aliases", () => {
    assert.deepEqual(slotsAfter(cronCalendar("@daily"), "2024-01-01T12:00:00Z", 2), ["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("@hourly"), "2024-01-01T12:00:00Z", 2), ["2024-01-01T13:00:00Z", "2024-01-01T14:00:00Z"]);
  });

  test("several expressions merge into one ordered list, a shared instant once", () => {
    assert.deepEqual(slotsAfter(cronCalendar(["0 12 * * *", "0 */6 * * *"]), "2024-01-01T00:00:00Z", 5), [
      "2024-01-01T06:00:00Z",
      "2024-01-01T12:00:00Z",
      "2024-01-01T18:00:00Z",
      "2024-01-02T00:00:00Z",
      "2024-01-02T06:00:00Z",
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Intervals, bounds, ranges.
// ---------------------------------------------------------------------------------------------

describe("every", () => {
  test("slots are aligned to the epoch, whatever the reference instant", () => {
    const every3h = everyCalendar(3 * HOUR);
    assert.deepEqual(slotsAfter(every3h, "2024-03-09T01:23:45Z", 3), ["2024-03-09T03:00:00Z", "2024-03-09T06:00:00Z", "2024-03-09T09:00:00Z"]);
    assert.deepEqual(slotsAfter(every3h, "2024-03-09T02:59:59.999Z", 2), ["2024-03-09T03:00:00Z", "2024-03-09T06:00:00Z"]);
    // On a slot: the next one, strictly after.
    assert.deepEqual(slotsAfter(every3h, "2024-03-09T03:00:00Z", 1), ["2024-03-09T06:00:00Z"]);
    // 7 minutes does not divide an hour: slots are multiples of 7 minutes since 1970-01-01T00:00Z.
    assert.deepEqual(slotsAfter(everyCalendar(7 * MINUTE), "2024-01-01T00:00:00Z", 2), ["2024-01-01T00:01:00Z", "2024-01-01T00:08:00Z"]);
  });

  test("slots are aligned to a custom anchor, before and after it", () => {
    const anchored = everyCalendar(HOUR, at("2024-01-01T00:05:00Z"));
    assert.deepEqual(slotsAfter(anchored, "2024-06-01T10:30:00Z", 2), ["2024-06-01T11:05:00Z", "2024-06-01T12:05:00Z"]);
    assert.deepEqual(slotsAfter(anchored, "2023-06-01T10:00:00Z", 1), ["2023-06-01T10:05:00Z"]);
    const daily = everyCalendar(DAY, at("2030-01-01T07:00:00Z"));
    assert.deepEqual(slotsAfter(daily, "2024-03-10T08:00:00Z", 2), ["2024-03-11T07:00:00Z", "2024-03-12T07:00:00Z"]);
  });

  test("is unaffected by DST (it counts real time)", () => {
    const every1h = { ...everyCalendar(HOUR), timezone: "America/New_York" };
    assert.deepEqual(slotsAfter(every1h, "2024-11-03T04:30:00Z", 3), ["2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"]);
  });
});

describe("startAt and endAt", () => {
  const bounds = { startAt: at("2024-01-01T05:00:00Z"), endAt: at("2024-01-01T07:00:00Z") };

  test("no slot before startAt, a slot at exactly startAt and at exactly endAt, none after", () => {
    const hourly = cronCalendar("0 * * * *", "UTC", bounds);
    assert.deepEqual(slotsAfter(hourly, "2024-01-01T00:00:00Z", 10), ["2024-01-01T05:00:00Z", "2024-01-01T06:00:00Z", "2024-01-01T07:00:00Z"]);
    assert.equal(nextSlotAfter(hourly, at("2024-01-01T07:00:00Z")), null);
    assert.equal(nextSlotAfter(hourly, at("2025-01-01T00:00:00Z")), null);
  });

  test("every keeps its alignment inside the bounds", () => {
    const every40m = everyCalendar(40 * MINUTE, 0, bounds);
    // Multiples of 40 minutes since the epoch: 04:40, 05:20, 06:00, 06:40, 07:20 on this day.
    assert.deepEqual(slotsAfter(every40m, "2024-01-01T00:00:00Z", 10), ["2024-01-01T05:20:00Z", "2024-01-01T06:00:00Z", "2024-01-01T06:40:00Z"]);
  });
});

describe("slotsBetween", () => {
  test("cron: counts every slot in (after, until] and keeps the newest `limit`", () => {
    const hourly = cronCalendar("0 * * * *");
    const result = slotsBetween(hourly, at("2024-01-01T00:00:00Z"), at("2024-01-01T10:00:00Z"), 3);
    assert.equal(result.total, 10);
    assert.deepEqual(result.slots.map(iso), ["2024-01-01T08:00:00Z", "2024-01-01T09:00:00Z", "2024-01-01T10:00:00Z"]);
    assert.deepEqual(slotsBetween(hourly, at("2024-01-01T00:00:00Z"), at("2024-01-01T10:00:00Z"), 0), { slots: [], total: 10 });
    assert.deepEqual(slotsBetween(hourly, at("2024-01-01T00:10:00Z"), at("2024-01-01T00:50:00Z"), 5), { slots: [], total: 0 });
  });

  test("every: the same answer with and without the arithmetic shortcut", () => {
    const from = at("2024-01-01T00:00:00Z");
    const until = at("2024-01-01T02:00:00Z");
    const plain = slotsBetween(everyCalendar(15 * MINUTE), from, until, 2);
    assert.equal(plain.total, 8);
    assert.deepEqual(plain.slots.map(iso), ["2024-01-01T01:45:00Z", "2024-01-01T02:00:00Z"]);
    // A startAt far in the past forces the walk: same result.
    const walked = slotsBetween(everyCalendar(15 * MINUTE, 0, { startAt: 0 }), from, until, 2);
    assert.deepEqual(walked, plain);
    assert.deepEqual(slotsBetween(everyCalendar(15 * MINUTE), from, until, 100).slots.length, 8);
    assert.deepEqual(slotsBetween(everyCalendar(15 * MINUTE), until, from, 100), { slots: [], total: 0 });
  });

  test("respects startAt and endAt", () => {
    const result = slotsBetween(everyCalendar(HOUR, 0, { startAt: at("2024-01-01T03:00:00Z"), endAt: at("2024-01-01T05:00:00Z") }), at("2024-01-01T00:00:00Z"), at("2024-01-02T00:00:00Z"), 10);
    assert.deepEqual(result.slots.map(iso), ["2024-01-01T03:00:00Z", "2024-01-01T04:00:00Z", "2024-01-01T05:00:00Z"]);
    assert.equal(result.total, 3);
  });

  test("when the count is capped, the slots kept are still the newest in the range", () => {
    // An every-minute schedule missed one hour; with countCap 10 the total is capped, but the latest
    // slot (what catch-up "latest" fires) must still be the end of the range.
    const result = slotsBetween(cronCalendar("* * * * *"), at("2024-01-01T00:00:00Z"), at("2024-01-01T01:00:00Z"), 1, 10);
    assert.equal(result.total, 10);
    assert.deepEqual(result.slots.map(iso), ["2024-01-01T01:00:00Z"]);
  });

  test("for every, the total is exact whatever countCap says: it is arithmetic, not a walk", () => {
    const result = slotsBetween(everyCalendar(SECOND), at("2024-01-01T00:00:00Z"), at("2024-01-02T00:00:00Z"), 1, 1000);
    assert.equal(result.total, 86400);
    assert.deepEqual(result.slots.map(iso), ["2024-01-02T00:00:00Z"]);
  });
});

// ---------------------------------------------------------------------------------------------
// `at` times and durations.
// ---------------------------------------------------------------------------------------------

describe("at", () => {
  test("converts clock-style times to six-field cron", () => {
    assert.equal(atToCron("09:00"), "0 0 9 * * *");
    assert.equal(atToCron("9:05"), "0 5 9 * * *");
    assert.equal(atToCron("**:30"), "0 30 * * * *");
    assert.equal(atToCron("16:**"), "0 * 16 * * *");
    assert.equal(atToCron("Monday 16:20"), "0 20 16 * * 1");
    assert.equal(atToCron("mon 16:20"), "0 20 16 * * 1");
    assert.equal(atToCron("SUNDAY 00:00"), "0 0 0 * * 0");
    assert.equal(atToCron("sat 23:59"), "0 59 23 * * 6");
    assert.equal(atToCron("09:00:30"), "30 0 9 * * *");
    assert.equal(atToCron("  07:15  "), "0 15 7 * * *");
  });

  test("rejects what it cannot read, saying what is wrong", () => {
    const invalid: [string, RegExp][] = [
      ["25:00", /hour 25 is past 23/],
      ["24:00", /hour 24 is past 23/],
      ["12:60", /minute 60 is past 59/],
      ["09:00:60", /second 60 is past 59/],
      ["Funday 10:00", /unknown weekday "Funday"/],
      ["tues 10:00", /unknown weekday "tues"/],
      ["9am", /invalid at time "9am"/],
      ["", /invalid at time ""/],
      ["09:0", /invalid at time/],
      ["123:00", /invalid at time/],
      ["09-00", /invalid at time/],
    ];
    for (const [input, message] of invalid) {
      const result = atToCron(input);
      assert.equal(typeof result, "object", `"${input}" should be refused, got ${JSON.stringify(result)}`);
      if (typeof result === "object") assert.match(result.error, message);
    }
  });

  function atCalendar(times: string | string[], timezone = "UTC"): Calendar {
    const config = parseConfig({ timezone, schedules: { s: { at: times, job: { class: "Job" } } } });
    const [schedule] = config.schedules;
    assert.ok(schedule !== undefined);
    return schedule;
  }

  test('"09:00" fires daily and a list ["03:00", "15:00"] fires at each time (via parseConfig)', () => {
    assert.deepEqual(slotsAfter(atCalendar("09:00"), "2024-01-01T09:00:00Z", 2), ["2024-01-02T09:00:00Z", "2024-01-03T09:00:00Z"]);
    const twice = atCalendar(["03:00", "15:00"]);
    assert.deepEqual(twice.rule, { kind: "cron", expressions: ["0 0 3 * * *", "0 0 15 * * *"] });
    assert.deepEqual(slotsAfter(twice, "2024-01-01T00:00:00Z", 4), [
      "2024-01-01T03:00:00Z",
      "2024-01-01T15:00:00Z",
      "2024-01-02T03:00:00Z",
      "2024-01-02T15:00:00Z",
    ]);
  });

  test('"**:30" is hourly and fires at both 01:30s of a fall-back night', () => {
    assert.deepEqual(slotsAfter(atCalendar("**:30", "America/New_York"), "2024-11-03T04:00:00Z", 4), [
      "2024-11-03T04:30:00Z", // 00:30 EDT
      "2024-11-03T05:30:00Z", // 01:30 EDT
      "2024-11-03T06:30:00Z", // 01:30 EST
      "2024-11-03T07:30:00Z", // 02:30 EST
    ]);
  });

  test('"16:**" fires every minute of one hour', () => {
    const result = slotsBetween(atCalendar("16:**"), at("2024-01-01T00:00:00Z"), at("2024-01-02T00:00:00Z"), 100);
    assert.equal(result.total, 60);
    assert.equal(iso(result.slots[0] ?? 0), "2024-01-01T16:00:00Z");
    assert.equal(iso(result.slots.at(-1) ?? 0), "2024-01-01T16:59:00Z");
  });

  test('"Monday 16:20" and "mon 16:20" fire weekly in the zone', () => {
    // 2024-03-11 is a Monday, the first after New York's change: 16:20 EDT.
    for (const text of ["Monday 16:20", "mon 16:20"]) {
      assert.deepEqual(slotsAfter(atCalendar(text, "America/New_York"), "2024-03-05T00:00:00Z", 2), ["2024-03-11T20:20:00Z", "2024-03-18T20:20:00Z"]);
    }
    // The Monday before: 16:20 EST.
    assert.deepEqual(slotsAfter(atCalendar("Monday 16:20", "America/New_York"), "2024-03-04T00:00:00Z", 1), ["2024-03-04T21:20:00Z"]);
  });

  test('"09:00:30" fires at the second', () => {
    assert.deepEqual(slotsAfter(atCalendar("09:00:30"), "2024-01-01T09:00:00Z", 1), ["2024-01-01T09:00:30Z"]);
  });
});

describe("parseDuration", () => {
  test("reads units, compounds and milliseconds", () => {
    assert.equal(parseDuration("30s"), 30 * SECOND);
    assert.equal(parseDuration("5m"), 5 * MINUTE);
    assert.equal(parseDuration("3h"), 3 * HOUR);
    assert.equal(parseDuration("1d"), DAY);
    assert.equal(parseDuration("1h30m"), 90 * MINUTE);
    assert.equal(parseDuration("1d2h3m4s5ms"), DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("1.5h"), 90 * MINUTE);
    assert.equal(parseDuration(" 10S "), 10 * SECOND);
    assert.equal(parseDuration(1500), 1500);
  });

  test("refuses bad input with a message", () => {
    const bad: (string | number)[] = ["", "   ", "5", "3 hours", "5 m", "-5m", "0s", "0", "1.0001s", "1mm", "m", "1w", "abc", "1h 30m", 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY];
    for (const input of bad) {
      const result = parseDuration(input);
      assert.equal(typeof result, "object", `${JSON.stringify(input)} should be refused, got ${String(result)}`);
      if (typeof result === "object") assert.ok(result.error.length > 0);
    }
    const message = parseDuration("3 hours");
    assert.deepEqual(message, { error: 'invalid duration "3 hours" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)' });
  });

  test("formatDuration is its inverse for whole units", () => {
    for (const text of ["30s", "5m", "3h", "1d", "1h30m", "1d2h3m4s", "250ms"]) {
      const ms = parseDuration(text);
      assert.equal(typeof ms, "number");
      if (typeof ms === "number") assert.equal(formatDuration(ms), text);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// An independent reference: walk every minute, apply the documented rule.
// ---------------------------------------------------------------------------------------------

interface CronFields {
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly dayOfMonth: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dayOfWeek: ReadonlySet<number>;
  readonly dayOfMonthStar: boolean;
  readonly dayOfWeekStar: boolean;
  readonly hourWildcard: boolean;
}

/** Numbers, ranges, steps and lists; enough for the expressions these tests build. */
function parseField(text: string, min: number, max: number): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (range === "*") {
      low = min;
      high = max;
    } else if (range.includes("-")) {
      const [a = "", b = ""] = range.split("-");
      low = Number(a);
      high = Number(b);
    } else {
      low = Number(range);
      high = stepText === undefined ? low : max;
    }
    assert.ok(Number.isInteger(low) && Number.isInteger(high) && Number.isInteger(step) && step > 0, `reference cannot read "${text}"`);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

function parseCronFields(expression: string): CronFields {
  const [minute = "", hour = "", dayOfMonth = "", month = "", dayOfWeek = "", ...rest] = expression.trim().split(/\s+/);
  assert.equal(rest.length, 0, `reference reads five fields only: "${expression}"`);
  const weekdays = new Set([...parseField(dayOfWeek, 0, 7)].map((day) => day % 7));
  return {
    minute: parseField(minute, 0, 59),
    hour: parseField(hour, 0, 23),
    dayOfMonth: parseField(dayOfMonth, 1, 31),
    month: parseField(month, 1, 12),
    dayOfWeek: weekdays,
    dayOfMonthStar: dayOfMonth === "*",
    dayOfWeekStar: dayOfWeek === "*",
    hourWildcard: hour.startsWith("*"),
  };
}

interface Wall {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** A wall time as naive epoch ms, so wall times can be compared and stepped. */
function naive(wall: Wall): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

function wallAt(atMs: number, zone: string): Wall {
  const local = DateTime.fromMillis(atMs, { zone });
  return { year: local.year, month: local.month, day: local.day, hour: local.hour, minute: local.minute, second: local.second };
}

/** Whether a naive wall time (epoch ms read as UTC fields) matches the cron fields. */
function wallMatches(fields: CronFields, naiveMs: number): boolean {
  const date = new Date(naiveMs);
  if (date.getUTCSeconds() !== 0) return false;
  if (!fields.minute.has(date.getUTCMinutes()) || !fields.hour.has(date.getUTCHours()) || !fields.month.has(date.getUTCMonth() + 1)) return false;
  const domOk = fields.dayOfMonth.has(date.getUTCDate());
  const dowOk = fields.dayOfWeek.has(date.getUTCDay());
  if (fields.dayOfMonthStar || fields.dayOfWeekStar) return domOk && dowOk;
  return domOk || dowOk;
}

/**
 * Slots in (fromAt, untilAt] by brute force: every minute instant, its wall time, the rule.
 * A wall minute skipped by a spring-forward jump fires at its wall time under the old offset
 * (shifted by the gap); a wall minute seen again after a fall-back fires again only when the
 * hour field is a wildcard.
 */
function bruteForceSlots(expression: string, zone: string, fromAt: number, untilAt: number): number[] {
  const fields = parseCronFields(expression);
  const seenWalls = new Set<number>();
  const slots = new Set<number>();
  // Start well before the window so a first occurrence before it is known.
  let previous: { at: number; wall: number } | null = null;
  for (let atMs = fromAt - fromAt % MINUTE - 3 * HOUR; atMs <= untilAt + 2 * HOUR; atMs += MINUTE) {
    const wall = naive(wallAt(atMs, zone));
    if (previous !== null && wall > previous.wall + MINUTE) {
      const offsetBefore = previous.wall - previous.at;
      for (let skipped = previous.wall + MINUTE; skipped < wall; skipped += MINUTE) {
        if (wallMatches(fields, skipped)) slots.add(skipped - offsetBefore);
      }
    }
    if (wallMatches(fields, wall) && (!seenWalls.has(wall) || fields.hourWildcard)) slots.add(atMs);
    seenWalls.add(wall);
    previous = { at: atMs, wall };
  }
  return [...slots].filter((slot) => slot > fromAt && slot <= untilAt).sort((a, b) => a - b);
}

const TRANSITIONS: readonly { zone: string; at: string; what: string }[] = [
  { zone: "America/New_York", at: "2024-03-10T07:00:00Z", what: "spring forward" },
  { zone: "America/New_York", at: "2024-11-03T06:00:00Z", what: "fall back" },
  { zone: "Europe/London", at: "2024-03-31T01:00:00Z", what: "spring forward" },
  { zone: "Europe/London", at: "2024-10-27T01:00:00Z", what: "fall back" },
  { zone: "Australia/Lord_Howe", at: "2024-10-05T15:30:00Z", what: "spring forward (30 min)" },
  { zone: "Australia/Lord_Howe", at: "2024-04-06T15:00:00Z", what: "fall back (30 min)" },
  { zone: "America/Santiago", at: "2024-09-08T04:00:00Z", what: "spring forward at midnight" },
  { zone: "America/Santiago", at: "2024-04-07T03:00:00Z", what: "fall back at midnight" },
];

describe("the brute-force reference agrees with the literal cases", () => {
  test("New York 02:30 on spring-forward day and hourly on fall-back night", () => {
    assert.deepEqual(bruteForceSlots("30 2 * * *", "America/New_York", at("2024-03-09T12:00:00Z"), at("2024-03-10T12:00:00Z")).map(iso), ["2024-03-10T07:30:00Z"]);
    assert.deepEqual(bruteForceSlots("0 * * * *", "America/New_York", at("2024-11-03T04:30:00Z"), at("2024-11-03T07:00:00Z")).map(iso), [
      "2024-11-03T05:00:00Z",
      "2024-11-03T06:00:00Z",
      "2024-11-03T07:00:00Z",
    ]);
  });

  test("Lord Howe 02:15 in the half-hour gap, Santiago 23:30 in the midnight overlap", () => {
    assert.deepEqual(bruteForceSlots("15 2 * * *", "Australia/Lord_Howe", at("2024-10-05T00:00:00Z"), at("2024-10-06T00:00:00Z")).map(iso), ["2024-10-05T15:45:00Z"]);
    assert.deepEqual(bruteForceSlots("30 23 * * *", "America/Santiago", at("2024-04-06T12:00:00Z"), at("2024-04-07T12:00:00Z")).map(iso), ["2024-04-07T02:30:00Z"]);
    assert.deepEqual(bruteForceSlots("30 * * * *", "America/Santiago", at("2024-04-07T01:45:00Z"), at("2024-04-07T04:00:00Z")).map(iso), [
      "2024-04-07T02:30:00Z",
      "2024-04-07T03:30:00Z",
    ]);
  });
});

describe("slots equal the brute-force reference around every transition", () => {
  const expressions = ["30 2 * * *", "*/15 * * * *", "0 * * * *", "45 1 * * *", "0 0 * * *", "30 23 * * *", "15 2 * * 0"];
  for (const transition of TRANSITIONS) {
    test(`${transition.zone} ${transition.what} (${transition.at})`, () => {
      const fromAt = at(transition.at) - 12 * HOUR;
      const untilAt = at(transition.at) + 12 * HOUR;
      for (const expression of expressions) {
        const calendar = cronCalendar(expression, transition.zone);
        const expected = bruteForceSlots(expression, transition.zone, fromAt, untilAt).map(iso);
        assert.deepEqual(slotsBetween(calendar, fromAt, untilAt, 10_000).slots.map(iso), expected, `slotsBetween "${expression}"`);
        // Starting from instants all over the window gives the same continuation.
        for (let offsetMs = 0; offsetMs < untilAt - fromAt; offsetMs += 53 * MINUTE) {
          const reference = fromAt + offsetMs;
          const next = expected.find((slot) => at(slot) > reference);
          if (next === undefined) break;
          assert.equal(iso(nextSlotAfter(calendar, reference) ?? 0), next, `"${expression}" after ${iso(reference)}`);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

const ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Santiago", "UTC", "Asia/Kolkata"] as const;
const YEAR_2020 = Date.UTC(2020, 0, 1);
const YEAR_2031 = Date.UTC(2031, 0, 1);

function fieldArbitrary(min: number, max: number, steps: readonly number[], allowStep: boolean): fc.Arbitrary<string> {
  const single = fc.integer({ min, max }).map(String);
  const range = fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
  const list = fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 3 }).map((values) => [...values].sort((a, b) => a - b).join(","));
  const options: fc.Arbitrary<string>[] = [fc.constant("*"), single, range, list];
  if (allowStep) options.push(fc.constantFrom(...steps).map((step) => `*/${step}`));
  return fc.oneof(...options);
}

/** A day field: "*" or restricted (croner treats "*\/n" in day-of-month as restricted, Vixie does not). */
function dayFieldArbitrary(min: number, max: number, starWeight: number): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: fc.constant("*"), weight: starWeight }, { arbitrary: fieldArbitrary(min, max, [], false), weight: 1 });
}

/** Five-field cron; a higher `starWeight` makes the day fields "*" more often, so slots fall on any given day. */
function cronArbitrary(minute: fc.Arbitrary<string>, starWeight: number): fc.Arbitrary<string> {
  return fc
    .tuple(minute, fieldArbitrary(0, 23, [2, 3, 4, 6], true), dayFieldArbitrary(1, 31, starWeight), dayFieldArbitrary(1, 12, starWeight), dayFieldArbitrary(0, 6, starWeight))
    .map((fields) => fields.join(" "));
}

const anyMinute = fieldArbitrary(0, 59, [5, 10, 15, 20, 30], true);
// Near a transition, slots of an every-minute rule are slow to compute (see the report); a
// sparser minute field keeps the brute-force comparison to a few seconds.
const sparseMinute = fc.oneof(
  fc.integer({ min: 0, max: 59 }).map(String),
  fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: 2, maxLength: 3 }).map((values) => [...values].sort((a, b) => a - b).join(",")),
  fc.constantFrom("*/10", "*/15", "*/20", "*/30"),
);

/** Whether a wall time cannot happen in the zone (it is in a spring-forward gap). */
function wallExists(zone: string, naiveMs: number): boolean {
  const date = new Date(naiveMs);
  const local = DateTime.fromObject(
    { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: date.getUTCHours(), minute: date.getUTCMinutes() },
    { zone },
  );
  return naive(local) === naiveMs;
}

describe("properties", () => {
  test("cron slots are strictly increasing, after the reference, and match their expression", () => {
    fc.assert(
      fc.property(cronArbitrary(anyMinute, 1), fc.constantFrom(...ZONES), fc.integer({ min: YEAR_2020, max: YEAR_2031 }), (expression, zone, referenceAt) => {
        const fields = parseCronFields(expression);
        const slots = nextSlots(cronCalendar(expression, zone), referenceAt, 6);
        let previousAt = referenceAt;
        for (const slotAt of slots) {
          assert.ok(slotAt > previousAt, `${iso(slotAt)} is not after ${iso(previousAt)}`);
          assert.equal(slotAt % MINUTE, 0);
          previousAt = slotAt;
          const wall = naive(wallAt(slotAt, zone));
          if (wallMatches(fields, wall)) continue;
          // Otherwise it must be a gap's wall time shifted forward by the gap's length.
          const gapMs = (wall - slotAt) - (naive(wallAt(slotAt - 2 * HOUR, zone)) - (slotAt - 2 * HOUR));
          assert.ok(gapMs > 0, `${iso(slotAt)} (${DateTime.fromMillis(slotAt, { zone }).toISO()}) does not match "${expression}" and follows no gap`);
          assert.ok(wallMatches(fields, wall - gapMs), `${iso(slotAt)} is not a shifted match of "${expression}"`);
          assert.ok(!wallExists(zone, wall - gapMs), `${iso(slotAt)} was shifted from a wall time that exists`);
        }
        // nextSlots and slotsBetween tell the same story.
        const last = slots.at(-1);
        if (last !== undefined) assert.deepEqual(slotsBetween(cronCalendar(expression, zone), referenceAt, last, 100).slots, slots);
      }),
      { numRuns: 200 },
    );
  });

  test("cron slots near a random transition equal the brute-force reference", () => {
    fc.assert(
      fc.property(cronArbitrary(sparseMinute, 6), fc.constantFrom(...TRANSITIONS), fc.integer({ min: -4 * 60, max: 2 * 60 }), (expression, transition, startMinutes) => {
        const fromAt = at(transition.at) + startMinutes * MINUTE;
        const untilAt = fromAt + 5 * HOUR;
        const expected = bruteForceSlots(expression, transition.zone, fromAt, untilAt).map(iso);
        assert.deepEqual(slotsBetween(cronCalendar(expression, transition.zone), fromAt, untilAt, 10_000).slots.map(iso), expected);
      }),
      { numRuns: 200 },
    );
  });

  test("every slots sit on the anchor's grid and the first one follows the reference", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 * 24 * 60 * 60 }).map((seconds) => seconds * SECOND),
        fc.integer({ min: YEAR_2020, max: YEAR_2031 }),
        fc.integer({ min: YEAR_2020, max: YEAR_2031 }),
        (intervalMs, anchorAt, referenceAt) => {
          const slots = nextSlots(everyCalendar(intervalMs, anchorAt), referenceAt, 4);
          assert.equal(slots.length, 4);
          const [first] = slots;
          assert.ok(first !== undefined && first > referenceAt && first - intervalMs <= referenceAt);
          slots.forEach((slotAt, index) => {
            assert.ok((slotAt - anchorAt) % intervalMs === 0, `${iso(slotAt)} is off the grid`);
            assert.equal(slotAt, first + index * intervalMs);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
