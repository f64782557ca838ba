import { DateTime } from "luxon";

/** An instant as ISO-8601 with the zone's offset: `2026-03-08T03:30:00-04:00`. */
export function formatSlot(at: number, timezone: string): string {
  return DateTime.fromMillis(at, { zone: timezone }).toISO({ suppressMilliseconds: true }) ?? new Date(at).toISOString();
}
