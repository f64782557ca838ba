/**
 * Clockwork-style `at` times, turned into cron expressions so one engine computes every slot:
 * "09:00" daily, "**:30" hourly, "16:**" every minute of one hour, "Monday 16:20" weekly,
 * optional seconds ("09:00:30").
 */
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const AT = /^(?:([A-Za-z]+)\s+)?(\*\*|\d{1,2}):(\*\*|\d{2})(?::(\d{2}))?$/;

export function atToCron(at: string): string | { error: string } {
  const match = AT.exec(at.trim());
  if (match === null) {
    return { error: `invalid at time "${at}" (use "HH:MM", "**:MM", "HH:**" or "Monday HH:MM")` };
  }
  const [, day, hour = "", minute = "", second = "0"] = match;
  let weekday = "*";
  if (day !== undefined) {
    const lower = day.toLowerCase();
    const index = WEEKDAYS.findIndex((name) => name === lower || name.slice(0, 3) === lower);
    if (index < 0) return { error: `invalid at time "${at}": unknown weekday "${day}"` };
    weekday = String(index);
  }
  if (hour !== "**" && Number(hour) > 23) return { error: `invalid at time "${at}": hour ${hour} is past 23` };
  if (minute !== "**" && Number(minute) > 59) return { error: `invalid at time "${at}": minute ${minute} is past 59` };
  if (Number(second) > 59) return { error: `invalid at time "${at}": second ${second} is past 59` };
  const h = hour === "**" ? "*" : String(Number(hour));
  const m = minute === "**" ? "*" : String(Number(minute));
  return `${Number(second)} ${m} ${h} * * ${weekday}`;
}
