/**
 * The calendar oracle: cron slots computed the slow, obvious way, written independently of
 * src/schedule (no code shared with cron.ts or slots.ts), so it can judge them.
 *
 * - Matching: each field read into a plain set; a date is checked field by field with JS Date,
 *   the nearest weekday (`15W`) by looking at the days around it; cron's day rule (AND when either
 *   day field starts with `*` or `?`, else OR).
 * - Instants, far from any offset change: the wall time minus the zone's one offset that day.
 * - Instants near an offset change: every minute instant walked, its wall time read from luxon,
 *   and the documented rule applied literally: a wall minute skipped by a jump fires at its wall
 *   time under the old offset (shifted by the gap); a wall minute seen again after a fall-back
 *   fires again only when the hour field is a wildcard.
 */
import assert from "node:assert/strict";
import { DateTime } from "luxon";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface ReferenceFields {
  readonly second: ReadonlySet<number>;
  readonly minute: ReadonlySet<number>;
  readonly hour: ReadonlySet<number>;
  readonly dayOfMonth: ReadonlySet<number>;
  readonly month: ReadonlySet<number>;
  readonly dayOfWeek: ReadonlySet<number>;
  readonly lastDay: boolean;
  readonly lastWeekdayOfMonth: boolean;
  readonly nearestWeekday: readonly number[];
  readonly lastWeekday: ReadonlySet<number>;
  /** "weekday#k" strings. */
  readonly nthWeekday: ReadonlySet<string>;
  readonly dayOfMonthStar: boolean;
  readonly dayOfWeekStar: boolean;
  readonly hourWildcard: boolean;
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

function number(text: string, names: readonly string[], offset: number): number {
  const named = names.indexOf(text.toUpperCase());
  return named >= 0 ? named + offset : Number(text);
}

/** `*`, `?`, `N`, `N-M`, each with an optional `/S` (`N/S` runs to the end), comma lists. */
function readField(text: string, min: number, max: number, names: readonly string[] = [], offset = 0): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(",")) {
    const [range = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (range === "*" || range === "?") {
      low = min;
      high = max;
    } else if (range.includes("-")) {
      const [a = "", b = ""] = range.split("-");
      low = number(a, names, offset);
      high = number(b, names, offset);
    } else {
      low = number(range, names, offset);
      high = stepText === undefined ? low : max;
    }
    assert.ok(Number.isInteger(low) && Number.isInteger(high) && Number.isInteger(step) && step > 0, `the reference cannot read "${text}"`);
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

export function parseReference(expression: string): ReferenceFields {
  const expanded = ALIASES[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = expanded.split(/\s+/);
  assert.ok(parts.length === 5 || parts.length === 6, `the reference reads 5 or 6 fields: "${expression}"`);
  const [second = "", minute = "", hour = "", dayOfMonth = "", month = "", dayOfWeek = ""] = parts.length === 5 ? ["0", ...parts] : parts;
  const plainDays: string[] = [];
  const nearestWeekday: number[] = [];
  let lastDay = false;
  let lastWeekdayOfMonth = false;
  for (const item of dayOfMonth.split(",")) {
    if (item === "L") lastDay = true;
    else if (item === "LW") lastWeekdayOfMonth = true;
    else if (item.endsWith("W")) nearestWeekday.push(Number(item.slice(0, -1)));
    else plainDays.push(item);
  }
  const plainWeekdays: string[] = [];
  const lastWeekday = new Set<number>();
  const nthWeekday = new Set<string>();
  for (const item of dayOfWeek.split(",")) {
    if (item.includes("#")) {
      const [day = "", k = ""] = item.split("#");
      if (k.toUpperCase() === "L") lastWeekday.add(number(day, DAY_NAMES, 0) % 7);
      else nthWeekday.add(`${number(day, DAY_NAMES, 0) % 7}#${k}`);
    } else if (item.length > 1 && item.endsWith("L")) lastWeekday.add(number(item.slice(0, -1), DAY_NAMES, 0) % 7);
    else plainWeekdays.push(item);
  }
  const star = (field: string) => field.startsWith("*") || field.startsWith("?");
  return {
    second: readField(second, 0, 59),
    minute: readField(minute, 0, 59),
    hour: readField(hour, 0, 23),
    dayOfMonth: plainDays.length > 0 ? readField(plainDays.join(","), 1, 31) : new Set(),
    month: readField(month, 1, 12, MONTH_NAMES, 1),
    dayOfWeek: new Set([...(plainWeekdays.length > 0 ? readField(plainWeekdays.join(","), 0, 7, DAY_NAMES, 0) : [])].map((day) => day % 7)),
    lastDay,
    lastWeekdayOfMonth,
    nearestWeekday,
    lastWeekday,
    nthWeekday,
    dayOfMonthStar: star(dayOfMonth),
    dayOfWeekStar: star(dayOfWeek),
    hourWildcard: star(hour),
  };
}

const isWeekend = (date: Date) => date.getUTCDay() === 0 || date.getUTCDay() === 6;

/** Whether the calendar date (UTC fields of `date`) matches the day and month fields. */
export function referenceDayMatches(fields: ReferenceFields, date: Date): boolean {
  if (!fields.month.has(date.getUTCMonth() + 1)) return false;
  const day = date.getUTCDate();
  const sameMonth = (other: Date) => other.getUTCMonth() === date.getUTCMonth();
  const shifted = (days: number) => new Date(date.getTime() + days * DAY);
  const isLastDay = !sameMonth(shifted(1));
  let domOk = fields.dayOfMonth.has(day) || (fields.lastDay && isLastDay);
  // Last weekday: a weekday with no weekday after it in the month.
  if (fields.lastWeekdayOfMonth && !isWeekend(date)) {
    let later = false;
    for (let ahead = 1; ahead <= 3; ahead++) if (sameMonth(shifted(ahead)) && !isWeekend(shifted(ahead))) later = true;
    domOk ||= !later;
  }
  // Nearest weekday to N: N itself when a weekday; else the closest weekday in the month (Friday
  // before a Saturday, Monday after a Sunday, never leaving the month).
  for (const target of fields.nearestWeekday) {
    const targetDate = shifted(target - day);
    if (!sameMonth(targetDate) || targetDate.getUTCDate() !== target) continue;
    let picked: Date;
    if (!isWeekend(targetDate)) picked = targetDate;
    else {
      const candidates = [-2, -1, 1, 2]
        .map((delta) => ({ delta, date: new Date(targetDate.getTime() + delta * DAY) }))
        .filter((candidate) => sameMonth(candidate.date) && !isWeekend(candidate.date))
        .sort((a, b) => Math.abs(a.delta) - Math.abs(b.delta) || a.delta - b.delta);
      const [closest] = candidates;
      assert.ok(closest !== undefined);
      picked = closest.date;
    }
    if (picked.getUTCDate() === day) domOk = true;
  }
  const weekday = date.getUTCDay();
  const dowOk =
    fields.dayOfWeek.has(weekday) || (fields.lastWeekday.has(weekday) && !sameMonth(shifted(7))) || fields.nthWeekday.has(`${weekday}#${Math.floor((day - 1) / 7) + 1}`);
  if (fields.dayOfMonthStar || fields.dayOfWeekStar) return domOk && dowOk;
  return domOk || dowOk;
}

/** Whether any date matches: 2001-2028 holds every kind of year (first weekday x leap), checked day by day. */
export function referenceEverMatches(fields: ReferenceFields): boolean {
  for (let at = Date.UTC(2001, 0, 1); at < Date.UTC(2029, 0, 1); at += DAY) if (referenceDayMatches(fields, new Date(at))) return true;
  return false;
}

/** A wall time as naive epoch ms (its fields read as UTC). */
export function wallOf(atMs: number, zone: string): number {
  const local = DateTime.fromMillis(atMs, { zone });
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
}

/**
 * The wall time of a whole-minute instant, with luxon asked once per hour where the offset is the
 * same at both ends of the hour (offsets change at most once an hour), per minute elsewhere.
 */
const hourOffsets = new Map<string, number | null>();
function wallOfMinute(atMs: number, zone: string): number {
  const hourAt = Math.floor(atMs / HOUR) * HOUR;
  const key = `${zone} ${hourAt}`;
  let offset = hourOffsets.get(key);
  if (offset === undefined) {
    const start = offsetAt(hourAt, zone);
    offset = start === offsetAt(hourAt + HOUR - MINUTE, zone) ? start : null;
    if (hourOffsets.size > 200_000) hourOffsets.clear();
    hourOffsets.set(key, offset);
  }
  return offset === null ? wallOf(atMs, zone) : atMs + offset;
}

/** Whether a naive wall time (to the second) matches every field. */
export function referenceWallMatches(fields: ReferenceFields, wall: number): boolean {
  return fields.second.has(new Date(wall).getUTCSeconds()) && wallMinuteMatches(fields, wall - new Date(wall).getUTCSeconds() * 1000);
}

function wallMinuteMatches(fields: ReferenceFields, wall: number): boolean {
  const date = new Date(wall);
  return fields.minute.has(date.getUTCMinutes()) && fields.hour.has(date.getUTCHours()) && referenceDayMatches(fields, date);
}

const sortedSeconds = (fields: ReferenceFields) => [...fields.second].sort((a, b) => a - b);

/**
 * Slots in (fromAt, untilAt] by brute force: every minute instant, its wall time, the rule
 * applied literally (see the header).
 */
export function bruteForceSlots(expression: string, zone: string, fromAt: number, untilAt: number): number[] {
  const fields = parseReference(expression);
  const seconds = sortedSeconds(fields);
  const seenWalls = new Set<number>();
  const slots = new Set<number>();
  const add = (minuteAt: number) => {
    for (const second of seconds) slots.add(minuteAt + second * 1000);
  };
  // Start well before the window so a first occurrence before it is known.
  let previous: { at: number; wall: number } | null = null;
  for (let atMs = fromAt - (((fromAt % MINUTE) + MINUTE) % MINUTE) - 3 * HOUR; atMs <= untilAt + 2 * HOUR; atMs += MINUTE) {
    const wall = wallOfMinute(atMs, zone);
    if (previous !== null && wall > previous.wall + MINUTE) {
      const offsetBefore = previous.wall - previous.at;
      for (let skipped = previous.wall + MINUTE; skipped < wall; skipped += MINUTE) {
        if (wallMinuteMatches(fields, skipped)) add(skipped - offsetBefore);
      }
    }
    if (wallMinuteMatches(fields, wall) && (!seenWalls.has(wall) || fields.hourWildcard)) add(atMs);
    seenWalls.add(wall);
    previous = { at: atMs, wall };
  }
  return [...slots].filter((slot) => slot > fromAt && slot <= untilAt).sort((a, b) => a - b);
}

/** The zone's offset at an instant, ms. */
function offsetAt(atMs: number, zone: string): number {
  return wallOf(atMs, zone) - Math.floor(atMs / 1000) * 1000;
}

/**
 * The first `count` slots after `fromAt`, walking local dates: a matching date far from any
 * offset change (the same offset from two days before to two days after, sampled every 6 h) has
 * its slots at wall minus that offset; a date near one is brute-forced minute by minute. Walks at
 * most `maxYears`; fewer slots than `count` means the rule has no more within that span.
 */
export function referenceSlots(expression: string, zone: string, fromAt: number, count: number, maxYears = 30): number[] {
  const fields = parseReference(expression);
  const seconds = sortedSeconds(fields);
  const hours = [...fields.hour].sort((a, b) => a - b);
  const minutes = [...fields.minute].sort((a, b) => a - b);
  const found = new Set<number>();
  const fromWall = wallOf(fromAt, zone);
  const firstDay = Math.floor(fromWall / DAY) * DAY - DAY;
  for (let dayWall = firstDay; dayWall < firstDay + maxYears * 366 * DAY; dayWall += DAY) {
    const enough = [...found].filter((slot) => slot < dayWall - 3 * DAY).length >= count;
    if (enough) break;
    if (!referenceDayMatches(fields, new Date(dayWall))) continue;
    const offsets = new Set<number>();
    for (let sample = dayWall - 2 * DAY; sample <= dayWall + 3 * DAY; sample += 6 * HOUR) offsets.add(offsetAt(sample, zone));
    if (offsets.size === 1) {
      const [offset = 0] = offsets;
      for (const hour of hours)
        for (const minute of minutes)
          for (const second of seconds) {
            const slot = dayWall + hour * HOUR + minute * MINUTE + second * 1000 - offset;
            if (slot > fromAt) found.add(slot);
          }
    } else {
      // Near a change: brute-force the instants whose (possibly shifted) wall date is this date.
      for (const slot of bruteForceSlots(expression, zone, Math.max(fromAt, dayWall - 16 * HOUR), dayWall + DAY + 16 * HOUR)) found.add(slot);
    }
  }
  return [...found].sort((a, b) => a - b).slice(0, count);
}

/** Offset changes of a zone in [fromAt, untilAt), found by sampling every 6 hours and bisecting. */
export function transitionsOf(zone: string, fromAt: number, untilAt: number): number[] {
  const changes: number[] = [];
  let previous = offsetAt(fromAt, zone);
  for (let at = fromAt + 6 * HOUR; at < untilAt; at += 6 * HOUR) {
    const offset = offsetAt(at, zone);
    if (offset === previous) continue;
    let low = at - 6 * HOUR;
    let high = at;
    while (high - low > MINUTE) {
      const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
      if (offsetAt(middle, zone) === previous) low = middle;
      else high = middle;
    }
    changes.push(high);
    previous = offset;
  }
  return changes;
}

/** Offset changes the DST tests walk through, both directions in four zones. */
export const TRANSITIONS: readonly { zone: string; at: string; what: string }[] = [
  { zone: "America/New_York", at: "2024-03-10T07:00:00Z", what: "spring forward" },
  { zone: "America/New_York", at: "2024-11-03T06:00:00Z", what: "fall back" },
  { zone: "Europe/London", at: "2024-03-31T01:00:00Z", what: "spring forward" },
  { zone: "Europe/London", at: "2024-10-27T01:00:00Z", what: "fall back" },
  { zone: "Australia/Lord_Howe", at: "2024-10-05T15:30:00Z", what: "spring forward (30 min)" },
  { zone: "Australia/Lord_Howe", at: "2024-04-06T15:00:00Z", what: "fall back (30 min)" },
  { zone: "America/Santiago", at: "2024-09-08T04:00:00Z", what: "spring forward at midnight" },
  { zone: "America/Santiago", at: "2024-04-07T03:00:00Z", what: "fall back at midnight" },
];
