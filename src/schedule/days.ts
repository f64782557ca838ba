/**
 * Day calendars: named sets of local dates (holidays, freeze weeks) a schedule excludes. A slot is
 * excluded when its instant's local date in the schedule's zone is in one of its calendars; the
 * date is the rule's slot before any spread, so spread never moves a slot into or out of a holiday.
 */

/** A local date in a schedule's zone; `weekday` 0 is Sunday, as in cron. */
export interface LocalDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
}

/** A named calendar: dates and inclusive ranges (`YYYY-MM-DD`), and/or a test of a date. */
export interface DayCalendar {
  readonly name: string;
  readonly dates: readonly string[];
  readonly ranges: readonly { readonly from: string; readonly to: string }[];
  /** A config calendar written as a function; it cannot cross processes as JSON. */
  readonly test?: ((date: LocalDate) => boolean) | undefined;
}

export const CALENDAR_NAME = /^[A-Za-z0-9._:-]{1,100}$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` of a real calendar date, or an error message. */
export function checkLocalDate(text: string): string | null {
  const match = ISO_DATE.exec(text);
  if (match === null) return `invalid date "${text}" (use YYYY-MM-DD, a local date in the schedule's zone)`;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return `invalid date "${text}": no such day`;
  return null;
}

interface Compiled {
  readonly dates: ReadonlySet<string>;
  readonly ranges: readonly { readonly from: string; readonly to: string }[];
  readonly test?: ((date: LocalDate) => boolean) | undefined;
}

// A calendar is shared by every schedule that excludes it: its date set is built once.
const compiledCalendars = new WeakMap<DayCalendar, Compiled>();

function compiledOf(calendar: DayCalendar): Compiled {
  let compiled = compiledCalendars.get(calendar);
  if (compiled === undefined) {
    compiled = { dates: new Set(calendar.dates), ranges: calendar.ranges, test: calendar.test };
    compiledCalendars.set(calendar, compiled);
  }
  return compiled;
}

/** The local date of a wall time (naive epoch ms, as slots.ts holds them). */
export function localDateOfWall(wall: number): { key: string; date: LocalDate } {
  const date = new Date(wall);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + 1;
  const day = date.getUTCDate();
  const key = `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  return { key, date: { year, month, day, weekday: date.getUTCDay() } };
}

/** The calendar of `calendars` that holds the local date of `wall`, or null when none does. */
export function excludingCalendar(calendars: readonly DayCalendar[], wall: number): DayCalendar | null {
  const { key, date } = localDateOfWall(wall);
  for (const calendar of calendars) {
    const compiled = compiledOf(calendar);
    // ISO dates of four-digit years sort as strings, so ranges compare as text.
    if (compiled.dates.has(key) || compiled.ranges.some((range) => range.from <= key && key <= range.to)) return calendar;
    if (compiled.test !== undefined && testDate(compiled.test, date)) return calendar;
  }
  return null;
}

/**
 * A function calendar's answer. Validation probed it over years of dates; one that throws later
 * anyway excludes nothing: a slot fires rather than being dropped by a broken calendar.
 */
function testDate(test: (date: LocalDate) => boolean, date: LocalDate): boolean {
  try {
    return test(date) === true;
  } catch {
    return false;
  }
}
