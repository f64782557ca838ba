/**
 * sidekiq-cron's schedule file (config/schedule.yml), read as sidekiq-cron 1.8 reads it
 * (lib/sidekiq/cron/job.rb: load_from_hash, load_from_array, initialize, parse_args,
 * queue_name_with_prefix, valid?): a hash of name -> job, or an array of jobs with `name`. A job
 * has `cron` (fugit: a cron with an optional zone, or fugit's natural language), `class` (or
 * `klass`), and optionally `queue`, `args`, `description`, `status`, `active_job`,
 * `queue_name_prefix`, `queue_name_delimiter`, `date_as_argument`, `symbolize_args`, `message`.
 * sidekiq-cron 1.8 reads a cron without a zone in UTC (`last_time(now = Time.now.utc)`).
 */
import type { Json } from "../schedule/schedule.ts";
import { NO_DST, SIDEKIQ_CRON_DST } from "./dst.ts";
import { fugitCronToClock, fugitDurationMs } from "./fugit.ts";
import { fugitNatToCron } from "./fugit-nat.ts";
import { toScheduleName } from "./names.ts";
import { ImportBuilder, type ImportResult } from "./result.ts";
import { field, isMapping, loadYaml, ScheduleFileError, shown, type Yaml } from "./yaml.ts";

export interface SidekiqOptions {
  /** The zone of rules without one. Default UTC. */
  readonly timezone?: string | undefined;
  readonly now: number;
}

/** The keys sidekiq-cron 1.8's Job#initialize reads; any other is ignored by it. */
const KNOWN = new Set([
  "name",
  "cron",
  "class",
  "klass",
  "queue",
  "args",
  "description",
  "status",
  "active_job",
  "queue_name_prefix",
  "queue_name_delimiter",
  "date_as_argument",
  "symbolize_args",
  "message",
  "last_enqueue_time",
  "fetch_missing_args",
  "retry",
]);
const DESCRIPTION_MAX = 1000;

/** sidekiq-cron's truthiness for its flags: true, or "true"/"t"/"yes"/"y"/"1" in any case. */
const flag = (value: Yaml): boolean => value === true || /^(true|t|yes|y|1)$/i.test(String(value ?? ""));

/** Job#parse_args: a JSON string, or a string as one argument; a hash as one argument; an array as is. */
function argsOf(value: Yaml): { args: Json[] } | { error: string } {
  if (value === undefined || value === null) return { args: [] };
  if (typeof value === "string") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return { args: [value] };
    }
    if (Array.isArray(parsed)) return { args: parsed as Json[] };
    return { error: `args ${shown(value)} is JSON but not an array: sidekiq-cron passes it as it is and Sidekiq refuses args that are not an array (the job never ran)` };
  }
  return { args: Array.isArray(value) ? value : [value] };
}

/** A fugit `cron` value as a clock rule, or why not. */
export function convertFugitRule(
  text: string,
): { ok: true; cron: string; timezone: string | null; reading: string | null; notes: readonly string[] } | { ok: false; reason: string } {
  const asCron = fugitCronToClock(text);
  if (asCron.ok) return { ...asCron, reading: null, notes: [] };
  if (!asCron.unparsed) return asCron;
  if (fugitDurationMs(text) !== null) return { ok: false, reason: `fugit reads ${JSON.stringify(text)} as a duration, not a cron: sidekiq-cron refuses the job (it never ran)` };
  const nat = fugitNatToCron(text);
  if (nat === null) {
    return {
      ok: false,
      reason: `${asCron.reason}; as natural language it is beyond what this import reads (fugit's own reading: ruby -rfugit -e 'puts Fugit::Nat.parse(ARGV[0]).to_cron_s' ${JSON.stringify(text)})`,
    };
  }
  const converted = fugitCronToClock(nat.cron);
  return converted.ok ? { ...converted, reading: nat.cron, notes: nat.notes } : converted;
}

/** Converts a sidekiq-cron schedule file; throws ScheduleFileError when it is not one. */
export async function importSidekiqCron(text: string, file: string, options: SidekiqOptions): Promise<ImportResult> {
  const root = await loadYaml(text, file);
  let jobs: { where: string; job: Record<string, Json> | null; name: Yaml }[];
  if (isMapping(root)) {
    jobs = Object.entries(root).map(([key, job]) => ({ where: `schedule ${JSON.stringify(key)}`, job: isMapping(job) ? job : null, name: key }));
  } else if (Array.isArray(root)) {
    jobs = root.map((job, index) => ({ where: `entry ${index + 1}`, job: isMapping(job) ? job : null, name: isMapping(job) ? field(job, "name") : undefined }));
  } else {
    throw new ScheduleFileError(
      `${file}: not a sidekiq-cron schedule: expected a hash of name -> job or an array of jobs, found ${root === null || root === undefined ? "nothing" : typeof root}`,
    );
  }
  if (jobs.length === 0) throw new ScheduleFileError(`${file}: no jobs in it`);
  const zone = options.timezone ?? "UTC";
  const builder = new ImportBuilder(options.now);
  let withoutZone = 0;
  const withoutQueue: string[] = [];
  for (const { where, job, name } of jobs) {
    const source = `${typeof name === "string" ? name : where}: ${job === null ? "" : shown(job)}`;
    if (job === null) {
      builder.drop(where, source, "not a hash of job settings (cron, class, ...)");
      continue;
    }
    if (typeof name !== "string" || name === "") {
      builder.drop(where, source, "'name' must be set (sidekiq-cron refuses the job)");
      continue;
    }
    const klass = field(job, "klass") ?? field(job, "class");
    const cron = field(job, "cron");
    if (typeof cron !== "string" || cron === "") {
      builder.drop(where, source, "'cron' must be set (sidekiq-cron refuses the job)");
      continue;
    }
    if (typeof klass !== "string" || klass === "") {
      builder.drop(
        where,
        source,
        field(job, "message") !== undefined
          ? "a raw 'message' without 'class' is not carried over: give class, args and queue"
          : "'klass' (or class) must be set (sidekiq-cron refuses the job)",
      );
      continue;
    }
    const rule = convertFugitRule(cron);
    if (!rule.ok) {
      builder.drop(where, source, `cron ${JSON.stringify(cron)}: ${rule.reason}`);
      continue;
    }
    const args = argsOf(field(job, "args"));
    if ("error" in args) {
      builder.drop(where, source, args.error);
      continue;
    }
    const differ = (reason: string) => builder.differ(where, source, reason);
    for (const note of rule.notes) differ(note);
    if (rule.timezone === null) withoutZone++;
    const activeJob = flag(field(job, "active_job"));
    let queue = field(job, "queue");
    if (queue === undefined || queue === null) {
      withoutQueue.push(name);
      queue = "default";
    }
    const prefix = field(job, "queue_name_prefix");
    if (activeJob && prefix !== undefined && prefix !== null && String(prefix) !== "") {
      const delimiter = field(job, "queue_name_delimiter");
      queue = `${String(prefix)}${delimiter === undefined || delimiter === null || String(delimiter) === "" ? "_" : String(delimiter)}${String(queue)}`;
    }
    const jobOptions: Record<string, Json> = {};
    if (activeJob) jobOptions["activeJob"] = true;
    const retry = field(job, "retry");
    if (retry !== undefined && retry !== null) {
      jobOptions["retry"] = retry;
      differ("retry: sidekiq-cron 1.8 ignores it (the class's sidekiq_options decide), sidekiq-cron 2 writes it into the job: carried over");
    }
    if (flag(field(job, "date_as_argument")))
      differ(
        "date_as_argument: sidekiq-cron adds the enqueue time (Time.now.to_f) as a last argument; the clock's args are fixed, the slot is in the payload's clock.slotAt: the job must read it there",
      );
    if (flag(field(job, "symbolize_args"))) differ("symbolize_args (hash keys as Ruby symbols for ActiveJob) is not carried over");
    if (field(job, "message") !== undefined) differ("message (a raw Sidekiq message) is not carried over: class, args and queue are");
    for (const key of Object.keys(job)) if (!KNOWN.has(key.replace(/^:/, ""))) differ(`${key}: not read by sidekiq-cron 1.8, not carried over`);
    const status = field(job, "status");
    const enabled = status === undefined || status === null || status === "enabled";
    let description = field(job, "description");
    if (typeof description === "string" && description.length > DESCRIPTION_MAX) {
      differ(`description cut to ${DESCRIPTION_MAX} characters (the clock's limit)`);
      description = description.slice(0, DESCRIPTION_MAX);
    }
    const wanted = toScheduleName(name);
    if (wanted !== name) differ(`renamed ${JSON.stringify(name)} to ${JSON.stringify(wanted)}: schedule names use letters, digits, '.', '_', '-' and ':'`);
    const comments = [`sidekiq-cron ${where}: cron ${JSON.stringify(cron)}${rule.reading === null ? "" : ` (fugit reads it as "${rule.reading}")`}`];
    builder.add(
      where,
      source,
      wanted,
      {
        cron: rule.cron,
        timezone: rule.timezone ?? zone,
        ...(enabled ? {} : { enabled: false }),
        adapter: "sidekiq",
        ...(typeof description === "string" && description !== "" ? { description } : {}),
        job: { class: klass, args: args.args, queue: String(queue), ...(Object.keys(jobOptions).length > 0 ? { options: jobOptions } : {}) },
      },
      comments,
      rule.timezone === null && options.timezone === undefined ? NO_DST : SIDEKIQ_CRON_DST,
    );
  }
  if (withoutZone > 0 && options.timezone === undefined) {
    builder.differ(
      "rules without a zone",
      `${withoutZone} job${withoutZone === 1 ? "" : "s"}`,
      "sidekiq-cron 1.8 reads them in UTC, as imported (sidekiq-cron 2 in a Rails app reads them in config.time_zone: pass --timezone ZONE then)",
    );
  }
  if (withoutQueue.length > 0) {
    builder.differ(
      "jobs without a queue",
      withoutQueue.join(", "),
      `sidekiq-cron sends them to the class's sidekiq_options queue when it has one ("default" otherwise; for ActiveJob, Rails' queue_name_prefix is added): imported as "default"`,
    );
  }
  if (text.includes("<%")) builder.differ(file, "<% ... %>", "ERB tags are not rendered (sidekiq-cron renders them): values holding them are imported as written");
  return builder.result("sidekiq-cron", zone, "sidekiq");
}
