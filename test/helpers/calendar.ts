/** Calendar test helpers: calendars from rules, literal instants, slots as ISO strings. */
import assert from "node:assert/strict";
import { nextSlots, slotsBetween, type Calendar } from "../../src/schedule/slots.ts";

export interface Bounds {
  readonly startAt?: number;
  readonly endAt?: number;
}

export function cronCalendar(expression: string | readonly string[], timezone = "UTC", bounds: Bounds = {}): Calendar {
  const expressions = typeof expression === "string" ? [expression] : expression;
  return { rule: { kind: "cron", expressions }, timezone, ...bounds };
}

export function everyCalendar(intervalMs: number, anchorAt = 0, bounds: Bounds = {}): Calendar {
  return { rule: { kind: "every", intervalMs, anchorAt }, timezone: "UTC", ...bounds };
}

/** UTC ISO without milliseconds when they are zero: what the expected literals are written as. */
export function iso(at: number): string {
  return new Date(at).toISOString().replace(".000Z", "Z");
}

export function at(text: string): number {
  const parsed = Date.parse(text);
  assert.ok(Number.isFinite(parsed), `bad literal ${text}`);
  return parsed;
}

export function slotsAfter(calendar: Calendar, from: string, count: number): string[] {
  return nextSlots(calendar, at(from), count).map(iso);
}

/** Slots in (from, until], all of them. */
export function slotsIn(calendar: Calendar, from: string, until: string): string[] {
  return slotsBetween(calendar, at(from), at(until), 10_000).slots.map(iso);
}
