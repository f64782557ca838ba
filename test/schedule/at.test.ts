/** Clockwork-style `at` times: converted to cron, then the same calendar. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { slotsBetween, type Calendar } from "../../src/schedule/slots.ts";
import { atToCron } from "../../src/schedule/at.ts";
import { parseConfig } from "../../src/config/resolve.ts";
import { at, iso, slotsAfter } from "../helpers/calendar.ts";

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
    assert.deepEqual(slotsAfter(twice, "2024-01-01T00:00:00Z", 4), ["2024-01-01T03:00:00Z", "2024-01-01T15:00:00Z", "2024-01-02T03:00:00Z", "2024-01-02T15:00:00Z"]);
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
