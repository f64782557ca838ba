/**
 * `clock check` shows each rule in words, and a 6-field rule that reads as something else
 * (`0 9 * * 1-5 *`: seconds first, so minute 9 of every hour, January to May) is warned about in
 * `check` and in the log of `clock start`.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogLine } from "../helpers/logs.ts";
import { assertBuilt, runClock } from "../helpers/process.ts";
import { suiteScope } from "../helpers/scope.ts";

const suite = suiteScope();
before(assertBuilt);

const CONFIG = `export default {
  schedules: {
    "weekday-report": { cron: "0 9 * * 1-5 *", timezone: "Europe/Paris", job: { class: "ReportJob" } },
    "fixed-report": { cron: "0 9 * * 1-5", timezone: "Europe/Paris", job: { class: "ReportJob" } },
  },
};
`;
const WARNING =
  'schedules.weekday-report.cron: "0 9 * * 1-5 *" has 6 fields, so the first is seconds and "1-5" is the month field: ' +
  'it fires every hour at :09 from January to May (Europe/Paris). A weekday rule is "0 9 * * 1-5" (5 fields) or "0 0 9 * * 1-5"; ' +
  "to mean those months, write them as names (JAN-MAY).";

describe("clock check: rules in words, and the 6-field warning", { concurrency: true }, () => {
  test("the table has each rule in words; the suspicious rule is warned about on stderr; still valid, exit 0", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": CONFIG });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, `warning: ${WARNING}\n`);
    const [header, first, second] = result.stdout.split("\n");
    assert.match(header ?? "", /^SCHEDULE +RULE +IN WORDS +ZONE +NEXT SLOT +ADAPTER\/QUEUE$/);
    assert.match(first ?? "", /^weekday-report +cron "0 9 \* \* 1-5 \*" +every hour at :09 from January to May +Europe\/Paris /);
    assert.match(second ?? "", /^fixed-report +cron "0 9 \* \* 1-5" +every weekday at 09:00 +Europe\/Paris /);
    assert.ok(result.stdout.endsWith(": 2 schedules, valid (1 warning, on stderr)\n"), result.stdout);
  });

  test("--json carries the words and the warning", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": CONFIG });
    const result = await runClock(["check", "--json"], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { schedules: { schedule: string; inWords: string | null }[]; warnings: { schedule: string; path: string; message: string }[] };
    assert.deepEqual(
      parsed.schedules.map((row) => [row.schedule, row.inWords]),
      [
        ["weekday-report", "every hour at :09 from January to May"],
        ["fixed-report", "every weekday at 09:00"],
      ],
    );
    assert.deepEqual(
      parsed.warnings.map((warning) => `${warning.path}: ${warning.message}`),
      [WARNING],
    );
    assert.equal(parsed.warnings[0]?.schedule, "weekday-report");
  });

  test("clock start logs the same warning, naming the schedule, before it starts", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": CONFIG });
    const proc = suite.clock(["start", "--dry-run"], { cwd: dir });
    await proc.waitFor((line) => line.msg.startsWith("clock started"), { what: "clock started" });
    const isWarning = (line: LogLine) => line.level === 40 && line.msg === "cron rule may not mean what it looks like";
    const warnings = proc.lines.filter(isWarning);
    assert.deepEqual(
      warnings.map((line) => [line["schedule"], line["rule"], `schedules.${String(line["schedule"])}.cron: ${String(line["warning"])}`]),
      [["weekday-report", 'cron "0 9 * * 1-5 *"', WARNING]],
    );
    assert.ok(proc.lines.findIndex(isWarning) < proc.lines.findIndex((line) => line.msg.startsWith("clock started")), proc.tail());
    assert.equal((await proc.stop("SIGTERM", 15_000)).code, 0, proc.tail());
  });
});
