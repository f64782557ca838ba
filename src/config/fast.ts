/**
 * The common schedule shapes checked without zod: a cron or an interval, a zone, a job. At 100,000
 * schedules zod takes ~2 s of start-up, the largest part of the path to the first fire. The checks
 * here are the schema's own (the same functions: compileCron, isValidZone, parseDuration,
 * findNonJson) and the output is the one zod gives (test/config/fast.test.ts compares them); any
 * schedule outside these shapes, and any failed check, leaves the whole config to zod, so every
 * error is zod's, with its paths and messages, as before.
 */
import { compileCron } from "../schedule/cron.ts";
import { parseDuration, parseInstant, SECOND } from "../schedule/duration.ts";
import { findNonJson, SCHEDULE_NAME } from "../schedule/schedule.ts";
import { isValidZone } from "../schedule/slots.ts";
import type { ScheduleOutput } from "./schema.ts";

type Fields = Record<string, unknown>;

const SCHEDULE_KEYS: ReadonlySet<string> = new Set(["cron", "every", "anchor", "timezone", "enabled", "adapter", "description", "job"]);
const JOB_KEYS: ReadonlySet<string> = new Set(["class", "args", "queue", "options"]);
const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});
/** The schema's bound on a description (schema.ts). */
const DESCRIPTION_MAX = 1000;

/**
 * One copy of each short string that many schedules repeat (job class, queue, zone, adapter):
 * JSON.parse makes a string per occurrence, 100,000 of each. Per config parse, then dropped.
 */
type Intern = (text: string) => string;

function interner(): Intern {
  const seen = new Map<string, string>();
  return (text) => {
    const found = seen.get(text);
    if (found !== undefined) return found;
    seen.set(text, text);
    return text;
  };
}

/** A plain object (the prototype Object's or none): zod reads inherited keys, so anything else goes to zod. */
function isPlain(value: unknown): value is Fields {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Every key `for...in` yields (as zod's strict check reads them) is one of `allowed`. */
function onlyKeys(value: Fields, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

const nonEmptyString = (value: unknown): value is string => typeof value === "string" && value.length > 0;

function cronOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    compileCron(value);
  } catch {
    return undefined;
  }
  return value;
}

function intervalOf(value: unknown): number | undefined {
  if (typeof value !== "string" && (typeof value !== "number" || !Number.isFinite(value))) return undefined;
  const ms = parseDuration(value);
  return typeof ms === "number" && ms >= SECOND ? ms : undefined;
}

function instantOf(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const at = parseInstant(value);
  return typeof at === "number" && Number.isFinite(at) ? at : undefined;
}

function jobOf(value: unknown, intern: Intern): ScheduleOutput["job"] | undefined {
  if (!isPlain(value) || !onlyKeys(value, JOB_KEYS)) return undefined;
  const { class: name, args = [], queue = "default", options } = value;
  if (!nonEmptyString(name) || !Array.isArray(args) || !nonEmptyString(queue)) return undefined;
  for (const arg of args as unknown[]) if (findNonJson(arg) !== null) return undefined;
  if (options !== undefined) {
    if (!isPlain(options)) return undefined;
    for (const key of Object.keys(options)) if (key === "__proto__" || findNonJson(options[key], [key], new Set([options])) !== null) return undefined;
  }
  // zod copies the array (its elements as they are; a slice is sized to fit, pushes are not) and
  // passes options through. Absent options are one frozen {} for all (zod makes a new one each:
  // 5 MB at 100,000 schedules); jobs are read-only.
  return { class: intern(name), args: (args as unknown[]).slice(), queue: intern(queue), options: options ?? NO_OPTIONS } as ScheduleOutput["job"];
}

/** One schedule as zod outputs it, or undefined when it is not one of the shapes above or fails a check. */
export function fastSchedule(value: unknown, intern: Intern = interner()): ScheduleOutput | undefined {
  if (!isPlain(value) || !onlyKeys(value, SCHEDULE_KEYS)) return undefined;
  const out: Fields = {};
  if (value["cron"] !== undefined) {
    if (value["every"] !== undefined || value["anchor"] !== undefined) return undefined;
    const cron = cronOf(value["cron"]);
    if (cron === undefined) return undefined;
    out["cron"] = cron;
  } else {
    const every = intervalOf(value["every"]);
    if (every === undefined) return undefined;
    out["every"] = every;
    if (value["anchor"] !== undefined) {
      const anchor = instantOf(value["anchor"]);
      if (anchor === undefined) return undefined;
      out["anchor"] = anchor;
    }
  }
  const { timezone, enabled = true, adapter, description } = value;
  if (timezone !== undefined) {
    if (typeof timezone !== "string" || !isValidZone(timezone)) return undefined;
    out["timezone"] = intern(timezone);
  }
  if (typeof enabled !== "boolean") return undefined;
  out["enabled"] = enabled;
  if (adapter !== undefined) {
    if (!nonEmptyString(adapter)) return undefined;
    out["adapter"] = intern(adapter);
  }
  if (description !== undefined) {
    if (typeof description !== "string" || description.length > DESCRIPTION_MAX) return undefined;
    out["description"] = description;
  }
  const job = jobOf(value["job"], intern);
  if (job === undefined) return undefined;
  out["job"] = job;
  return out as ScheduleOutput;
}

/**
 * Every schedule of a config in the shapes above, as zod's record of them; undefined when any one
 * is not (or its name is not a schedule name), and zod parses the whole config.
 */
export function fastSchedules(schedules: unknown): Record<string, ScheduleOutput> | undefined {
  if (!isPlain(schedules) || Object.getOwnPropertySymbols(schedules).length > 0) return undefined;
  const out: Record<string, ScheduleOutput> = {};
  const intern = interner();
  // Own enumerable string keys, as zod's record reads them (symbols: left to zod, above).
  for (const name of Object.keys(schedules)) {
    if (name === "__proto__" || !SCHEDULE_NAME.test(name)) return undefined;
    const schedule = fastSchedule(schedules[name], intern);
    if (schedule === undefined) return undefined;
    out[name] = schedule;
  }
  return out;
}
