/** Intervals, startAt/endAt bounds, and ranges of slots. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { nextSlotAfter, slotsBetween } from "../../src/schedule/slots.ts";
import { DAY, HOUR, MINUTE, SECOND } from "../../src/schedule/duration.ts";
import { at, cronCalendar, everyCalendar, iso, slotsAfter } from "../helpers/calendar.ts";

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
    const result = slotsBetween(
      everyCalendar(HOUR, 0, { startAt: at("2024-01-01T03:00:00Z"), endAt: at("2024-01-01T05:00:00Z") }),
      at("2024-01-01T00:00:00Z"),
      at("2024-01-02T00:00:00Z"),
      10,
    );
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
