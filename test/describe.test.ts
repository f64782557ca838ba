/**
 * Rules in words, and the warning for a 6-field rule that reads as something else: pure
 * functions, no process. `clock check` and `clock start` show both (test/cli-check.test.ts).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { cronRuleWarnings, describeRule, describeSchedule } from "../src/schedule/describe.ts";

const DEFAULTS = { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP };
const cron = (expression: string, timezone = "UTC") => parseSchedule("s", { cron: expression, timezone, job: { class: "J" } }, DEFAULTS);

describe("rules in words", () => {
  test("common shapes get a sentence; the zone is added unless the rule is sub-hourly in UTC", () => {
    const cases: [string, string, string][] = [
      ["0 9 * * 1-5", "America/New_York", "every weekday at 09:00 America/New_York"],
      ["*/5 * * * *", "UTC", "every 5 minutes"],
      ["0 18 L * *", "Australia/Sydney", "on the last day of the month at 18:00 Australia/Sydney"],
      ["15 30 9 * * 1-5", "UTC", "every weekday at 09:30:15 UTC"],
    ];
    for (const [expression, zone, words] of cases) assert.equal(describeSchedule(cron(expression, zone)), words, expression);
  });

  test("a month field is put in words, not dropped (it used to fall back to the rule as written)", () => {
    assert.equal(describeRule(cron("0 9 * * 1-5 *")), "every hour at :09 from January to May");
    assert.equal(describeRule(cron("0 0 9 1 1,3,7 *")), "on day 1 of the month at 09:00 in January, March and July");
    assert.equal(describeRule(cron("0 0 12 * MAR *")), "every day at 12:00 in March");
    assert.equal(describeRule(cron("0 0 9 * JAN-MAY *")), "every day at 09:00 from January to May");
  });

  test("a second other than :00 is said, not dropped", () => {
    assert.equal(describeRule(cron("30 * * * * *")), "every minute at second 30");
    assert.equal(describeRule(cron("30 9 * * * *")), "every hour at :09:30");
  });

  test("shapes without a sentence give null (describeSchedule then shows the rule as written)", () => {
    assert.equal(describeRule(cron("0 9 * * 1#2")), null);
    assert.equal(describeSchedule(cron("0 9 * * 1#2", "Europe/Paris")), 'cron "0 9 * * 1#2" (Europe/Paris)');
  });
});

describe("the 6-field warning", () => {
  test('"0 9 * * 1-5 *" (a weekday rule with a year field appended) warns, saying what it fires and what to write', () => {
    const [warning, ...more] = cronRuleWarnings(cron("0 9 * * 1-5 *", "Europe/Paris"));
    assert.deepEqual(more, []);
    assert.equal(
      warning,
      '"0 9 * * 1-5 *" has 6 fields, so the first is seconds and "1-5" is the month field: it fires every hour at :09 from January to May (Europe/Paris). ' +
        'A weekday rule is "0 9 * * 1-5" (5 fields) or "0 0 9 * * 1-5"; to mean those months, write them as names (JAN-MAY).',
    );
  });

  test("the same shape with ? or a single weekday warns too", () => {
    assert.equal(cronRuleWarnings(cron("0 9 ? * 1-5 ?")).length, 1);
    assert.equal(cronRuleWarnings(cron("30 12 * * 3 *")).length, 1);
    assert.equal(cronRuleWarnings(cron("0 8 * * 1,3,5 *")).length, 1);
  });

  test("rules that mean what they look like do not warn", () => {
    for (const expression of ["0 9 * * 1-5", "0 0 9 * * 1-5", "0 0 9 * 1-5 *", "0 9 * * JAN-MAY *", "0 9 * * 8-12 *", "*/10 * * * * *", "0 0 * * * *", "@daily"]) {
      assert.deepEqual(cronRuleWarnings(cron(expression)), [], expression);
    }
    const at = parseSchedule("s", { at: ["Monday 09:00", "**:30"], job: { class: "J" } }, DEFAULTS);
    const every = parseSchedule("s", { every: "5m", job: { class: "J" } }, DEFAULTS);
    assert.deepEqual([...cronRuleWarnings(at), ...cronRuleWarnings(every)], []);
  });
});
