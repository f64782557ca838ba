/** Turns validated config into Schedules: defaults filled in, rules compiled to one form. */
import { adapterIssues } from "../adapters/index.ts";
import type { Adapter, Overlap } from "../adapters/types.ts";
import { atToCron } from "../schedule/at.ts";
import { formatDuration, HOUR } from "../schedule/duration.ts";
import type { CatchUp, Schedule } from "../schedule/schedule.ts";
import { onceInstant, type Rule } from "../schedule/slots.ts";
import { ConfigError, type FieldIssue } from "../errors.ts";
import { issuesFromZod } from "./errors.ts";
import { fastSchedules } from "./fast.ts";
import { resolveExpect, type Expect } from "./expect.ts";
import {
  adapterSettingsSchema,
  catchUpSchema,
  configSchema,
  jobSchema,
  overlapSchema,
  perSlotSpreadProblem,
  scheduleSchema,
  unknownCalendarIssues,
  type ConfigOutput,
  type ScheduleOutput,
} from "./schema.ts";
import type { DayCalendar } from "../schedule/days.ts";
import { spreadOf } from "../schedule/spread.ts";
import type { z } from "zod";
import { resolveRedisTarget, type RedisTarget } from "../redis/connection.ts";

/** The default catch-up: a slot missed by a short gap (restart, failover, deploy) fires late rather than never. */
export const DEFAULT_CATCH_UP: CatchUp = { policy: "latest", windowMs: HOUR, max: 100 };

export const DEFAULT_NAMESPACE = "clock";

export interface Defaults {
  readonly timezone: string;
  readonly adapter: string;
  readonly catchUp: CatchUp;
  /** Absent: "allow". */
  readonly overlap?: Overlap | undefined;
  /** The key namespace: with the schedule's name, what a spread's offset is derived from (default `clock`). */
  readonly namespace?: string | undefined;
  /** The config's `spread` for every schedule; absent: none. */
  readonly spread?: SpreadSetting | undefined;
  /** The config's calendars by name: schedules (dynamic ones too) exclude them by name. */
  readonly calendars?: Readonly<Record<string, DayCalendar>> | undefined;
  /** The config's `expect` for every schedule (history/expect.ts); absent: none. */
  readonly expect?: Expect | undefined;
}

/** A spread as configured, before it is tied to a schedule's name. */
export interface SpreadSetting {
  readonly per: "schedule" | "slot";
  readonly maxMs: number;
}

export interface ClockConfig extends Defaults {
  readonly namespace: string;
  readonly calendars: Readonly<Record<string, DayCalendar>>;
  /** Leader lease: time to live and standby retry period, ms (defaults in the lease module). */
  readonly lease: { readonly ttlMs?: number | undefined; readonly retryMs?: number | undefined };
  /** Settings of built-in adapters, or adapters of one's own, by name. */
  readonly adapters: Readonly<Record<string, Readonly<Record<string, unknown>> | Adapter>>;
  readonly schedules: readonly Schedule[];
  /** The config's `redis` (REDIS_URL applies when absent). */
  readonly redis?: RedisTarget | undefined;
  /** Shards of leadership (lease/shards.ts); absent: 1. */
  readonly shards?: number | undefined;
  /** Opt-in WAIT after each fire batch; null or absent: none. */
  readonly durability?: { readonly replicas: number; readonly timeoutMs: number } | null | undefined;
  /** Fires kept per schedule in the history (0: none); absent: the default, 100. */
  readonly history?: { readonly size: number } | undefined;
  /** Where the leader posts expectation state changes (daemon/alerts.ts); absent: nowhere. */
  readonly alerts?: { readonly webhook: string } | undefined;
}

/** The settings a dynamic schedule is resolved with, from a resolved config. */
export function defaultsOf(config: ClockConfig): Defaults {
  return {
    timezone: config.timezone,
    adapter: config.adapter,
    catchUp: config.catchUp,
    namespace: config.namespace,
    spread: config.spread,
    calendars: config.calendars,
    ...(config.overlap === undefined ? {} : { overlap: config.overlap }),
    ...(config.expect === undefined ? {} : { expect: config.expect }),
  };
}

function mergeCatchUp(base: CatchUp, override: z.output<typeof catchUpSchema> | undefined): CatchUp {
  // Shared when not overridden: 100,000 schedules need not carry 100,000 equal objects.
  if (override === undefined || Object.keys(override).length === 0) return base;
  return {
    policy: override?.policy ?? base.policy,
    windowMs: override?.window ?? base.windowMs,
    max: override?.max ?? base.max,
    ...((override?.rate ?? base.ratePerSecond) === undefined ? {} : { ratePerSecond: override?.rate ?? base.ratePerSecond }),
  };
}

/**
 * One rule (frozen) and display text per cron expression: per-tenant schedules share a few hundred
 * expressions, and 100,000 copies of each rule were ~5 MB. Bounded, as compileCron's cache is.
 */
const cronRules = new Map<string, { rule: Rule; ruleText: string }>();
const CRON_RULES_MAX = 100_000;

function cronRuleOf(expression: string): { rule: Rule; ruleText: string } {
  let found = cronRules.get(expression);
  if (found === undefined) {
    found = { rule: Object.freeze({ kind: "cron", expressions: Object.freeze([expression]) }), ruleText: `cron "${expression}"` };
    if (cronRules.size >= CRON_RULES_MAX) cronRules.clear();
    cronRules.set(expression, found);
  }
  return found;
}

function ruleOf(name: string, schedule: ScheduleOutput, timezone: string): { rule: Rule; ruleText: string } {
  if (schedule.once !== undefined) {
    const { text, wall } = schedule.once;
    const at = wall === undefined ? schedule.once.at : onceInstant(wall, timezone);
    if (at === undefined || at === null) throw new ConfigError([{ path: `${name}.once`, message: `no instant for "${text}" in ${timezone}` }], `invalid schedule "${name}"`);
    return { rule: { kind: "once", at }, ruleText: wall === undefined ? `once ${text}` : `once ${text} (${timezone})` };
  }
  if (schedule.cron !== undefined) {
    if (typeof schedule.cron === "string") return cronRuleOf(schedule.cron);
    const expressions = schedule.cron;
    return { rule: { kind: "cron", expressions }, ruleText: `cron ${expressions.map((expression) => `"${expression}"`).join(", ")}` };
  }
  if (schedule.every !== undefined) {
    const anchorAt = schedule.anchor ?? 0;
    const anchorText = anchorAt === 0 ? "" : ` from ${new Date(anchorAt).toISOString()}`;
    return { rule: { kind: "every", intervalMs: schedule.every, anchorAt }, ruleText: `every ${formatDuration(schedule.every)}${anchorText}` };
  }
  const times = Array.isArray(schedule.at) ? schedule.at : [schedule.at ?? ""];
  const expressions = times.map((time) => {
    const expression = atToCron(time);
    if (typeof expression !== "string") throw new Error(`unreachable: at "${time}" passed validation`);
    return expression;
  });
  return { rule: { kind: "cron", expressions }, ruleText: `at ${times.join(", ")}` };
}

function spreadSettingOf(spread: ScheduleOutput["spread"]): SpreadSetting | false | undefined {
  if (spread === undefined || spread === false) return spread;
  return typeof spread === "number" ? { per: "schedule", maxMs: spread } : { per: spread.per, maxMs: spread.max };
}

function calendarsOf(input: ConfigOutput["calendars"]): Record<string, DayCalendar> {
  const calendars: Record<string, DayCalendar> = {};
  for (const [name, calendar] of Object.entries(input)) {
    calendars[name] =
      typeof calendar === "function"
        ? { name, dates: [], ranges: [], test: calendar }
        : { name, dates: [...new Set(calendar.dates)].sort(), ranges: calendar.ranges.map(({ from, to }) => ({ from, to })) };
  }
  return calendars;
}

/** What the schedule excludes and how it spreads, resolved against the defaults' calendars and spread. */
function spreadAndExclude(name: string, schedule: ScheduleOutput, defaults: Defaults): Pick<Schedule, "spread" | "exclude"> {
  const own = spreadSettingOf(schedule.spread);
  const setting = own === undefined ? defaults.spread : own === false ? undefined : own;
  const exclude = (schedule.exclude ?? []).map((calendar) => {
    const found = defaults.calendars?.[calendar];
    if (found === undefined) throw new ConfigError([{ path: `${name}.exclude`, message: `unknown calendar "${calendar}"` }], `invalid schedule "${name}"`);
    return found;
  });
  // Only fields that are set: a schedule without them stays the object it always was.
  return {
    ...(setting === undefined ? {} : { spread: spreadOf(setting.per, setting.maxMs, defaults.namespace ?? DEFAULT_NAMESPACE, name) }),
    ...(exclude.length === 0 ? {} : { exclude }),
  };
}

/** A config-wide per-slot spread, checked against each schedule that takes it (its own spread is checked by the schema). */
function defaultSpreadIssues(name: string, schedule: ScheduleOutput, defaults: Defaults, path: readonly string[]): FieldIssue[] {
  if (schedule.spread !== undefined || defaults.spread?.per !== "slot") return [];
  const problem = perSlotSpreadProblem(schedule as Record<string, unknown>, defaults.spread.maxMs);
  return problem === null ? [] : [{ path: [...path, name, "spread"].join("."), message: `the config's ${problem}; give this schedule its own spread (or false)` }];
}

/**
 * `overlap` rides on the resolved schedule beside the Schedule fields (read with overlapOf), absent
 * for "allow" so a schedule without it is the same object, fingerprint and fire as before it existed.
 */
export function toSchedule(name: string, schedule: ScheduleOutput, defaults: Defaults): Schedule & { readonly overlap?: Overlap; readonly expect?: Expect } {
  const overlap = schedule.overlap ?? defaults.overlap ?? "allow";
  const timezone = schedule.timezone ?? defaults.timezone;
  const expect = resolveExpect(schedule.expect, defaults.expect);
  const { rule, ruleText } = ruleOf(name, schedule, timezone);
  const extras = spreadAndExclude(name, schedule, defaults);
  const plain =
    extras.spread === undefined &&
    extras.exclude === undefined &&
    overlap === "allow" &&
    schedule.maxRuns === undefined &&
    schedule.expireAfter === undefined &&
    schedule.labels === undefined &&
    schedule.group === undefined &&
    expect === undefined;
  if (plain) {
    // The same object as below, built without spreads: a literal of fixed shape, ~30% smaller than
    // what the spreads build (100,000 schedules), its keys in the same order.
    return {
      name,
      rule,
      ruleText,
      timezone,
      startAt: schedule.startAt,
      endAt: schedule.endAt,
      enabled: schedule.enabled,
      adapter: schedule.adapter ?? defaults.adapter,
      job: schedule.job,
      catchUp: mergeCatchUp(defaults.catchUp, schedule.catchUp),
      description: schedule.description,
    };
  }
  return {
    name,
    rule,
    ruleText,
    ...extras,
    timezone,
    startAt: schedule.startAt,
    endAt: schedule.endAt,
    enabled: schedule.enabled,
    adapter: schedule.adapter ?? defaults.adapter,
    job: schedule.job,
    catchUp: mergeCatchUp(defaults.catchUp, schedule.catchUp),
    description: schedule.description,
    ...(overlap === "allow" ? {} : { overlap }),
    // Only fields that are set: a schedule without them keeps its fingerprint, payloads and script arguments.
    ...(schedule.maxRuns === undefined ? {} : { maxRuns: schedule.maxRuns }),
    ...(schedule.expireAfter === undefined ? {} : { expireAfterMs: schedule.expireAfter }),
    ...(schedule.labels === undefined || Object.keys(schedule.labels).length === 0 ? {} : { labels: { ...schedule.labels } }),
    ...(schedule.group === undefined ? {} : { group: schedule.group }),
    ...(expect === undefined ? {} : { expect }),
  };
}

export function resolveConfig(config: ConfigOutput): ClockConfig {
  const spread = spreadSettingOf(config.spread);
  const defaults = {
    timezone: config.timezone,
    adapter: config.adapter,
    catchUp: mergeCatchUp(DEFAULT_CATCH_UP, config.catchUp),
    namespace: config.namespace,
    spread: spread === false ? undefined : spread,
    calendars: calendarsOf(config.calendars),
    ...(config.overlap === "allow" ? {} : { overlap: config.overlap }),
    ...(config.expect === undefined ? {} : { expect: resolveExpect(config.expect, undefined) }),
  } satisfies Defaults;
  return {
    ...defaults,
    lease: { ttlMs: config.lease.ttl, retryMs: config.lease.retry },
    adapters: config.adapters,
    redis: config.redis === undefined ? undefined : resolveRedisTarget([config.redis, "redis"]),
    durability: config.durability ?? null,
    shards: config.shards,
    history: { size: config.history.size },
    ...(config.alerts === undefined ? {} : { alerts: { webhook: config.alerts.webhook } }),
    schedules: Object.entries(config.schedules).map(([name, schedule]) => toSchedule(name, schedule, defaults)),
  };
}

/** Validates a whole config (the default export of clock.config.ts); throws ConfigError with every issue. */
export function parseConfig(input: unknown): ClockConfig {
  const fast = parseFast(input);
  const parsed = fast === undefined ? configSchema.safeParse(input) : ({ success: true, data: fast } as const);
  if (!parsed.success) {
    // The adapter checks still run on what did parse: a user fixing the schema errors must not
    // meet an unknown adapter or a bad job option only in the next round.
    throw new ConfigError(unique([...issuesFromZod(parsed.error), ...adapterIssuesOfInvalid(input)]));
  }
  const config = resolveConfig(parsed.data);
  const issues = [
    // Only a config-wide per-slot spread has anything to check (a walk over 100,000 schedules otherwise).
    ...(config.spread?.per === "slot" ? Object.entries(parsed.data.schedules).flatMap(([name, schedule]) => defaultSpreadIssues(name, schedule, config, ["schedules"])) : []),
    ...adapterIssues(config.schedules, config.adapters, { namespace: config.namespace }),
  ];
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The config as zod outputs it, its schedules checked by fast.ts and the rest by zod; undefined
 * when a schedule is not in fast.ts's shapes or anything fails: then zod parses it all (its errors).
 */
export function parseFast(input: unknown): ConfigOutput | undefined {
  if (!isRecord(input)) return undefined;
  const prototype: unknown = Object.getPrototypeOf(input);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const schedules = fastSchedules(input["schedules"]);
  if (schedules === undefined) return undefined;
  const rest = configSchema.safeParse({ ...input, schedules: {} });
  return rest.success ? { ...rest.data, schedules } : undefined;
}

function unique(issues: readonly FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\0${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A schedule's adapter and job as far as they parse, for the adapter checks of a config that
 * failed the schema: the job's class or args may be wrong and its options still be checked.
 */
function adapterTarget(
  name: string,
  raw: unknown,
  defaultAdapter: string | null,
  defaultOverlap: Overlap = "allow",
): { name: string; adapter: string; job: Schedule["job"]; overlap: Overlap } | null {
  if (!isRecord(raw)) return null;
  const adapter = raw["adapter"] === undefined ? defaultAdapter : raw["adapter"];
  if (typeof adapter !== "string" || adapter === "") return null;
  const job = isRecord(raw["job"]) ? raw["job"] : {};
  const queue = jobSchema.shape.queue.safeParse(job["queue"]);
  const options = jobSchema.shape.options.safeParse(job["options"]);
  const overlap = overlapSchema.safeParse(raw["overlap"] ?? defaultOverlap);
  return {
    name,
    adapter,
    job: { class: "", args: [], queue: queue.success ? queue.data : "default", options: options.success ? options.data : {} },
    overlap: overlap.success ? overlap.data : "allow",
  };
}

function adapterIssuesOfInvalid(input: unknown): FieldIssue[] {
  if (!isRecord(input) || !isRecord(input["schedules"])) return [];
  const settings = adapterSettingsSchema.safeParse(input["adapters"] ?? {});
  if (!settings.success) return [];
  const defaultAdapter = configSchema.shape.adapter.safeParse(input["adapter"]);
  const namespace = configSchema.shape.namespace.safeParse(input["namespace"]);
  const defaultOverlap = configSchema.shape.overlap.safeParse(input["overlap"]);
  const targets = Object.entries(input["schedules"]).flatMap(
    ([name, raw]) => adapterTarget(name, raw, defaultAdapter.success ? defaultAdapter.data : null, defaultOverlap.success ? defaultOverlap.data : "allow") ?? [],
  );
  return adapterIssues(targets, settings.data, { namespace: namespace.success ? namespace.data : "clock" });
}

/** Validates one schedule definition (a dynamic schedule); throws ConfigError with every issue. */
export function parseSchedule(name: string, input: unknown, defaults: Defaults, adapters?: { settings: Readonly<Record<string, unknown>>; namespace: string }): Schedule {
  const parsed = scheduleSchema.safeParse(input);
  // Calendars are the config's, by name only (a definition is JSON): a name it lacks is refused here.
  const calendarIssues = unknownCalendarIssues(input, Object.keys(defaults.calendars ?? {})).map((issue) => ({ path: [name, ...issue.path].join("."), message: issue.message }));
  if (!parsed.success) {
    const target = adapters === undefined ? null : adapterTarget(name, input, defaults.adapter, defaults.overlap);
    const later = adapters === undefined || target === null ? [] : adapterIssues([target], adapters.settings, { namespace: adapters.namespace }, (scheduleName) => scheduleName);
    throw new ConfigError(unique([...issuesFromZod(parsed.error, [name]), ...calendarIssues, ...later]), `invalid schedule "${name}"`);
  }
  const refused = [...calendarIssues, ...defaultSpreadIssues(name, parsed.data, defaults, [])];
  if (refused.length > 0) throw new ConfigError(refused, `invalid schedule "${name}"`);
  const schedule = toSchedule(name, parsed.data, defaults);
  if (adapters !== undefined) {
    const issues = adapterIssues([schedule], adapters.settings, { namespace: adapters.namespace }, (scheduleName) => scheduleName);
    if (issues.length > 0) throw new ConfigError(issues, `invalid schedule "${name}"`);
  }
  return schedule;
}
