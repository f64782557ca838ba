/** Properties (fast-check): slots increase, match their rule, and equal the brute-force reference near transitions. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DateTime } from "luxon";
import { nextSlots, slotsBetween } from "../../src/schedule/slots.ts";
import { HOUR, MINUTE, SECOND } from "../../src/schedule/duration.ts";
import { at, cronCalendar, everyCalendar, iso } from "../helpers/calendar.ts";
import { bruteForceSlots, parseReference, TRANSITIONS, referenceEverMatches, referenceWallMatches, wallOf } from "../helpers/reference-calendar.ts";

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

/** A day field: "*" or restricted, with steps ("*\/2" starts with "*": cron AND-s it with the other day field). */
function dayFieldArbitrary(min: number, max: number, starWeight: number): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: fc.constant("*"), weight: starWeight }, { arbitrary: fieldArbitrary(min, max, [2, 3, 5], true), weight: 1 });
}

/** Whether a rule's date fields ever match (cached by those fields: rules that can never fire are refused, so not generated). */
const everCache = new Map<string, boolean>();
function canFire(expression: string): boolean {
  const days = expression.split(" ").slice(-3).join(" ");
  let ever = everCache.get(days);
  if (ever === undefined) everCache.set(days, (ever = referenceEverMatches(parseReference(expression))));
  return ever;
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
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute) === naiveMs;
}

describe("properties", () => {
  test("cron slots are strictly increasing, after the reference, and match their expression", () => {
    fc.assert(
      fc.property(cronArbitrary(anyMinute, 1), fc.constantFrom(...ZONES), fc.integer({ min: YEAR_2020, max: YEAR_2031 }), (expression, zone, referenceAt) => {
        fc.pre(canFire(expression));
        const fields = parseReference(expression);
        const slots = nextSlots(cronCalendar(expression, zone), referenceAt, 6);
        let previousAt = referenceAt;
        for (const slotAt of slots) {
          assert.ok(slotAt > previousAt, `${iso(slotAt)} is not after ${iso(previousAt)}`);
          assert.equal(slotAt % MINUTE, 0);
          previousAt = slotAt;
          const wall = wallOf(slotAt, zone);
          if (referenceWallMatches(fields, wall)) continue;
          // Otherwise it must be a gap's wall time shifted forward by the gap's length.
          const gapMs = wall - slotAt - (wallOf(slotAt - 2 * HOUR, zone) - (slotAt - 2 * HOUR));
          assert.ok(gapMs > 0, `${iso(slotAt)} (${DateTime.fromMillis(slotAt, { zone }).toISO()}) does not match "${expression}" and follows no gap`);
          assert.ok(referenceWallMatches(fields, wall - gapMs), `${iso(slotAt)} is not a shifted match of "${expression}"`);
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
        fc.pre(canFire(expression));
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
