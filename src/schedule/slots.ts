/**
 * A schedule's slots: pure functions of (rule, zone, instant). Every clock process computes the
 * same slots because nothing here depends on when a process started.
 *
 * Cron and `at` rules are matched (cron.ts) against the *wall clock* (a naive local time held in
 * epoch-ms form, evaluated as if it were UTC); the wall time is then turned into instants by the
 * one DST rule of the clock:
 * - a wall time that does not exist (spring-forward gap) fires once, shifted forward by the
 *   length of the gap (02:30 on a New York spring-forward day fires at 03:30 EDT);
 * - a wall time that exists twice (fall-back overlap) fires once, at its first occurrence,
 *   unless the rule's hour field is a wildcard (`*`, `*\/n`, `@hourly`, `**:MM`): then it fires
 *   at both, so such schedules fire every real hour.
 * Slots are instants, so two wall times that land on the same instant are one slot (also across
 * the rules of a union, `cron: [...]`).
 *
 * Then, in this order: a slot whose local date is in an excluded calendar (days.ts) is no slot;
 * the rest move by their spread (spread.ts); startAt/endAt bound the moved instants, the ones that
 * fire. Each step keeps slots strictly increasing: exclusion drops slots, a per-schedule spread
 * moves all by one offset, and a per-slot offset stays below the gap to the rule's next slot.
 */
import { IANAZone } from "luxon";
import { compileCron, type CronRule } from "./cron.ts";
import { excludingCalendar, type DayCalendar } from "./days.ts";
import { HOUR, MINUTE, DAY, SECOND } from "./duration.ts";
import { slotOffsetMs, type Spread } from "./spread.ts";

export type Rule =
  | { readonly kind: "cron"; readonly expressions: readonly string[] }
  | { readonly kind: "every"; readonly intervalMs: number; readonly anchorAt: number }
  /** A one-shot: its only slot (a local time already resolved by the DST rule, see onceInstant). */
  | { readonly kind: "once"; readonly at: number };

export interface Calendar {
  readonly rule: Rule;
  readonly timezone: string;
  readonly startAt?: number | undefined;
  readonly endAt?: number | undefined;
  /** Calendars whose dates have no slot; empty or absent: none. */
  readonly exclude?: readonly DayCalendar[] | undefined;
  readonly spread?: Spread | undefined;
}

const zoneCache = new Map<string, IANAZone>();

// Checking a zone builds an Intl.DateTimeFormat (slow, and memory outside the JS heap): once per name.
const validZones = new Map<string, boolean>();

export function isValidZone(name: string): boolean {
  let valid = validZones.get(name);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(name);
    if (validZones.size < 10_000) validZones.set(name, valid);
  }
  return valid;
}

function zoneOf(name: string): IANAZone {
  let zone = zoneCache.get(name);
  if (zone === undefined) {
    zone = IANAZone.create(name);
    zoneCache.set(name, zone);
  }
  return zone;
}

// Offsets by hour: an hour whose two ends share an offset has that offset throughout (zones never
// change twice within an hour), so most look-ups skip Intl, which costs microseconds each.
const offsetCache = new Map<IANAZone, Map<number, number>>();
const OFFSET_CACHE_MAX = 50_000;

function offsetMs(zone: IANAZone, at: number): number {
  const hour = Math.floor(at / HOUR);
  let hours = offsetCache.get(zone);
  if (hours === undefined) {
    hours = new Map();
    offsetCache.set(zone, hours);
  }
  const cached = hours.get(hour);
  if (cached !== undefined) return cached;
  const start = zone.offset(hour * HOUR);
  if (start === zone.offset(hour * HOUR + HOUR - 1)) {
    if (hours.size >= OFFSET_CACHE_MAX) hours.clear();
    hours.set(hour, start * MINUTE);
    return start * MINUTE;
  }
  return zone.offset(at) * MINUTE; // an hour with a transition in it: exact, uncached
}

/** The local wall time of an instant, as naive epoch ms. */
function wallTimeOf(timezone: string, at: number): number {
  return at + offsetMs(zoneOf(timezone), at);
}

interface Resolved {
  /** Instants whose local time is the wall time: 0 (gap), 1, or 2 (overlap, earlier first). */
  readonly exact: number[];
  /** Where a gap's wall time fires: shifted forward by the gap's length. */
  readonly shifted: number;
  /** The larger offset around the wall time: no instant of a later wall time is before wall - maxOffset. */
  readonly maxOffsetMs: number;
}

function resolveWallTime(zone: IANAZone, wall: number): Resolved {
  // Offsets a day either side bracket any transition near this wall time (they are months apart).
  const before = offsetMs(zone, wall - DAY);
  const after = offsetMs(zone, wall + DAY);
  const exact: number[] = [];
  for (const offset of before === after ? [before] : [before, after]) {
    const at = wall - offset;
    if (at + offsetMs(zone, at) === wall && !exact.includes(at)) exact.push(at);
  }
  exact.sort((a, b) => a - b);
  return { exact, shifted: wall - before, maxOffsetMs: Math.max(before, after) };
}

function instantsOfWallTime(resolved: Resolved, wildcardHour: boolean): number[] {
  const [first] = resolved.exact;
  if (first === undefined) return [resolved.shifted];
  return wildcardHour ? resolved.exact : [first];
}

/**
 * The earliest instant after `afterAt` of the walk over wall times from `startWall`. Instants grow
 * with their wall times except for an overlap's second pass (walked separately by the caller) and
 * a gap's shifted wall times, so the walk stops once no later wall time can map any earlier.
 */
function walkCron(compiled: CronRule, zone: IANAZone, startWall: number, afterAt: number): number | null {
  let wall = startWall;
  let best: number | null = null;
  for (;;) {
    const next = compiled.next(wall);
    if (next === null) return best;
    wall = next;
    const resolved = resolveWallTime(zone, wall);
    for (const at of instantsOfWallTime(resolved, compiled.wildcardHour)) {
      if (at > afterAt && (best === null || at < best)) best = at;
    }
    // Usually true at the first candidate. Not for a gap's wall time: it fires shifted forward,
    // after real wall times just past the gap (02:01 shifted to 02:31 comes after 02:30).
    if (best !== null && wall - resolved.maxOffsetMs >= best) return best;
  }
}

/** The instant of the first offset change in (from, to], given the offsets differ at its ends. */
function findTransition(zone: IANAZone, from: number, to: number): number {
  const offset = zone.offset(from);
  let low = from;
  let high = to;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offset(middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * Offsets move by at most this much at once: Lord Howe 30 min, most zones 1 h, but Pacific/Apia
 * skipped all of 2011-12-30 (+24 h), whose wall times fire shifted up to a day after the change.
 */
const MAX_SHIFT_MS = 25 * HOUR;

function nextCronSlotAfter(compiled: CronRule, timezone: string, afterAt: number): number | null {
  const zone = zoneOf(timezone);
  const starts = [wallTimeOf(timezone, afterAt)];
  const offsetNow = offsetMs(zone, afterAt);
  // Just before a fall-back, the repeated wall times come again after the change.
  const aheadAt = afterAt + MAX_SHIFT_MS;
  if (offsetMs(zone, aheadAt) < offsetNow) starts.push(wallTimeOf(timezone, findTransition(zone, afterAt, aheadAt)) - 1);
  // Just after a spring-forward, wall times of the gap (behind us) fire shifted forward: still ahead.
  const behindAt = afterAt - MAX_SHIFT_MS;
  if (offsetMs(zone, behindAt) < offsetNow) {
    // Gap wall times fire at wall - offsetBefore, so those still ahead are walls past afterAt + offsetBefore.
    const changeAt = findTransition(zone, behindAt, afterAt);
    starts.push(afterAt + offsetMs(zone, changeAt - 1));
  }
  let best: number | null = null;
  for (const start of starts) {
    const candidate = walkCron(compiled, zone, start, afterAt);
    if (candidate !== null && (best === null || candidate < best)) best = candidate;
  }
  return best;
}

/**
 * The last instant asked about, and each (rule, zone)'s answer for it: a planner starting asks
 * for the next slot after the same instant for every schedule, and 60,000 per-tenant crons share
 * a few hundred (expression, zone) pairs, each walked once. Any other instant clears it.
 */
let memoAt = Number.NaN;
const memo = new Map<CronRule, Map<string, number | null>>();

function nextCronSlotAfterMemo(compiled: CronRule, timezone: string, afterAt: number): number | null {
  if (afterAt !== memoAt) {
    memo.clear();
    memoAt = afterAt;
  }
  let byZone = memo.get(compiled);
  if (byZone === undefined) {
    byZone = new Map();
    memo.set(compiled, byZone);
  }
  let next = byZone.get(timezone);
  if (next === undefined) {
    next = nextCronSlotAfter(compiled, timezone, afterAt);
    byZone.set(timezone, next);
  }
  return next;
}

function nextRuleSlotAfter(rule: Rule, timezone: string, afterAt: number): number | null {
  if (rule.kind === "once") return rule.at > afterAt ? rule.at : null;
  if (rule.kind === "every") {
    const steps = Math.floor((afterAt - rule.anchorAt) / rule.intervalMs) + 1;
    return rule.anchorAt + steps * rule.intervalMs;
  }
  let best: number | null = null;
  for (const expression of rule.expressions) {
    const next = nextCronSlotAfterMemo(compileCron(expression), timezone, afterAt);
    if (next !== null && (best === null || next < best)) best = next;
  }
  return best;
}

/**
 * Consecutive excluded days one search steps over before it calls the schedule done: a function
 * calendar that excludes every date must not loop for ever (55 years of them).
 */
const MAX_EXCLUDED_DAYS = 20_000;

/** The rule's first slot after `afterAt` whose local date no calendar excludes. */
function nextKeptAfter(calendar: Calendar, afterAt: number): number | null {
  const { exclude, rule, timezone } = calendar;
  if (exclude === undefined || exclude.length === 0) return nextRuleSlotAfter(rule, timezone, afterAt);
  const zone = zoneOf(timezone);
  let cursor = afterAt;
  for (let skippedDays = 0; skippedDays < MAX_EXCLUDED_DAYS; skippedDays++) {
    const slotAt = nextRuleSlotAfter(rule, timezone, cursor);
    if (slotAt === null) return null;
    const offset = offsetMs(zone, slotAt);
    const wall = slotAt + offset;
    if (excludingCalendar(exclude, wall) === null) return slotAt;
    // Step over the rest of that local day in one go: every instant up to the end computed with
    // the larger of the offsets at both ends still has the same date (an offset change that day
    // makes the step shorter, never longer).
    const midnightWall = Math.floor(wall / DAY) * DAY + DAY;
    const endAt = midnightWall - Math.max(offset, offsetMs(zone, midnightWall - offset - 1)) - 1;
    cursor = Math.max(slotAt, endAt);
  }
  return null;
}

/** The first moved slot after `afterAt`, before bounds. */
function nextSpreadSlotAfter(calendar: Calendar, afterAt: number): number | null {
  const { spread } = calendar;
  if (spread === undefined) return nextKeptAfter(calendar, afterAt);
  if (spread.per === "schedule") {
    const slotAt = nextKeptAfter(calendar, afterAt - spread.offsetMs);
    return slotAt === null ? null : slotAt + spread.offsetMs;
  }
  // A slot moves by less than the spread, so none at or before afterAt - spread can land after afterAt;
  // moved slots are increasing, so the first one past afterAt is the answer.
  for (let slotAt = nextKeptAfter(calendar, afterAt - spread.maxMs); slotAt !== null; slotAt = nextKeptAfter(calendar, slotAt)) {
    const movedAt = slotAt + slotOffset(calendar, spread, slotAt);
    if (movedAt > afterAt) return movedAt;
  }
  return null;
}

/**
 * A slot's own offset. It stays below the gap to the rule's next slot (excluded ones count, so a
 * calendar never moves other slots): where a spring-forward shortens a gap below the spread, that
 * slot's offset comes from the shorter gap, and slots never change order.
 */
function slotOffset(calendar: Calendar, spread: Extract<Spread, { per: "slot" }>, slotAt: number): number {
  const nextAt = nextRuleSlotAfter(calendar.rule, calendar.timezone, slotAt);
  // The gap in whole seconds, so moved slots stay at least a second apart (as the planner counts on).
  return slotOffsetMs(spread, slotAt, nextAt === null ? spread.maxMs : Math.floor((nextAt - slotAt) / SECOND) * SECOND);
}

/**
 * The instant of a one-shot's local wall time (`YYYY-MM-DDTHH:MM[:SS]` in the zone), by the DST
 * rule above: a wall time in a gap fires shifted forward by the gap, one in an overlap at its first
 * occurrence. Reuses the cron walk with a rule for that month, day and time (cron has no year: the
 * walk starts the day before, so the first match is that date's).
 */
export function onceInstant(wall: { year: number; month: number; day: number; hour: number; minute: number; second: number }, timezone: string): number | null {
  const wallAt = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  const expression = `${wall.second} ${wall.minute} ${wall.hour} ${wall.day} ${wall.month} *`;
  const at = nextCronSlotAfter(compileCron(expression), timezone, wallAt - MAX_SHIFT_MS);
  // Offsets are within ±14 h, a gap's shift within a day: anything further is not this date's.
  return at === null || Math.abs(at - wallAt) > 2 * DAY ? null : at;
}

/** The first slot strictly after `afterAt`, or null when the schedule has no more slots. */
export function nextSlotAfter(calendar: Calendar, afterAt: number): number | null {
  const from = calendar.startAt === undefined ? afterAt : Math.max(afterAt, calendar.startAt - 1);
  const next = nextSpreadSlotAfter(calendar, from);
  if (next === null || (calendar.endAt !== undefined && next > calendar.endAt)) return null;
  return next;
}

/** Up to `count` slots strictly after `afterAt`, in order. */
export function nextSlots(calendar: Calendar, afterAt: number, count: number): number[] {
  const slots: number[] = [];
  let cursor = afterAt;
  while (slots.length < count) {
    const next = nextSlotAfter(calendar, cursor);
    if (next === null) break;
    slots.push(next);
    cursor = next;
  }
  return slots;
}

/**
 * Slots in (afterAt, untilAt], oldest first, at most `limit` of them (the newest `limit` when
 * more fall in the range), plus how many there were in all: exact for intervals, counted up to
 * `countCap` for cron rules (walking them costs).
 */
export function slotsBetween(calendar: Calendar, afterAt: number, untilAt: number, limit: number, countCap = 100_000): { slots: number[]; total: number } {
  const slots: number[] = [];
  let total = 0;
  const plain = (calendar.exclude === undefined || calendar.exclude.length === 0) && (calendar.spread === undefined || calendar.spread.per === "schedule");
  if (calendar.rule.kind === "every" && plain && calendar.startAt === undefined && calendar.endAt === undefined) {
    // Interval slots are arithmetic: no need to walk them one by one (a per-schedule spread moves the anchor).
    const { intervalMs } = calendar.rule;
    const anchorAt = calendar.rule.anchorAt + (calendar.spread?.per === "schedule" ? calendar.spread.offsetMs : 0);
    const lastStep = Math.floor((untilAt - anchorAt) / intervalMs);
    const firstStep = Math.floor((afterAt - anchorAt) / intervalMs) + 1;
    total = Math.max(0, lastStep - firstStep + 1);
    for (let step = Math.max(firstStep, lastStep - limit + 1); step <= lastStep; step++) {
      slots.push(anchorAt + step * intervalMs);
    }
    return { slots, total };
  }
  let cursor = afterAt;
  while (total < countCap) {
    const next = nextSlotAfter(calendar, cursor);
    if (next === null || next > untilAt) return { slots, total };
    total++;
    slots.push(next);
    if (slots.length > limit) slots.shift();
    cursor = next;
  }
  // Capped: the count stops here, but the slots returned must still be the newest in the range.
  return { slots: newestSlots(calendar, cursor, untilAt, limit), total };
}

/** The newest `limit` slots in (afterAt, untilAt]: search back from the end in doubling spans. */
function newestSlots(calendar: Calendar, afterAt: number, untilAt: number, limit: number): number[] {
  if (limit <= 0) return [];
  for (let spanMs = SECOND; ; spanMs *= 2) {
    const from = Math.max(afterAt, untilAt - spanMs);
    const slots: number[] = [];
    for (let cursor = from, next = nextSlotAfter(calendar, cursor); next !== null && next <= untilAt; cursor = next, next = nextSlotAfter(calendar, cursor)) {
      slots.push(next);
      if (slots.length > limit) slots.shift();
    }
    if (slots.length >= limit || from === afterAt) return slots;
  }
}
