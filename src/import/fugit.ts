/**
 * fugit's cron strings (what sidekiq-cron and sidekiq-scheduler parse), read as fugit 1.5 reads
 * them (lib/fugit/cron.rb: the parser, expand/range, determine_weekdays, compact_month_days,
 * day_match?) and rewritten in the clock's syntax with the same slots. Where fugit and cron
 * differ the set fugit computes is written out: fugit OR-s the day fields whenever both are
 * restricted, `*\/2` included (cron AND-s when either starts with `*`); `1/2` in the weekday
 * field is Monday alone; `22-2` wraps; hour 24 is 0; `-1`/`L` is the last day; `mon#-1` the last
 * Monday; only the first entry per weekday counts (`1#2,1#4` is the 2nd Monday alone). What the
 * clock cannot say (`-2`, `#-2`, `%` modulo, fixed offsets off the hour) is refused with the reason.
 */
import { isValidZone } from "../schedule/slots.ts";

/**
 * The rule in the clock's syntax and its zone (null: the string names none), or why not;
 * `unparsed`: fugit's cron parser returns nil for it (so fugit goes on to read it as a duration,
 * natural language or a time), rather than failing or meaning something the clock cannot say.
 */
export type Converted =
  { readonly ok: true; readonly cron: string; readonly timezone: string | null } | { readonly ok: false; readonly reason: string; readonly unparsed: boolean };

const SPECIALS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@noon": "0 12 * * *",
  "@hourly": "0 * * * *",
};

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MAXDAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value regexes of fugit's parser (mos, hou, dom, mon, dow), anchored. */
const VALUE = {
  mos: "[0-5]?\\d",
  hou: "2[0-4]|[01]?[0-9]",
  dom: "-?(?:3[01]|[12][0-9]|0?[1-9])|last|l",
  mon: `1[0-2]|0?[1-9]|${MONTHS.join("|")}`,
  dow: `[0-7]|${WEEKDAYS.join("|")}`,
} as const;
type Kind = keyof typeof VALUE;

/** fugit cannot parse it (sidekiq-cron refuses the job), or the clock cannot say it. */
class Unreadable extends Error {
  constructor(
    message: string,
    readonly unparsed = false,
  ) {
    super(message);
  }
}

function element(kind: Kind): RegExp {
  const v = VALUE[kind];
  return new RegExp(`^(?:\\/(\\d\\d?)|(?:(\\*)|(${v})(?:-(${v}))?)(?:\\/(\\d\\d?))?)$`, "i");
}
const ELEMENTS: Readonly<Record<Kind, RegExp>> = { mos: element("mos"), hou: element("hou"), dom: element("dom"), mon: element("mon"), dow: element("dow") };

/** rewrite_bound: names to numbers, `l`/`last` to -1. */
function bound(kind: Kind, text: string): number {
  const lower = text.toLowerCase();
  if (kind === "mon" && MONTHS.includes(lower)) return MONTHS.indexOf(lower) + 1;
  if (kind === "dow" && WEEKDAYS.includes(lower)) return WEEKDAYS.indexOf(lower);
  if (kind === "dom" && lower.startsWith("l")) return -1;
  return Number.parseInt(text, 10);
}

interface Elt {
  readonly a: number | null;
  readonly z: number | null;
  readonly sl: number | null;
}

function readElements(kind: Kind, field: string, what: string): Elt[] {
  return field.split(",").map((item) => {
    const match = ELEMENTS[kind].exec(item);
    if (match === null) throw new Unreadable(`${what} "${field}": fugit does not read "${item}"`, true);
    const [, bareSlash, , a, z, slash] = match;
    const sl = bareSlash ?? slash;
    return { a: a === undefined ? null : bound(kind, a), z: z === undefined ? null : bound(kind, z), sl: sl === undefined ? null : Number(sl) };
  });
}

/** Cron#range: a range that may wrap past max, then every sla-th value. */
function range(min: number, max: number, sta: number, edn: number, sla: number, what: string): number[] {
  if ((sta < 0 && edn > 0) || (edn < 0 && sta > 0)) throw new Unreadable(`${what}: fugit refuses a range from ${sta} to ${edn}`);
  const omax = max;
  let low = min;
  let high = max;
  if (sta < 0) [low, high] = [-max, -1];
  const values: number[] = [];
  let cur = sta;
  let end = edn;
  for (;;) {
    values.push(cur);
    if (cur === end) break;
    cur++;
    if (cur > high) {
      cur = low;
      if (end > high) end = end - high - 1;
    }
    if (values.length > 2 * omax) throw new Unreadable(`${what}: fugit fails on the range ${sta}-${edn} ("too many loops")`);
  }
  return [...new Set(values.filter((_, index) => index % sla === 0))];
}

/** Cron#expand for one element; null stands for `*`. */
function expand(min: number, max: number, elt: Elt, what: string): (number | null)[] {
  let { a: sta, z: edn, sl: sla } = elt;
  if (sla === 1) sla = null; // "don't get fooled by /1"
  if (sla !== null && edn === null) edn = max;
  if (sta === null && edn === null && sla === null) return [null];
  if (sta !== null && edn === null) return [sta];
  if (sla === 0) throw new Unreadable(`${what}: fugit fails on a step of 0`);
  return range(min, max, sta ?? min, edn === null || (edn < 0 && (sta ?? min) > 0) ? max : edn, sla ?? 1, what);
}

/** determine_* for the plain fields: the sorted values, or null for `*`. */
function values(kind: Kind, field: string, min: number, max: number, what: string): number[] | null {
  const all = readElements(kind, field, what).flatMap((elt) => expand(min, max, elt, what));
  if (all.includes(null)) return null;
  const numbers = (all as number[]).map((value) => (kind === "hou" && value === 24 ? 0 : value));
  return [...new Set(numbers)].sort((x, y) => x - y);
}

type Weekday = readonly [number] | readonly [number, number];

/** Cron#determine_weekdays, with the `#` suffix: [day] or [day, nth]; null for none (`*`). */
function weekdays(field: string): Weekday[] | null {
  const found: Weekday[] = [];
  for (const item of field.split(",")) {
    if (/%/.test(item)) throw new Unreadable(`day of week "${field}": fugit's modulo "${item}" (every other week and such) has no cron equivalent in the clock`);
    const hash = /^(.+)#(-?[1-5]|last|l)$/i.exec(item);
    if (hash !== null) {
      const [, day = "", nth = ""] = hash;
      if (!new RegExp(`^(?:${VALUE.dow})$`, "i").test(day)) throw new Unreadable(`day of week "${field}": fugit does not read "${item}"`, true);
      found.push([bound("dow", day), /^l/i.test(nth) ? -1 : Number(nth)]);
      continue;
    }
    const [elt] = readElements("dow", item, `day of week "${field}"`);
    if (elt === undefined) continue;
    const { a, z, sl } = elt;
    if (sl !== null) {
      const step = sl < 1 ? 1 : sl;
      for (let day = a ?? 0; day <= (z ?? a ?? 6); day += step) found.push([day]);
    } else if (a !== null && z !== null) {
      for (let day = a; day <= (a > z ? z + 7 : z); day++) found.push([day > 6 ? day - 7 : day]);
    } else if (a !== null) found.push([a]);
  }
  const normal = found.map((entry): Weekday => (entry[0] === 7 ? (entry.length === 2 ? [0, entry[1]] : [0]) : entry));
  const unique = [...new Map(normal.map((entry) => [entry.join("#"), entry])).values()];
  // Ruby's Array#sort: element by element, then the shorter first.
  unique.sort((x, y) => x[0] - y[0] || (x[1] === undefined ? (y[1] === undefined ? 0 : -1) : y[1] === undefined ? 1 : x[1] - y[1]));
  return unique.length === 0 ? null : unique;
}

/** "1,2,3,5,7,8,9" -> "1-3,5,7-9". */
function compress(numbers: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < numbers.length;) {
    let j = i;
    while (j + 1 < numbers.length && (numbers[j + 1] ?? 0) === (numbers[j] ?? 0) + 1) j++;
    parts.push(j - i >= 2 ? `${numbers[i]}-${numbers[j]}` : numbers.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return parts.join(",");
}

/** A field both read alike: kept as written. Numbers, ranges upward, steps after * or a range or a number, names. */
function plainItems(kind: Kind, field: string): boolean {
  return field.split(",").every((item) => {
    const match = /^(?:(\*)|([a-z0-9]+)(?:-([a-z0-9]+))?)(?:\/(\d+))?$/i.exec(item);
    if (match === null) return false;
    const [, star, a, z, step] = match;
    if (step !== undefined && Number(step) < 2) return false;
    // In the weekday field fugit skips a `*` among other items (`1,*` is Monday); cron reads all days.
    if (star !== undefined) return kind !== "dow";
    const low = bound(kind, a ?? "");
    const high = z === undefined ? low : bound(kind, z);
    if (!(low >= 0 && high >= low)) return false;
    if (kind === "hou" && high > 23) return false;
    if (kind === "dow" && step !== undefined) return false; // fugit's `1/2`, `1-5/2` differ from cron's
    return true;
  });
}

/** A fugit zone as the clock names it: IANA names as they are; `+09:00` as `Etc/GMT-9`. */
function zoneOf(text: string): string | { error: string; unparsed: boolean } {
  const offset = /^([-+])([01][0-9]|2[0-4]):?(00|15|30|45)$/.exec(text);
  if (offset !== null) {
    const [, sign = "+", hours = "0", minutes = "00"] = offset;
    if (minutes !== "00") return { error: `the fixed offset ${text} has no IANA zone name: write the zone (e.g. Asia/Kolkata for +05:30)`, unparsed: false };
    const h = Number(hours);
    return h === 0 ? "UTC" : `Etc/GMT${sign === "+" ? "-" : "+"}${h}`;
  }
  return isValidZone(text) ? text : { error: `unknown time zone "${text}"`, unparsed: true };
}

const TZ_NAME = /^[A-Z][a-zA-Z0-9+-]+(\/[A-Z][a-zA-Z0-9+\-_]+){0,2}$/;
const TZ_DELTA = /^[-+]([01][0-9]|2[0-4]):?(00|15|30|45)$/;

/** Whether a token parses as fugit's weekday list (list_dow: `dow#n`, `dow%m+k`, or an element). */
function isWeekdayList(token: string): boolean {
  const day = `(?:${VALUE.dow})`;
  const hashOrModulo = new RegExp(`^${day}(?:#(?:-?[1-5]|last|l)|%\\d+(?:\\+\\d+)?)$`, "i");
  return token.split(",").every((item) => hashOrModulo.test(item) || ELEMENTS.dow.test(item));
}

/** The five or six fields, and the zone, as fugit's parser splits them: six fields first, then five; a zone may follow. */
function split(text: string): { fields: string[]; zone: string | null } | null {
  if (text !== text.trim() || text === "") return null; // fugit reads no leading or trailing blanks
  const tokens = text.split(/[ \t]+/);
  const isZone = (token: string) => TZ_NAME.test(token) || TZ_DELTA.test(token);
  const last = tokens[tokens.length - 1] ?? "";
  if (tokens.length === 6 && isWeekdayList(last)) return { fields: tokens, zone: null };
  if ((tokens.length === 6 || tokens.length === 7) && isZone(last)) return { fields: tokens.slice(0, -1), zone: last };
  if (tokens.length === 5 || tokens.length === 6) return { fields: tokens, zone: null };
  return null;
}

/** A fugit cron string in the clock's syntax, with its zone (null: none given), or why not. */
export function fugitCronToClock(original: string): Converted {
  const text = SPECIALS[original] ?? original;
  if (original === "@reboot") return { ok: false, reason: "@reboot has no wall-clock time (fugit does not parse it as a cron either)", unparsed: false };
  const parts = split(text);
  if (parts === null) return { ok: false, reason: `fugit does not read "${original}" as a cron (5 or 6 fields, an optional zone, no blanks around)`, unparsed: true };
  try {
    const six = parts.fields.length === 6;
    const [second = "0", minute = "", hour = "", dom = "", month = "", dow = ""] = six ? parts.fields : ["0", ...parts.fields];
    const seconds = values("mos", second, 0, 59, `second "${second}"`);
    const minutes = values("mos", minute, 0, 59, `minute "${minute}"`);
    const hours = values("hou", hour, 0, 23, `hour "${hour}"`);
    let monthdays = values("dom", dom, 1, 31, `day of month "${dom}"`);
    let months = values("mon", month, 1, 12, `month "${month}"`);
    const days = weekdays(dow);
    // compact_month_days: days no listed month has are dropped, and months none of the days fit.
    let compacted = false;
    if (months !== null && monthdays !== null) {
      const pairs = months.flatMap((m) => (monthdays ?? []).filter((d) => d <= (MAXDAYS[m] ?? 31)).map((d) => [m, d] as const));
      const keptMonths = [...new Set(pairs.map(([m]) => m))];
      const keptDays = [...new Set(pairs.map(([, d]) => d))].sort((x, y) => x - y);
      if (keptMonths.length === 0)
        return { ok: false, reason: `fugit refuses "${original}": no listed month has those days (sidekiq-cron reports it as not a cron)`, unparsed: true };
      compacted = keptMonths.length !== months.length || keptDays.length !== monthdays.length;
      months = keptMonths;
      monthdays = keptDays;
    }
    const zone = parts.zone === null ? null : zoneOf(parts.zone);
    if (zone !== null && typeof zone === "object") return { ok: false, reason: zone.error, unparsed: zone.unparsed };

    const plain = (kind: Kind, field: string, set: readonly number[] | null) => (set === null ? "*" : plainItems(kind, field) ? field : compress(set));
    const out: string[] = [];
    if (six || seconds === null || seconds.length !== 1 || seconds[0] !== 0) out.push(seconds === null ? "*" : plain("mos", second, seconds));
    out.push(plain("mos", minute, minutes), plain("hou", hour, hours));
    // Day fields: `*` only where fugit has none, so the clock's day rule (OR when both are
    // restricted) is fugit's; a field starting with * but restricted is written out.
    if (monthdays === null) out.push("*");
    else {
      const odd = monthdays.filter((d) => d < -1);
      if (odd.length > 0)
        throw new Unreadable(
          `day of month "${dom}": ${odd.map((d) => `${d} (day ${-d - 1} before the last)`).join(", ")} has no equivalent in the clock (it knows L, the last day)`,
        );
      out.push(
        !compacted && !dom.startsWith("*") && plainItems("dom", dom)
          ? dom
          : [compress(monthdays.filter((d) => d > 0)), monthdays.includes(-1) ? "L" : ""].filter((part) => part !== "").join(","),
      );
    }
    out.push(months === null ? "*" : compacted ? compress(months) : plain("mon", month, months));
    if (days === null) out.push("*");
    else if (!dow.startsWith("*") && plainItems("dow", dow) && !/#/.test(dow)) out.push(dow);
    else {
      // Only the first entry per weekday counts (weekday_match? uses find).
      const first = new Map<number, Weekday>();
      for (const entry of days) if (!first.has(entry[0])) first.set(entry[0], entry);
      const every = [...first.values()].filter((entry) => entry.length === 1).map(([day]) => day);
      const items = [...(every.length > 0 ? [compress(every)] : [])];
      for (const entry of first.values()) {
        if (entry.length === 1) continue;
        const [day, nth] = entry;
        if (nth === -1) items.push(`${day}#L`);
        else if (nth > 0) items.push(`${day}#${nth}`);
        else throw new Unreadable(`day of week "${dow}": #${nth} (the ${-nth}th-to-last) has no equivalent in the clock (it knows #1 to #5 and #L)`);
      }
      out.push(items.join(","));
    }
    return { ok: true, cron: out.join(" "), timezone: zone };
  } catch (error) {
    if (error instanceof Unreadable) return { ok: false, reason: error.message, unparsed: error.unparsed };
    throw error;
  }
}

/** Fugit::Duration's units (KEYS: a month is 30 days, a year 365), in its parser's order. */
const DURATION_UNITS: readonly { readonly pattern: RegExp; readonly ms: number }[] = [
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *y(?:ears?)?/iy, ms: 365 * 86_400_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *(?:M|months?)/y, ms: 30 * 86_400_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *w(?:eeks?)?/iy, ms: 7 * 86_400_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *d(?:ays?)?/iy, ms: 86_400_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *h(?:ours?)?/iy, ms: 3_600_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *m(?:in(?:ute)?s?)?/y, ms: 60_000 },
  { pattern: /(\d+\.\d*|(?:\d*\.)?\d+) *s(?:ec(?:ond)?)?s?/iy, ms: 1000 },
  { pattern: /(\d+\.\d*|\.\d+|\d+)$/y, ms: 1000 },
];
const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:((?:\d*\.)?\d+)S)?)?$/;

/**
 * Milliseconds of a duration as Fugit::Duration.parse(...).to_sec reads it (rufus-scheduler's
 * `every`): "45m", "1h30m", "2 hours and 30 minutes", "1.5 hours", "1w", "1M" (30 days), "P1DT2H";
 * null for what this does not read, a sign, or a part of a millisecond.
 */
export function fugitDurationMs(original: string): number | null {
  const text = original.trim();
  let totalMs = 0;
  const iso = ISO_DURATION.exec(text.toUpperCase());
  if (iso !== null && text.length > 1) {
    const scales = [365 * 86_400_000, 30 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000];
    iso.slice(1).forEach((value, index) => (totalMs += value === undefined ? 0 : Number(value) * (scales[index] ?? 0)));
  } else {
    let at = 0;
    let parts = 0;
    while (at < text.length) {
      const separator = /(?:[ \t,]+|and)*/iy;
      separator.lastIndex = at;
      at += separator.exec(text)?.[0].length ?? 0;
      if (at >= text.length) break;
      const unit = DURATION_UNITS.find(({ pattern }) => {
        pattern.lastIndex = at;
        return pattern.test(text);
      });
      if (unit === undefined) return null;
      unit.pattern.lastIndex = at;
      const match = unit.pattern.exec(text);
      if (match === null) return null;
      totalMs += Number(match[1]) * unit.ms;
      at += match[0].length;
      parts++;
    }
    if (parts === 0) return null;
  }
  const rounded = Math.round(totalMs * 1000) / 1000;
  return Number.isInteger(rounded) && rounded > 0 ? rounded : null;
}
