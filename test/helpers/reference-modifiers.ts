/**
 * The oracle, extended to what moves or drops slots: several rules as a union, excluded dates and
 * deterministic spread. Written from the README's definitions, independently of src/schedule
 * (no code shared with slots.ts, days.ts or spread.ts): the union by merging the oracle's own
 * slots of each rule; the local date by luxon; the hash by node:crypto from the documented
 * formula. Applied in the documented order: union, exclusion (by the rule's slot's local date),
 * spread (a per-slot offset bounded by the gap to the rule's next slot), bounds on the moved instants.
 */
import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import { referenceSlots } from "./reference-calendar.ts";

export interface ReferenceDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
}

export interface ReferenceDefinition {
  readonly expressions: readonly string[];
  readonly zone: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly excludeDates?: readonly string[];
  readonly excludeRanges?: readonly { readonly from: string; readonly to: string }[];
  readonly excludeTest?: (date: ReferenceDate) => boolean;
  readonly spread?: { readonly maxMs: number; readonly per: "schedule" | "slot" };
  readonly startAt?: number;
  readonly endAt?: number;
}

/** The union's slots after `fromAt`: each rule's from the oracle, merged, an instant two share kept once. */
export function referenceUnionSlots(expressions: readonly string[], zone: string, fromAt: number, count: number): number[] {
  const all = new Set<number>();
  for (const expression of expressions) for (const slot of referenceSlots(expression, zone, fromAt, count)) all.add(slot);
  return [...all].sort((a, b) => a - b).slice(0, count);
}

export function referenceExcluded(definition: ReferenceDefinition, slotAt: number): boolean {
  const local = DateTime.fromMillis(slotAt, { zone: definition.zone });
  const date = local.toFormat("yyyy-MM-dd");
  if (definition.excludeDates?.includes(date) === true) return true;
  if (definition.excludeRanges?.some(({ from, to }) => DateTime.fromISO(from) <= DateTime.fromISO(date) && DateTime.fromISO(date) <= DateTime.fromISO(to)) === true) return true;
  // luxon counts weekdays 1 (Monday) to 7 (Sunday); the clock's calendars, as cron, 0 (Sunday) to 6.
  return definition.excludeTest?.({ year: local.year, month: local.month, day: local.day, weekday: local.weekday % 7 }) === true;
}

/** The documented offset: sha256 of the text, 48 bits as a fraction, times ceil(max / 1 s) whole seconds. */
export function referenceOffset(text: string, maxMs: number): number {
  const hex = createHash("sha256").update(text, "utf8").digest("hex").slice(0, 12);
  const fraction = Number.parseInt(hex, 16) / 2 ** 48;
  return Math.floor(fraction * Math.ceil(maxMs / 1000)) * 1000;
}

export function referenceScheduleOffset(namespace: string, name: string, maxMs: number): number {
  return referenceOffset(`clock-spread-v1\u0000${namespace}\u0000${name}`, maxMs);
}

/** The first `count` slots after `fromAt`, as the README defines them. */
export function referenceModifiedSlots(definition: ReferenceDefinition, fromAt: number, count: number): number[] {
  const { spread, namespace = "clock", name = "schedule" } = definition;
  const from = definition.startAt === undefined ? fromAt : Math.max(fromAt, definition.startAt - 1);
  const scheduleOffset = spread?.per === "schedule" ? referenceScheduleOffset(namespace, name, spread.maxMs) : 0;
  const rawFrom = from - (spread === undefined ? 0 : spread.per === "schedule" ? scheduleOffset : spread.maxMs);
  for (let wanted = count * 2 + 8; ; wanted *= 2) {
    const raw = referenceUnionSlots(definition.expressions, definition.zone, rawFrom, wanted + 1);
    // Fewer than asked for: the rule has no more; else the last one's gap is unknown, so it is left for a longer walk.
    const complete = raw.length < wanted + 1;
    const moved: number[] = [];
    for (let index = 0; index < (complete ? raw.length : raw.length - 1); index++) {
      const slotAt = raw[index] as number;
      if (referenceExcluded(definition, slotAt)) continue;
      let at = slotAt + scheduleOffset;
      if (spread?.per === "slot") {
        const nextAt = raw[index + 1];
        // The gap to the rule's next slot, in whole seconds (README: moved slots stay a second apart).
        const gapMs = nextAt === undefined ? spread.maxMs : Math.min(spread.maxMs, Math.floor((nextAt - slotAt) / 1000) * 1000);
        at = slotAt + referenceOffset(`clock-spread-v1\u0000${namespace}\u0000${name}\u0000${slotAt}`, gapMs);
      }
      if (at > from && (definition.endAt === undefined || at <= definition.endAt)) moved.push(at);
    }
    if (moved.length >= count || complete) return moved.slice(0, count);
  }
}
