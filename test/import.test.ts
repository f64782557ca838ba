/**
 * The converters of `clock import`, judged by sources independent of them: the real fugit (Ruby)
 * for sidekiq-cron's and sidekiq-scheduler's rules, a port of cronie's main loop for its DST
 * handling, and cronie's documented behaviour for crontab lines.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, importCrontab, nextSlots, parseSchedule } from "../src/internal.ts";
import { changesOf, sourceRuns } from "../src/import/dst.ts";
import { fugitCronToClock, fugitDurationMs } from "../src/import/fugit.ts";
import { fugitNatToCron } from "../src/import/fugit-nat.ts";
import { commandName } from "../src/import/names.ts";
import { splitPercent } from "../src/import/crontab.ts";
import { fugitDurations, fugitNatCrons, fugitNextTimes } from "./helpers/fugit.ts";
import { parseReference, referenceWallMatches, wallOf } from "./helpers/reference-calendar.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FROM = Date.UTC(2026, 4, 10, 3, 17);
const NOW = Date.UTC(2026, 0, 10);
const SCHEDULE_NAME = /^[A-Za-z0-9._:-]{1,200}$/;

function clockTimes(cron: string, timezone: string, fromAt: number, count: number): number[] {
  const schedule = parseSchedule("x", { cron, timezone, job: { class: "X" } }, { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP });
  return nextSlots(schedule, fromAt, count);
}

/** Seeded fugit cron strings: every item form of fugit's grammar, names, wraps, #n, L, -n, zones. */
function randomFugitCrons(seed: number, count: number): string[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const item = (low: number, high: number, names: readonly string[] = []) => {
    const value = () => (names.length > 0 && random() < 0.3 ? pick(names) : String(int(low, high)));
    return pick([() => "*", () => `*/${int(1, 12)}`, value, () => `${value()}-${value()}`, () => `${value()}-${value()}/${int(1, 5)}`, () => `${value()}/${int(1, 10)}`, value])();
  };
  const list = (make: () => string) => Array.from({ length: random() < 0.7 ? 1 : int(2, 3) }, make).join(",");
  const weekday = () =>
    random() < 0.12 ? `${int(0, 7)}#${pick(["1", "2", "3", "5", "-1", "L", "last", "-2"])}` : item(0, 7, ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "MON", "Fri"]);
  const monthday = () => (random() < 0.1 ? pick(["L", "-1", "last", "-2"]) : item(1, 31));
  return Array.from({ length: count }, () => {
    const fields = [list(() => item(0, 59)), list(() => item(0, 24)), list(monthday), list(() => item(1, 12, ["jan", "feb", "mar", "jun", "dec", "JUL"])), list(weekday)];
    if (random() < 0.15) fields.unshift(list(() => item(0, 59)));
    return `${fields.join(" ")}${random() < 0.15 ? ` ${pick(["America/New_York", "Asia/Tokyo", "UTC", "+09:00", "Europe/Berlin"])}` : ""}`;
  });
}

const NAMED_CRONS = [
  "0 0 */2 * 1", // fugit OR-s a restricted */2 with a weekday; cron AND-s
  "0 0 * * 1/2", // Monday alone in fugit
  "0 0 * * fri-mon", // wraps
  "0 22-2 * * *",
  "0 24 * * *",
  "0 0 L * *",
  "0 0 -1 * *",
  "0 0 * * mon#-1",
  "0 0 * * 1#2,1#4", // only the first entry per weekday counts
  "0 0 31 1,4 1", // compact_month_days drops April
  "*/1 * */1 * */1",
  "/5 * * * *",
  "0 0 * * *,1",
  "0 0 * * 5-1/2",
  "30 4 1,15 * 5",
  "*/30 * * * * *",
  "0 9 * * * +09:00",
  "@noon",
  "@daily",
];
/** Strings fugit's cron parser refuses (nil): the import must not make a schedule of any of them. */
const REFUSED_BY_FUGIT = [
  " 0 * * * *",
  "0 * * * * ",
  "@Daily",
  "@reboot",
  "0 0 ? * *",
  "0 0 15W * *",
  "0 9 * * * Europe/Nowhere",
  "0 0 30 2 *",
  "61 * * * *",
  "* * * *",
  "0 0 * * monday",
];

// fugit takes about a millisecond a next_time: 300 strings x 15 times keep this test near 6 s.
test("fugit's cron strings: each the import converts fires at fugit's own next times, 15 of them (300 seeded strings and named cases)", () => {
  const crons = [...NAMED_CRONS, ...randomFugitCrons(20261202, 300)];
  const judged = fugitNextTimes([...crons, ...REFUSED_BY_FUGIT], FROM, 15);
  let same = 0;
  const refused: string[] = [];
  crons.forEach((cron, index) => {
    const fugit = judged[index];
    assert.notEqual(fugit, undefined);
    const converted = fugitCronToClock(cron);
    if (!converted.ok) {
      // Only what fugit reads and the clock cannot say may be refused, with that reason.
      assert.ok(
        fugit === null || /no equivalent in the clock|no cron equivalent|no IANA zone/.test(converted.reason),
        `${cron}: refused (${converted.reason}) though fugit reads it`,
      );
      refused.push(cron);
      return;
    }
    assert.ok(fugit !== null, `${cron}: fugit refuses it, the import made "${converted.cron}"`);
    assert.deepEqual(clockTimes(converted.cron, converted.timezone ?? "UTC", FROM, 15), fugit, `${cron} -> "${converted.cron}" ${converted.timezone ?? ""}`);
    same++;
  });
  assert.ok(same >= 270, `only ${same} of ${crons.length} compared`);
  assert.ok(
    refused.every((cron) => /-2|#-2|%/.test(cron)),
    `refused: ${refused.join(" | ")}`,
  );
  REFUSED_BY_FUGIT.forEach((cron, index) => {
    assert.equal(judged[crons.length + index], null, `the premise: fugit refuses ${JSON.stringify(cron)}`);
    assert.equal(fugitCronToClock(cron).ok, false, `${JSON.stringify(cron)} was converted`);
  });
});

test("fugit's natural language: each phrase the import reads fires at the times of fugit's own cron for it", () => {
  const phrases = [
    "every day at 5pm",
    "every 3 hours",
    "every hour",
    "every minute",
    "every 15 minutes",
    "every 30 seconds",
    "every day",
    "every 2 days",
    "every week",
    "every month",
    "every 2 months",
    "every year",
    "every weekday",
    "every weekday at 9:30",
    "every monday at 9am",
    "every monday and thursday at 18:00",
    "every mon-fri at 8:15 am",
    "every monday to friday at 17:45",
    "every 1st of the month at noon",
    "every 15th of the month at midnight",
    "every day at 8:00 and 17:00",
    "every day at 8:30 and 17:00",
    "every day at 12am",
    "every day at 5pm in Europe/Paris",
    "every day at 5pm America/New_York",
    "every day at 17:30 UTC",
    "every sunday at 3:15pm",
    "every sunday at 3:15 pm",
    "every day at 12 midnight",
    "every tuesday, thursday at 6",
  ];
  const fugitCrons = fugitNatCrons(phrases);
  const expected = fugitNextTimes(
    fugitCrons.map((cron) => cron ?? "not a cron"),
    FROM,
    20,
  );
  let read = 0;
  phrases.forEach((phrase, index) => {
    const fugitCron = fugitCrons[index];
    const mine = fugitNatToCron(phrase);
    if (mine === null) return;
    assert.ok(fugitCron !== null && fugitCron !== undefined, `${phrase}: fugit reads no cron in it, the import read "${mine.cron}"`);
    const converted = fugitCronToClock(mine.cron);
    assert.ok(converted.ok, `${phrase}: ${mine.cron}`);
    assert.deepEqual(clockTimes(converted.cron, converted.timezone ?? "UTC", FROM, 20), expected[index], `${phrase}: fugit "${fugitCron}", the import "${mine.cron}"`);
    read++;
  });
  assert.ok(read >= 28, `the import read ${read} phrases`);
  assert.equal(fugitNatToCron("every day at five"), null, "named hours are left for a person");
  assert.match(fugitNatToCron("every day at 8:30 and 17:00")?.notes[0] ?? "", /keeps only the first: 17:00 never ran/);
});

test("durations: the import's milliseconds are Fugit::Duration's (rufus-scheduler's every)", () => {
  const texts = ["45m", "30s", "1h30m", "2d", "1w", "1M", "1y", "45 minutes", "2 hours and 30 minutes", "1.5 hours", "90", "P1D", "PT1H30M", "1h, 15m", "5 mins", "10 secs"];
  const fugit = fugitDurations(texts);
  texts.forEach((text, index) => assert.equal(fugitDurationMs(text), fugit[index], text));
  assert.equal(fugitDurationMs("soon"), null);
  assert.equal(fugitDurationMs("-5m"), null, "a sign is not read");
});

test("% in a crontab command ends it: the rest is standard input with % as newlines, \\% is a % (cronie's do_command.c)", () => {
  assert.deepEqual(splitPercent('mail -s "hi" joe%Joe,%%Where are you?%'), { command: 'mail -s "hi" joe', stdin: "Joe,\n\nWhere are you?\n" });
  assert.deepEqual(splitPercent("tar czf /b/$(date +\\%F).tgz /data"), { command: "tar czf /b/$(date +%F).tgz /data", stdin: null });
  assert.deepEqual(splitPercent("echo a\\\\b"), { command: "echo a\\\\b", stdin: null }, "other escapes stay");
  assert.deepEqual(splitPercent("cat%one\\%two"), { command: "cat", stdin: "one%two\n" });
  assert.deepEqual(splitPercent("x%"), { command: "x", stdin: "\n" });
});

test("crontab: CRON_TZ sets the zone of the lines after it, TZ is listed and not used, @reboot and refused syntax are listed", () => {
  const crontab = [
    "MAILTO=me@example.com",
    "@reboot /bin/boot",
    "0 9 * * * /bin/a",
    "CRON_TZ=Asia/Tokyo",
    "0 9 * * * /bin/b",
    "TZ=Europe/Paris",
    "0 9 * * * /bin/c",
    "CRON_TZ=",
    "0 9 * * * /bin/d",
    "5/15 * * * * /bin/e",
    "0 0 * * 1 echo hi%there",
    "",
  ].join("\n");
  const result = importCrontab(crontab, { timezone: "Europe/Berlin", now: NOW });
  assert.deepEqual(
    result.schedules.map((s) => [s.name, s.definition.timezone, s.definition.cron]),
    [
      ["a", "Europe/Berlin", "0 9 * * *"],
      ["b", "Asia/Tokyo", "0 9 * * *"],
      ["c", "Asia/Tokyo", "0 9 * * *"],
      ["d", "Europe/Berlin", "0 9 * * *"],
      ["echo-hi", "Europe/Berlin", "0 0 * * 1"],
    ],
  );
  const reason = (where: string) =>
    result.issues
      .filter((issue) => issue.where === where)
      .map((issue) => issue.reason)
      .join(" | ");
  assert.match(reason("line 2"), /^@reboot runs the command once when cron starts/);
  assert.match(reason("line 6"), /^TZ only sets the commands' environment/);
  assert.match(reason("line 10"), /^minute "5\/15": cronie refuses "5\/15"/);
  assert.match(reason("line 11"), /standard input/);
  assert.ok(result.issues.find((issue) => issue.where === "line 2")?.dropped);
  assert.deepEqual(result.schedules.find((s) => s.name === "echo-hi")?.definition.job, { class: "ShellCommand", args: ["echo hi"] });
  assert.ok(result.schedules.every((s) => s.comments.some((comment) => comment.startsWith("The shell command must become a job"))));
  assert.ok(
    result.schedules.every((s) => s.comments.includes("cron ran it with MAILTO=me@example.com in its environment.")),
    "the environment in force is in each comment",
  );
});

test("schedule names from commands: the program and its words, valid and unique", () => {
  assert.equal(commandName("/usr/local/bin/backup.sh --full >> /var/log/backup.log 2>&1"), "backup.sh-full");
  assert.equal(commandName("cd /srv/app && bundle exec rake reports:daily"), "rake-reports:daily");
  assert.equal(commandName("/usr/bin/flock -n /tmp/x.lock /srv/bin/import-feeds"), "import-feeds");
  assert.equal(commandName("RAILS_ENV=production nice -n 10 /srv/bin/job"), "job");
  assert.equal(commandName("curl -fsS https://hc-ping.com/abc > /dev/null"), "curl-hc-ping.com");
  assert.equal(commandName(">/dev/null"), "command");
  const result = importCrontab(["* * * * * /bin/sync", "0 * * * * /bin/sync", `0 0 * * * ${"x".repeat(300)}`, "0 1 * * * 日本語"].join("\n"), { now: NOW });
  assert.deepEqual(result.schedules.map((s) => s.name).slice(0, 2), ["sync", "sync-2"]);
  for (const { name } of result.schedules) assert.match(name, SCHEDULE_NAME);
});

/**
 * cronie in its host zone, ported from src/cron.c's main loop: it wakes each real minute, and
 * compares the wall-clock minute with its virtual time: +1 runs everything; a jump forward of up
 * to 3 h runs wildcard jobs for now and fixed-time jobs for each skipped minute; a jump back runs
 * wildcard jobs only. A job is a wildcard job when its minute or hour field starts with `*`.
 */
function cronieHostRuns(expression: string, zone: string, fromAt: number, untilAt: number): number[] {
  const fields = parseReference(expression);
  const [minute = "", hour = ""] = expression.split(/\s+/);
  const wildcard = expression === "@hourly" || minute.startsWith("*") || hour.startsWith("*");
  const runs = new Set<number>();
  const matches = (wallMinute: number) => referenceWallMatches(fields, wallMinute * MINUTE);
  const findJobs = (wallMinute: number, now: number, doWild: boolean, doNonWild: boolean) => {
    if (matches(wallMinute) && ((doNonWild && !wildcard) || (doWild && wildcard))) runs.add(now);
  };
  let virtualTime = Math.floor(wallOf(fromAt - MINUTE, zone) / MINUTE);
  for (let now = fromAt; now < untilAt; now += MINUTE) {
    const timeRunning = Math.floor(wallOf(now, zone) / MINUTE);
    const diff = timeRunning - virtualTime;
    if (diff === 1) {
      virtualTime = timeRunning;
      findJobs(virtualTime, now, true, true);
    } else if (diff > 5 && diff <= 180) {
      findJobs(timeRunning, now, true, false);
      while (virtualTime < timeRunning) findJobs(++virtualTime, now, false, true);
    } else if (diff > 0) {
      while (virtualTime < timeRunning) findJobs(++virtualTime, now, true, true);
    } else if (diff <= 0) findJobs(timeRunning, now, true, false);
  }
  return [...runs].sort((a, b) => a - b);
}

test("cronie in its host zone at DST changes: the import's model agrees with a port of cronie's main loop", () => {
  const rules = ["30 2 * * *", "30 1 * * *", "*/15 2 * * *", "0 */2 * * *", "30 * * * *", "* 1 * * *", "@hourly", "0 3 * * *", "15 1-3 * * *"];
  for (const zone of ["America/New_York", "Australia/Lord_Howe"]) {
    const changes = changesOf(zone, NOW, 366 * 24 * HOUR);
    assert.equal(changes.length, 2, `${zone}: one change each way in a year`);
    for (const change of changes) {
      for (const rule of rules) {
        const expected = cronieHostRuns(rule, zone, change.at - 3 * HOUR, change.at + 3 * HOUR);
        assert.deepEqual(sourceRuns(rule, change, "cronie-host"), expected, `${rule} in ${zone} at ${new Date(change.at).toISOString()}`);
      }
    }
  }
});

test("a rule that never meets a DST change is not listed; one that does is, with the instants of both sides", () => {
  const crontab = "CRON_TZ=America/New_York\n0 9 * * * /bin/morning\n30 1 * * * /bin/settle\n";
  const result = importCrontab(crontab, { now: NOW });
  const notes = result.issues.map((issue) => `${issue.where}: ${issue.reason}`);
  assert.equal(notes.filter((note) => note.startsWith("line 2:")).length, 0, notes.join("\n"));
  assert.ok(
    notes.some(
      (note) =>
        note ===
        'line 3: DST: at the change of 2026-11-01 in America/New_York (wall times repeat 60 minutes), cronie (CRON_TZ) runs at 2026-11-01T01:30:00-05:00 and the clock does not (README "The DST rule")',
    ),
    notes.join("\n"),
  );
});
