import { DateTime } from "luxon";

/** Recent formatSlot results: a burst logs thousands of slots at one instant in a few zones. */
const formatted = new Map<string, string>();
const FORMATTED_MAX = 1_000;

/** An instant as ISO-8601 with the zone's offset: `2026-03-08T03:30:00-04:00`. */
export function formatSlot(at: number, timezone: string): string {
  const key = `${at} ${timezone}`;
  const known = formatted.get(key);
  if (known !== undefined) return known;
  const text = DateTime.fromMillis(at, { zone: timezone }).toISO({ suppressMilliseconds: true }) ?? new Date(at).toISOString();
  if (formatted.size >= FORMATTED_MAX) formatted.clear();
  formatted.set(key, text);
  return text;
}
