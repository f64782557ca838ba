/**
 * What a running clock publishes about its config file, so clients in other processes (a web
 * handler, the CLI) know the config schedules: to refuse name clashes, to trigger and to show them.
 */
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, defaultsOf, type ClockConfig, type Defaults } from "../config/resolve.ts";
import type { ClockKeys } from "../redis/keys.ts";
import { localDateOfWall, type DayCalendar } from "../schedule/days.ts";
import { DAY } from "../schedule/duration.ts";
import type { Schedule } from "../schedule/schedule.ts";

export interface ConfigSnapshot {
  readonly v: 1;
  readonly defaults: Defaults;
  /** Built-in adapters' settings (custom adapter objects cannot cross processes). */
  readonly adapters: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly schedules: readonly Schedule[];
  readonly writtenAt: number;
  /** The config's `history.size` (absent from older clocks' snapshots: the default). */
  readonly historySize?: number;
}

export function snapshotOf(config: ClockConfig, now: number): ConfigSnapshot {
  const adapters: Record<string, Record<string, unknown>> = {};
  for (const [name, settings] of Object.entries(config.adapters)) {
    if (Object.values(settings).every((value) => typeof value !== "function")) adapters[name] = { ...settings };
  }
  return {
    v: 1,
    defaults: defaultsOf(config),
    adapters,
    schedules: config.schedules,
    writtenAt: now,
    ...(config.history === undefined ? {} : { historySize: config.history.size }),
  };
}

/** A function calendar crosses processes as the dates it excludes from a year before the snapshot to three after. */
const EXPAND_BEFORE_DAYS = 366;
const EXPAND_AFTER_DAYS = 3 * 366;

function storableCalendar(calendar: DayCalendar, now: number): DayCalendar {
  const { test } = calendar;
  if (test === undefined) return calendar;
  const dates = [...calendar.dates];
  const firstWall = Math.floor(now / DAY) * DAY - EXPAND_BEFORE_DAYS * DAY;
  for (let day = 0; day <= EXPAND_BEFORE_DAYS + EXPAND_AFTER_DAYS; day++) {
    const { key, date } = localDateOfWall(firstWall + day * DAY);
    try {
      if (test(date) === true) dates.push(key);
    } catch {
      // as slots.ts reads a throwing calendar: that date is not excluded
    }
  }
  return { name: calendar.name, dates, ranges: calendar.ranges };
}

/**
 * As JSON: calendars once, in the defaults (function calendars as their dates), and each
 * schedule's `exclude` as calendar names, so 10,000 schedules do not carry 10,000 copies.
 */
export function encodeSnapshot(snapshot: ConfigSnapshot): string {
  const calendars: Record<string, DayCalendar> = {};
  for (const [name, calendar] of Object.entries(snapshot.defaults.calendars ?? {})) calendars[name] = storableCalendar(calendar, snapshot.writtenAt);
  const schedules = snapshot.schedules.map((schedule) => (schedule.exclude === undefined ? schedule : { ...schedule, exclude: schedule.exclude.map((calendar) => calendar.name) }));
  return JSON.stringify({ ...snapshot, defaults: { ...snapshot.defaults, calendars }, schedules });
}

function withCalendars(parsed: ConfigSnapshot): ConfigSnapshot {
  const calendars = parsed.defaults.calendars ?? {};
  const schedules = parsed.schedules.map((schedule) => {
    const names: unknown = schedule === null || typeof schedule !== "object" ? undefined : schedule.exclude;
    if (!Array.isArray(names)) return schedule;
    return { ...schedule, exclude: names.flatMap((name) => (typeof name === "string" && calendars[name] !== undefined ? [calendars[name]] : [])) };
  });
  return { ...parsed, schedules };
}

export async function writeSnapshot(redis: Redis, keys: ClockKeys, snapshot: ConfigSnapshot): Promise<void> {
  await redis.set(keys.config, encodeSnapshot(snapshot));
}

/** The snapshot a clock wrote, or null when there is none or it cannot be read. */
export async function readSnapshot(redis: Redis, keys: ClockKeys): Promise<ConfigSnapshot | null> {
  const raw = await redis.get(keys.config);
  return raw === null ? null : decodeSnapshot(raw);
}

/** A snapshot from its JSON, exclusions resolved to the calendars again; null when it cannot be read. */
export function decodeSnapshot(raw: string): ConfigSnapshot | null {
  try {
    const parsed = JSON.parse(raw) as Partial<ConfigSnapshot>;
    if (parsed.v !== 1 || !Array.isArray(parsed.schedules) || parsed.defaults === undefined) return null;
    return withCalendars(parsed as ConfigSnapshot);
  } catch {
    return null;
  }
}

export const FALLBACK_DEFAULTS: Defaults = { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP };
