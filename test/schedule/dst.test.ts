/**
 * DST: one rule, four zones, both directions. Expected instants are written literally (UTC),
 * worked out by hand from each zone's rules (checked against `zdump -v`), with the local wall
 * time alongside. The rule under test is the one at the top of src/schedule/slots.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { nextSlotAfter, slotsBetween } from "../../src/schedule/slots.ts";
import { HOUR, MINUTE } from "../../src/schedule/duration.ts";
import { at, cronCalendar, iso, slotsAfter, slotsIn } from "../helpers/calendar.ts";
import { bruteForceSlots, TRANSITIONS } from "../helpers/reference-calendar.ts";

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

describe("DST in Pacific/Apia (2011-12-29 23:59:59 -10 -> 2011-12-31 00:00 +14: December 30 never happened)", () => {
  const zone = "Pacific/Apia";

  test("a daily 09:00 fires once for the missing day, a day later, where it meets the 31st's own 09:00: one slot", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 9 * * *", zone), "2011-12-29T12:00:00Z", 3), [
      "2011-12-29T19:00:00Z", // Dec 29 09:00 -10
      "2011-12-30T19:00:00Z", // Dec 30 09:00 (gone) shifted 24 h = Dec 31 09:00 +14
      "2011-12-31T19:00:00Z", // Jan 1 09:00 +14
    ]);
  });

  test("a rule for December 30 only fires, shifted, in the hours after the jump", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 12 30 12 *", zone), "2011-12-30T09:00:00Z", 1), ["2011-12-30T22:00:00Z"]); // Dec 31 12:00 +14
    // From hours after the change, the gap's shifted wall times are still ahead, and found.
    assert.deepEqual(slotsAfter(cronCalendar("0 */6 30 12 *", zone), "2011-12-30T15:00:00Z", 2), ["2011-12-30T16:00:00Z", "2011-12-30T22:00:00Z"]);
  });

  test("hourly across the jump: every real hour once", () => {
    assert.equal(slotsBetween(cronCalendar("0 * * * *", zone), at("2011-12-30T00:00:00Z"), at("2011-12-31T00:00:00Z"), 100).total, 24);
  });
});
