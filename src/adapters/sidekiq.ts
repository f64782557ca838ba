/**
 * Sidekiq: the payload Sidekiq's own client writes, `SADD queues NAME` and `LPUSH queue:NAME`.
 * Timestamps: Sidekiq <= 7 writes float seconds, Sidekiq 8 integer milliseconds; float seconds is
 * the default because Sidekiq 8 still reads floats while Sidekiq <= 7 misreads milliseconds.
 * Sidekiq 8 tells the two apart by the JSON type (`is_a?(Float)`), so a float must be written with
 * a decimal point even on a whole second: `1796165750.0`, never `1796165750`.
 */
import type { Json } from "../schedule/schedule.ts";
import { hexJobId, clockMetadata, traceField } from "./ids.ts";
import { listOverlap } from "./pending.ts";
import type { Adapter, AdapterFactory, Enqueue } from "./types.ts";

export const ACTIVE_JOB_WRAPPER = "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper";

const SIDEKIQ_OPTIONS: Readonly<Record<string, (value: Json) => boolean>> = {
  retry: (value) => typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value) && value >= 0),
  backtrace: (value) => typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value) && value >= 0),
  tags: (value) => Array.isArray(value) && value.every((tag) => typeof tag === "string"),
  retry_queue: (value) => typeof value === "string",
  dead: (value) => typeof value === "boolean",
  activeJob: (value) => typeof value === "boolean",
  kwargs: (value) => value !== null && typeof value === "object" && !Array.isArray(value),
};

/**
 * Hash keys ActiveJob 6.1's serializer refuses (`Arguments::RESERVED_KEYS`): written anyway, some
 * change what the job gets (`_aj_serialized` sends the Hash to a custom deserializer that is not there).
 */
const ACTIVE_JOB_RESERVED_KEYS = ["_aj_globalid", "_aj_symbol_keys", "_aj_ruby2_keywords", "_aj_serialized", "_aj_hash_with_indifferent_access"];

/** Where `value` holds a key ActiveJob reserves (`args[1].k._aj_serialized`), or null. */
function reservedKeyIn(value: Json, path: string): string | null {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = reservedKeyIn(item, `${path}[${i}]`);
      if (found !== null) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (ACTIVE_JOB_RESERVED_KEYS.includes(key)) return `${path}.${key}`;
      const found = reservedKeyIn(item, `${path}.${key}`);
      if (found !== null) return found;
    }
  }
  return null;
}

interface SidekiqSettings {
  /** Key prefix of redis-namespace (`myapp` -> `myapp:queue:default`). */
  readonly namespace: string;
  readonly timestamps: "float" | "millis";
  /** Wrap every job as ActiveJob does (per job: `options.activeJob`). */
  readonly activeJob: boolean;
}

function readSettings(settings: Readonly<Record<string, unknown>>): SidekiqSettings {
  const namespace = settings["namespace"] ?? "";
  const timestamps = settings["timestamps"] ?? "float";
  const activeJob = settings["activeJob"] ?? false;
  const problems: string[] = [];
  if (typeof namespace !== "string") problems.push("adapters.sidekiq.namespace: expected a string");
  if (timestamps !== "float" && timestamps !== "millis") problems.push('adapters.sidekiq.timestamps: expected "float" (Sidekiq <= 7) or "millis" (Sidekiq 8)');
  if (typeof activeJob !== "boolean") problems.push("adapters.sidekiq.activeJob: expected true or false");
  for (const key of Object.keys(settings)) {
    if (!["namespace", "timestamps", "activeJob"].includes(key)) problems.push(`adapters.sidekiq.${key}: unknown setting`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return {
    namespace: namespace as string,
    timestamps: timestamps as "float" | "millis",
    activeJob: activeJob as boolean,
  };
}

/** ActiveJob serializes a string-keyed Hash with `_aj_symbol_keys: []`; do the same so it round-trips. */
function activeJobArgument(value: Json): Json {
  if (Array.isArray(value)) return value.map(activeJobArgument);
  if (value !== null && typeof value === "object") {
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) out[key] = activeJobArgument(item);
    out["_aj_symbol_keys"] = [];
    return out;
  }
  return value;
}

/**
 * ActiveJob 6.1's `arguments` for `perform(*args, **kwargs)`: keywords travel as a last Hash marked
 * `_aj_ruby2_keywords` with its (Symbol) keys, which `perform(*arguments)` passes as keywords again.
 * Ruby 3 never turns a plain positional Hash into keywords, so without the marker a job with a
 * keyword parameter raises `ArgumentError (... required keyword: region)`. No kwargs: no trailing Hash, as `**{}`.
 */
function activeJobArguments(args: readonly Json[], kwargs: Readonly<Record<string, Json>>): Json[] {
  const out = args.map(activeJobArgument);
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return out;
  const keywords: Record<string, Json> = {};
  for (const key of keys) keywords[key] = activeJobArgument(kwargs[key] ?? null);
  keywords["_aj_ruby2_keywords"] = keys;
  return [...out, keywords];
}

/**
 * A timestamp as JSON text: float seconds always with a decimal point (JSON.stringify writes a
 * whole number of seconds as an integer, which Sidekiq 8 would read as milliseconds), or integer ms.
 */
export function sidekiqTimestamp(atMs: number, timestamps: "float" | "millis"): string {
  if (timestamps === "millis") return String(Math.floor(atMs));
  const seconds = String(atMs / 1000);
  return /[.e]/.test(seconds) ? seconds : `${seconds}.0`;
}

function uuidFromHex(hex: string): string {
  const h = hex.padEnd(32, "0");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const sidekiqAdapter: AdapterFactory = (rawSettings, context) => {
  const settings = readSettings(rawSettings);
  const prefix = settings.namespace === "" ? "" : `${settings.namespace}:`;
  const adapter: Adapter = {
    name: "sidekiq",
    clusterRefusal: "Sidekiq does not support Redis Cluster (it needs one Redis instance): point this clock at the Redis Sidekiq uses",
    validate(job) {
      const problems: Array<[string, string]> = [];
      for (const [key, value] of Object.entries(job.options)) {
        const check = SIDEKIQ_OPTIONS[key];
        if (check === undefined) problems.push([key, `unknown Sidekiq option (known: ${Object.keys(SIDEKIQ_OPTIONS).join(", ")})`]);
        else if (!check(value)) problems.push([key, `invalid value ${JSON.stringify(value)}`]);
      }
      const activeJob = job.options["activeJob"] ?? settings.activeJob;
      if (activeJob !== true) {
        if (job.options["kwargs"] !== undefined) problems.push(["kwargs", "keyword arguments need activeJob: true (a plain Sidekiq job's perform takes positional args only)"]);
        return problems;
      }
      const reserved = reservedKeyIn([...job.args], "job.args") ?? reservedKeyIn(job.options["kwargs"] ?? null, "kwargs");
      if (reserved !== null)
        problems.push([reserved.startsWith("kwargs") ? "kwargs" : "activeJob", `${reserved} is a key ActiveJob reserves for its own serialization (its serializer refuses it)`]);
      return problems;
    },
    jobIdFor: (schedule, slotAt) => hexJobId(context.namespace, schedule, slotAt),
    // Waiting = still in queue:NAME, which Sidekiq's fetch pops (BRPOP) when a thread takes the job.
    overlap: listOverlap,
    writes(enqueue: Enqueue) {
      const { job } = enqueue;
      const jid = enqueue.jobId;
      const { activeJob = settings.activeJob, kwargs = {}, ...options } = job.options;
      const common = {
        queue: job.queue,
        retry: options["retry"] ?? true,
        ...options,
        jid,
        clock: clockMetadata(enqueue),
        // Top level, where OpenTelemetry's Sidekiq instrumentation reads the job hash as its carrier.
        ...traceField(enqueue),
      };
      const payload =
        activeJob === true
          ? {
              class: ACTIVE_JOB_WRAPPER,
              wrapped: job.class,
              args: [
                {
                  job_class: job.class,
                  job_id: uuidFromHex(jid + jid.slice(0, 8)),
                  provider_job_id: null,
                  queue_name: job.queue,
                  priority: null,
                  arguments: activeJobArguments(job.args, kwargs as Record<string, Json>),
                  executions: 0,
                  exception_executions: {},
                  locale: "en",
                  timezone: "UTC",
                  enqueued_at: new Date(enqueue.enqueuedAt).toISOString(),
                  scheduled_at: null,
                },
              ],
              ...common,
            }
          : { class: job.class, args: job.args, ...common };
      // The timestamps are spliced in as text: no JSON.stringify of a number can write `1796165750.0`.
      const at = sidekiqTimestamp(enqueue.enqueuedAt, settings.timestamps);
      const text = `${JSON.stringify(payload).slice(0, -1)},"created_at":${at},"enqueued_at":${at}}`;
      return [
        { command: "SADD", key: `${prefix}queues`, args: [job.queue] },
        { command: "LPUSH", key: `${prefix}queue:${job.queue}`, args: [text] },
      ];
    },
  };
  return adapter;
};
