/**
 * The schema of `clock.config.ts` and of dynamic schedules: zod validates everything at load, and
 * every error carries the path of the field it is about.
 */
import { z } from "zod";
import { isAdapter, OVERLAPS } from "../adapters/index.ts";
import type { Adapter } from "../adapters/types.ts";
import { atToCron } from "../schedule/at.ts";
import { DAY, formatDuration, parseDuration, parseInstant, SECOND } from "../schedule/duration.ts";
import { GROUP_NAME, LABEL_KEY, SCHEDULE_NAME, findNonJson, type Json } from "../schedule/schedule.ts";
import { compileCron, CronNeverFiresError } from "../schedule/cron.ts";
import { CALENDAR_NAME, checkLocalDate, localDateOfWall, type LocalDate } from "../schedule/days.ts";
import { gapShorterThan } from "../schedule/spread.ts";
import { isValidZone } from "../schedule/slots.ts";
import { ClockError } from "../errors.ts";
import { parseRate } from "./rate.ts";
import { MASTER_NAME, parseRedisUrl } from "../redis/connection.ts";

const json = z.custom<Json>().superRefine((value, ctx) => {
  const found = findNonJson(value);
  if (found !== null) ctx.addIssue({ code: "custom", message: found.problem, path: found.path });
});

const zone = z.string({ error: "expected an IANA time zone name" }).refine(isValidZone, {
  error: (issue) => `unknown time zone ${JSON.stringify(issue.input)}`,
});

const duration = z.union([z.string(), z.number()], { error: 'expected a duration such as "30s", "5m", "1h" or milliseconds' }).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (typeof ms === "number") return ms;
  ctx.addIssue({ code: "custom", message: ms.error });
  return z.NEVER;
});

const instant = z.union([z.string(), z.number(), z.date()], { error: "expected an ISO-8601 time, epoch milliseconds or a Date" }).transform((value, ctx) => {
  const at = typeof value === "string" ? parseInstant(value) : value instanceof Date ? value.getTime() : value;
  if (typeof at === "number" && Number.isFinite(at)) return at;
  ctx.addIssue({ code: "custom", message: typeof at === "object" ? at.error : `invalid time ${JSON.stringify(String(value))}` });
  return z.NEVER;
});

/** A local wall time, `YYYY-MM-DDTHH:MM[:SS]` (or a space for the T), read in the schedule's zone. */
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;

export interface LocalWallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/**
 * `once`: an instant (ISO-8601 with `Z` or an offset, epoch ms, a Date), or a local time without
 * an offset, which is read in the schedule's zone by the DST rule (resolve.ts). The text is kept for display.
 */
const once = z
  .union([z.string(), z.number(), z.date()], { error: 'expected an ISO-8601 time ("2026-12-24T18:00:00Z"), a local time ("2026-12-24T18:00"), epoch ms or a Date' })
  .transform((value, ctx): { readonly text: string; readonly at?: number; readonly wall?: LocalWallTime } => {
    if (typeof value === "string") {
      const local = LOCAL_TIME.exec(value.trim());
      if (local !== null) {
        const [year, month, day, hour, minute, second] = local.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
        const date = new Date(Date.UTC(year, month - 1, day));
        if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
          ctx.addIssue({ code: "custom", message: `invalid local time "${value}": no such date or time` });
          return z.NEVER;
        }
        return { text: value.trim(), wall: { year, month, day, hour, minute, second } };
      }
      if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
        ctx.addIssue({ code: "custom", message: `"${value}" is a date: give a time too ("${value.trim()}T09:00" in the schedule's zone, or with "Z")` });
        return z.NEVER;
      }
    }
    const at = typeof value === "string" ? parseInstant(value) : value instanceof Date ? value.getTime() : value;
    if (typeof at === "number" && Number.isFinite(at) && Number.isInteger(at)) return { text: typeof value === "string" ? value.trim() : new Date(at).toISOString(), at };
    ctx.addIssue({ code: "custom", message: typeof at === "object" ? at.error : `invalid time ${JSON.stringify(String(value))}` });
    return z.NEVER;
  });

/** `labels`: a flat object of short strings, for filtering; `__proto__` is no key (as in args). */
const labels = z.custom<Record<string, string>>().superRefine((value, ctx) => {
  if (value === null || typeof value !== "object" || Array.isArray(value) || (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)) {
    ctx.addIssue({ code: "custom", message: 'expected an object of labels, e.g. { team: "billing" }' });
    return;
  }
  const entries = Object.entries(value);
  if (entries.length > 20) ctx.addIssue({ code: "custom", message: `has ${entries.length} labels; at most 20` });
  for (const [key, item] of entries) {
    if (key === "__proto__" || !LABEL_KEY.test(key))
      ctx.addIssue({ code: "custom", message: `invalid label name ${JSON.stringify(key)}: use letters, digits, '.', '_', '-' or '/' (at most 100)`, path: [key] });
    else if (typeof item !== "string" || item.length > 200) ctx.addIssue({ code: "custom", message: "expected a string of at most 200 characters", path: [key] });
  }
});

function checkCron(expression: string, ctx: z.RefinementCtx, path: (string | number)[] = []): void {
  try {
    compileCron(expression);
  } catch (error) {
    const message = error instanceof CronNeverFiresError ? error.message : `invalid cron expression "${expression}": ${(error as Error).message}`;
    ctx.addIssue({ code: "custom", message, path });
  }
}

/** One rule, or several as a union (their slots merged, an instant two rules share fired once). */
const cron = z
  .union([z.string(), z.array(z.string({ error: "expected a cron expression" })).min(1, { error: "expected at least one cron expression" })], {
    error: "expected a cron expression or a list of them",
  })
  .superRefine((value, ctx) => {
    if (typeof value === "string") checkCron(value, ctx);
    else value.forEach((expression, index) => checkCron(expression, ctx, [index]));
  });

/** `"10m"` (one offset per schedule), `{ max: "10m", per: "slot" }`, or false (none, over a config default). */
const spreadMax = duration.refine((ms) => ms >= SECOND, { error: "must be at least 1s (offsets are whole seconds)" });

const spreadObject = z
  .object({
    max: spreadMax,
    per: z.enum(["schedule", "slot"], { error: 'expected "schedule" or "slot"' }).default("schedule"),
  })
  .strict();

export type SpreadInput = z.input<typeof spreadMax> | false | z.input<typeof spreadObject>;

/**
 * The shape is picked by the input's type, not by a union: a union would report a bad `per` as
 * "expected one of three shapes" instead of naming the field.
 */
export const spreadSchema = z.custom<SpreadInput>().transform((value, ctx): number | false | z.output<typeof spreadObject> => {
  const parsed =
    value === false ? ({ success: true, data: false } as const) : typeof value === "object" && value !== null ? spreadObject.safeParse(value) : spreadMax.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    const message = issue.code === "invalid_type" && issue.path.length === 0 ? 'expected a duration such as "10m", { max: "10m", per: "slot" }, or false' : issue.message;
    ctx.addIssue({ code: "custom", message, path: issue.path });
  }
  return z.NEVER;
});

/** Years of dates a function calendar is tried on at load: one that throws or answers a non-boolean is refused now, not at a holiday. */
const PROBE_FROM = Date.UTC(2024, 0, 1);
const PROBE_DAYS = 6 * 366;

function probeCalendarFunction(test: (date: LocalDate) => boolean): string | null {
  for (let day = 0; day < PROBE_DAYS; day++) {
    const { key, date } = localDateOfWall(PROBE_FROM + day * DAY);
    let answer: unknown;
    try {
      answer = test(date);
    } catch (error) {
      return `threw on ${key}: ${(error as Error)?.message ?? String(error)}`;
    }
    if (typeof answer !== "boolean") return `returned ${typeof answer} for ${key}: expected true (excluded) or false`;
  }
  return null;
}

/** Named calendars of excluded local dates: `{ dates, ranges }`, or a function of a local date (config only). */
const localDate = z.string({ error: "expected a date YYYY-MM-DD" }).superRefine((text, ctx) => {
  const problem = checkLocalDate(text);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});

export const dayCalendarSchema = z.union(
  [
    z
      .custom<(date: LocalDate) => boolean>((value) => typeof value === "function")
      .superRefine((test, ctx) => {
        const problem = probeCalendarFunction(test);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
      }),
    z
      .object({
        dates: z.array(localDate, { error: "expected a list of dates YYYY-MM-DD" }).default([]),
        ranges: z
          .array(z.object({ from: localDate, to: localDate }).strict(), { error: "expected a list of { from, to } date ranges" })
          .default([])
          .superRefine((ranges, ctx) => {
            ranges.forEach((range, index) => {
              if (typeof range.from === "string" && typeof range.to === "string" && range.to < range.from) {
                ctx.addIssue({ code: "custom", message: `ends before it starts (${range.from})`, path: [index, "to"] });
              }
            });
          }),
      })
      .strict(),
  ],
  { error: "expected { dates: [...], ranges: [{ from, to }] } or a function (date) => boolean" },
);

const at = z
  .union([z.string(), z.array(z.string()).min(1, { error: "expected at least one time" })], {
    error: 'expected a time such as "09:00" or a list of them',
  })
  .superRefine((value, ctx) => {
    const times = Array.isArray(value) ? value : [value];
    times.forEach((time, index) => {
      const converted = atToCron(time);
      if (typeof converted !== "string") {
        ctx.addIssue({ code: "custom", message: converted.error, path: Array.isArray(value) ? [index] : [] });
      }
    });
  });

/**
 * Job options: an object of JSON values. Not a z.record, which drops a `__proto__` key silently:
 * such a key is refused by name, as in args; every bad value is reported, each with its path.
 */
const jobOptions = z.custom<Record<string, Json>>().superRefine((value, ctx) => {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    ctx.addIssue({ code: "custom", message: "expected an object of job options" });
    return;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    ctx.addIssue({ code: "custom", message: findNonJson(value)?.problem ?? "expected an object of job options" });
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const found = key === "__proto__" ? { path: [key], problem: '"__proto__" is not allowed as a key' } : findNonJson(item, [key], new Set([value]));
    if (found !== null) ctx.addIssue({ code: "custom", message: found.problem, path: found.path });
  }
});

/** Slots a second: "10/s", "600/m", "3600/h", or a number (config/rate.ts). */
export const rate = z.union([z.string(), z.number()], { error: 'expected a rate such as "10/s", "600/m" or a number of slots per second' }).transform((value, ctx) => {
  const perSecond = parseRate(value);
  if (typeof perSecond === "number") return perSecond;
  ctx.addIssue({ code: "custom", message: perSecond.error });
  return z.NEVER;
});

export const catchUpSchema = z
  .object({
    policy: z.enum(["latest", "all", "none"], { error: 'expected "latest", "all" or "none"' }).optional(),
    window: duration.optional(),
    max: z.number().int().positive().max(10_000).optional(),
    rate: rate.optional(),
  })
  .strict()
  .superRefine((catchUp, ctx) => {
    // Only "all" fires more than one missed slot: a rate anywhere else would promise pacing it cannot give.
    if (catchUp.rate !== undefined && catchUp.policy !== undefined && catchUp.policy !== "all") {
      ctx.addIssue({ code: "custom", message: `only applies to policy "all" (policy "${catchUp.policy}" fires at most one missed slot)`, path: ["rate"] });
    }
  });

/** What a slot does while the previous slot's job is still pending (adapters/types.ts). */
export const overlapSchema = z.enum(OVERLAPS, { error: 'expected "allow", "skip" or "replace"' });

/**
 * What a schedule's jobs should do after their slot (history/expect.ts judges it): start within,
 * finish within, or both; `false` on a schedule turns the config's default off.
 */
const expectBound = duration.refine((ms) => ms >= SECOND, { error: "must be at least 1s (states are judged every second)" });
export const expectSchema = z
  .object({ startWithin: expectBound.optional(), finishWithin: expectBound.optional() })
  .strict()
  .superRefine((expect, ctx) => {
    if (expect.startWithin === undefined && expect.finishWithin === undefined) {
      ctx.addIssue({ code: "custom", message: 'expected startWithin, finishWithin or both (e.g. { startWithin: "5m", finishWithin: "1h" })' });
    }
    if (expect.startWithin !== undefined && expect.finishWithin !== undefined && expect.finishWithin < expect.startWithin) {
      ctx.addIssue({ code: "custom", message: `must be at least startWithin (${formatDuration(expect.startWithin)}): a job finishes after it starts`, path: ["finishWithin"] });
    }
  });
/** Picked by the input's type, not a union, so a bad field is reported by name (as for spread). */
const expectSetting = z.custom<false | z.input<typeof expectSchema>>().transform((value, ctx): false | z.output<typeof expectSchema> => {
  if (value === false) return false;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    ctx.addIssue({ code: "custom", message: 'expected { startWithin, finishWithin } (durations such as "5m") or false' });
    return z.NEVER;
  }
  const parsed = expectSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});

/** Where the leader posts state changes (daemon/alerts.ts); never echoed in a message: it may carry a token. */
export const alertsSchema = z
  .object({
    webhook: z.string({ error: "expected an http:// or https:// URL" }).superRefine((text, ctx) => {
      let url: URL | null = null;
      try {
        url = new URL(text);
      } catch {
        url = null;
      }
      if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) ctx.addIssue({ code: "custom", message: "expected an http:// or https:// URL" });
    }),
  })
  .strict();

export const jobSchema = z
  .object({
    class: z.string({ error: "expected the job class name (a string)" }).min(1, { error: "must not be empty" }),
    args: z.array(json, { error: "expected an array of JSON values" }).default([]),
    queue: z.string({ error: "expected a queue name" }).min(1, { error: "must not be empty" }).default("default"),
    options: jobOptions.default({}),
  })
  .strict();

export const scheduleSchema = z
  .object({
    cron: cron.optional(),
    once: once.optional(),
    every: duration.refine((ms) => ms >= SECOND, { error: "must be at least 1s" }).optional(),
    anchor: instant.optional(),
    at: at.optional(),
    timezone: zone.optional(),
    startAt: instant.optional(),
    endAt: instant.optional(),
    enabled: z.boolean().default(true),
    adapter: z.string().min(1).optional(),
    description: z.string().max(1000).optional(),
    maxRuns: z.number({ error: "expected a whole number of fires (1 or more)" }).int({ error: "expected a whole number" }).min(1, { error: "must be at least 1" }).optional(),
    expireAfter: duration.refine((ms) => ms >= SECOND, { error: "must be at least 1s" }).optional(),
    labels: labels.optional(),
    group: z.string({ error: "expected a group name" }).regex(GROUP_NAME, { error: "expected a group name (letters, digits, '.', '_', '-' or ':', at most 200)" }).optional(),
    catchUp: catchUpSchema.optional(),
    overlap: overlapSchema.optional(),
    spread: spreadSchema.optional(),
    expect: expectSetting.optional(),
    exclude: z
      .array(z.string({ error: "expected a calendar name" }).regex(CALENDAR_NAME, { error: "expected a calendar name (letters, digits, '.', '_', '-' or ':')" }), {
        error: "expected a list of calendar names",
      })
      .optional(),
    job: jobSchema,
  })
  .strict()
  // `when`: run even if a field failed, so every problem is reported at once.
  .superRefine(
    (schedule, ctx) => {
      // Runs even when the input is not an object (the type error is reported already): read nothing inherited.
      if (schedule === null || typeof schedule !== "object" || Array.isArray(schedule)) return;
      const own = (key: string) => Object.hasOwn(schedule, key) && (schedule as Record<string, unknown>)[key] !== undefined;
      const kinds = (["cron", "every", "at", "once"] as const).filter(own);
      if (kinds.length !== 1) {
        ctx.addIssue({
          code: "custom",
          message: kinds.length === 0 ? "needs one of cron, every, at or once" : `has ${kinds.join(" and ")}: use exactly one`,
        });
      }
      if (own("anchor") && !own("every")) {
        ctx.addIssue({ code: "custom", message: "anchor only applies to every", path: ["anchor"] });
      }
      if (typeof schedule.startAt === "number" && typeof schedule.endAt === "number" && schedule.endAt <= schedule.startAt) {
        ctx.addIssue({ code: "custom", message: "must be after startAt", path: ["endAt"] });
      }
      const { spread } = schedule as { spread?: unknown };
      if (kinds.length === 1 && typeof spread === "object" && spread !== null && (spread as { per?: unknown }).per === "slot") {
        const problem = perSlotSpreadProblem(schedule as Record<string, unknown>, (spread as { max?: unknown }).max);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem, path: ["spread"] });
      }
    },
    { when: () => true },
  );

/** The rule of a schedule's (parsed, maybe partly invalid) fields, for the gap check; null when it did not parse. */
function gapRuleOf(schedule: Record<string, unknown>): Parameters<typeof gapShorterThan>[0] | null {
  const { cron: rule, every, at: times } = schedule;
  if (typeof every === "number") return { kind: "every", intervalMs: every };
  const expressions =
    typeof rule === "string" ? [rule] : Array.isArray(rule) ? rule : (Array.isArray(times) ? times : [times]).map((time) => (typeof time === "string" ? atToCron(time) : null));
  if (!expressions.every((expression): expression is string => typeof expression === "string")) return null;
  try {
    for (const expression of expressions) compileCron(expression);
  } catch {
    return null;
  }
  return { kind: "cron", expressions };
}

/**
 * A per-slot spread wider than the rule's shortest gap between slots would let a slot move past
 * the next one: refused, with the gap. (A per-schedule spread moves every slot alike: any width.)
 */
export function perSlotSpreadProblem(schedule: Record<string, unknown>, maxMs: unknown): string | null {
  if (typeof maxMs !== "number") return null;
  const rule = gapRuleOf(schedule);
  const gapMs = rule === null ? null : gapShorterThan(rule, maxMs);
  if (gapMs === null) return null;
  return `a per-slot spread of ${formatDuration(maxMs)} is wider than the rule's shortest gap between slots (${formatDuration(gapMs)}): slots could change order; use at most ${formatDuration(gapMs)}, or a per-schedule spread`;
}

/** Per adapter: settings of a built-in one, or an adapter of one's own (an object with writes/enqueue). */
export const adapterSettingsSchema = z.record(
  z.string(),
  z.union([z.custom<Adapter>(isAdapter), z.record(z.string(), z.unknown())], { error: "expected adapter settings (an object) or an adapter with writes() or enqueue()" }),
);

/** A Redis URL (redis://, rediss://, redis+sentinel://, redis+cluster://), checked as REDIS_URL is. */
const redisUrl = z.string().superRefine((url, ctx) => {
  try {
    parseRedisUrl(url, "redis");
  } catch (error) {
    if (!(error instanceof ClockError)) throw error;
    for (const issue of error.issues) ctx.addIssue({ code: "custom", message: issue.message });
  }
});

const clusterSettings = z
  .object({
    cluster: z
      .array(
        z
          .object({
            host: z.string({ error: "expected a host name" }).min(1, { error: "expected a host name" }),
            port: z.number().int().min(1).max(65_535, { error: "expected a port from 1 to 65535" }).optional(),
          })
          .strict(),
        { error: "expected a list of cluster nodes { host, port }" },
      )
      .min(1, { error: "expected at least one cluster node { host, port }" }),
    username: z.string().optional(),
    password: z.string().optional(),
  })
  .strict();

const sentinelSettings = z
  .object({
    sentinels: z
      .array(
        z
          .object({
            host: z.string({ error: "expected a host name" }).min(1, { error: "expected a host name" }),
            port: z.number().int().min(1).max(65_535, { error: "expected a port from 1 to 65535" }).optional(),
          })
          .strict(),
        { error: "expected a list of Sentinels { host, port }" },
      )
      .min(1, { error: "expected at least one Sentinel { host, port }" }),
    name: z.string({ error: "expected the master name Sentinel monitors" }).regex(MASTER_NAME, { error: "use letters, digits, '.', '_' or '-'" }),
    db: z.number().int().min(0).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    sentinelUsername: z.string().optional(),
    sentinelPassword: z.string().optional(),
  })
  .strict();

export const durabilitySchema = z
  .object({
    replicas: z.number({ error: "expected how many replicas must acknowledge each fire batch (1 or more)" }).int().min(1).max(100),
    // The WAIT holds the clock's connection: lease renewals queue behind it, so it stays short.
    timeoutMs: z
      .number()
      .int()
      .min(1, { error: "must be at least 1 (0 would wait forever)" })
      .max(1000, { error: "at most 1000: the WAIT holds the clock's connection, lease renewals wait behind it" })
      .default(200),
  })
  .strict();

export const configSchema = z
  .object({
    timezone: zone.default("UTC"),
    adapter: z.string().min(1).default("sidekiq"),
    namespace: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, { error: "use letters, digits, '.', '_', '-' or ':'" })
      .default("clock"),
    catchUp: catchUpSchema.default({}),
    overlap: overlapSchema.default("allow"),
    spread: spreadSchema.optional(),
    calendars: z
      .record(z.string(), dayCalendarSchema, { error: "expected an object of named calendars" })
      .default({})
      .superRefine(
        (calendars, ctx) => {
          if (calendars === null || typeof calendars !== "object") return;
          for (const name of Object.keys(calendars)) {
            if (!CALENDAR_NAME.test(name)) ctx.addIssue({ code: "custom", message: "calendar names use letters, digits, '.', '_', '-' or ':' (at most 100)", path: [name] });
          }
        },
        { when: () => true },
      ),
    lease: z
      .object({
        ttl: duration.refine((ms) => ms >= 1000, { error: "must be at least 1s" }).optional(),
        retry: duration.refine((ms) => ms >= 50, { error: "must be at least 50ms" }).optional(),
      })
      .strict()
      .default({}),
    adapters: adapterSettingsSchema.default({}),
    /** Where the clock's Redis is; REDIS_URL when absent. */
    redis: z
      .union([redisUrl, sentinelSettings, clusterSettings], {
        error: "expected a Redis URL, Sentinel settings { sentinels: [{ host, port }], name } or Cluster settings { cluster: [{ host, port }] }",
      })
      .optional(),
    durability: durabilitySchema.optional(),
    /**
     * Shards of leadership (README "Growing past one machine"): schedules split by a hash of their
     * name, each shard with its own lease, ledger and outbox; each process leads its share. 1 (the
     * default) is one lease over everything, with the keys a clock always had.
     */
    shards: z
      .number({ error: "expected how many shards of leadership to split the schedules into (1 to 1024)" })
      .int({ error: "expected a whole number of shards" })
      .min(1, { error: "at least 1" })
      .max(1024, { error: "at most 1024" })
      .default(1),
    /** Fires kept per schedule in Redis with their outcomes (history/store.ts); 0 turns history off. */
    history: z
      .object({ size: z.number({ error: "expected how many fires to keep per schedule (0 turns history off)" }).int().min(0).max(10_000).default(100) })
      .strict()
      .default({ size: 100 }),
    /** The default `expect` of every schedule (each may set its own, or false). */
    expect: expectSchema.optional(),
    alerts: alertsSchema.optional(),
    schedules: z
      .record(z.string(), scheduleSchema, { error: "expected an object of named schedules" })
      .default({})
      .superRefine(
        (schedules, ctx) => {
          if (schedules === null || typeof schedules !== "object") return;
          for (const name of Object.keys(schedules)) {
            if (!SCHEDULE_NAME.test(name)) {
              ctx.addIssue({ code: "custom", message: "schedule names use letters, digits, '.', '_', '-' or ':' (at most 200)", path: [name] });
            }
          }
        },
        { when: () => true },
      ),
  })
  .strict()
  .superRefine(
    (config, ctx) => {
      if (config === null || typeof config !== "object" || config.schedules === null || typeof config.schedules !== "object") return;
      const calendars = config.calendars !== null && typeof config.calendars === "object" ? Object.keys(config.calendars) : [];
      for (const [name, schedule] of Object.entries(config.schedules)) {
        for (const issue of unknownCalendarIssues(schedule, calendars)) ctx.addIssue({ code: "custom", ...issue, path: ["schedules", name, ...issue.path] });
      }
      for (const issue of expectWithoutHistoryIssues(config)) ctx.addIssue({ code: "custom", ...issue });
    },
    { when: () => true },
  );

/** Expectations are judged from the history: with `history.size` 0 there is none to judge them by. */
function expectWithoutHistoryIssues(config: Record<string, unknown>): { message: string; path: (string | number)[] }[] {
  const history = config["history"] as { size?: unknown } | undefined;
  if (history?.size !== 0) return [];
  const message = "needs the history (history.size above 0): expectations are judged from it";
  const schedules = Object.entries(config["schedules"] as Record<string, unknown>);
  return [
    ...(config["expect"] === undefined ? [] : [{ message, path: ["expect"] }]),
    ...schedules.flatMap(([name, schedule]) => {
      const own = schedule !== null && typeof schedule === "object" ? (schedule as { expect?: unknown }).expect : undefined;
      return own === undefined || own === false ? [] : [{ message, path: ["schedules", name, "expect"] }];
    }),
  ];
}

/** `exclude` names no calendar has; read from a raw or parsed schedule, never throws. */
export function unknownCalendarIssues(schedule: unknown, calendars: readonly string[]): { message: string; path: (string | number)[] }[] {
  if (schedule === null || typeof schedule !== "object" || !Object.hasOwn(schedule, "exclude")) return [];
  const exclude = (schedule as { exclude?: unknown }).exclude;
  if (!Array.isArray(exclude)) return [];
  const known = calendars.length === 0 ? "no calendars are defined" : `known: ${calendars.join(", ")}`;
  return exclude.flatMap((name, index) =>
    typeof name === "string" && CALENDAR_NAME.test(name) && !calendars.includes(name) ? [{ message: `unknown calendar "${name}" (${known})`, path: ["exclude", index] }] : [],
  );
}

export type ScheduleInput = z.input<typeof scheduleSchema>;
export type ScheduleOutput = z.output<typeof scheduleSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ConfigOutput = z.output<typeof configSchema>;
