/**
 * A schedule's rule in words, for people: "every weekday at 09:00 America/New_York". Common
 * shapes get a sentence; anything else falls back to the rule as written.
 */
import { formatDuration } from "./duration.ts";
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

function describeCron(expression: string): string | null {
  const fields = (ALIASES[expression.trim().toLowerCase()] ?? expression).trim().split(/\s+/);
  const [second, minute, hour, dom, month, dow] = fields.length === 5 ? ["0", ...fields] : fields;
  if (second === undefined || minute === undefined || hour === undefined || dom === undefined || month === undefined || dow === undefined) return null;
  if (month !== "*") return null;
  const onDays = days(dow);
  if (onDays === null) return null;
  let when: string;
  if (second === "*" && minute === "*" && hour === "*") when = "every second";
  else if (second !== "0" && !isNumber(second)) {
    const step = /^\*\/(\d+)$/.exec(second);
    if (step === null || minute !== "*" || hour !== "*") return null;
    when = `every ${step[1]} seconds`;
  } else if (minute === "*" && hour === "*") when = "every minute";
  else if (/^\*\/\d+$/.test(minute) && hour === "*") when = `every ${minute.slice(2)} minutes`;
  else if (isNumber(minute) && hour === "*") when = `every hour at :${pad(minute)}`;
  else if (isNumber(minute) && /^\*\/\d+$/.test(hour)) when = `every ${hour.slice(2)} hours at :${pad(minute)}`;
  else if (isNumber(minute) && /^\d+(,\d+)*$/.test(hour)) {
    const seconds = second === "0" ? "" : `:${pad(second)}`;
    when = `at ${hour.split(",").map((h) => `${pad(h)}:${pad(minute)}${seconds}`).join(" and ")}`;
  } else return null;
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

export function describeSchedule(schedule: Pick<Schedule, "rule" | "ruleText" | "timezone">): string {
  const { rule, timezone } = schedule;
  if (rule.kind === "every") return `every ${formatDuration(rule.intervalMs)}`;
  const parts = rule.expressions.map(describeCron);
  if (parts.some((part) => part === null)) return `${schedule.ruleText} (${timezone})`;
  const sentence = parts.join("; ");
  return /every (second|minute)|every \d+ (seconds|minutes)/.test(sentence) && timezone === "UTC" ? sentence : `${sentence} ${timezone}`;
}
