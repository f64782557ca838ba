/**
 * `clock import` as a user runs it, on real-world-looking crontabs and sidekiq schedule files
 * (test/fixtures/import/): the printed config passes `clock check`, and its `clock next` equals
 * the source's own next times, judged independently of the import: for a crontab, the lines'
 * own fields read by the reference oracle, each real minute near an offset change matched
 * literally (cronie's reading of CRON_TZ lines); for sidekiq-cron, the real gem's Job read from
 * the file (Ruby), with fugit's next_time; for sidekiq-scheduler, fugit's next_time and
 * Fugit::Duration, as rufus-scheduler uses them.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { assertBuilt, ROOT, runClock, type CliResult } from "../helpers/process.ts";
import { fugitDurations, fugitNextTimes, ruby } from "../helpers/fugit.ts";
import { parseReference, referenceSlots, referenceWallMatches, transitionsOf, wallOf } from "../helpers/reference-calendar.ts";
import { testScope, type Scope } from "../helpers/scope.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const FIXTURES = join(ROOT, "test", "fixtures", "import");
const FROM = "2026-06-01T00:00:00Z";
const FROM_AT = Date.parse(FROM);
const COUNT = 12;
/** Around an offset change the sources and the clock may differ (listed): ±3 h is where. */
const NEAR_CHANGE_MS = 3 * HOUR;

before(() => assertBuilt());

const fixture = (name: string) => join(FIXTURES, name);

/** A temp app whose clock.config.ts can `import { defineConfig } from "the-clock"` (linked to this repository). */
function appWith(scope: Scope, config: string): string {
  const dir = scope.tempDir({ "clock.config.ts": config }, "clock-import-");
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules", "the-clock"));
  return join(dir, "clock.config.ts");
}

interface Slot {
  readonly schedule: string;
  readonly epochMs: number;
}

async function nextBySchedule(config: string, from: string, count: number, name?: string): Promise<Map<string, number[]>> {
  const result = await runClock(["next", ...(name === undefined ? [] : [name]), "--json", "--from", from, "--count", String(count), "--config", config]);
  assert.equal(result.code, 0, result.stderr);
  const bySchedule = new Map<string, number[]>();
  for (const slot of JSON.parse(result.stdout) as Slot[]) bySchedule.set(slot.schedule, [...(bySchedule.get(slot.schedule) ?? []), slot.epochMs]);
  return bySchedule;
}

/** Imports, checks the printed config with `clock check`, and returns it with the run. */
async function importChecked(scope: Scope, args: readonly string[]): Promise<{ result: CliResult; config: string; text: string }> {
  const result = await runClock(["import", ...args]);
  assert.equal(result.code, 0, result.stderr);
  const config = appWith(scope, result.stdout);
  const check = await runClock(["check", "--config", config]);
  assert.equal(check.code, 0, `clock check of the imported config:\n${check.stderr}\n${result.stdout}`);
  return { result, config, text: result.stdout };
}

/** Schedule name -> the source line or entry it came from, read from the comments above each schedule. */
function originsOf(configText: string, pattern: RegExp): Map<string, string> {
  const origins = new Map<string, string>();
  let origin: string | null = null;
  for (const line of configText.split("\n")) {
    const comment = pattern.exec(line);
    if (comment?.[1] !== undefined) origin = comment[1];
    const name = /^ {4}"([^"]+)": \{$/.exec(line);
    if (name?.[1] !== undefined && origin !== null) {
      origins.set(name[1], origin);
      origin = null;
    }
  }
  return origins;
}

/** The stderr list's entries: where -> reasons, for those not carried over and those with a difference. */
function listed(stderr: string): { dropped: Map<string, string[]>; differences: Map<string, string[]> } {
  const dropped = new Map<string, string[]>();
  const differences = new Map<string, string[]>();
  let into: Map<string, string[]> | null = null;
  let where: string | null = null;
  for (const line of stderr.split("\n")) {
    if (line === "not carried over:") into = dropped;
    else if (line === "carried over with a difference:") into = differences;
    else if (into !== null && /^ {2}\S/.test(line)) where = line.trim().split(":")[0] ?? null;
    else if (into !== null && where !== null && /^ {6}\S/.test(line)) into.set(where, [...(into.get(where) ?? []), line.trim()]);
  }
  return { dropped, differences };
}

// ---------------------------------------------------------------------------------------------
// crontab

interface CrontabLine {
  readonly line: number;
  readonly expression: string;
  readonly zone: string;
}

/** The fixture's entry lines as cronie reads them, independently of the import: fields and CRON_TZ zone. */
function crontabLines(text: string, hostZone: string): CrontabLine[] {
  let zone = hostZone;
  const lines: CrontabLine[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const env = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    if (env !== null) {
      if (env[1] === "CRON_TZ") zone = env[2] === "" ? hostZone : (env[2] ?? hostZone);
      return;
    }
    const entry = line.replace(/^-/, "");
    const expression = entry.startsWith("@") ? (entry.split(/\s+/)[0] ?? "") : entry.split(/\s+/).slice(0, 5).join(" ");
    lines.push({ line: index + 1, expression, zone });
  });
  return lines;
}

/** cronie's literal reading near offset changes: each real minute whose wall time matches. */
function literalMinutes(expression: string, zone: string, fromAt: number, untilAt: number): number[] {
  const fields = parseReference(expression);
  const runs: number[] = [];
  for (let at = Math.ceil((fromAt + 1) / MINUTE) * MINUTE; at < untilAt; at += MINUTE) if (referenceWallMatches(fields, wallOf(at, zone))) runs.push(at);
  return runs;
}

/**
 * cronie's next runs of a CRON_TZ line (or of a line in a UTC host): the reference oracle's slots
 * away from offset changes, and each real minute matched literally within 3 h of one.
 */
function cronieTimes(expression: string, zone: string, fromAt: number, count: number): number[] {
  // get_range: cronie reads `N-0` as `N-7` (the reference oracle reads clock syntax, where it runs backwards).
  const fields = expression.split(" ");
  if (fields.length === 5) fields[4] = (fields[4] ?? "").replace(/^(\d)-0$/, "$1-7");
  const cron = fields.join(" ");
  const base = referenceSlots(cron, zone, fromAt, count + 10);
  const until = (base[base.length - 1] ?? fromAt) + DAY;
  const changes = transitionsOf(zone, fromAt - DAY, until);
  const near = (at: number) => changes.some((change) => Math.abs(at - change) < NEAR_CHANGE_MS);
  const runs = base.filter((at) => !near(at));
  for (const change of changes) runs.push(...literalMinutes(cron, zone, Math.max(fromAt, change - NEAR_CHANGE_MS), change + NEAR_CHANGE_MS).filter((at) => at > fromAt));
  return [...new Set(runs)].sort((a, b) => a - b).slice(0, count);
}

const CRONTABS = [
  { file: "crontab-rails-server.txt", timezone: undefined },
  { file: "crontab-zones.txt", timezone: undefined },
  { file: "crontab-ops.txt", timezone: "UTC" },
] as const;

describe("clock import crontab", { concurrency: true }, () => {
  for (const { file, timezone } of CRONTABS) {
    test(`${file}: every entry line is carried over or listed, the config passes clock check, and clock next equals cronie's next runs`, async (t) => {
      const scope = testScope(t);
      const { result, config, text } = await importChecked(scope, ["crontab", fixture(file), ...(timezone === undefined ? [] : ["--timezone", timezone])]);
      const origins = originsOf(text, /^ {4}\/\/ crontab line (\d+): /);
      const { dropped, differences } = listed(result.stderr);
      const lines = crontabLines(readFileSync(fixture(file), "utf8"), timezone ?? "UTC");
      // No line is lost silently: each one is a schedule or listed with its reason.
      const converted = new Set([...origins.values()].map(Number));
      for (const { line } of lines)
        assert.ok(converted.has(line) !== dropped.has(`line ${line}`), `line ${line}: converted ${converted.has(line)}, listed ${dropped.has(`line ${line}`)}\n${result.stderr}`);
      assert.ok(converted.size >= 8, `${converted.size} schedules`);

      const next = await nextBySchedule(config, FROM, COUNT);
      for (const [name, origin] of origins) {
        const source = lines.find((line) => line.line === Number(origin));
        assert.ok(source !== undefined);
        const expected = cronieTimes(source.expression, source.zone, FROM_AT, COUNT);
        let actual = next.get(name) ?? [];
        let wanted = expected;
        if ((differences.get(`line ${origin}`) ?? []).some((reason) => reason.startsWith("DST:"))) {
          // Listed as differing at an offset change: equal up to the first one.
          const [first = Infinity] = transitionsOf(source.zone, FROM_AT, FROM_AT + 400 * DAY);
          actual = actual.filter((at) => at < first - NEAR_CHANGE_MS);
          wanted = expected.filter((at) => at < first - NEAR_CHANGE_MS);
          assert.ok(wanted.length > 0);
        }
        assert.deepEqual(actual, wanted, `${name} (line ${origin}: ${source.expression} in ${source.zone})`);
      }
    });
  }

  test("the DST differences listed for CRON_TZ lines are exactly where cronie's literal reading and the clock differ", async (t) => {
    const scope = testScope(t);
    const { result, config } = await importChecked(scope, ["crontab", fixture("crontab-zones.txt")]);
    const { differences } = listed(result.stderr);
    const text = readFileSync(fixture("crontab-zones.txt"), "utf8");
    const lines = crontabLines(text, "UTC");
    const notes = [...differences].flatMap(([where, reasons]) => reasons.filter((reason) => reason.startsWith("DST:")).map((reason) => ({ where, reason })));
    assert.deepEqual(notes.map((note) => note.where).sort(), ["line 10", "line 11", "line 13"], result.stderr);
    const origins = new Map([...originsOf(readFileSync(config, "utf8"), /^ {4}\/\/ crontab line (\d+): /)].map(([name, line]) => [`line ${line}`, name]));
    for (const { where, reason } of notes) {
      const source = lines.find((line) => `line ${line.line}` === where);
      assert.ok(source !== undefined);
      const instants = (pattern: RegExp) => [...(pattern.exec(reason)?.[1] ?? "").matchAll(/\d{4}-\d\d-\d\dT[\d:]+[-+]\d\d:\d\d/g)].map((match) => Date.parse(match[0]));
      const cronieOnly = instants(/cronie \(CRON_TZ\) runs at (.+?) and the clock does not/);
      const clockOnly = instants(/the clock fires at (.+?) and cronie \(CRON_TZ\) does not/);
      assert.ok(cronieOnly.length + clockOnly.length > 0, reason);
      const around = [...cronieOnly, ...clockOnly][0] ?? 0;
      const literal = new Set(literalMinutes(source.expression, source.zone, around - 4 * HOUR, around + 4 * HOUR));
      const clock = new Set((await nextBySchedule(config, new Date(around - 4 * HOUR).toISOString(), 40, origins.get(where))).get(origins.get(where) ?? "") ?? []);
      for (const at of cronieOnly) assert.ok(literal.has(at) && !clock.has(at), `${where}: ${new Date(at).toISOString()} listed as cronie's only`);
      for (const at of clockOnly) assert.ok(clock.has(at) && !literal.has(at), `${where}: ${new Date(at).toISOString()} listed as the clock's only`);
    }
  });

  test("the printed config: defineConfig from the-clock, ShellCommand jobs with the command-must-become-a-job comment, CRON_TZ zones, @reboot and % listed", async () => {
    const result = await runClock(["import", "crontab", fixture("crontab-rails-server.txt")]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes('import { defineConfig } from "the-clock";'), result.stdout);
    const schedules = result.stdout.split("\n").filter((line) => /^ {4}"[^"]+": \{$/.test(line));
    const mustBecomeJob = result.stdout.split("\n").filter((line) => line.startsWith("    // The shell command must become a job"));
    assert.equal(mustBecomeJob.length, schedules.length);
    assert.ok(result.stdout.includes('job: { class: "ShellCommand", args: ["tar czf /backups/uploads-$(date +%F).tgz /srv/shop/public/uploads"] }'), "\\% unescaped");
    assert.match(
      result.stdout,
      /\n\/\/ Not carried over \(2\):\n\/\/ {3}line 9: @reboot cd \/srv\/shop && bin\/delayed_job start\n\/\/ {5}@reboot runs the command once when cron starts/,
    );
    assert.match(
      result.stderr,
      /line 23: .*\n {6}% in the command: cron runs "mail -s \\"Weekly disk report\\" ops@example.com" with "Disk usage follows:\\n\\n\$\(df -h\)\\n" on standard input/,
    );
    const zones = await runClock(["import", "crontab", fixture("crontab-zones.txt"), "--json"]);
    const definitions = JSON.parse(zones.stdout) as { name: string; timezone: string }[];
    assert.equal(definitions.find((definition) => definition.name === "jp-payroll")?.timezone, "Asia/Tokyo");
    assert.equal(definitions.find((definition) => definition.name === "uk-winter-monday")?.timezone, "Europe/London");
    assert.match(zones.stderr, /line 18: TZ=Europe\/London\n {6}TZ only sets the commands' environment/);
  });
});

// ---------------------------------------------------------------------------------------------
// sidekiq-cron

interface SidekiqCronJob {
  name: string | null;
  valid: boolean;
  errors: string[];
  klass: string | null;
  queue: string;
  args: unknown[];
  status: string;
  active_job: boolean;
  times: number[] | null;
}

/** The file as sidekiq-cron 1.8 itself loads it (schedule_loader.rb, Job.new, valid?), with fugit's next times. */
function sidekiqCronJobs(file: string, fromAt: number, count: number): SidekiqCronJob[] {
  return ruby<SidekiqCronJob[]>(
    `require "yaml"; require "sidekiq/cron/job"
     input = JSON.parse(STDIN.read)
     schedule = YAML.load_file(input["file"])
     list = schedule.is_a?(Hash) ? schedule.map { |name, job| job.merge("name" => name) } : schedule
     from = Time.at(input["from"] / 1000r).utc
     out = list.map do |hash|
       job = Sidekiq::Cron::Job.new(hash.merge("fetch_missing_args" => false))
       valid = job.valid?
       times = nil
       if valid
         cron = job.send(:parsed_cron); t = from
         times = (1..input["count"]).map { t = cron.next_time(t); (t.to_t.to_r * 1000).to_i }
       end
       { name: job.name, valid: valid, errors: job.errors, klass: job.klass, queue: job.instance_variable_get(:@queue_name_with_prefix),
         args: job.args, status: job.status, active_job: job.instance_variable_get(:@active_job), times: times }
     end
     puts JSON.generate(out)`,
    { file, from: fromAt, count },
  );
}

interface Definition {
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  enabled?: boolean;
  job: { class: string; args: unknown[]; queue: string; options?: Record<string, unknown> };
}

describe("clock import sidekiq-cron", { concurrency: true }, () => {
  for (const file of ["sidekiq-cron-schedule.yml", "sidekiq-cron-array.yml"]) {
    test(`${file}: each job sidekiq-cron loads is carried over with its class, queue, args and state, and clock next equals fugit's; each it refuses is listed`, async (t) => {
      const scope = testScope(t);
      const { result, config } = await importChecked(scope, ["sidekiq-cron", fixture(file)]);
      const json = await runClock(["import", "sidekiq-cron", fixture(file), "--json"]);
      const definitions = new Map((JSON.parse(json.stdout) as Definition[]).map((definition) => [definition.name, definition]));
      const { dropped, differences } = listed(result.stderr);
      const jobs = sidekiqCronJobs(fixture(file), FROM_AT, COUNT);
      const next = await nextBySchedule(config, FROM, COUNT);
      let compared = 0;
      jobs.forEach((job, index) => {
        const where = file.includes("array") ? `entry ${index + 1}` : `schedule ${JSON.stringify(job.name)}`;
        const name = (job.name ?? "").replace(/[^A-Za-z0-9._:-]+/g, "-");
        const definition = definitions.get(name);
        if (!job.valid) {
          assert.equal(definition, undefined, `${where}: sidekiq-cron refuses it (${job.errors.join("; ")}), the import carried it over`);
          assert.ok(dropped.has(where), `${where} is not listed`);
          return;
        }
        if (definition === undefined) {
          assert.match((dropped.get(where) ?? []).join(" "), /no equivalent in the clock|no cron equivalent|beyond what this import reads/, `${where}: sidekiq-cron loads it`);
          return;
        }
        assert.equal(definition.job.class, job.klass, where);
        assert.equal(definition.job.queue, job.queue, where);
        assert.deepEqual(definition.job.args, job.args, where);
        assert.equal(definition.enabled ?? true, job.status === "enabled", where);
        assert.equal(definition.job.options?.["activeJob"] ?? false, job.active_job, where);
        let actual = next.get(name) ?? [];
        let wanted = job.times ?? [];
        if (!(definition.enabled ?? true)) actual = wanted; // clock next lists enabled schedules only; the rule is checked below
        if ((differences.get(where) ?? []).some((reason) => reason.startsWith("DST:"))) {
          const [first = Infinity] = transitionsOf(definition.timezone, FROM_AT, FROM_AT + 400 * DAY);
          actual = actual.filter((at) => at < first - NEAR_CHANGE_MS);
          wanted = wanted.filter((at) => at < first - NEAR_CHANGE_MS);
        }
        assert.deepEqual(actual, wanted, `${where}: "${definition.cron}" ${definition.timezone}`);
        compared++;
      });
      assert.ok(compared >= 3, `${compared} compared`);
      // A disabled job keeps its rule: fugit's times, checked by name.
      const disabled = jobs.find((job) => job.valid && job.status !== "enabled");
      if (disabled !== undefined) assert.deepEqual((await nextBySchedule(config, FROM, COUNT, disabled.name ?? "")).get(disabled.name ?? ""), disabled.times);
    });
  }

  test("the DST difference listed for a zoned job is where sidekiq-cron's own polling (Job#not_past_scheduled_time?, #last_time) and the clock differ", async (t) => {
    const scope = testScope(t);
    const { result, config } = await importChecked(scope, ["sidekiq-cron", fixture("sidekiq-cron-array.yml")]);
    const reason = (listed(result.stderr).differences.get("entry 3") ?? []).find((text) => text.startsWith("DST:")) ?? "";
    const listedOnly = [...(/sidekiq-cron \(fugit\) runs at (.+?) and the clock does not/.exec(reason)?.[1] ?? "").matchAll(/\d{4}-\d\d-\d\dT[\d:]+[-+]\d\d:\d\d/g)].map((match) =>
      Date.parse(match[0]),
    );
    assert.equal(listedOnly.length, 1, reason);
    const [around = 0] = listedOnly;
    // Polled every 30 s as its poller does, through the gem's own methods.
    const enqueued = ruby<number[]>(
      `require "sidekiq/cron/job"
       input = JSON.parse(STDIN.read)
       job = Sidekiq::Cron::Job.new("name" => "fall_back_hour", "cron" => "30 1 * * * America/Chicago", "class" => "ChicagoJob", "fetch_missing_args" => false)
       slots = []
       t = Time.at(input["from"] / 1000r).utc
       while t < Time.at(input["until"] / 1000r).utc
         if job.send(:not_past_scheduled_time?, t) && job.send(:not_enqueued_after?, t)
           slots << (job.last_time(t).to_r * 1000).to_i
           job.instance_variable_set(:@last_enqueue_time, t)
         end
         t += 30
       end
       puts JSON.generate(slots)`,
      { from: around - 4 * HOUR, until: around + 4 * HOUR },
    );
    const clock = (await nextBySchedule(config, new Date(around - 4 * HOUR).toISOString(), 3, "fall_back_hour")).get("fall_back_hour") ?? [];
    assert.ok(enqueued.includes(around), `sidekiq-cron enqueued ${enqueued.map((at) => new Date(at).toISOString()).join(", ")}`);
    assert.ok(!clock.includes(around) && clock.includes(around - HOUR), `the clock: ${clock.map((at) => new Date(at).toISOString()).join(", ")}`);
  });
});

// ---------------------------------------------------------------------------------------------
// sidekiq-scheduler

describe("clock import sidekiq-scheduler", { concurrency: true }, () => {
  test("sidekiq.yml (:scheduler: :schedule:): cron jobs fire at fugit's next times, every at Fugit::Duration's interval, at/in listed as one-shots", async (t) => {
    const scope = testScope(t);
    const { result, config } = await importChecked(scope, ["sidekiq-scheduler", fixture("sidekiq.yml")]);
    const json = await runClock(["import", "sidekiq-scheduler", fixture("sidekiq.yml"), "--json"]);
    const definitions = new Map((JSON.parse(json.stdout) as Definition[]).map((definition) => [definition.name, definition]));
    const { dropped, differences } = listed(result.stderr);
    const next = await nextBySchedule(config, FROM, COUNT);
    const crons = {
      CancelAbandonedOrders: "0 */5 * * * *",
      queue_documents_for_indexing: "0 0 * * * *",
      clear_leaderboards: "0 30 6 * * 1 Europe/Stockholm",
      production_only: "0 2 * * * America/Los_Angeles",
    };
    const fugit = fugitNextTimes(Object.values(crons), FROM_AT, COUNT);
    Object.keys(crons).forEach((name, index) => assert.deepEqual(next.get(name), fugit[index], name));
    const everies = { heartbeat: "45s", refresh_cache: "2 hours and 30 minutes", poll_partner_api: "10m" };
    const intervals = fugitDurations(Object.values(everies));
    Object.keys(everies).forEach((name, index) => {
      const slots = next.get(name) ?? [];
      assert.equal(slots.length, COUNT);
      for (let i = 1; i < slots.length; i++) assert.equal((slots[i] ?? 0) - (slots[i - 1] ?? 0), intervals[index], name);
      assert.match((differences.get(`schedule "${name}"`) ?? []).join(" "), /counts it from the process's start/, name);
    });
    assert.deepEqual(next.get("anchored_every")?.slice(0, 2), [Date.parse("2026-06-01T04:00:00Z"), Date.parse("2026-06-02T04:00:00Z")], "first_at anchors it");
    assert.match((dropped.get('schedule "launch_party"') ?? []).join(" "), /^at "3001\/01\/01" pushes the job once/);
    assert.match((dropped.get('schedule "warm_up"') ?? []).join(" "), /^in "1h" pushes the job once/);
    assert.match((dropped.get('schedule "nothing_to_run"') ?? []).join(" "), /sidekiq-scheduler skips it/);
    assert.deepEqual(definitions.get("CancelAbandonedOrders")?.job, { class: "CancelAbandonedOrders", args: [], queue: "default" }, "the name is the class");
    assert.deepEqual(
      definitions.get("clear_leaderboards")?.job,
      { class: "ClearLeaderboards", args: ["contributors"], queue: "low" },
      ":low is the queue low; a string arg is one arg",
    );
    assert.deepEqual(definitions.get("heartbeat")?.job.options, { retry: 2 });
    assert.equal(definitions.get("disabled_job")?.enabled, false);
    assert.match((differences.get('schedule "production_only"') ?? []).join(" "), /rails_env "production"/);
    assert.match((differences.get('schedule "queue_documents_for_indexing"') ?? []).join(" "), /include_metadata/);
  });

  test("a 4.x sidekiq.yml (top-level :schedule:) and a separate schedule file are read too", async (t) => {
    const scope = testScope(t);
    const v4 = await importChecked(scope, ["sidekiq-scheduler", fixture("sidekiq-scheduler-v4.yml")]);
    const v4Next = await nextBySchedule(v4.config, FROM, 5);
    assert.deepEqual([...v4Next.keys()].sort(), ["hello_world", "weekly"]);
    assert.deepEqual(v4Next.get("weekly"), fugitNextTimes(["0 30 6 * * 1"], FROM_AT, 5)[0]);
    const separate = await importChecked(scope, ["sidekiq-scheduler", fixture("sidekiq-scheduler-separate.yml"), "--timezone", "Europe/Stockholm"]);
    const json = JSON.parse((await runClock(["import", "sidekiq-scheduler", fixture("sidekiq-scheduler-separate.yml"), "--json"])).stdout) as Definition[];
    assert.deepEqual(
      json.map((definition) => [definition.name, definition.job.class]),
      [
        ["clear_leaderboards_contributors", "ClearLeaderboards"],
        ["MakeTea", "MakeTea"],
      ],
    );
    const zoned = await nextBySchedule(separate.config, FROM, 3);
    assert.deepEqual(zoned.get("clear_leaderboards_contributors"), fugitNextTimes(["0 30 6 * * 1 Europe/Stockholm"], FROM_AT, 3)[0], "--timezone is the zone of rules without one");
  });
});

// ---------------------------------------------------------------------------------------------
// --json feeds clock add; exit codes and words

describe("clock import: --json and failures", { concurrency: true }, () => {
  test("--json prints one array whose every element clock add --file - saves as it is", async (t) => {
    const scope = testScope(t);
    const redis = await scope.redis();
    const result = await runClock(["import", "crontab", fixture("crontab-zones.txt"), "--json"]);
    assert.equal(result.code, 0, result.stderr);
    const definitions = JSON.parse(result.stdout) as Definition[];
    assert.ok(Array.isArray(definitions) && definitions.length >= 8);
    const cwd = scope.tempDir();
    for (const definition of definitions) {
      const added = await runClock(["add", "--file", "-", "--namespace", "imported"], { cwd, input: JSON.stringify(definition), env: { REDIS_URL: redis.url } });
      assert.equal(added.code, 0, `${definition.name}: ${added.stderr}`);
    }
    const list = await runClock(["list", "--json", "--namespace", "imported"], { cwd, env: { REDIS_URL: redis.url } });
    assert.equal(list.code, 0, list.stderr);
    const stored = new Map((JSON.parse(list.stdout) as { name: string; rule: string; timezone: string }[]).map((entry) => [entry.name, entry]));
    for (const definition of definitions) {
      assert.equal(stored.get(definition.name)?.rule, `cron "${definition.cron}"`, definition.name);
      assert.equal(stored.get(definition.name)?.timezone, definition.timezone, definition.name);
    }
  });

  test("bad usage and unreadable files exit 2 with words; a file with nothing to carry over exits 2 after listing why", async (t) => {
    const scope = testScope(t);
    const dir = scope.tempDir({
      "reboot-only.txt": "@reboot /bin/start\n",
      "bad.yml": "a: [1, 2\n",
      "sidekiq.yml": ":concurrency: 5\n:queues: [default]\n",
      "list.yml": "- 1\n- 2\n",
    });
    const cases: { args: string[]; stderr: RegExp; stdin?: string }[] = [
      { args: ["import"], stderr: /^clock: missing the format \(crontab, sidekiq-cron or sidekiq-scheduler\)\nhint: clock import --help\n$/ },
      { args: ["import", "cronjob", "x"], stderr: /^clock: unknown format "cronjob"/ },
      { args: ["import", "crontab"], stderr: /^clock: missing the crontab FILE \(- for standard input\)/ },
      { args: ["import", "crontab", join(dir, "missing.txt")], stderr: /^clock: cannot read .*missing\.txt: no such file\n$/ },
      { args: ["import", "crontab", dir], stderr: /^clock: cannot read .*: EISDIR/ },
      { args: ["import", "crontab", join(dir, "reboot-only.txt"), "--timezone", "Mars/Olympus"], stderr: /^clock: --timezone: unknown time zone "Mars\/Olympus"/ },
      {
        args: ["import", "crontab", join(dir, "reboot-only.txt")],
        stderr:
          /line 1: @reboot \/bin\/start\n {6}@reboot runs the command once when cron starts[^\n]*\nclock: nothing in .*reboot-only\.txt could be carried over \(the reasons are above\)\n$/,
      },
      { args: ["import", "sidekiq-cron", join(dir, "bad.yml")], stderr: /^clock: .*bad\.yml: not YAML: / },
      {
        args: ["import", "sidekiq-scheduler", join(dir, "sidekiq.yml")],
        stderr: /^clock: .*sidekiq\.yml: a sidekiq config without a schedule \(expected :scheduler: -> :schedule:, or :schedule:\)\n$/,
      },
      { args: ["import", "sidekiq-scheduler", join(dir, "list.yml")], stderr: /not a sidekiq-scheduler schedule: expected a hash, found a list/ },
      { args: ["import", "crontab", "x", "y"], stderr: /^clock: unexpected argument "y"/ },
    ];
    for (const { args, stderr } of cases) {
      const result = await runClock(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, stderr, args.join(" "));
      assert.equal(result.stdout, "", args.join(" "));
    }
    const piped = await runClock(["import", "crontab", "-"], { input: "0 9 * * 1-5 /usr/local/bin/report\n" });
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.includes('"report": {\n      cron: "0 9 * * 1-5", timezone: "UTC",'), piped.stdout);
    assert.ok(piped.stderr.startsWith("clock import: 1 schedule from standard input;"), piped.stderr);
  });
});
