/**
 * A schedule's rule in words, for people: "every weekday at 09:00 America/New_York". Common
 * shapes get a sentence; anything else falls back to the rule as written.
 */
import { formatDuration } from "./duration.ts";
import { formatSlot } from "./format.ts";
import type { Schedule } from "./schedule.ts";

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ALIASES: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const pad = (value: string) => value.padStart(2, "0");
const isNumber = (field: string) => /^\d+$/.test(field);

function days(dow: string): string | null {
  if (dow === "*" || dow === "?") return "";
  if (dow === "1-5") return "weekday";
  if (dow === "0,6" || dow === "6,0") return "Saturday and Sunday";
  const parts = dow.split(",");
  if (parts.every((part) => /^[0-7]$/.test(part))) return parts.map((part) => DAYS[Number(part) % 7]).join(", ");
  return null;
}

function monthNumber(text: string): number | null {
  const number = isNumber(text) ? Number(text) : MONTH_NAMES.indexOf(text.toUpperCase()) + 1;
  return number >= 1 && number <= 12 ? number : null;
}

/** "" for every month, " from January to May", " in March", " in January, March and July"; null when not plain. */
function months(month: string): string | null {
  if (month === "*" || month === "?") return "";
  const parts: string[] = [];
  for (const item of month.split(",")) {
    const [from, to, ...rest] = item.split("-");
    const first = from === undefined ? null : monthNumber(from);
    const last = to === undefined ? first : monthNumber(to);
    if (first === null || last === null || rest.length > 0 || last < first) return null;
    parts.push(first === last ? (MONTHS[first - 1] ?? "") : `${MONTHS[first - 1] ?? ""} to ${MONTHS[last - 1] ?? ""}`);
  }
  if (parts.length === 1 && parts[0]?.includes(" to ")) return ` from ${parts[0]}`;
  return ` in ${parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`}`;
}

function fieldsOf(expression: string): string[] {
  return (ALIASES[expression.trim().toLowerCase()] ?? expression).trim().split(/\s+/);
}

function describeCron(expression: string): string | null {
  const fields = fieldsOf(expression);
  const [second, minute, hour, dom, month, dow] = fields.length === 5 ? ["0", ...fields] : fields;
  if (fields.length > 6 || second === undefined || minute === undefined || hour === undefined || dom === undefined || month === undefined || dow === undefined) return null;
  const inMonths = months(month);
  if (inMonths === null) return null;
  const onDays = days(dow);
  if (onDays === null) return null;
  // The second, when it is not :00 ("every hour at :09:30").
  const atSecond = isNumber(second) && second !== "0" ? `:${pad(second)}` : "";
  let when: string;
  if (second === "*" && minute === "*" && hour === "*") when = "every second";
  else if (second !== "0" && !isNumber(second)) {
    const step = /^\*\/(\d+)$/.exec(second);
    if (step === null || minute !== "*" || hour !== "*") return null;
    when = `every ${step[1]} seconds`;
  } else if (minute === "*" && hour === "*") when = atSecond === "" ? "every minute" : `every minute at second ${Number(second)}`;
  else if (/^\*\/\d+$/.test(minute) && hour === "*" && atSecond === "") when = `every ${minute.slice(2)} minutes`;
  else if (isNumber(minute) && hour === "*") when = `every hour at :${pad(minute)}${atSecond}`;
  else if (isNumber(minute) && /^\*\/\d+$/.test(hour)) when = `every ${hour.slice(2)} hours at :${pad(minute)}${atSecond}`;
  else if (isNumber(minute) && /^\d+(,\d+)*$/.test(hour)) {
    when = `at ${hour
      .split(",")
      .map((h) => `${pad(h)}:${pad(minute)}${atSecond}`)
      .join(" and ")}`;
  } else return null;
  const sentence = daysAndWhen(when, dom, onDays);
  return sentence === null ? null : sentence + inMonths;
}

function daysAndWhen(when: string, dom: string, onDays: string): string | null {
  let on = "";
  if (dom === "L") on = " on the last day of the month";
  else if (isNumber(dom)) on = ` on day ${dom} of the month`;
  else if (dom !== "*" && dom !== "?") return null;
  if (on !== "" && onDays !== "") return null;
  if (onDays === "weekday") return when.startsWith("at ") ? `every weekday ${when}` : `${when} on weekdays`;
  if (onDays !== "") return when.startsWith("at ") ? `every ${onDays} ${when}` : `${when} on ${onDays}`;
  if (on !== "") return when.startsWith("at ") ? `${on.trim()} ${when}` : `${when}${on}`;
  return when.startsWith("at ") ? `every day ${when}` : when;
}

/** The rule in words without its zone ("every weekday at 09:00"), or null for a shape with no sentence. */
export function describeRule(schedule: Pick<Schedule, "rule">): string | null {
  const { rule } = schedule;
  if (rule.kind === "once") return `once, at ${formatSlot(rule.at, "UTC").replace("T", " ").replace(/Z$/, " UTC")}`;
  if (rule.kind === "every") return `every ${formatDuration(rule.intervalMs)}`;
  const parts = rule.expressions.map(describeCron);
  return parts.some((part) => part === null) ? null : parts.join("; ");
}

type Described = Pick<Schedule, "rule" | "ruleText" | "timezone" | "spread" | "exclude"> & Partial<Pick<Schedule, "maxRuns" | "expireAfterMs">>;

export function describeSchedule(schedule: Described): string {
  const { rule, timezone } = schedule;
  const sentence = describeRule(schedule);
  const modifiers = describeModifiers(schedule)
    .map((part) => `, ${part}`)
    .join("");
  if (sentence === null) return `${schedule.ruleText} (${timezone})${modifiers}`;
  if (rule.kind === "every") return sentence + modifiers;
  if (rule.kind === "once") return (timezone === "UTC" ? sentence : `${sentence} (${formatSlot(rule.at, timezone)} ${timezone})`) + modifiers;
  return (/every (second|minute)|every \d+ (seconds|minutes)/.test(sentence) && timezone === "UTC" ? sentence : `${sentence} ${timezone}`) + modifiers;
}

/** What moves or drops the rule's slots, in words: "except on us-holidays dates", "6m15s later (spread 10m)". */
export function describeModifiers(schedule: Pick<Schedule, "spread" | "exclude"> & Partial<Pick<Schedule, "maxRuns" | "expireAfterMs">>): string[] {
  const parts: string[] = [];
  const { spread, exclude, maxRuns, expireAfterMs } = schedule;
  if (exclude !== undefined && exclude.length > 0) parts.push(`except on ${exclude.map((calendar) => calendar.name).join(", ")} dates`);
  if (spread?.per === "schedule") parts.push(`${formatDuration(spread.offsetMs)} later (spread ${formatDuration(spread.maxMs)})`);
  if (spread?.per === "slot") parts.push(`each slot up to ${formatDuration(spread.maxMs)} later (spread per slot)`);
  if (maxRuns !== undefined) parts.push(`at most ${maxRuns} run${maxRuns === 1 ? "" : "s"}, then done`);
  if (expireAfterMs !== undefined) parts.push(`each job expires ${formatDuration(expireAfterMs)} after its slot`);
  return parts;
}

const WILDCARD = /^[*?]$/;
/** Values that are weekdays and months alike: 1-7, ranges and lists of them ("1-5", "1,3"). */
const WEEKDAY_NUMBERS = /^[1-7](-[1-7])?(,[1-7](-[1-7])?)*$/;

/**
 * Cron rules that read as something else: a 6-field rule is seconds first, so `0 9 * * 1-5 *`
 * (a weekday rule with a trailing year field, as AWS writes them) is second 0 of minute 9 of
 * every hour, every day January to May. One sentence per suspicious expression, for `clock check`
 * and the start-up log; the rule stays valid (it may be meant), so this warns and never refuses.
 */
export function cronRuleWarnings(schedule: Pick<Schedule, "rule" | "timezone">): string[] {
  if (schedule.rule.kind !== "cron") return [];
  const warnings: string[] = [];
  for (const expression of schedule.rule.expressions) {
    const fields = fieldsOf(expression);
    const [, , hour, dom, month, dow] = fields;
    if (fields.length !== 6 || hour === undefined || dom === undefined || month === undefined || dow === undefined) continue;
    // The shape of a 5-field weekday rule with a field appended: its weekdays landed in the month field.
    if (!WILDCARD.test(hour) || !WILDCARD.test(dom) || !WILDCARD.test(dow) || !WEEKDAY_NUMBERS.test(month)) continue;
    const meant = fields.slice(0, 5).join(" ");
    const inWords = describeCron(expression);
    const reads = inWords === null ? `only in months ${month}` : `${inWords} (${schedule.timezone})`;
    warnings.push(
      `"${expression}" has 6 fields, so the first is seconds and "${month}" is the month field: it fires ${reads}. ` +
        `A weekday rule is "${meant}" (5 fields) or "0 ${meant}"; to mean those months, write them as names (${monthNames(month)}).`,
    );
  }
  return warnings;
}

function monthNames(month: string): string {
  return month.replace(/\d+/g, (number) => MONTH_NAMES[Number(number) - 1] ?? number);
}
