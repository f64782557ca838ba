/**
 * sidekiq-scheduler's schedule, read as sidekiq-scheduler 6 reads it (lib/sidekiq-scheduler/
 * scheduler.rb load_schedule_job, schedule.rb prepare_schedule, utils.rb): the hash under
 * `:scheduler:` -> `:schedule:` in sidekiq.yml (5.x and later), under a top-level `:schedule:`
 * (3.x, 4.x), or a separate file that is the hash itself. Each job: the first of `cron`, `every`,
 * `at`, `in`, `interval` that is set (a value, or [value, {rufus options}]), `class` (default:
 * the job's name), `queue`, `args`, `description`, `enabled`, and Sidekiq push options. rufus-
 * scheduler parses `cron` with Fugit::Cron.do_parse (no natural language) in the process's zone
 * when the rule names none, and `every`/`interval` with Fugit::Duration, counted from the
 * process's start; `at` and `in` fire once.
 */
import type { Json } from "../schedule/schedule.ts";
import { formatDuration } from "../schedule/duration.ts";
import { NO_DST, RUFUS_DST, type DstSource } from "./dst.ts";
import { fugitCronToClock, fugitDurationMs } from "./fugit.ts";
import { toScheduleName } from "./names.ts";
import { ImportBuilder, type ImportedDefinition, type ImportResult } from "./result.ts";
import type { SidekiqOptions } from "./sidekiq-cron.ts";
import { field, isMapping, loadYaml, ScheduleFileError, shown, type Yaml } from "./yaml.ts";

const INTERVAL_TYPES = ["cron", "every", "at", "in", "interval"] as const;
/** Sidekiq push options the clock's sidekiq adapter takes as job options. */
const PUSH_OPTIONS = ["retry", "backtrace", "tags", "retry_queue", "dead"];
/** Keys sidekiq-scheduler reads itself. */
const OWN_KEYS = new Set([...INTERVAL_TYPES, "class", "queue", "args", "description", "enabled", "include_metadata", "keyword_argument", "rails_env", ...PUSH_OPTIONS]);
const DESCRIPTION_MAX = 1000;

/** The schedule hash of a sidekiq.yml or a separate schedule file, and the scheduler's own settings. */
function scheduleOf(root: Yaml, file: string): { schedule: Record<string, Json>; settings: Record<string, Json> } {
  if (!isMapping(root))
    throw new ScheduleFileError(
      `${file}: not a sidekiq-scheduler schedule: expected a hash, found ${root === null || root === undefined ? "nothing" : Array.isArray(root) ? "a list" : typeof root}`,
    );
  const scheduler = field(root, "scheduler");
  if (isMapping(scheduler) && isMapping(field(scheduler, "schedule"))) return { schedule: field(scheduler, "schedule") as Record<string, Json>, settings: scheduler };
  const topLevel = field(root, "schedule");
  if (isMapping(topLevel)) return { schedule: topLevel, settings: {} };
  if (isMapping(scheduler) || topLevel !== undefined || ["concurrency", "queues"].some((key) => field(root, key) !== undefined)) {
    throw new ScheduleFileError(`${file}: a sidekiq config without a schedule (expected :scheduler: -> :schedule:, or :schedule:)`);
  }
  return { schedule: root, settings: {} };
}

/** prepare_arguments: an array as is, a hash kept whole, anything else wrapped (Array(x)). */
function argsOf(value: Yaml): { args: Json[]; hash: boolean } {
  if (value === undefined || value === null) return { args: [], hash: false };
  if (Array.isArray(value)) return { args: value, hash: false };
  return { args: [value], hash: isMapping(value) };
}

/** [value, {options}] or value. */
function ruleValue(value: Yaml): { rule: Yaml; options: Record<string, Json> } {
  if (Array.isArray(value)) return { rule: value[0], options: isMapping(value[1]) ? value[1] : {} };
  return { rule: value, options: {} };
}

export async function importSidekiqScheduler(text: string, file: string, options: SidekiqOptions): Promise<ImportResult> {
  const { schedule, settings } = scheduleOf(await loadYaml(text, file), file);
  const names = Object.keys(schedule);
  if (names.length === 0) throw new ScheduleFileError(`${file}: the schedule is empty`);
  const zone = options.timezone ?? "UTC";
  const builder = new ImportBuilder(options.now);
  const schedulerEnabled = field(settings, "enabled") !== false;
  let withoutZone = 0;
  const withoutQueue: string[] = [];
  for (const name of names) {
    const where = `schedule ${JSON.stringify(name)}`;
    const job = schedule[name];
    const source = `${name}: ${shown(job)}`;
    if (!isMapping(job)) {
      builder.drop(where, source, "not a hash of job settings (cron, every, class, ...)");
      continue;
    }
    const differ = (reason: string) => builder.differ(where, source, reason);
    const type = INTERVAL_TYPES.find((key) => {
      const value = field(job, key);
      return value !== undefined && value !== null && !(typeof value === "string" && value === "") && !(Array.isArray(value) && value.length === 0);
    });
    if (type === undefined) {
      builder.drop(where, source, "no cron, every, at, in or interval: sidekiq-scheduler skips it");
      continue;
    }
    const { rule, options: rufus } = ruleValue(field(job, type));
    if (type === "at" || type === "in") {
      builder.drop(
        where,
        source,
        `${type} ${shown(rule)} pushes the job once (${type === "in" ? "after the process starts" : "at that time"}); the clock's schedules repeat: enqueue it once yourself (clock trigger, or your app)`,
      );
      continue;
    }
    if (typeof rule !== "string" && !(type !== "cron" && typeof rule === "number")) {
      builder.drop(where, source, `${type} ${shown(rule)}: expected a string`);
      continue;
    }
    let definitionRule: Pick<ImportedDefinition, "cron" | "every" | "anchor" | "startAt">;
    let timezone = zone;
    let dst: DstSource = NO_DST;
    if (type === "cron") {
      const converted = fugitCronToClock(String(rule));
      if (!converted.ok) {
        builder.drop(where, source, `cron ${shown(rule)}: ${converted.reason}${converted.unparsed ? " (rufus-scheduler reads no natural language in cron)" : ""}`);
        continue;
      }
      definitionRule = { cron: converted.cron };
      if (converted.timezone === null) withoutZone++;
      timezone = converted.timezone ?? zone;
      if (converted.timezone !== null || options.timezone !== undefined) dst = RUFUS_DST;
    } else {
      const everyMs = typeof rule === "number" ? rule * 1000 : fugitDurationMs(rule);
      if (everyMs === null) {
        builder.drop(where, source, `${type} ${shown(rule)}: not a duration this import reads (Fugit::Duration: e.g. "45m", "1h30m", "2 hours and 30 minutes", "1d")`);
        continue;
      }
      definitionRule = { every: formatDuration(everyMs) };
      const firstAt = field(rufus, "first_at");
      if (typeof firstAt === "string" && !Number.isNaN(Date.parse(firstAt)) && /(Z|[+-]\d\d:?\d\d)$/.test(firstAt.trim())) {
        definitionRule = { ...definitionRule, anchor: firstAt, startAt: firstAt };
      } else {
        differ(
          `${type} ${shown(rule)}: rufus-scheduler counts it from the process's start${field(rufus, "first_in") === undefined ? "" : ` (first_in ${shown(field(rufus, "first_in"))})`}; the clock's slots are anchor + k x ${formatDuration(everyMs)}, the anchor the Unix epoch: the same interval, another phase`,
        );
      }
      if (type === "interval")
        differ(`interval: rufus-scheduler waits ${formatDuration(everyMs)} after each run ends; the clock fires every ${formatDuration(everyMs)} whatever the jobs take`);
    }
    for (const key of Object.keys(rufus))
      if (!(type !== "cron" && key === "first_at" && definitionRule.anchor !== undefined) && !(type !== "cron" && key === "first_in"))
        differ(`rufus option ${key}: ${shown(rufus[key])} is not carried over`);
    const klass = field(job, "class") ?? name;
    if (typeof klass !== "string" || klass === "") {
      builder.drop(where, source, "class must be a string");
      continue;
    }
    const args = argsOf(field(job, "args"));
    if (args.hash)
      differ(
        `args is a hash: sidekiq-scheduler passes it whole to ActiveJob classes (as keywords with keyword_argument), and Sidekiq refuses it for other jobs; imported as one argument`,
      );
    const queue = field(job, "queue");
    if (queue === undefined || queue === null) withoutQueue.push(name);
    const jobOptions: Record<string, Json> = {};
    for (const key of PUSH_OPTIONS) {
      const value = field(job, key);
      if (value !== undefined && value !== null) jobOptions[key] = value;
    }
    if (field(job, "include_metadata") === true)
      differ("include_metadata: sidekiq-scheduler adds { scheduled_at } as a last argument; the clock puts the slot in the payload's clock.slotAt, not in the args");
    if (field(job, "keyword_argument") === true) differ("keyword_argument (a hash of args as ActiveJob keywords) is not carried over");
    const railsEnv = field(job, "rails_env");
    if (railsEnv !== undefined && railsEnv !== null)
      differ(`rails_env ${shown(railsEnv)}: sidekiq-scheduler loads it only in those environments; the clock has no such condition: keep it out of other environments' configs`);
    for (const key of Object.keys(job)) if (!OWN_KEYS.has(key)) differ(`${key}: ${shown(job[key])} is not carried over`);
    let description = field(job, "description");
    if (typeof description === "string" && description.length > DESCRIPTION_MAX) {
      differ(`description cut to ${DESCRIPTION_MAX} characters (the clock's limit)`);
      description = description.slice(0, DESCRIPTION_MAX);
    }
    const enabled = field(job, "enabled") !== false && schedulerEnabled;
    const wanted = toScheduleName(name);
    if (wanted !== name) differ(`renamed ${JSON.stringify(name)} to ${JSON.stringify(wanted)}: schedule names use letters, digits, '.', '_', '-' and ':'`);
    builder.add(
      where,
      source,
      wanted,
      {
        ...definitionRule,
        timezone,
        ...(enabled ? {} : { enabled: false }),
        adapter: "sidekiq",
        ...(typeof description === "string" && description !== "" ? { description } : {}),
        job: {
          class: klass,
          args: args.args,
          queue: queue === undefined || queue === null ? "default" : String(queue),
          ...(Object.keys(jobOptions).length > 0 ? { options: jobOptions } : {}),
        },
      },
      [`sidekiq-scheduler ${where}: ${type} ${shown(rule)}`],
      dst,
    );
  }
  if (!schedulerEnabled) builder.differ(":scheduler:", ":enabled: false", "the scheduler is disabled in this file: every schedule is imported with enabled: false");
  if (field(settings, "dynamic") === true)
    builder.differ(":scheduler:", ":dynamic: true", "the schedule may have been changed at run time (in Redis): this import reads the file only");
  if (withoutZone > 0 && options.timezone === undefined) {
    builder.differ(
      "cron rules without a zone",
      `${withoutZone} job${withoutZone === 1 ? "" : "s"}`,
      "rufus-scheduler reads them in the Sidekiq process's zone (Rails: config.time_zone), which the file does not say: imported as UTC (pass --timezone ZONE)",
    );
  }
  if (withoutQueue.length > 0) {
    builder.differ(
      "jobs without a queue",
      withoutQueue.join(", "),
      `sidekiq-scheduler sends them to the class's sidekiq_options queue when it has one ("default" otherwise): imported as "default"`,
    );
  }
  if (text.includes("<%")) builder.differ(file, "<% ... %>", "ERB tags are not rendered (Sidekiq renders them in sidekiq.yml): values holding them are imported as written");
  return builder.result("sidekiq-scheduler", zone, "sidekiq");
}
