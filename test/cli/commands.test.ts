/**
 * The CLI as a user meets it: spawn `node bin/clock.js` (the compiled dist/, which `npm test`
 * builds first) and check exit codes, stdout and stderr.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { importConfig } from "../../src/config/load.ts";
import { parseConfig } from "../../src/config/resolve.ts";
import { assertBuilt, ROOT, runClock } from "../helpers/process.ts";
import { suiteScope } from "../helpers/scope.ts";

const EXAMPLE_CONFIG = join(ROOT, "clock.config.ts");
const suite = suiteScope();
const tempDir = (files: Record<string, string> = {}): string => suite.tempDir(files, "clock-cli-");

before(assertBuilt);

// One schedule per zone, each reaching a DST transition within five slots of 2024-03-09T00:00Z:
// New York and London spring forward (gap), Lord Howe and Santiago fall back (overlap).
const DST_CONFIG = `export default {
  schedules: {
    "ny-gap": { cron: "30 2 * * *", timezone: "America/New_York", job: { class: "NyJob" } },
    "london-gap": { cron: "30 1 * * 0", timezone: "Europe/London", job: { class: "LondonJob" } },
    "lord-howe-overlap": { cron: "45 1 * * 0", timezone: "Australia/Lord_Howe", job: { class: "LordHoweJob" } },
    "santiago-overlap": { cron: "30 23 * * 6", timezone: "America/Santiago", job: { class: "SantiagoJob" } },
  },
};
`;

const BROKEN_CONFIG = `export default {
  timezone: "Mars/Olympus",
  schedules: {
    "daily-report": { cron: "0 9 * * 1-5", timezone: "America/New_Yrok", job: { class: "DailyReportJob", args: [42] } },
    refresh: { every: "3 hours", job: { class: "RefreshJob" } },
    both: { cron: "61 * * * *", at: "09:00", job: { class: "BothJob" } },
    "bad name!": { at: "Funday 10:00", job: { class: "Y", args: [Number.NaN] } },
  },
};
`;

describe("clock (no command)", { concurrency: true }, () => {
  test("--help, -h and help print the usage and exit 0", async () => {
    for (const flag of ["--help", "-h", "help"]) {
      const result = await runClock([flag]);
      assert.equal(result.code, 0, flag);
      assert.match(result.stdout, /^Usage: clock COMMAND \[options\]/);
      assert.match(result.stdout, /\n {2}check +validate the config/);
      assert.match(result.stdout, /\n {2}next +show the next slots/);
      assert.match(result.stdout, /CLOCK_CONFIG/);
      assert.equal(result.stderr, "");
    }
  });

  test("with no command: the usage, exit 2", async () => {
    const result = await runClock([]);
    assert.equal(result.code, 2);
    assert.match(result.stdout + result.stderr, /Usage: clock COMMAND/);
  });

  test("--version and -v print package.json's version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      const result = await runClock([flag]);
      assert.equal(result.code, 0);
      assert.equal(result.stdout, `${version}\n`);
      assert.equal(result.stderr, "");
    }
  });

  test("an unknown command exits 2 with a hint on stderr", async () => {
    const result = await runClock(["frobnicate"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, 'clock: unknown command "frobnicate"\nhint: clock --help lists the commands\n');
  });

  test("COMMAND --help prints that command's usage", async () => {
    for (const command of ["check", "next"]) {
      const result = await runClock([command, "--help"]);
      assert.equal(result.code, 0);
      assert.ok(result.stdout.startsWith(`Usage: clock ${command}`), result.stdout);
    }
  });
});

describe("clock check", { concurrency: true }, () => {
  test("the example config is valid: exit 0 and every schedule listed", async () => {
    const names = parseConfig(await importConfig(EXAMPLE_CONFIG)).schedules.map((schedule) => schedule.name);
    assert.ok(names.includes("daily-report") && names.includes("heartbeat"), names.join(", "));
    const result = await runClock(["check"], { cwd: ROOT });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const rows = result.stdout.split("\n");
    assert.match(rows[0] ?? "", /^SCHEDULE +RULE +IN WORDS +ZONE +NEXT SLOT +ADAPTER\/QUEUE$/);
    for (const name of names)
      assert.ok(
        rows.some((row) => row.startsWith(`${name} `)),
        `${name} missing from:\n${result.stdout}`,
      );
    assert.ok(result.stdout.includes(`${EXAMPLE_CONFIG}: ${names.length} schedules, valid`), result.stdout);
  });

  test("--json lists the same schedules", async () => {
    const names = parseConfig(await importConfig(EXAMPLE_CONFIG)).schedules.map((schedule) => schedule.name);
    const result = await runClock(["check", "--json"], { cwd: ROOT });
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as { config: string; valid: boolean; schedules: { schedule: string; next: string | null }[] };
    assert.equal(parsed.config, EXAMPLE_CONFIG);
    assert.equal(parsed.valid, true);
    assert.deepEqual(
      parsed.schedules.map((row) => row.schedule),
      names,
    );
    for (const row of parsed.schedules) assert.ok(row.next === null || Number.isFinite(Date.parse(row.next)));
  });

  test("a broken config exits 2 and stderr names every bad field", async () => {
    const dir = tempDir({ "clock.config.ts": BROKEN_CONFIG });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.ok(result.stderr.startsWith("clock: invalid config:\n"), result.stderr);
    for (const line of [
      'timezone: unknown time zone "Mars/Olympus"',
      'schedules.daily-report.timezone: unknown time zone "America/New_Yrok"',
      'schedules.refresh.every: invalid duration "3 hours"',
      'schedules.both.cron: invalid cron expression "61 * * * *"',
      "schedules.both: has cron and at: use exactly one",
      'schedules.bad name!.at: invalid at time "Funday 10:00": unknown weekday "Funday"',
      "schedules.bad name!.job.args.0: NaN is not a JSON number",
      "schedules.bad name!: schedule names use letters",
    ]) {
      assert.ok(result.stderr.includes(`\n  ${line}`), `missing "${line}" in:\n${result.stderr}`);
    }
  });

  test("an unknown flag exits 2 with a hint", async () => {
    const result = await runClock(["check", "--bogus"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^clock: .*'--bogus'/);
    assert.match(result.stderr, /\nhint: clock check --help\n$/);
  });

  test("--config pointing to a missing file exits 2 and names the path", async () => {
    const dir = tempDir();
    const missing = join(dir, "missing.config.ts");
    const result = await runClock(["check", "--config", missing], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stderr, `clock: cannot load config:\n  config file not found: ${missing}\n`);
  });

  test("no config in the directory exits 2 and says how to point at one", async () => {
    const dir = tempDir();
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /pass --config PATH or set CLOCK_CONFIG/);
  });

  test("a config that throws at import exits 2 with the file and the error", async () => {
    const dir = tempDir({ "clock.config.ts": 'throw new Error("boom at import");\nexport default {};\n' });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.ok(result.stderr.startsWith(`clock: cannot load config:\n  ${join(dir, "clock.config.ts")}: boom at import`), result.stderr);
  });

  test("a config whose schedules are not an object exits 2 naming the field", async () => {
    const dir = tempDir({ "clock.config.ts": "export default { schedules: null };\n" });
    const result = await runClock(["check"], { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /schedules/);
  });

  test("CLOCK_CONFIG is honoured, relative to the working directory", async () => {
    const configDir = tempDir({ "dst.config.ts": DST_CONFIG });
    const cwd = tempDir();
    const absolute = await runClock(["check"], { cwd, env: { CLOCK_CONFIG: join(configDir, "dst.config.ts") } });
    assert.equal(absolute.code, 0, absolute.stderr);
    assert.ok(absolute.stdout.includes(`${join(configDir, "dst.config.ts")}: 4 schedules, valid`), absolute.stdout);
    const relative = await runClock(["check"], { cwd: configDir, env: { CLOCK_CONFIG: "dst.config.ts" } });
    assert.equal(relative.code, 0, relative.stderr);
    const missing = await runClock(["check"], { cwd, env: { CLOCK_CONFIG: "nope.config.ts" } });
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `clock: cannot load config:\n  config file not found: ${join(cwd, "nope.config.ts")}\n`);
  });
});

describe("clock next", { concurrency: true }, () => {
  const FROM = "2024-03-09T00:00:00Z";

  test("--json: five slots per schedule across four zones' DST changes, ordered by time", async () => {
    const dir = tempDir({ "clock.config.ts": DST_CONFIG });
    const result = await runClock(["next", "--json", "--count", "5", "--from", FROM], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.deepEqual(JSON.parse(result.stdout), [
      { schedule: "ny-gap", at: "2024-03-09T02:30:00-05:00", epochMs: 1709969400000 }, // 07:30Z
      { schedule: "lord-howe-overlap", at: "2024-03-10T01:45:00+11:00", epochMs: 1709995500000 }, // Mar 9 14:45Z
      { schedule: "london-gap", at: "2024-03-10T01:30:00+00:00", epochMs: 1710034200000 }, // 01:30Z
      { schedule: "santiago-overlap", at: "2024-03-09T23:30:00-03:00", epochMs: 1710037800000 }, // Mar 10 02:30Z
      { schedule: "ny-gap", at: "2024-03-10T03:30:00-04:00", epochMs: 1710055800000 }, // 02:30 is in the gap: 07:30Z
      { schedule: "ny-gap", at: "2024-03-11T02:30:00-04:00", epochMs: 1710138600000 }, // 06:30Z
      { schedule: "ny-gap", at: "2024-03-12T02:30:00-04:00", epochMs: 1710225000000 },
      { schedule: "ny-gap", at: "2024-03-13T02:30:00-04:00", epochMs: 1710311400000 },
      { schedule: "lord-howe-overlap", at: "2024-03-17T01:45:00+11:00", epochMs: 1710600300000 }, // Mar 16 14:45Z
      { schedule: "london-gap", at: "2024-03-17T01:30:00+00:00", epochMs: 1710639000000 },
      { schedule: "santiago-overlap", at: "2024-03-16T23:30:00-03:00", epochMs: 1710642600000 }, // Mar 17 02:30Z
      { schedule: "lord-howe-overlap", at: "2024-03-24T01:45:00+11:00", epochMs: 1711205100000 },
      { schedule: "london-gap", at: "2024-03-24T01:30:00+00:00", epochMs: 1711243800000 },
      { schedule: "santiago-overlap", at: "2024-03-23T23:30:00-03:00", epochMs: 1711247400000 },
      { schedule: "lord-howe-overlap", at: "2024-03-31T01:45:00+11:00", epochMs: 1711809900000 }, // Mar 30 14:45Z
      { schedule: "london-gap", at: "2024-03-31T02:30:00+01:00", epochMs: 1711848600000 }, // 01:30 is in the gap: 01:30Z
      { schedule: "santiago-overlap", at: "2024-03-30T23:30:00-03:00", epochMs: 1711852200000 }, // Mar 31 02:30Z
      { schedule: "lord-howe-overlap", at: "2024-04-07T01:45:00+11:00", epochMs: 1712414700000 }, // first 01:45: Apr 6 14:45Z
      { schedule: "london-gap", at: "2024-04-07T01:30:00+01:00", epochMs: 1712449800000 }, // 00:30Z
      { schedule: "santiago-overlap", at: "2024-04-06T23:30:00-03:00", epochMs: 1712457000000 }, // first 23:30: Apr 7 02:30Z
    ]);
  });

  test("NAME: only that schedule, as a table", async () => {
    const dir = tempDir({ "clock.config.ts": DST_CONFIG });
    const result = await runClock(["next", "ny-gap", "--count", "3", "--from", FROM], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        "SLOT                       SCHEDULE  UTC",
        "2024-03-09T02:30:00-05:00  ny-gap    2024-03-09T07:30:00.000Z",
        "2024-03-10T03:30:00-04:00  ny-gap    2024-03-10T07:30:00.000Z",
        "2024-03-11T02:30:00-04:00  ny-gap    2024-03-11T06:30:00.000Z",
        "",
      ].join("\n"),
    );
    const json = await runClock(["next", "santiago-overlap", "--json", "-n", "1", "--from", "2024-04-06T12:00:00Z"], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), [{ schedule: "santiago-overlap", at: "2024-04-06T23:30:00-03:00", epochMs: 1712457000000 }]);
  });

  test("an unknown schedule name exits 2 and lists the known ones", async () => {
    const dir = tempDir({ "clock.config.ts": DST_CONFIG });
    const result = await runClock(["next", "nope", "--from", FROM], { cwd: dir });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr, 'clock: no schedule named "nope"\nhint: known: ny-gap, london-gap, lord-howe-overlap, santiago-overlap\n');
  });

  test("bad usage exits 2 with a hint: --count 0, --count abc, --from nonsense, an unknown flag, two names", async () => {
    const dir = tempDir({ "clock.config.ts": DST_CONFIG });
    const cases: [string[], RegExp][] = [
      [["next", "--count", "0"], /^clock: --count must be a positive whole number, got "0"\n/],
      [["next", "--count", "abc"], /^clock: --count must be a positive whole number, got "abc"\n/],
      [["next", "--count", "1.5"], /^clock: --count must be a positive whole number, got "1.5"\n/],
      [["next", "--from", "nonsense"], /^clock: --from: invalid time "nonsense" \(use ISO-8601/],
      [["next", "--bogus"], /^clock: .*'--bogus'/],
      [["next", "ny-gap", "london-gap"], /^clock: unexpected argument "london-gap"\n/],
    ];
    for (const [args, message] of cases) {
      const result = await runClock(args, { cwd: dir });
      assert.equal(result.code, 2, args.join(" "));
      assert.equal(result.stdout, "", args.join(" "));
      assert.match(result.stderr, message);
      assert.match(result.stderr, /\nhint: clock next --help\n$/);
    }
  });

  test("--config and CLOCK_CONFIG point at the config; a missing --config exits 2", async () => {
    const configDir = tempDir({ "dst.config.ts": DST_CONFIG });
    const cwd = tempDir();
    const expected = [{ schedule: "ny-gap", at: "2024-03-10T03:30:00-04:00", epochMs: 1710055800000 }];
    const args = ["next", "ny-gap", "--json", "--count", "1", "--from", "2024-03-09T12:00:00Z"];
    const viaFlag = await runClock([...args, "--config", join(configDir, "dst.config.ts")], { cwd });
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.deepEqual(JSON.parse(viaFlag.stdout), expected);
    const viaEnv = await runClock(args, { cwd, env: { CLOCK_CONFIG: join(configDir, "dst.config.ts") } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.deepEqual(JSON.parse(viaEnv.stdout), expected);
    const missing = await runClock([...args, "--config", "missing.config.ts"], { cwd, env: { CLOCK_CONFIG: join(configDir, "dst.config.ts") } });
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `clock: cannot load config:\n  config file not found: ${join(cwd, "missing.config.ts")}\n`);
  });
});
