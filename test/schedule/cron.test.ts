/** Cron syntax: fields, extensions, cron's day rule, and what is refused. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { nextSlotAfter, nextSlots } from "../../src/schedule/slots.ts";
import { parseConfig } from "../../src/config/resolve.ts";
import { ConfigError, formatIssue } from "../../src/errors.ts";
import { at, cronCalendar, iso, slotsAfter } from "../helpers/calendar.ts";

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
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * 5#L"), "2024-01-01T00:00:00Z", 3), ["2024-01-26T00:00:00Z", "2024-02-23T00:00:00Z", "2024-03-29T00:00:00Z"]);
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

  test("5#L is the last Friday, like 5L", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 * * 5#L"), "2024-01-01T00:00:00Z", 2), slotsAfter(cronCalendar("0 0 * * 5L"), "2024-01-01T00:00:00Z", 2));
  });
});

// Each case below failed on 5075151, where croner 10.0.1 did the day arithmetic.
describe("the day classes croner got wrong", () => {
  test("? means no restriction, exactly like *: weekdays stay weekdays, the 15th stays monthly", () => {
    // 2030-01-04 is a Friday: the next are Monday 7th and Tuesday 8th, never the weekend.
    assert.deepEqual(slotsAfter(cronCalendar("0 9 ? * MON-FRI"), "2030-01-04T12:00:00Z", 3), ["2030-01-07T09:00:00Z", "2030-01-08T09:00:00Z", "2030-01-09T09:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 15 * ?"), "2030-01-01T00:00:00Z", 3), ["2030-01-15T00:00:00Z", "2030-02-15T00:00:00Z", "2030-03-15T00:00:00Z"]);
  });

  test("March 1 is not skipped after a February that lacks a listed day", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0 0 1,31 * *"), "2030-02-01T00:00:00Z", 2), ["2030-03-01T00:00:00Z", "2030-03-31T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 1,15,30 * *"), "2030-02-16T00:00:00Z", 2), ["2030-03-01T00:00:00Z", "2030-03-15T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 */5 * *"), "2030-02-26T00:00:00Z", 2), ["2030-03-01T00:00:00Z", "2030-03-06T00:00:00Z"]);
    // And in a leap year, February 29 itself.
    assert.deepEqual(slotsAfter(cronCalendar("0 0 29,30 * *"), "2032-02-01T00:00:00Z", 2), ["2032-02-29T00:00:00Z", "2032-03-29T00:00:00Z"]);
  });

  test("cron's day rule: a day field starting with * (or ?) is AND-ed with the other; two restricted ones are OR-ed", () => {
    // Odd days that are Mondays (2030-01-07, 2030-01-21), not odd days or Mondays.
    assert.deepEqual(slotsAfter(cronCalendar("0 0 */2 * 1"), "2030-01-01T00:00:00Z", 3), ["2030-01-07T00:00:00Z", "2030-01-21T00:00:00Z", "2030-02-11T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 1-31/2 * 1"), "2030-01-01T00:00:00Z", 3), ["2030-01-03T00:00:00Z", "2030-01-05T00:00:00Z", "2030-01-07T00:00:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 13 * */7"), "2030-01-01T00:00:00Z", 1), ["2030-01-13T00:00:00Z"]); // a Sunday the 13th
  });

  test("N/step runs from N to the end of the field, as in Quartz, croniter, cron-parser and fugit", () => {
    assert.deepEqual(slotsAfter(cronCalendar("0/15 * * * *"), "2030-01-01T00:00:00Z", 4), [
      "2030-01-01T00:15:00Z",
      "2030-01-01T00:30:00Z",
      "2030-01-01T00:45:00Z",
      "2030-01-01T01:00:00Z",
    ]);
    assert.deepEqual(slotsAfter(cronCalendar("5/10 * * * *"), "2030-01-01T00:50:00Z", 3), ["2030-01-01T00:55:00Z", "2030-01-01T01:05:00Z", "2030-01-01T01:15:00Z"]);
    assert.deepEqual(slotsAfter(cronCalendar("0 0 2/10 * *"), "2030-01-25T00:00:00Z", 2), ["2030-02-02T00:00:00Z", "2030-02-12T00:00:00Z"]);
  });

  test("a rule that can never fire is refused at validation, naming the schedule and field", () => {
    for (const expression of ["0 0 31 4,6,9,11 *", "0 0 31 2,4,6 *", "0 0 30 2 *", "0 0 30,31 feb *"]) {
      assert.throws(
        () => parseConfig({ schedules: { nightly: { cron: expression, job: { class: "Job" } } } }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.issues.some((issue) => formatIssue(issue) === `schedules.nightly.cron: never fires ("${expression}": no calendar date matches its day and month fields)`),
        expression,
      );
    }
    // Rare is not never: February 1 or 29 that is a Monday (AND-ed: the day field starts with *).
    assert.deepEqual(slotsAfter(cronCalendar("0 0 */28 2 1"), "2030-01-01T00:00:00Z", 2), ["2038-02-01T00:00:00Z", "2044-02-01T00:00:00Z"]);
  });

  test("seven fields (a year) are refused with words, as are bad fields, each naming the field", () => {
    const refusals: [string, string][] = [
      [
        "0 0 0 1 1 * 2030",
        'invalid cron expression "0 0 0 1 1 * 2030": 7 fields: a year field is not supported (use 5 fields, minute hour day month weekday, or 6 with seconds first)',
      ],
      ["61 * * * *", 'invalid cron expression "61 * * * *": minute "61": 61 is outside 0-59'],
      ["0 9 * * FRI-MON", 'invalid cron expression "0 9 * * FRI-MON": day of week "FRI-MON": range FRI-MON runs backwards (write it as two ranges)'],
      ["*/0 * * * *", 'invalid cron expression "*/0 * * * *": minute "*/0": step "0" must be a whole number of at least 1'],
      ["0 0 * * L", 'invalid cron expression "0 0 * * L": day of week "L": L needs a weekday before it ("5L" is the last Friday)'],
      ["@reboot", 'invalid cron expression "@reboot": unknown alias "@reboot" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)'],
      ["0 9 * *", 'invalid cron expression "0 9 * *": 4 fields (use 5: minute hour day month weekday, or 6 with seconds first)'],
    ];
    for (const [expression, message] of refusals) {
      assert.throws(
        () => parseConfig({ schedules: { s: { cron: expression, job: { class: "Job" } } } }),
        (error: unknown) => error instanceof ConfigError && error.issues.map(formatIssue).includes(`schedules.s.cron: ${message}`),
        expression,
      );
    }
  });

  test("the search for a rare slot is bounded: every rule that validates answers at once", () => {
    // The rarest shape: Feb 29 AND a weekday, across the non-leap 2100: a Sunday Feb 29 comes 38 years on.
    const startedAt = performance.now();
    const slots = nextSlots(cronCalendar("0 0 29 2 */7"), at("2090-01-01T00:00:00Z"), 2).map(iso);
    assert.deepEqual(slots, ["2128-02-29T00:00:00Z", "2156-02-29T00:00:00Z"]);
    assert.ok(performance.now() - startedAt < 5_000, "bounded, not quick: speed is for the benchmark");
  });
});
