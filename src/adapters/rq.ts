/**
 * RQ (as 1.13, Debian's, writes and reads it): what `Queue("Q").enqueue_call(func, args,
 * kwargs, job_id=ID)` writes — `SADD rq:queues rq:queue:Q`, `HSET rq:job:ID` with the job's fields
 * (status "queued", origin, description, timestamps, timeout, data), `RPUSH rq:queue:Q ID`. A plain
 * enqueue touches no registry (those are for scheduled, deferred, started and finished jobs) and
 * no TTL (`ttl` is not set), so these three writes are all of it.
 *
 * `data` is the serialized `(func_name, None, args, kwargs)`. RQ zlib-compresses it, and reads it
 * back with a fallback to uncompressed data; the fire script's arguments are text, so the clock
 * writes it uncompressed, as text: for the default serializer (pickle) a pickle made only of
 * protocol-0 opcodes with every non-ASCII character escaped, which `pickle.loads` reads as any
 * other, and which starts with `(V`, not a zlib header. With `serializer: "json"` (workers started
 * with `--serializer rq.serializers.JSONSerializer`) it is Python's `json.dumps` text.
 */
import { clockMetadata, traceField } from "./ids.ts";
import type { Json } from "../schedule/schedule.ts";
import { codePoints, compareCodePoints, isPythonInt, pythonFloatRepr, pythonJson, pythonRepr } from "./python.ts";
import type { AdapterFactory, Enqueue, Write } from "./types.ts";

/** RQ's Queue.DEFAULT_TIMEOUT, which enqueue writes when the job has none. */
const DEFAULT_TIMEOUT_S = 180;
/** get_call_string's cut of each argument's repr in the description. */
const DESCRIPTION_ARG_MAX = 75;

const isInteger = (value: Json, min: number): boolean => typeof value === "number" && Number.isInteger(value) && value >= min;
const RQ_OPTIONS: Readonly<Record<string, { check: (value: Json) => boolean; expected: string }>> = {
  kwargs: { check: (value) => value !== null && typeof value === "object" && !Array.isArray(value), expected: "an object of keyword arguments" },
  timeout: { check: (value) => isInteger(value, 1), expected: "a whole number of seconds, at least 1" },
  result_ttl: { check: (value) => isInteger(value, -1), expected: "a whole number of seconds (-1: kept forever, 0: not kept)" },
  failure_ttl: { check: (value) => isInteger(value, 1), expected: "a whole number of seconds, at least 1" },
  description: { check: (value) => typeof value === "string", expected: "a string" },
};

export type RqSerializer = "pickle" | "json";

// ---------------------------------------------------------------------------------------------
// A pickle of JSON values in protocol-0 opcodes, all ASCII: MARK "(", TUPLE "t", LIST "l",
// DICT "d", NONE "N", INT "I<digits>\n" (True/False are "I01\n"/"I00\n"), FLOAT "F<repr>\n",
// UNICODE "V<raw-unicode-escape>\n", STOP ".". No memo: the unpickler needs one only for shared
// references, which JSON values do not have.

/** raw-unicode-escape text with nothing but printable ASCII left raw (so no newline ends it early). */
function pickleText(text: string): string {
  let out = "";
  for (const char of codePoints(text)) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0x20 && code <= 0x7e && char !== "\\") out += char;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out;
}

/** A Python tuple (JSON has none; RQ's enqueue passes args as one). */
export class PyTuple {
  readonly items: readonly PickleValue[];
  constructor(items: readonly PickleValue[]) {
    this.items = items;
  }
}
export type PickleValue = Json | PyTuple | readonly PickleValue[];

function pickleValue(value: PickleValue): string {
  if (value === null) return "N";
  if (typeof value === "boolean") return value ? "I01\n" : "I00\n";
  // The Python type json.loads would give the same number: int below 1e21 when integral, else float.
  if (typeof value === "number") return isPythonInt(value) ? `I${String(value)}\n` : `F${pythonFloatRepr(value)}\n`;
  if (typeof value === "string") return `V${pickleText(value)}\n`;
  if (value instanceof PyTuple) return `(${value.items.map(pickleValue).join("")}t`;
  if (Array.isArray(value)) return `(${(value as readonly PickleValue[]).map(pickleValue).join("")}l`;
  return `(${Object.entries(value as { [key: string]: Json })
    .map(([key, item]) => pickleValue(key) + pickleValue(item))
    .join("")}d`;
}

/** `pickle.loads` of this is the value. */
export function pickleAscii(value: PickleValue): string {
  return `${pickleValue(value)}.`;
}

// ---------------------------------------------------------------------------------------------

/**
 * RQ job ids: `clock-<schedule>-<slot ms>` with `_` written `__`, `.` `_2E` and `:` `_3A`, so the id
 * stays one-to-one with the slot and within `[A-Za-z0-9_-]`, which RQ 2.8 and later require.
 */
export function rqJobId(schedule: string, slotAt: number): string {
  const escaped = schedule.replace(/[_.:]/g, (char) => (char === "_" ? "__" : char === "." ? "_2E" : "_3A"));
  return `clock-${escaped}-${slotAt}`;
}

/** RQ's utcformat: `%Y-%m-%dT%H:%M:%S.%fZ`, microseconds. */
export function rqTimestamp(atMs: number): string {
  return `${new Date(atMs).toISOString().slice(0, -1)}000Z`;
}

/** RQ's get_call_string: `func(repr(arg), ..., k=repr(v), ...)`, each repr cut at 75, keywords sorted. */
export function rqDescription(func: string, args: readonly Json[], kwargs: { readonly [key: string]: Json }): string {
  const cut = (text: string): string => {
    const chars = codePoints(text);
    return chars.length > DESCRIPTION_ARG_MAX ? `${chars.slice(0, DESCRIPTION_ARG_MAX).join("")}...` : text;
  };
  const positional = args.map((arg) => cut(pythonRepr(arg)));
  const keywords = Object.entries(kwargs)
    .map(([key, value]) => `${key}=${cut(pythonRepr(value))}`)
    .sort(compareCodePoints);
  return `${func}(${[...positional, ...keywords].join(", ")})`;
}

/** The job hash's fields and values, in the order RQ writes them. */
export function rqJobFields(enqueue: Enqueue, serializer: RqSerializer): [field: string, value: string][] {
  const { job } = enqueue;
  const kwargs = (job.options["kwargs"] ?? {}) as { [key: string]: Json };
  const serialize = (value: PickleValue, json: Json): string => (serializer === "pickle" ? pickleAscii(value) : pythonJson(json));
  const data = serialize(new PyTuple([job.class, null, new PyTuple(job.args), kwargs]), [job.class, null, [...job.args], kwargs]);
  const clock: Json = { ...clockMetadata(enqueue), ...traceField(enqueue) };
  const at = rqTimestamp(enqueue.enqueuedAt);
  const description = job.options["description"];
  const fields: [string, string][] = [
    ["status", "queued"],
    ["created_at", at],
    ["data", data],
    ["success_callback_name", ""],
    ["failure_callback_name", ""],
    ["started_at", ""],
    ["ended_at", ""],
    ["last_heartbeat", ""],
    ["worker_name", ""],
    ["origin", job.queue],
    ["description", typeof description === "string" ? description : rqDescription(job.class, job.args, kwargs)],
    ["enqueued_at", at],
    ["timeout", String(job.options["timeout"] ?? DEFAULT_TIMEOUT_S)],
  ];
  for (const name of ["result_ttl", "failure_ttl"]) {
    const value = job.options[name];
    if (value !== undefined) fields.push([name, String(value)]);
  }
  // meta, as enqueue(meta=...) writes it (serialized, not compressed): the job reads job.meta["clock"].
  fields.push(["meta", serialize({ clock }, { clock })]);
  return fields;
}

export const rqAdapter: AdapterFactory = (settings) => {
  const serializer = settings["serializer"] ?? "pickle";
  // Every bad setting at once, one per line (adapterIssues splits them).
  const problems: string[] = [];
  if (serializer !== "pickle" && serializer !== "json")
    problems.push('adapters.rq.serializer: expected "pickle" (RQ\'s default) or "json" (workers started with --serializer rq.serializers.JSONSerializer)');
  for (const key of Object.keys(settings)) {
    if (key !== "serializer") problems.push(`adapters.rq.${key}: unknown setting`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return {
    name: "rq",
    clusterRefusal: "RQ needs one Redis instance (it does not support Redis Cluster): point this clock at the Redis RQ uses",
    validate(job) {
      const found: Array<[string, string]> = [];
      for (const [key, value] of Object.entries(job.options)) {
        const option = RQ_OPTIONS[key];
        if (option === undefined) {
          const why = key === "ttl" ? "not supported (RQ expires a queued job with EXPIRE, which the fire script does not run)" : "unknown RQ option";
          found.push([key, `${why} (known: ${Object.keys(RQ_OPTIONS).join(", ")})`]);
        } else if (!option.check(value)) found.push([key, `expected ${option.expected}, got ${JSON.stringify(value)}`]);
      }
      return found;
    },
    jobIdFor: rqJobId,
    // Waiting = the job id still in rq:queue:Q (a worker pops it when it starts the job).
    overlap: {
      noReplace: 'RQ keeps a waiting job in its hash rq:job:ID too, which the fire script cannot remove with it (its key is known only in Redis); use "skip" or "allow"',
      pending: (enqueue) => ({ mark: enqueue.jobId, waitingLists: [`rq:queue:${enqueue.job.queue}`] }),
    },
    writes(enqueue): Write[] {
      const queueKey = `rq:queue:${enqueue.job.queue}`;
      return [
        { command: "SADD", key: "rq:queues", args: [queueKey] },
        { command: "HSET", key: `rq:job:${enqueue.jobId}`, args: rqJobFields(enqueue, serializer as RqSerializer).flat() },
        { command: "RPUSH", key: queueKey, args: [enqueue.jobId] },
      ];
    },
  };
};
