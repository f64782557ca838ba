/**
 * Config: validation with every error at once and dotted paths (parseConfig, parseSchedule), and
 * finding and importing config files (findConfigPath, importConfig) from temp dirs.
 */
import { nextSlots } from "../src/schedule/slots.ts";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, formatIssue, type FieldIssue } from "../src/errors.ts";
import { CONFIG_FILES, findConfigPath, importConfig, loadConfig } from "../src/config/load.ts";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule, type Defaults } from "../src/config/resolve.ts";
import { HOUR, MINUTE, SECOND } from "../src/schedule/duration.ts";
import type { Schedule } from "../src/schedule/schedule.ts";

const INDEX_TS = new URL("../src/index.ts", import.meta.url).pathname;

const job = { class: "Job" };

/** Runs `fn`, which must throw a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a ConfigError, nothing was thrown");
}

async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a ConfigError, nothing was thrown");
}

/** The issues as "path: message" lines, the way the CLI prints them. */
function lines(error: ConfigError): string[] {
  return error.issues.map(formatIssue);
}

function issuesOf(input: unknown): string[] {
  return lines(configError(() => parseConfig(input)));
}

function onlySchedule(input: unknown): Schedule {
  const config = parseConfig(input);
  assert.equal(config.schedules.length, 1);
  const [schedule] = config.schedules;
  assert.ok(schedule !== undefined);
  return schedule;
}

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
    assert.deepEqual(config.schedules.map((schedule) => schedule.name), names);
  });

  test("an empty schedules object is a valid config", () => {
    assert.deepEqual(parseConfig({ schedules: {} }).schedules, []);
  });
});

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
    assert.deepEqual(lines(error).sort(), [
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
    ].sort());
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
    assert.deepEqual(issuesOf({ schedules: { none: { job } } }), ["schedules.none: needs one of cron, every or at"]);
    assert.deepEqual(issuesOf({ schedules: { two: { cron: "* * * * *", every: "1m", job } } }), ["schedules.two: has cron and every: use exactly one"]);
    assert.deepEqual(issuesOf({ schedules: { three: { cron: "* * * * *", every: "1m", at: "09:00", job } } }), ["schedules.three: has cron and every and at: use exactly one"]);
  });

  test("refuses job args and options that JSON cannot carry, naming the element", () => {
    const circular: Record<string, unknown> = { name: "loop" };
    circular["self"] = circular;
    const holey = [1, , 3];
    const args: unknown[] = [() => 1, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), new Map([["a", 1]]), undefined, 10n, circular, holey, { deep: [{ x: Number.NEGATIVE_INFINITY }] }, Symbol("s"), new Set([1])];
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
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", startAt: "2024-02-01T00:00:00Z", endAt: "2024-01-01T00:00:00Z", job } } }), ["schedules.s.endAt: must be after startAt"]);
    assert.deepEqual(issuesOf({ schedules: { s: { at: "09:00", startAt: "2024-01-01T00:00:00Z", endAt: "2024-01-01T00:00:00Z", job } } }), ["schedules.s.endAt: must be after startAt"]);
    assert.equal(onlySchedule({ schedules: { s: { at: "09:00", startAt: "2024-01-01T00:00:00Z", endAt: "2024-01-01T00:00:00.001Z", job } } }).endAt, Date.parse("2024-01-01T00:00:00.001Z"));
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
    assert.ok(error.issues.some((issue) => issue.path === "schedules"), lines(error).join("\n"));
  });

  test("a schedule that is null is a ConfigError naming it", () => {
    const error = configError(() => parseConfig({ schedules: { s: null } }));
    assert.ok(error.issues.some((issue) => issue.path === "schedules.s"), lines(error).join("\n"));
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
    assert.equal(error.message, 'invalid schedule "daily-report":\n  daily-report.timezone: unknown time zone "America/New_Yrok"\n  daily-report.job.args.0: NaN is not a JSON number');
    assert.deepEqual(lines(error), ['daily-report.timezone: unknown time zone "America/New_Yrok"', "daily-report.job.args.0: NaN is not a JSON number"]);
  });

  test("refuses null or undefined with a ConfigError", () => {
    configError(() => parseSchedule("dyn", null, defaults));
    configError(() => parseSchedule("dyn", undefined, defaults));
  });
});

describe("ConfigError", () => {
  test("formats issues with and without a path", () => {
    const error = new ConfigError([{ path: "", message: "config file not found: /x" }, { path: "schedules.a.cron", message: "bad" }], "cannot load config");
    assert.equal(error.message, "cannot load config:\n  config file not found: /x\n  schedules.a.cron: bad");
    assert.equal(formatIssue({ path: "a.b", message: "m" }), "a.b: m");
    assert.equal(formatIssue({ path: "", message: "m" }), "m");
  });
});

// ---------------------------------------------------------------------------------------------
// Finding and importing config files.
// ---------------------------------------------------------------------------------------------

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "clock-config-"));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const PLAIN = (name: string) => `export default { schedules: { ${JSON.stringify(name)}: { at: "09:00", job: { class: "Job" } } } };\n`;

describe("findConfigPath", () => {
  test("finds each default file name in the directory", () => {
    assert.deepEqual(CONFIG_FILES, ["clock.config.ts", "clock.config.mts", "clock.config.js", "clock.config.mjs"]);
    for (const name of CONFIG_FILES) {
      const dir = tempDir({ [name]: PLAIN(name) });
      assert.equal(findConfigPath(undefined, dir, {}), join(dir, name));
    }
  });

  test("prefers .ts, then .mts, .js, .mjs", () => {
    const dir = tempDir({ "clock.config.mjs": PLAIN("mjs"), "clock.config.js": PLAIN("js") });
    assert.equal(findConfigPath(undefined, dir, {}), join(dir, "clock.config.js"));
    writeFileSync(join(dir, "clock.config.ts"), PLAIN("ts"));
    assert.equal(findConfigPath(undefined, dir, {}), join(dir, "clock.config.ts"));
  });

  test("an explicit path wins over CLOCK_CONFIG, which wins over the default files; relative paths resolve against cwd", () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("default"), "env.config.ts": PLAIN("env"), "explicit.config.ts": PLAIN("explicit") });
    mkdirSync(join(dir, "sub"));
    assert.equal(findConfigPath(undefined, dir, { CLOCK_CONFIG: "env.config.ts" }), join(dir, "env.config.ts"));
    assert.equal(findConfigPath("explicit.config.ts", dir, { CLOCK_CONFIG: "env.config.ts" }), join(dir, "explicit.config.ts"));
    assert.equal(findConfigPath("../explicit.config.ts", join(dir, "sub"), {}), join(dir, "explicit.config.ts"));
    assert.equal(findConfigPath(undefined, join(dir, "sub"), { CLOCK_CONFIG: join(dir, "env.config.ts") }), join(dir, "env.config.ts"));
    // An empty CLOCK_CONFIG is as good as unset.
    assert.equal(findConfigPath(undefined, dir, { CLOCK_CONFIG: "" }), join(dir, "clock.config.ts"));
  });

  test("a missing explicit or CLOCK_CONFIG file is a ConfigError naming the path", () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("default") });
    const explicit = configError(() => findConfigPath("missing.config.ts", dir, {}));
    assert.deepEqual(lines(explicit), [`config file not found: ${join(dir, "missing.config.ts")}`]);
    assert.ok(explicit.message.startsWith("cannot load config:"));
    const fromEnv = configError(() => findConfigPath(undefined, dir, { CLOCK_CONFIG: "nope.ts" }));
    assert.deepEqual(lines(fromEnv), [`config file not found: ${join(dir, "nope.ts")}`]);
  });

  test("no config file at all is a ConfigError that says how to point at one", () => {
    const dir = tempDir();
    const error = configError(() => findConfigPath(undefined, dir, {}));
    assert.deepEqual(lines(error), [`no clock.config.ts, clock.config.mts, clock.config.js, clock.config.mjs in ${dir} (pass --config PATH or set CLOCK_CONFIG)`]);
  });
});

describe("importConfig", () => {
  test("imports .ts (with types, and defineConfig by absolute path), .mts, .js and .mjs", async () => {
    const dir = tempDir({
      "clock.config.ts": `import { defineConfig } from ${JSON.stringify(INDEX_TS)};
const zone: string = "Europe/London";
export default defineConfig({ timezone: zone, schedules: { ts: { cron: "0 9 * * *", job: { class: "TsJob" } } } });
`,
      "clock.config.mts": `const every: string = "5m";\nexport default { schedules: { mts: { every, job: { class: "MtsJob" } } } };\n`,
      "clock.config.js": PLAIN("js"),
      "commonjs.config.js": `module.exports = { schedules: { cjs: { at: "09:00", job: { class: "Job" } } } };\n`,
    });
    // .mjs goes through Node's own import; under tsx (this test runner) that import would map
    // clock.config.mjs to a clock.config.mts beside it, so it gets a directory of its own.
    const mjsDir = tempDir({ "clock.config.mjs": PLAIN("mjs") });
    const ts = parseConfig(await importConfig(join(dir, "clock.config.ts")));
    assert.equal(ts.timezone, "Europe/London");
    assert.deepEqual(ts.schedules.map((schedule) => schedule.name), ["ts"]);
    for (const [file, name] of [["clock.config.mts", "mts"], ["clock.config.js", "js"], ["commonjs.config.js", "cjs"]] as const) {
      const config = parseConfig(await importConfig(join(dir, file)));
      assert.deepEqual(config.schedules.map((schedule) => schedule.name), [name], file);
    }
    assert.deepEqual(parseConfig(await importConfig(join(mjsDir, "clock.config.mjs"))).schedules.map((schedule) => schedule.name), ["mjs"]);
  });

  test("returns a plain object default export unvalidated", async () => {
    const dir = tempDir({ "clock.config.ts": `export default { timezone: "Nowhere/Zone", schedules: {} };\n` });
    assert.deepEqual(await importConfig(join(dir, "clock.config.ts")), { timezone: "Nowhere/Zone", schedules: {} });
  });

  test("reads the file afresh on every import", async () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("first") });
    const path = join(dir, "clock.config.ts");
    assert.deepEqual(parseConfig(await importConfig(path)).schedules.map((schedule) => schedule.name), ["first"]);
    writeFileSync(path, PLAIN("second"));
    assert.deepEqual(parseConfig(await importConfig(path)).schedules.map((schedule) => schedule.name), ["second"]);
  });

  test("a file that throws at import is a ConfigError with the path and the error", async () => {
    const dir = tempDir({ "clock.config.ts": `throw new Error("boom at import");\nexport default {};\n` });
    const path = join(dir, "clock.config.ts");
    const error = await configErrorAsync(() => importConfig(path));
    assert.deepEqual(lines(error), [`${path}: boom at import`]);
    assert.ok(error.message.startsWith("cannot load config:"));
  });

  test("a syntax error or a missing import is a ConfigError naming the file", async () => {
    const dir = tempDir({ "syntax.config.ts": "export default {{ ;\n", "imports.config.ts": `import x from "./nowhere.ts";\nexport default x;\n` });
    for (const file of ["syntax.config.ts", "imports.config.ts"]) {
      const error = await configErrorAsync(() => importConfig(join(dir, file)));
      assert.ok(lines(error)[0]?.startsWith(`${join(dir, file)}: `), lines(error).join("\n"));
    }
  });

  test("a default export that is not an object is a ConfigError", async () => {
    const dir = tempDir({ "clock.config.ts": "export default 42;\n" });
    const path = join(dir, "clock.config.ts");
    const error = await configErrorAsync(() => importConfig(path));
    assert.deepEqual(lines(error), [`${path}: the default export is a number, expected an object: export default defineConfig({ ... })`]);
  });

  test("loadConfig finds, imports and validates in one step", async () => {
    const dir = tempDir({ "my.config.ts": PLAIN("loaded"), "bad.config.ts": `export default { schedules: { s: { at: "25:00", job: { class: "Job" } } } };\n` });
    const { path, config } = await loadConfig(join(dir, "my.config.ts"));
    assert.equal(path, join(dir, "my.config.ts"));
    assert.deepEqual(config.schedules.map((schedule) => schedule.name), ["loaded"]);
    const error = await configErrorAsync(() => loadConfig(join(dir, "bad.config.ts")));
    assert.deepEqual(lines(error), ['schedules.s.at: invalid at time "25:00": hour 25 is past 23']);
  });
});
