/** Calendars, exclusions, spread and cron lists: field-level errors, defaults, dynamic schedules by calendar name. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultsOf, parseConfig } from "../../src/config/resolve.ts";
import { validateDefinition } from "../../src/dynamic/store.ts";
import { decodeSnapshot, encodeSnapshot, snapshotOf } from "../../src/dynamic/snapshot.ts";
import { describeSchedule } from "../../src/schedule/describe.ts";
import { nextSlots } from "../../src/schedule/slots.ts";
import { at, iso } from "../helpers/calendar.ts";
import { configError, issuesOf, lines, onlySchedule } from "../helpers/config-errors.ts";

const job = { class: "Job" };
const calendars = { "us-holidays": { dates: ["2026-12-25"], ranges: [{ from: "2026-12-31", to: "2027-01-01" }] } };

describe("calendars and exclusions: validation", () => {
  test("bad calendars, unknown calendar names, bad spreads and bad rules in a list are each named by field", () => {
    assert.deepEqual(
      issuesOf({
        calendars: { h: { dates: ["2026-13-01", "26-12-25"], ranges: [{ from: "2026-12-31", to: "2026-12-24" }] }, "bad name!": { dates: [] }, f: () => "yes", x: 5 },
        schedules: {
          a: { cron: ["0 9 * * 1-5", "61 * * * *"], exclude: ["h", "nope"], job },
          b: { cron: [], job },
          c: { every: "1m", spread: { max: "5m", per: "slot" }, job },
          d: { every: "1h", spread: { max: "5m", per: "tenant" }, job },
          e: { every: "1h", spread: "500ms", job },
        },
      }).sort(),
      [
        "calendars.bad name!: calendar names use letters, digits, '.', '_', '-' or ':' (at most 100)",
        "calendars.f: returned string for 2024-01-01: expected true (excluded) or false",
        'calendars.h.dates.0: invalid date "2026-13-01": no such day',
        'calendars.h.dates.1: invalid date "26-12-25" (use YYYY-MM-DD, a local date in the schedule\'s zone)',
        "calendars.h.ranges.0.to: ends before it starts (2026-12-31)",
        "calendars.x: expected { dates: [...], ranges: [{ from, to }] } or a function (date) => boolean",
        'schedules.a.cron.1: invalid cron expression "61 * * * *": minute "61": 61 is outside 0-59',
        'schedules.a.exclude.1: unknown calendar "nope" (known: h, bad name!, f, x)',
        "schedules.b.cron: expected at least one cron expression",
        "schedules.c.spread: a per-slot spread of 5m is wider than the rule's shortest gap between slots (1m): slots could change order; use at most 1m, or a per-schedule spread",
        'schedules.d.spread.per: expected "schedule" or "slot"',
        "schedules.e.spread: must be at least 1s (offsets are whole seconds)",
      ].sort(),
    );
  });

  test("a config-wide spread applies to every schedule; false opts one out; a per-slot default too wide for one schedule names it", () => {
    const config = parseConfig({ spread: "10m", schedules: { a: { cron: "0 0 * * *", job }, b: { cron: "0 0 * * *", spread: false, job } } });
    const [a, b] = config.schedules;
    assert.equal(a?.spread?.per, "schedule");
    assert.equal(b?.spread, undefined);
    assert.deepEqual(issuesOf({ spread: { max: "10m", per: "slot" }, schedules: { often: { every: "5m", job } } }), [
      "schedules.often.spread: the config's a per-slot spread of 10m is wider than the rule's shortest gap between slots (5m): slots could change order; use at most 5m, or a per-schedule spread; give this schedule its own spread (or false)",
    ]);
  });

  test("spread and exclusions in words", () => {
    const schedule = onlySchedule({ calendars, schedules: { s: { cron: ["0 9 * * 1-5", "0 12 * * 6"], exclude: ["us-holidays"], spread: { max: "10m", per: "slot" }, job } } });
    assert.equal(schedule.ruleText, 'cron "0 9 * * 1-5", "0 12 * * 6"');
    assert.equal(describeSchedule(schedule), "every weekday at 09:00; every Saturday at 12:00 UTC, except on us-holidays dates, each slot up to 10m later (spread per slot)");
  });
});

describe("dynamic schedules name the config's calendars", () => {
  const config = parseConfig({ namespace: "app", calendars, schedules: {} });
  const defaults = defaultsOf(config);

  test("an unknown calendar is refused at write time, naming the schedule and the field", () => {
    const error = configError(() => validateDefinition("report-42", { cron: "0 9 * * *", exclude: ["eu-holidays"], job }, defaults));
    assert.deepEqual(lines(error), ['report-42.exclude.0: unknown calendar "eu-holidays" (known: us-holidays)']);
    // Reported with the other problems, in one round.
    const both = configError(() => validateDefinition("report-42", { cron: "0 9 * *", exclude: ["eu-holidays"], job }, defaults));
    assert.equal(both.issues.length, 2);
  });

  test("a known one excludes its dates, and the spread is the one a config schedule of that name would get", () => {
    const dynamic = validateDefinition("tenant-7", { cron: "0 9 * * *", exclude: ["us-holidays"], spread: "10m", job }, defaults);
    const fromConfig = parseConfig({ namespace: "app", calendars, schedules: { "tenant-7": { cron: "0 9 * * *", exclude: ["us-holidays"], spread: "10m", job } } }).schedules[0];
    assert.ok(fromConfig !== undefined);
    const from = at("2026-12-23T00:00:00Z");
    assert.deepEqual(nextSlots(dynamic, from, 4).map(iso), nextSlots(fromConfig, from, 4).map(iso));
    assert.ok(!nextSlots(dynamic, from, 4).some((slot) => iso(slot).startsWith("2026-12-25")));
  });

  test("the published snapshot carries calendars once, function calendars as their dates, schedules' exclusions by name", () => {
    const withFunction = parseConfig({
      calendars: { ...calendars, fridays: (date: { weekday: number }) => date.weekday === 5 },
      schedules: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`s${i}`, { cron: "0 9 * * *", exclude: ["us-holidays", "fridays"], job }])),
    });
    const now = at("2026-12-01T00:00:00Z");
    const encoded = encodeSnapshot(snapshotOf(withFunction, now));
    assert.equal(encoded.split('"2026-12-31"').length - 1, 1, "the ranges are stored once");
    const parsed = JSON.parse(encoded) as { defaults: { calendars: Record<string, { dates: string[] }> }; schedules: { exclude: unknown }[] };
    assert.ok(parsed.defaults.calendars["fridays"]?.dates.includes("2026-12-04"));
    assert.deepEqual(parsed.schedules[0]?.exclude, ["us-holidays", "fridays"]);
    // Read back (as a client in another process does), the slots are the config's own.
    const decoded = decodeSnapshot(encoded)?.schedules[0];
    assert.ok(decoded !== undefined && withFunction.schedules[0] !== undefined);
    assert.deepEqual(nextSlots(decoded, now, 30).map(iso), nextSlots(withFunction.schedules[0], now, 30).map(iso));
  });
});
