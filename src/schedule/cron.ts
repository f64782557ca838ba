/**
 * Cron expressions, parsed and matched here rather than by a library: a crontab moved into the
 * clock must fire at the same instants as under cronie/Vixie cron, and croner 10 got three day
 * classes wrong (`?` OR-ed as a restriction, March 1 skipped after February, a never-firing rule
 * recursing until the stack overflowed). This module works on *wall clocks* (naive local times as
 * epoch ms read as UTC); slots.ts turns wall times into instants by the DST rule.
 *
 * The syntax: 5 fields (minute hour day month weekday) or 6 (second first).
 * - Each field is a list of `*`, `?` (the same as `*`), `N`, `N-M`, `*\/S`, `N-M/S` and `N/S`
 *   (= `N-max/S`, as Quartz, croniter, cron-parser and fugit read it; cronie refuses it); months and weekdays
 *   also by name (`JAN`, `MON-FRI`); weekday 7 is Sunday.
 * - Day of month: `L` (last day), `LW` (last weekday), `15W` (the weekday nearest the 15th, within
 *   the month). Day of week: `5L` or `5#L` (the last Friday), `5#2` (the second Friday).
 * - Aliases: `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`.
 * - Cron's day rule: when either day field starts with `*` (or `?`), the two are AND-ed (so
 *   `0 0 *\/2 * 1` is odd days that are Mondays); only when both are restricted are they OR-ed
 *   (`0 0 1 * 1` is the 1st and every Monday).
 *
 * One file of ~350 lines: the parser and the matcher share the field tables, and the whole syntax
 * is easier to check against cronie's in one place.
 */
import { DAY } from "./duration.ts";

export interface CronRule {
  readonly expression: string;
  /** The hour field is a wildcard (`*`, `*\/n`, `@hourly`): such rules fire in both passes of a DST overlap. */
  readonly wildcardHour: boolean;
  /** The next matching wall time strictly after `wall` (whole seconds), or null within the search bound. */
  next(wall: number): number | null;
}

/** Thrown for an expression that cannot be read; the message says which field and why. */
export class CronSyntaxError extends Error {}

/** Thrown for an expression that reads well but matches no calendar date at all. */
export class CronNeverFiresError extends CronSyntaxError {}

const ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** The first name's number (1 for months, 0 for weekdays). */
  readonly namesFrom?: number;
}

const SECOND_FIELD: FieldSpec = { name: "second", min: 0, max: 59 };
const MINUTE_FIELD: FieldSpec = { name: "minute", min: 0, max: 59 };
const HOUR_FIELD: FieldSpec = { name: "hour", min: 0, max: 23 };
const DAY_FIELD: FieldSpec = { name: "day of month", min: 1, max: 31 };
const MONTH_FIELD: FieldSpec = { name: "month", min: 1, max: 12, names: MONTHS, namesFrom: 1 };
const WEEKDAY_FIELD: FieldSpec = { name: "day of week", min: 0, max: 7, names: WEEKDAYS, namesFrom: 0 };

/**
 * A rule with a match in no year of 2001-2028 never matches at all: those 28 years hold each of
 * the 14 kinds of year (7 first weekdays, leap or not), and whether a day matches depends only on
 * its year's kind, its month and its day.
 */
const CYCLE_START = Date.UTC(2001, 0, 1);
const CYCLE_END = Date.UTC(2029, 0, 1);
/**
 * The search bound of next(): a rule that matches at all matches within 28 years, except across a
 * non-leap century year (2100), which can stretch a wait for Feb 29 on a given weekday; 100 years
 * covers that with room. A bound, so no input can loop without end.
 */
const MAX_SEARCH_DAYS = 100 * 366;

function fail(field: FieldSpec, text: string, why: string): never {
  throw new CronSyntaxError(`${field.name} "${text}": ${why}`);
}

function readValue(field: FieldSpec, text: string, whole: string): number {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < field.min || value > field.max) fail(field, whole, `${value} is outside ${field.min}-${field.max}`);
    return value;
  }
  const index = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (index < 0) fail(field, whole, `"${text}" is not a number${field.names === undefined ? "" : " or a name"}`);
  return index + (field.namesFrom ?? 0);
}

/** The values of one plain list item (`*`, `N`, `N-M`, with an optional `/S`), added to `into`. */
function addItem(field: FieldSpec, item: string, whole: string, into: boolean[]): void {
  const [range = "", stepText, extra] = item.split("/");
  if (extra !== undefined) fail(field, whole, "more than one /");
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) === 0) fail(field, whole, `step "${stepText}" must be a whole number of at least 1`);
    step = Number(stepText);
  }
  let low: number;
  let high: number;
  if (range === "*" || range === "?") {
    low = field.min;
    high = field.max;
  } else if (range.includes("-")) {
    const [from = "", to = "", more] = range.split("-");
    if (more !== undefined) fail(field, whole, `"${range}" is not a range`);
    low = readValue(field, from, whole);
    high = readValue(field, to, whole);
    if (low > high) fail(field, whole, `range ${from}-${to} runs backwards (write it as two ranges)`);
  } else {
    low = readValue(field, range, whole);
    high = stepText === undefined ? low : field.max; // N/S: from N to the end of the field
  }
  for (let value = low; value <= high; value += step) into[value] = true;
}

interface DayOfMonth {
  readonly days: boolean[];
  readonly last: boolean;
  readonly lastWeekday: boolean;
  readonly nearestWeekday: number[];
}

interface DayOfWeek {
  readonly days: boolean[];
  /** Weekdays whose last occurrence in the month matches (`5L`). */
  readonly last: boolean[];
  /** `weekday * 8 + k` for the k-th occurrence (`5#2`). */
  readonly nth: Set<number>;
}

function parsePlain(field: FieldSpec, text: string): boolean[] {
  const values: boolean[] = new Array<boolean>(field.max + 1).fill(false);
  for (const item of text.split(",")) {
    if (item === "") fail(field, text, "empty list item");
    addItem(field, item, text, values);
  }
  return values;
}

function parseDayOfMonth(text: string): DayOfMonth {
  const days: boolean[] = new Array<boolean>(32).fill(false);
  const result = { days, last: false, lastWeekday: false, nearestWeekday: [] as number[] };
  for (const item of text.split(",")) {
    const upper = item.toUpperCase();
    if (upper === "L") result.last = true;
    else if (upper === "LW") result.lastWeekday = true;
    else if (/^\d+W$/.test(upper)) result.nearestWeekday.push(readValue(DAY_FIELD, upper.slice(0, -1), text));
    else if (item === "") fail(DAY_FIELD, text, "empty list item");
    else addItem(DAY_FIELD, item, text, days);
  }
  return result;
}

function parseDayOfWeek(text: string): DayOfWeek {
  const days: boolean[] = new Array<boolean>(8).fill(false);
  const last: boolean[] = new Array<boolean>(7).fill(false);
  const nth = new Set<number>();
  for (const item of text.split(",")) {
    const lastMatch = /^(\w+)L$/i.exec(item);
    const nthMatch = /^(\w+)#(\d+|L)$/i.exec(item);
    if (lastMatch !== null && lastMatch[1] !== undefined) {
      last[readValue(WEEKDAY_FIELD, lastMatch[1], text) % 7] = true;
    } else if (nthMatch !== null && nthMatch[1] !== undefined && nthMatch[2]?.toUpperCase() === "L") {
      last[readValue(WEEKDAY_FIELD, nthMatch[1], text) % 7] = true; // 5#L, as croner writes the last Friday
    } else if (nthMatch !== null && nthMatch[1] !== undefined && nthMatch[2] !== undefined) {
      const k = Number(nthMatch[2]);
      if (k < 1 || k > 5) fail(WEEKDAY_FIELD, text, `#${k}: a weekday occurs 1 to 5 times a month`);
      nth.add((readValue(WEEKDAY_FIELD, nthMatch[1], text) % 7) * 8 + k);
    } else if (item.toUpperCase() === "L") {
      fail(WEEKDAY_FIELD, text, 'L needs a weekday before it ("5L" is the last Friday)');
    } else if (item === "") fail(WEEKDAY_FIELD, text, "empty list item");
    else addItem(WEEKDAY_FIELD, item, text, days);
  }
  if (days[7] === true) days[0] = true; // 7 is Sunday too
  return { days: days.slice(0, 7), last, nth };
}

/** For each value v, the smallest matching value >= v, or -1; one entry past the end (-1). */
function nextTable(values: readonly boolean[], size: number): Int8Array {
  const table = new Int8Array(size + 1).fill(-1);
  for (let value = size - 1; value >= 0; value--) table[value] = values[value] === true ? value : (table[value + 1] ?? -1);
  return table;
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();
/** Weekday of an epoch day (1970-01-01 was a Thursday), 0 = Sunday. */
const weekdayOf = (epochDay: number): number => (((epochDay + 4) % 7) + 7) % 7;

class CompiledCron implements CronRule {
  readonly expression: string;
  readonly wildcardHour: boolean;
  readonly #seconds: Int8Array;
  readonly #minutes: Int8Array;
  readonly #hours: Int8Array;
  readonly #months: readonly boolean[];
  readonly #dom: DayOfMonth;
  readonly #dow: DayOfWeek;
  /** Cron's day rule: AND when either day field starts with `*`, else OR. */
  readonly #bothDays: boolean;

  constructor(expression: string) {
    this.expression = expression;
    const trimmed = expression.trim();
    const alias = ALIASES[trimmed.toLowerCase()];
    if (trimmed.startsWith("@") && alias === undefined) {
      throw new CronSyntaxError(`unknown alias "${trimmed}" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`);
    }
    const fields = (alias ?? trimmed).split(/\s+/);
    if (fields.length === 7) throw new CronSyntaxError("7 fields: a year field is not supported (use 5 fields, minute hour day month weekday, or 6 with seconds first)");
    if (fields.length !== 5 && fields.length !== 6) {
      throw new CronSyntaxError(`${fields.length} field${fields.length === 1 ? "" : "s"} (use 5: minute hour day month weekday, or 6 with seconds first)`);
    }
    const [second, minute, hour, dom, month, dow] = (fields.length === 5 ? ["0", ...fields] : fields) as [string, string, string, string, string, string];
    this.#seconds = nextTable(parsePlain(SECOND_FIELD, second), 60);
    this.#minutes = nextTable(parsePlain(MINUTE_FIELD, minute), 60);
    this.#hours = nextTable(parsePlain(HOUR_FIELD, hour), 24);
    this.#months = parsePlain(MONTH_FIELD, month);
    this.#dom = parseDayOfMonth(dom);
    this.#dow = parseDayOfWeek(dow);
    const star = (field: string) => field.startsWith("*") || field.startsWith("?");
    this.#bothDays = star(dom) || star(dow);
    this.wildcardHour = star(hour);
  }

  #domMatches(day: number, lastDay: number, weekday: number): boolean {
    const dom = this.#dom;
    if (dom.days[day] === true || (dom.last && day === lastDay)) return true;
    if (dom.lastWeekday) {
      // The last day, or the Friday before it when it falls on a weekend.
      const lastWeekday = (weekday + lastDay - day) % 7;
      if (day === lastDay - (lastWeekday === 6 ? 1 : lastWeekday === 0 ? 2 : 0)) return true;
    }
    for (const target of dom.nearestWeekday) {
      if (target > lastDay) continue; // the month has no such day
      if (day === nearestWeekday(target, lastDay, (weekday + target - day + 35) % 7)) return true;
    }
    return false;
  }

  #dowMatches(day: number, lastDay: number, weekday: number): boolean {
    const dow = this.#dow;
    if (dow.days[weekday] === true) return true;
    if (dow.last[weekday] === true && day + 7 > lastDay) return true;
    return dow.nth.size > 0 && dow.nth.has(weekday * 8 + Math.ceil(day / 7));
  }

  #dayMatches(day: number, lastDay: number, weekday: number): boolean {
    const dom = this.#domMatches(day, lastDay, weekday);
    const dow = this.#dowMatches(day, lastDay, weekday);
    return this.#bothDays ? dom && dow : dom || dow;
  }

  /** The first matching second of the day at or after `second`, or -1. */
  #timeOfDay(second: number): number {
    let h = Math.floor(second / 3600);
    let m = Math.floor(second / 60) % 60;
    let s = second % 60;
    for (;;) {
      const hour = this.#hours[h] ?? -1;
      if (hour < 0) return -1;
      if (hour !== h) {
        h = hour;
        m = 0;
        s = 0;
      }
      const minute = this.#minutes[m] ?? -1;
      if (minute < 0) {
        h++;
        m = 0;
        s = 0;
        continue;
      }
      if (minute !== m) {
        m = minute;
        s = 0;
      }
      const sec = this.#seconds[s] ?? -1;
      if (sec >= 0) return h * 3600 + m * 60 + sec;
      s = 0;
      if (++m === 60) {
        m = 0;
        h++;
      }
    }
  }

  next(wall: number): number | null {
    return this.#search(wall, Math.floor(wall / 1000) * 1000 + 1000 + MAX_SEARCH_DAYS * DAY);
  }

  /** The first match strictly after `wall` and before `untilWall`, or null. */
  #search(wall: number, untilWall: number): number | null {
    const first = Math.floor(wall / 1000) + 1;
    let epochDay = Math.floor(first / 86_400);
    let second = first - epochDay * 86_400;
    const untilDay = Math.floor(untilWall / DAY);
    const date = new Date(0);
    while (epochDay < untilDay) {
      date.setTime(epochDay * DAY);
      const year = date.getUTCFullYear();
      const month = date.getUTCMonth() + 1;
      if (this.#months[month] !== true) {
        epochDay = Date.UTC(year, month, 1) / DAY; // the first of the next month
        second = 0;
        continue;
      }
      const day = date.getUTCDate();
      if (this.#dayMatches(day, daysInMonth(year, month), weekdayOf(epochDay))) {
        const time = this.#timeOfDay(second);
        if (time >= 0) return epochDay * DAY + time * 1000;
      }
      epochDay++;
      second = 0;
    }
    return null;
  }

  /** Whether any date at all matches (see CYCLE_START). */
  everMatches(): boolean {
    return this.#search(CYCLE_START - 1000, CYCLE_END) !== null;
  }
}

/** The day a `NW` item picks: the weekday nearest `target`, never leaving the month. */
function nearestWeekday(target: number, lastDay: number, targetWeekday: number): number {
  if (targetWeekday === 6) return target === 1 ? 3 : target - 1; // Saturday: Friday, or Monday the 3rd
  if (targetWeekday === 0) return target === lastDay ? target - 2 : target + 1; // Sunday: Monday, or Friday
  return target;
}

// Many schedules share an expression (one per tenant); parse each expression once.
const compiled = new Map<string, CompiledCron>();
const COMPILED_MAX = 100_000;

/**
 * Parses a cron expression once. Throws CronSyntaxError naming the field when it cannot be read,
 * or when it can never fire (`0 0 31 4,6,9,11 *`), so such a rule is refused at validation.
 */
export function compileCron(expression: string): CronRule {
  let rule = compiled.get(expression);
  if (rule === undefined) {
    rule = new CompiledCron(expression);
    if (!rule.everMatches()) throw new CronNeverFiresError(`never fires ("${expression}": no calendar date matches its day and month fields)`);
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(expression, rule);
  }
  return rule;
}
