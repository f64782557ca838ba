/**
 * A part of fugit's natural language (lib/fugit/nat.rb, which sidekiq-cron accepts in `cron` since
 * 1.7), turned into the cron string fugit makes of it:
 *   every minute | every N minutes | every hour | every N hours | every N seconds
 *   every day | every N days | every week | every month | every year | every weekday
 *   every monday [and|, tuesday ...] | every mon-fri | every monday to/through friday
 *   every 1st/first/15th of the month
 * each optionally with `at TIME [and|, TIME ...]` (TIME: 17:30, 5:30pm, 5pm, 17, noon, midnight)
 * and a zone (`Europe/Paris`, `in Europe/Paris`, `UTC`, `+09:00`), in any order. fugit's quirks
 * are kept, since they are what sidekiq-cron ran: "12am" is 12:00 (adjust_h adds 12 only below
 * 12), and times with different minutes make several crons of which sidekiq-cron 1.8 keeps the
 * first (the others are reported). Anything else is left for a person: null.
 */

export interface NatCron {
  /** A cron string in fugit's syntax (fugitCronToClock reads it). */
  readonly cron: string;
  /** What fugit drops or reads oddly, for the list. */
  readonly notes: readonly string[];
}

const WEEKDAY_WORDS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const ORDINALS = [
  "first",
  "second",
  "third",
  "fourth",
  "fifth",
  "sixth",
  "seventh",
  "eighth",
  "ninth",
  "tenth",
  "eleventh",
  "twelfth",
  "thirteenth",
  "fourteenth",
  "fifteenth",
  "sixteenth",
  "seventeenth",
  "eighteenth",
  "nineteenth",
  "twentieth",
  "twenty-first",
  "twenty-second",
  "twenty-third",
  "twenty-fourth",
  "twenty-fifth",
  "twenty-sixth",
  "twenty-seventh",
  "twenty-eighth",
  "twenty-ninth",
  "thirtieth",
  "thirty-first",
];

function weekdayOf(word: string): number | null {
  const lower = word.toLowerCase();
  const index = WEEKDAY_WORDS.findIndex((day) => day === lower || day.slice(0, 3) === lower);
  return index < 0 ? null : index;
}

function ordinalOf(word: string): number | null {
  const lower = word.toLowerCase();
  if (/^(1st|2nd|3rd|21st|22nd|23rd|31st|([4-9]|1[0-9]|2[04-9]|30)th)$/.test(lower)) return Number.parseInt(lower, 10);
  const index = ORDINALS.indexOf(lower);
  return index < 0 ? null : index + 1;
}

/** adjust_h: pm adds 12 below 12; "midnight" adds 12 always (fugit's own arithmetic). */
function adjustHour(hour: number, suffix: string | undefined): number {
  const ap = (suffix ?? "").toLowerCase();
  return (hour < 12 && ap === "pm") || ap === "midnight" ? hour + 12 : hour;
}

/** One TIME of an `at` clause: [hour, minute], or null. */
function timeOf(text: string): [number, number] | null {
  const lower = text.toLowerCase();
  if (lower === "noon") return [12, 0];
  if (lower === "midnight") return [0, 0];
  // rewrite_digital_hour splits on ":" and blanks, so "3:15pm" loses its pm (3:15), "3:15 pm" keeps it.
  const digital = /^(2[0-4]|[01]?[0-9]):([0-5][0-9])(\s+)?(am|pm)?$/i.exec(text);
  if (digital !== null) return [adjustHour(Number(digital[1]), digital[3] === undefined ? undefined : digital[4]), Number(digital[2])];
  const simple = /^(2[0-4]|1[0-9]|[0-9])\s*(am|pm|noon|midday|midnight)?$/i.exec(text);
  if (simple !== null) return [adjustHour(Number(simple[1]), simple[2]), 0];
  return null;
}

const ZONE = /^(?:(?:in|on)\s+)?([A-Z][a-zA-Z0-9+-]+(?:\/[A-Z][a-zA-Z0-9+\-_]+){0,2}|[-+](?:[01][0-9]|2[0-4])(?::?(?:00|15|30|45))?)$/;

interface Every {
  second?: string;
  hm?: { hours: string; minutes: string };
  monthday?: string;
  month?: string;
  weekday?: string;
}

/** The object of `every ...`: fugit's every_weekday, every_of_the_month, every_interval, every_named, every_single_interval. */
function everyOf(text: string): Every | null {
  const lower = text.toLowerCase();
  if (lower === "weekday") return { weekday: "1-5" };
  if (/^(1\s+)?week$/.test(text)) return { weekday: "0" };
  if (/^(1\s+)?year$/.test(text)) return { month: "1", monthday: "1" };
  const interval = /^(?:(\d+)\s*)?(seconds?|minutes?|hours?|days?|months?|sec|min|s|m|h|d|M)$/.exec(text);
  if (interval !== null) {
    const count = interval[1] ?? "1";
    const word = interval[2] ?? "";
    const every = count === "1" ? "*" : `*/${count}`;
    if (word === "M" || word.startsWith("month")) return { month: every };
    switch (word[0]) {
      case "s":
        return { second: every };
      case "m":
        return { hm: { hours: "*", minutes: every } };
      case "h":
        return { hm: { hours: every, minutes: "0" } };
      case "d":
        return { monthday: every };
    }
  }
  const ofMonth = /^(.+?)\s+of the month$/i.exec(text);
  if (ofMonth !== null) {
    const days = (ofMonth[1] ?? "").split(/\s*(?:,|\band\b|\bor\b)\s*/i).map(ordinalOf);
    return days.every((day) => day !== null) ? { monthday: days.join(",") } : null;
  }
  const span = /^(\w+)\s*(?:-|\s(?:to|through)\s)\s*(\w+)$/i.exec(text);
  if (span !== null) {
    const from = weekdayOf(span[1] ?? "");
    const to = weekdayOf(span[2] ?? "");
    return from !== null && to !== null ? { weekday: `${from}-${to}` } : null;
  }
  const days = text.split(/\s*(?:,|\band\b|\bor\b)\s*/i).map(weekdayOf);
  return days.every((day) => day !== null) ? { weekday: days.join(",") } : null;
}

/** The cron fugit makes of a natural-language string, or null when it is not one this reads. */
export function fugitNatToCron(original: string): NatCron | null {
  const text = original.trim().replace(/\s+/g, " ");
  let rest = text;
  let zone: string | null = null;
  // A zone stands last; fugit takes it anywhere, this reads it at the end only.
  const zoneMatch = /\s((?:(?:in|on)\s+)?\S+)$/.exec(rest);
  if (zoneMatch !== null && ZONE.test(zoneMatch[1] ?? "") && !/^(?:in|on)$/i.test(zoneMatch[1] ?? "")) {
    const candidate = ZONE.exec(zoneMatch[1] ?? "")?.[1] ?? "";
    if (weekdayOf(candidate) === null && !/^(am|pm|noon|midnight)$/i.test(candidate)) {
      zone = candidate;
      rest = rest.slice(0, -zoneMatch[0].length);
    }
  }
  let atText: string | null = null;
  const at = /^(.*?)\s*\bat\s+(.+)$/i.exec(rest);
  if (at !== null) {
    atText = at[2] ?? "";
    rest = at[1] ?? "";
  }
  const every = /^every\s+(.+)$/i.exec(rest);
  if (every === null) return null;
  const object = everyOf(every[1] ?? "");
  if (object === null) return null;
  const notes: string[] = [];
  let hm = object.hm;
  if (atText !== null) {
    if (hm !== undefined || object.second !== undefined) return null; // fugit conflates those with rules of its own
    const times = atText.split(/\s*(?:,\s*(?:and\s+|or\s+)?|\band\b|\bor\b)\s*/i).map(timeOf);
    if (times.length === 0 || times.some((time) => time === null)) return null;
    // SlotGroup#determine_hms: hours grouped by minute, then minutes by identical hour sets; to_crons keeps the first.
    const byMinute = new Map<number, number[]>();
    for (const time of times as [number, number][]) byMinute.set(time[1], [...(byMinute.get(time[1]) ?? []), time[0]]);
    const groups = new Map<string, { hours: number[]; minutes: number[] }>();
    for (const [minute, hours] of byMinute) {
      const sorted = [...new Set(hours)].sort((x, y) => x - y);
      const key = sorted.join(",");
      const group = groups.get(key) ?? { hours: sorted, minutes: [] };
      group.minutes.push(minute);
      groups.set(key, group);
    }
    const [first, ...others] = [...groups.values()];
    if (first === undefined) return null;
    if (others.length > 0) {
      const dropped = others.flatMap((group) => group.hours.flatMap((hour) => group.minutes.map((minute) => `${hour}:${String(minute).padStart(2, "0")}`)));
      notes.push(
        `fugit makes several crons of "${original}" and sidekiq-cron keeps only the first: ${dropped.join(", ")} never ran, and is not carried over either (add a schedule for it)`,
      );
    }
    hm = { hours: first.hours.join(","), minutes: [...first.minutes].sort((x, y) => x - y).join(",") };
    if (/\b12\s*am\b/i.test(atText)) notes.push(`fugit reads "12am" as 12:00 (noon), and so does this import`);
    const glued = /\d:\d\d(am|pm)\b/i.exec(atText);
    if (glued !== null) notes.push(`fugit ignores the "${glued[1]}" written without a space in "${glued[0]}" (it reads the hour as written), and so does this import`);
  }
  if (hm === undefined && (object.monthday !== undefined || object.weekday !== undefined || object.month !== undefined)) hm = { hours: "0", minutes: "0" };
  const monthday = object.monthday ?? (object.month !== undefined ? "1" : "*");
  const fields = [object.second ?? "0", hm?.minutes ?? "*", hm?.hours ?? "*", monthday, object.month ?? "*", object.weekday ?? "*"];
  if (fields[0] === "0") fields.shift();
  return { cron: `${fields.join(" ")}${zone === null ? "" : ` ${zone}`}`, notes };
}
