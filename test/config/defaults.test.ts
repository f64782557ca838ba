/** Config: what parseConfig fills in and compiles, parseSchedule for dynamic schedules, and ConfigError's format. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule, type Defaults } from "../../src/config/resolve.ts";
import { ConfigError, formatIssue } from "../../src/errors.ts";
import { HOUR, MINUTE, SECOND } from "../../src/schedule/duration.ts";
import { configError, lines, onlySchedule } from "../helpers/config-errors.ts";

const job = { class: "Job" };

describe("parseConfig: defaults", () => {
  test("fills in timezone, adapter, namespace, catch-up, queue, args and options", () => {
    const config = parseConfig({ schedules: { nightly: { cron: "0 3 * * *", job: { class: "NightlyJob" } } } });
    assert.equal(config.timezone, "UTC");
    assert.equal(config.adapter, "sidekiq");
    assert.equal(config.namespace, "clock");
    assert.deepEqual(config.adapters, {});
    assert.deepEqual(config.catchUp, DEFAULT_CATCH_UP);
    assert.deepEqual(config.schedules, [
      {
        name: "nightly",
        rule: { kind: "cron", expressions: ["0 3 * * *"] },
        ruleText: 'cron "0 3 * * *"',
        timezone: "UTC",
        startAt: undefined,
        endAt: undefined,
        enabled: true,
        adapter: "sidekiq",
        job: { class: "NightlyJob", args: [], queue: "default", options: {} },
        catchUp: DEFAULT_CATCH_UP,
        description: undefined,
      },
    ]);
  });

  test("the default catch-up fires a slot missed by a short gap late rather than never", () => {
    assert.equal(DEFAULT_CATCH_UP.policy, "latest");
    assert.equal(DEFAULT_CATCH_UP.windowMs, HOUR);
    assert.ok(DEFAULT_CATCH_UP.max >= 1);
  });

  test("schedules inherit the config's timezone, adapter and catch-up, and may override each", () => {
    const config = parseConfig({
      timezone: "Europe/London",
      adapter: "bullmq",
      catchUp: { policy: "all", window: "2h" },
      schedules: {
        inherits: { at: "09:00", job },
        overrides: { at: "09:00", timezone: "Asia/Kolkata", adapter: "resque", catchUp: { max: 3, window: "6h" }, job },
        "no-catch-up": { at: "09:00", catchUp: { policy: "none" }, job },
      },
    });
    const [inherits, overrides, none] = config.schedules;
    assert.deepEqual(config.catchUp, { policy: "all", windowMs: 2 * HOUR, max: 100 });
    assert.equal(inherits?.timezone, "Europe/London");
    assert.equal(inherits?.adapter, "bullmq");
    assert.deepEqual(inherits?.catchUp, { policy: "all", windowMs: 2 * HOUR, max: 100 });
    assert.equal(overrides?.timezone, "Asia/Kolkata");
    assert.equal(overrides?.adapter, "resque");
    assert.deepEqual(overrides?.catchUp, { policy: "all", windowMs: 6 * HOUR, max: 3 });
    assert.deepEqual(none?.catchUp, { policy: "none", windowMs: 2 * HOUR, max: 100 });
  });

  test("keeps the job as written: args, queue, options", () => {
    const schedule = onlySchedule({
      schedules: {
        invoices: {
          cron: "0 18 L * *",
          enabled: false,
          description: "month end",
          job: { class: "InvoiceJob", args: ["month-end", 3, true, null, { nested: [1, "two"] }], queue: "billing", options: { retry: 5, tags: ["a"] } },
        },
      },
    });
    assert.deepEqual(schedule.job, { class: "InvoiceJob", args: ["month-end", 3, true, null, { nested: [1, "two"] }], queue: "billing", options: { retry: 5, tags: ["a"] } });
    assert.equal(schedule.enabled, false);
    assert.equal(schedule.description, "month end");
  });

  test("compiles every kind of rule to one form, with a readable rule text", () => {
    const config = parseConfig({
      schedules: {
        cron: { cron: "0 9 * * 1-5", job },
        every: { every: "3h", job },
        anchored: { every: "1h", anchor: "2024-01-01T00:05:00Z", job },
        millis: { every: 90 * SECOND, job },
        at: { at: ["03:00", "15:00"], job },
        weekly: { at: "Monday 16:20", job },
      },
    });
    const byName = new Map(config.schedules.map((schedule) => [schedule.name, schedule]));
    assert.deepEqual(byName.get("cron")?.rule, { kind: "cron", expressions: ["0 9 * * 1-5"] });
    assert.equal(byName.get("cron")?.ruleText, 'cron "0 9 * * 1-5"');
    assert.deepEqual(byName.get("every")?.rule, { kind: "every", intervalMs: 3 * HOUR, anchorAt: 0 });
    assert.equal(byName.get("every")?.ruleText, "every 3h");
    assert.deepEqual(byName.get("anchored")?.rule, { kind: "every", intervalMs: HOUR, anchorAt: Date.parse("2024-01-01T00:05:00Z") });
    assert.equal(byName.get("anchored")?.ruleText, "every 1h from 2024-01-01T00:05:00.000Z");
    assert.deepEqual(byName.get("millis")?.rule, { kind: "every", intervalMs: 90 * SECOND, anchorAt: 0 });
    assert.equal(byName.get("millis")?.ruleText, "every 1m30s");
    assert.deepEqual(byName.get("at")?.rule, { kind: "cron", expressions: ["0 0 3 * * *", "0 0 15 * * *"] });
    assert.equal(byName.get("at")?.ruleText, "at 03:00, 15:00");
    assert.deepEqual(byName.get("weekly")?.rule, { kind: "cron", expressions: ["0 20 16 * * 1"] });
  });

  test("startAt, endAt and anchor take ISO-8601, epoch ms or a Date", () => {
    const schedule = onlySchedule({
      schedules: { bounded: { every: "5m", anchor: new Date("2024-01-01T00:01:00Z"), startAt: "2024-01-01T00:00:00Z", endAt: Date.parse("2024-02-01T00:00:00Z"), job } },
    });
    assert.equal(schedule.startAt, Date.parse("2024-01-01T00:00:00Z"));
    assert.equal(schedule.endAt, Date.parse("2024-02-01T00:00:00Z"));
    assert.deepEqual(schedule.rule, { kind: "every", intervalMs: 5 * MINUTE, anchorAt: Date.parse("2024-01-01T00:01:00Z") });
  });

  test("accepts names with letters, digits, '.', '_', '-' and ':' up to 200 characters", () => {
    const names = ["a", "daily-report", "tenant:42.sync_v2", "x".repeat(200)];
    const config = parseConfig({ schedules: Object.fromEntries(names.map((name) => [name, { at: "09:00", job }])) });
    assert.deepEqual(
      config.schedules.map((schedule) => schedule.name),
      names,
    );
  });

  test("an empty schedules object is a valid config", () => {
    assert.deepEqual(parseConfig({ schedules: {} }).schedules, []);
  });
});

describe("parseSchedule (dynamic schedules)", () => {
  const defaults: Defaults = { timezone: "Europe/London", adapter: "bullmq", catchUp: DEFAULT_CATCH_UP };

  test("applies the given defaults", () => {
    const schedule = parseSchedule("tenant:42", { every: "5m", job: { class: "SyncJob", args: [42] } }, defaults);
    assert.equal(schedule.name, "tenant:42");
    assert.equal(schedule.timezone, "Europe/London");
    assert.equal(schedule.adapter, "bullmq");
    assert.deepEqual(schedule.catchUp, DEFAULT_CATCH_UP);
    assert.deepEqual(schedule.job, { class: "SyncJob", args: [42], queue: "default", options: {} });
    assert.deepEqual(schedule.rule, { kind: "every", intervalMs: 5 * MINUTE, anchorAt: 0 });
  });

  test("reports every error under the schedule's name", () => {
    const error = configError(() => parseSchedule("daily-report", { cron: "0 9 * * *", timezone: "America/New_Yrok", job: { class: "X", args: [Number.NaN] } }, defaults));
    assert.equal(
      error.message,
      'invalid schedule "daily-report":\n  daily-report.timezone: unknown time zone "America/New_Yrok"\n  daily-report.job.args.0: NaN is not a JSON number',
    );
    assert.deepEqual(lines(error), ['daily-report.timezone: unknown time zone "America/New_Yrok"', "daily-report.job.args.0: NaN is not a JSON number"]);
  });

  test("refuses null or undefined with a ConfigError", () => {
    configError(() => parseSchedule("dyn", null, defaults));
    configError(() => parseSchedule("dyn", undefined, defaults));
  });
});

describe("ConfigError", () => {
  test("formats issues with and without a path", () => {
    const error = new ConfigError(
      [
        { path: "", message: "config file not found: /x" },
        { path: "schedules.a.cron", message: "bad" },
      ],
      "cannot load config",
    );
    assert.equal(error.message, "cannot load config:\n  config file not found: /x\n  schedules.a.cron: bad");
    assert.equal(formatIssue({ path: "a.b", message: "m" }), "a.b: m");
    assert.equal(formatIssue({ path: "", message: "m" }), "m");
  });
});
