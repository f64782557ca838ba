/**
 * Deterministic spread: a schedule's slots moved by an offset in [0, spread), derived from a hash,
 * never from Math.random, so every clock process and every restart computes the same slots (and
 * the ledger, keyed by slot instants, keeps exactly-once).
 *
 * - per schedule: one offset for all slots, from sha256("clock-spread-v1\0" + namespace + "\0" + name);
 * - per slot: an offset per slot, from sha256(... + "\0" + the slot's instant in epoch ms before spread).
 * The first 6 bytes of the digest, big-endian, over 2^48 give a fraction f in [0, 1); the offset is
 * floor(f × ceil(spread / 1 s)) whole seconds, which is always less than the spread.
 */
import { createHash } from "node:crypto";
import { compileCron } from "./cron.ts";
import { SECOND } from "./duration.ts";

export type Spread = { readonly per: "schedule"; readonly maxMs: number; readonly offsetMs: number } | { readonly per: "slot"; readonly maxMs: number; readonly seed: string };

const VERSION = "clock-spread-v1";

function hashFraction(text: string): number {
  return createHash("sha256").update(text).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** Whole seconds in [0, maxMs): readable slots (`00:03:17`), and uniform when maxMs is whole seconds. */
function offsetWithin(fraction: number, maxMs: number): number {
  return Math.floor(fraction * Math.ceil(maxMs / SECOND)) * SECOND;
}

export function spreadOf(per: "schedule" | "slot", maxMs: number, namespace: string, name: string): Spread {
  const seed = `${VERSION}\0${namespace}\0${name}`;
  return per === "schedule" ? { per, maxMs, offsetMs: offsetWithin(hashFraction(seed), maxMs) } : { per, maxMs, seed };
}

/** A per-slot offset, within the spread and within `gapMs` (to the rule's next slot) so slots keep their order. */
export function slotOffsetMs(spread: Extract<Spread, { per: "slot" }>, slotAt: number, gapMs: number): number {
  return offsetWithin(hashFraction(`${spread.seed}\0${slotAt}`), Math.min(spread.maxMs, gapMs));
}

/** A rule as far as its gaps go (slots.ts's Rule, cron expressions in wall-clock form). */
type GapRule = { readonly kind: "cron"; readonly expressions: readonly string[] } | { readonly kind: "every"; readonly intervalMs: number };

/** How far the gap search walks: four years (leap days) or this many slots, whichever ends first. */
const GAP_SEARCH_SLOTS = 20_000;
const GAP_SEARCH_START_WALL = Date.UTC(2024, 0, 1);
const GAP_SEARCH_END_WALL = Date.UTC(2028, 0, 2);

/**
 * Whether some gap between two consecutive slots of the rule (on the wall clock, before DST) is
 * shorter than `maxMs`: the search stops at the first such gap. A bounded search, so a gap rarer
 * than it can pass; slots.ts bounds each per-slot offset by the real gap, so order holds anyway.
 */
export function gapShorterThan(rule: GapRule, maxMs: number): number | null {
  if (rule.kind === "every") return rule.intervalMs < maxMs ? rule.intervalMs : null;
  const rules = rule.expressions.map((expression) => compileCron(expression));
  const heads = rules.map((compiled) => compiled.next(GAP_SEARCH_START_WALL));
  let previous: number | null = null;
  for (let walked = 0; walked < GAP_SEARCH_SLOTS; walked++) {
    let wall: number | null = null;
    for (const head of heads) if (head !== null && (wall === null || head < wall)) wall = head;
    if (wall === null || wall > GAP_SEARCH_END_WALL) return null;
    heads.forEach((head, index) => {
      if (head === wall) heads[index] = rules[index]?.next(head) ?? null;
    });
    if (previous !== null && wall - previous < maxMs) return wall - previous;
    previous = wall;
  }
  return null;
}
