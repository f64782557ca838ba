/** Config: validation with every error at once, each with its dotted path (parseConfig). */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/resolve.ts";
import type { FieldIssue } from "../../src/errors.ts";
import { nextSlots } from "../../src/schedule/slots.ts";
import { configError, issuesOf, lines, onlySchedule } from "../helpers/config-errors.ts";

const job = { class: "Job" };

describe("parseConfig: errors", () => {
  test("reports every error at once, each with its dotted path", () => {
    const error = configError(() =>
      parseConfig({
        timezone: "Mars/Olympus",
        schedules: {
          "daily-report": { cron: "0 9 * * 1-5", timezone: "America/New_Yrok", job: { class: "DailyReportJob", args: [42, () => 1] } },
          refresh: { every: "3 hours", job: { class: "" } },
          both: { cron: "61 * * * *", at: "25:00", job: { klass: "X" } },
          "bad name!": { at: "Funday 10:00", job: { class: "Y", args: [Number.NaN, new Date(0)] } },
        },
      }),
    );
    assert.equal(error.name, "ConfigError");
    assert.ok(error instanceof Error);
    assert.deepEqual(
      lines(error).sort(),
      [
        'schedules.bad name!.at: invalid at time "Funday 10:00": unknown weekday "Funday"',
        "schedules.bad name!.job.args.0: NaN is not a JSON number",
        "schedules.bad name!.job.args.1: Date is not plain JSON (pass a string, number, boolean, null, array or plain object)",
        "schedules.bad name!: schedule names use letters, digits, '.', '_', '-' or ':' (at most 200)",
        'schedules.both.at: invalid at time "25:00": hour 25 is past 23',
        'schedules.both.cron: invalid cron expression "61 * * * *": minute "61": 61 is outside 0-59',
        "schedules.both.job.class: expected the job class name (a string)",
        'schedules.both.job: Unrecognized key: "klass"',
        "schedules.both: has cron and at: use exactly one",
        "schedules.daily-report.job.args.1: function is not JSON",
        'schedules.daily-report.timezone: unknown time zone "America/New_Yrok"',
        'schedules.refresh.every: invalid duration "3 hours" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)',
        "schedules.refresh.job.class: must not be empty",
        'timezone: unknown time zone "Mars/Olympus"',
      ].sort(),
    );
    // The message lists them all under one heading, one per line.
    assert.ok(error.message.startsWith("invalid config:\n"));
    assert.ok(error.message.includes('\n  schedules.daily-report.timezone: unknown time zone "America/New_Yrok"'));
    assert.equal(error.message.split("\n").length, 1 + error.issues.length);
  });

  test("issues carry path and message separately", () => {
    const error = configError(() => parseConfig({ schedules: { "daily-report": { cron: "0 9 * * *", timezone: "America/New_Yrok", job } } }));
    assert.deepEqual(error.issues, [{ path: "schedules.daily-report.timezone", message: 'unknown time zone "America/New_Yrok"' }] satisfies FieldIssue[]);
  });

  test("needs exactly one of cron, every and at", () => {
    assert.deepEqual(issuesOf({ schedules: { none: { job } } }), ["schedules.none: needs one of cron, every, at or once"]);
    assert.deepEqual(issuesOf({ schedules: { two: { cron: "* * * * *", every: "1m", job } } }), ["schedules.two: has cron and every: use exactly one"]);
    assert.deepEqual(issuesOf({ schedules: { three: { cron: "* * * * *", every: "1m", at: "09:00", job } } }), ["schedules.three: has cron and every and at: use exactly one"]);
  });

  test("refuses job args and options that JSON cannot carry, naming the element", () => {
    const circular: Record<string, unknown> = { name: "loop" };
    circular["self"] = circular;
    const holey = [1, , 3];
    const args: unknown[] = [
      () => 1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      new Date(0),
      new Map([["a", 1]]),
      undefined,
      10n,
      circular,
      holey,
      { deep: [{ x: Number.NEGATIVE_INFINITY }] },
      Symbol("s"),
      new Set([1]),
    ];
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", job: { class: "Job", args, options: { retry: undefined, big: 1n } } } } }), [
      "schedules.s.job.args.0: function is not JSON",
      "schedules.s.job.args.1: NaN is not a JSON number",
      "schedules.s.job.args.2: Infinity is not a JSON number",
      "schedules.s.job.args.3: Date is not plain JSON (pass a string, number, boolean, null, array or plain object)",
      "schedules.s.job.args.4: Map is not plain JSON (pass a string, number, boolean, null, array or plain object)",
      "schedules.s.job.args.5: undefined is not JSON",
      "schedules.s.job.args.6: bigint is not JSON",
      "schedules.s.job.args.7.self: circular reference",
      "schedules.s.job.args.8.1: hole in array",
      "schedules.s.job.args.9.deep.0.x: -Infinity is not a JSON number",
      "schedules.s.job.args.10: symbol is not JSON",
      "schedules.s.job.args.11: Set is not plain JSON (pass a string, number, boolean, null, array or plain object)",
      "schedules.s.job.options.retry: undefined is not JSON",
      "schedules.s.job.options.big: bigint is not JSON",
    ]);
  });

  test("a value seen twice is not circular", () => {
    const shared = { region: "uk" };
    const schedule = onlySchedule({ schedules: { s: { at: "09:00", job: { class: "Job", args: [shared, shared, [shared]] } } } });
    assert.deepEqual(schedule.job.args, [{ region: "uk" }, { region: "uk" }, [{ region: "uk" }]]);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", job: { class: "Job", args: "not an array" } } } }), ["schedules.s.job.args: expected an array of JSON values"]);
  });

  test("refuses bad schedule names", () => {
    const message = "schedule names use letters, digits, '.', '_', '-' or ':' (at most 200)";
    assert.deepEqual(issuesOf({ schedules: { "bad name": { at: "09:00", job } } }), [`schedules.bad name: ${message}`]);
    assert.deepEqual(issuesOf({ schedules: { "slash/name": { at: "09:00", job } } }), [`schedules.slash/name: ${message}`]);
    assert.deepEqual(issuesOf({ schedules: { "": { at: "09:00", job } } }), [`schedules.: ${message}`]);
    assert.deepEqual(issuesOf({ schedules: { ["x".repeat(201)]: { at: "09:00", job } } }), [`schedules.${"x".repeat(201)}: ${message}`]);
  });

  test("refuses unknown keys at every level", () => {
    assert.deepEqual(issuesOf({ bogus: 1, schedules: {} }), ['Unrecognized key: "bogus"']);
    assert.deepEqual(issuesOf({ schedules: { s: { crn: "* * * * *", at: "09:00", job } } }), ['schedules.s: Unrecognized key: "crn"']);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", job: { class: "Job", klass: "Job" } } } }), ['schedules.s.job: Unrecognized key: "klass"']);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", catchUp: { policy: "all", windw: "1h" }, job } } }), ['schedules.s.catchUp: Unrecognized key: "windw"']);
  });

  test("endAt must be after startAt", () => {
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", startAt: "2024-02-01T00:00:00Z", endAt: "2024-01-01T00:00:00Z", job } } }), [
      "schedules.s.endAt: must be after startAt",
    ]);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", startAt: "2024-01-01T00:00:00Z", endAt: "2024-01-01T00:00:00Z", job } } }), [
      "schedules.s.endAt: must be after startAt",
    ]);
    assert.equal(
      onlySchedule({ schedules: { s: { at: "09:00", startAt: "2024-01-01T00:00:00Z", endAt: "2024-01-01T00:00:00.001Z", job } } }).endAt,
      Date.parse("2024-01-01T00:00:00.001Z"),
    );
  });

  test("anchor only goes with every", () => {
    assert.deepEqual(issuesOf({ schedules: { s: { cron: "0 * * * *", anchor: "2024-01-01T00:00:00Z", job } } }), ["schedules.s.anchor: anchor only applies to every"]);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", anchor: 0, job } } }), ["schedules.s.anchor: anchor only applies to every"]);
  });

  test("refuses bad times, durations, intervals, zones, at lists and catch-up settings", () => {
    assert.deepEqual(
      issuesOf({
        schedules: {
          a: { every: 500, job },
          b: { every: "0s", job },
          c: { at: [], job },
          d: { at: ["09:00", "25:00", "x"], job },
          e: { cron: "0 0 * * *", timezone: 5, job },
          f: { cron: "0 0 * * *", startAt: "yesterday", job },
          g: { cron: "0 0 * * *", endAt: "03/10/2024", job },
          h: { cron: "0 0 * * *", catchUp: { policy: "sometimes", max: 0 }, job },
          i: { cron: "not a cron", job },
          j: { every: "1.0001s", job },
        },
      }),
      [
        "schedules.a.every: must be at least 1s",
        'schedules.b.every: invalid duration "0s": must be a positive whole number of milliseconds',
        "schedules.c.at: expected at least one time",
        'schedules.d.at.1: invalid at time "25:00": hour 25 is past 23',
        'schedules.d.at.2: invalid at time "x" (use "HH:MM", "**:MM", "HH:**" or "Monday HH:MM")',
        "schedules.e.timezone: expected an IANA time zone name",
        'schedules.f.startAt: invalid time "yesterday" (use ISO-8601, e.g. "2026-01-01T00:00:00Z")',
        'schedules.g.endAt: invalid time "03/10/2024" (use ISO-8601, e.g. "2026-01-01T00:00:00Z")',
        'schedules.h.catchUp.policy: expected "latest", "all" or "none"',
        "schedules.h.catchUp.max: Too small: expected number to be >0",
        ...issuesOf({ schedules: { i: { cron: "not a cron", job } } }),
        'schedules.j.every: invalid duration "1.0001s": must be a positive whole number of milliseconds',
      ],
    );
    assert.match(issuesOf({ schedules: { i: { cron: "not a cron", job } } }).join("\n"), /^schedules\.i\.cron: invalid cron expression "not a cron": /);
  });

  test("refuses a bad namespace and a non-object config", () => {
    assert.deepEqual(issuesOf({ namespace: "my app", schedules: {} }), ["namespace: use letters, digits, '.', '_', '-' or ':'"]);
    assert.deepEqual(issuesOf(null), ["Invalid input: expected object, received null"]);
    assert.deepEqual(issuesOf({ schedules: [] }), ["schedules: expected an object of named schedules"]);
  });

  test("a config without schedules is valid (all schedules dynamic); schedules: null is a ConfigError naming the field", () => {
    assert.deepEqual(parseConfig({}).schedules, []);
    const error = configError(() => parseConfig({ schedules: null }));
    assert.ok(
      error.issues.some((issue) => issue.path === "schedules"),
      lines(error).join("\n"),
    );
  });

  test("a schedule that is null is a ConfigError naming it", () => {
    const error = configError(() => parseConfig({ schedules: { s: null } }));
    assert.ok(
      error.issues.some((issue) => issue.path === "schedules.s"),
      lines(error).join("\n"),
    );
  });

  test("a schedule that is not an object gets one issue, not cross-field noise", () => {
    assert.deepEqual(issuesOf({ schedules: { s: "0 9 * * *" } }), ["schedules.s: Invalid input: expected object, received string"]);
    assert.deepEqual(issuesOf({ schedules: { s: ["0 9 * * *"] } }), ["schedules.s: Invalid input: expected object, received array"]);
  });

  test('"?" in a cron means "any" (as in Quartz), never the time the process started', () => {
    const a = parseConfig({ schedules: { s: { cron: "0 ? * * *", job } } }).schedules[0]!;
    const b = parseConfig({ schedules: { s: { cron: "0 * * * *", job } } }).schedules[0]!;
    const from = Date.parse("2024-06-01T10:30:00Z");
    assert.deepEqual(nextSlots(a, from, 3), nextSlots(b, from, 3));
  });
});
