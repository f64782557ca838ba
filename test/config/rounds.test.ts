/**
 * Every config error in one round: the adapter checks (unknown adapter, bad settings, bad job
 * options) used to run only once the schema passed, and an adapter's settings stopped at the
 * first bad one, so a user fixed errors in two or three rounds. And a config file with no default
 * export says so, instead of "Unrecognized key" or an empty config that is "valid".
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, formatIssue } from "../../src/errors.ts";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule } from "../../src/config/resolve.ts";
import { assertBuilt, runClock } from "../helpers/process.ts";
import { suiteScope } from "../helpers/scope.ts";

const suite = suiteScope();
before(assertBuilt);

const BROKEN = {
  timezone: "Mars/Olympus",
  adapters: { list: { key: "", push: "shift" }, resque: { namespace: 5, retries: 3 } },
  schedules: {
    "bad-zone": { cron: "0 9 * * *", timezone: "Mars/Olympus", job: { class: "A" } },
    "bad-adapter": { every: "1m", adapter: "sidekick", job: { class: "B" } },
    "bad-option": { every: "1m", job: { class: "C", options: { retries: 3 } } },
    "bad-both": { every: "3 hours", adapter: "bullmqq", job: { class: "D" } },
    "bad-class": { every: "1m", adapter: "resque", job: { class: "", options: { retry: 1 } } },
    "on-list": { every: "1m", adapter: "list", job: { class: "E" } },
  },
};

const EVERY_ISSUE = [
  'timezone: unknown time zone "Mars/Olympus"',
  'schedules.bad-zone.timezone: unknown time zone "Mars/Olympus"',
  'schedules.bad-both.every: invalid duration "3 hours" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)',
  "schedules.bad-class.job.class: must not be empty",
  'schedules.bad-adapter.adapter: unknown adapter "sidekick" (built in: sidekiq, resque, bullmq, list, celery, rq; or give adapters.sidekick an object with writes() or enqueue())',
  'schedules.bad-both.adapter: unknown adapter "bullmqq" (built in: sidekiq, resque, bullmq, list, celery, rq; or give adapters.bullmqq an object with writes() or enqueue())',
  "adapters.resque.namespace: expected a non-empty string",
  "adapters.resque.retries: unknown setting",
  'adapters.list.key: expected a key, "{queue}" is replaced by the queue name',
  'adapters.list.push: expected "rpush" or "lpush"',
  "schedules.bad-option.job.options.retries: unknown Sidekiq option (known: retry, backtrace, tags, retry_queue, dead, activeJob, kwargs)",
  "schedules.bad-class.job.options.retry: Resque jobs take no options",
];

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatIssue);
    throw error;
  }
  assert.fail("expected a ConfigError");
}

describe("every config error in one round", () => {
  test("schema errors, unknown adapters, every bad adapter setting and bad job options come together", () => {
    assert.deepEqual(issuesOf(() => parseConfig(BROKEN)).sort(), [...EVERY_ISSUE].sort());
  });

  test("an adapter's bad settings no longer hide its schedules' bad job options", () => {
    const issues = issuesOf(() =>
      parseConfig({ adapters: { resque: { namespace: "" } }, schedules: { r: { every: "1m", adapter: "resque", job: { class: "R", options: { retry: 1 } } } } }),
    );
    assert.deepEqual(issues, ["adapters.resque.namespace: expected a non-empty string", "schedules.r.job.options.retry: Resque jobs take no options"]);
  });

  test("a dynamic schedule too: its schema errors and its adapter's come together", () => {
    const defaults = { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP };
    const issues = issuesOf(() => parseSchedule("report-42", { every: "3 hours", adapter: "sidekick", job: { class: "R" } }, defaults, { settings: {}, namespace: "clock" }));
    assert.deepEqual(issues, [
      'report-42.every: invalid duration "3 hours" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)',
      'report-42.adapter: unknown adapter "sidekick" (built in: sidekiq, resque, bullmq, list, celery, rq; or give adapters.sidekick an object with writes() or enqueue())',
    ]);
  });

  test("clock check prints all of them at once and exits 2", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": `export default ${JSON.stringify(BROKEN, null, 2)};\n` });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.ok(result.stderr.startsWith("clock: invalid config:\n"), result.stderr);
    const lines = result.stderr
      .trimEnd()
      .split("\n")
      .slice(1)
      .map((line) => line.trim());
    assert.deepEqual(lines.sort(), [...EVERY_ISSUE].sort());
  });
});

describe("a config file with no default export", { concurrency: true }, () => {
  const cases: [string, string, string][] = [
    ["named export only (.ts)", "clock.config.ts", "export const config = { schedules: {} };\n"],
    ["named export only (.mjs)", "clock.config.mjs", "export const config = { schedules: {} };\n"],
    ["an empty file", "clock.config.ts", "\n"],
  ];
  for (const [label, file, text] of cases) {
    test(`${label}: says exactly that, exit 2`, async () => {
      const dir = suite.tempDir({ [file]: text });
      const result = await runClock(["check"], { cwd: dir });
      assert.equal(result.code, 2);
      const exported = text.includes("config") ? "it exports only config" : "it exports nothing";
      assert.equal(result.stderr, `clock: cannot load config:\n  ${join(dir, file)} has no default export (${exported}): write export default defineConfig({ ... })\n`);
    });
  }

  test("a default export that is not an object says what it is", async () => {
    const dir = suite.tempDir({ "clock.config.ts": "export default undefined;\n" });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `clock: cannot load config:\n  ${join(dir, "clock.config.ts")}: the default export is undefined, expected an object: export default defineConfig({ ... })\n`,
    );
  });

  test("CommonJS module.exports is still the config (as in Node's own import)", async () => {
    const dir = suite.tempDir({ "clock.config.js": 'module.exports = { schedules: { a: { every: "1m", job: { class: "A" } } } };\n' });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: 1 schedule, valid\n$/);
  });
});
