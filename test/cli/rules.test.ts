/** Strange rules through the CLI: refused with exit 2 and words, never a crash that takes the other schedules down. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runClock } from "../helpers/process.ts";
import { testScope } from "../helpers/scope.ts";

const CONFIG = `export default {
  schedules: {
    fine: { cron: "0 9 * * 1-5", job: { class: "FineJob" } },
    never: { cron: "0 0 31 4,6,9,11 *", job: { class: "NeverJob" } },
    february: { cron: "0 0 30 2 *", job: { class: "FebruaryJob" } },
  },
};
`;

test("a rule that can never fire is refused by check, next and start --dry-run with exit 2, naming each schedule (it crashed with a stack overflow)", async (t) => {
  const dir = testScope(t).tempDir({ "clock.config.mjs": CONFIG });
  const config = join(dir, "clock.config.mjs");
  for (const args of [["check"], ["next"], ["start", "--dry-run"]]) {
    const result = await runClock([...args, "--config", config]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /schedules\.never\.cron: never fires \("0 0 31 4,6,9,11 \*": no calendar date matches its day and month fields\)/);
    assert.match(result.stderr, /schedules\.february\.cron: never fires \("0 0 30 2 \*"/);
    assert.doesNotMatch(result.stderr, /Maximum call stack|past endAt|at .*\.js:\d+/);
  }
});

test("N/step, ? and cron's day rule through clock next --json", async (t) => {
  const dir = testScope(t).tempDir({
    "clock.config.mjs": `export default { schedules: {
      quarter: { cron: "0/15 * * * *", job: { class: "Q" } },
      weekdays: { cron: "0 9 ? * MON-FRI", job: { class: "W" } },
      oddMondays: { cron: "0 0 */2 * 1", job: { class: "O" } },
    } };\n`,
  });
  const result = await runClock(["next", "--json", "--count", "40", "--from", "2030-01-04T12:00:00Z", "--config", join(dir, "clock.config.mjs")]);
  assert.equal(result.code, 0, result.stderr);
  const slots = JSON.parse(result.stdout) as { schedule: string; epochMs: number }[];
  const of = (name: string) => slots.filter((slot) => slot.schedule === name).map((slot) => slot.epochMs);
  assert.ok(
    of("weekdays").length > 0 && of("weekdays").every((slot) => ![0, 6].includes(new Date(slot).getUTCDay())),
    `weekdays: ${of("weekdays")
      .map((slot) => new Date(slot).toISOString())
      .join(" ")}`,
  );
  assert.equal(of("oddMondays").length, 40);
  assert.ok(of("quarter").every((slot) => new Date(slot).getUTCMinutes() % 15 === 0));
  for (const slot of of("oddMondays")) assert.ok(new Date(slot).getUTCDay() === 1 && new Date(slot).getUTCDate() % 2 === 1, new Date(slot).toISOString());
});
