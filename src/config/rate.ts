/**
 * A rate of slots: "10/s", "600/m", "3600/h", or a number (per second). Used by paced catch-up
 * (`catchUp.rate`) and by backfills (`--rate`): both fire at most this many slots a second.
 */
import { HOUR, MINUTE, SECOND } from "../schedule/duration.ts";

/** At most this many slots a second: beyond it, pacing means nothing (a fire batch is 500). */
export const MAX_RATE_PER_SECOND = 10_000;

const PER: Readonly<Record<string, number>> = { s: SECOND, sec: SECOND, m: MINUTE, min: MINUTE, h: HOUR };

/** Slots per second, or the reason the input is not a rate. */
export function parseRate(input: string | number): number | { error: string } {
  const bad = { error: `invalid rate ${JSON.stringify(input)} (use e.g. "10/s", "600/m", "3600/h", or a number of slots per second)` };
  let perSecond: number;
  if (typeof input === "number") perSecond = input;
  else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/.exec(input);
    const unit = match === null ? undefined : PER[match[2] ?? ""];
    if (match === null || unit === undefined) return bad;
    perSecond = (Number(match[1]) * SECOND) / unit;
  }
  if (!Number.isFinite(perSecond) || perSecond <= 0) return bad;
  if (perSecond > MAX_RATE_PER_SECOND) return { error: `rate ${JSON.stringify(input)} is over ${MAX_RATE_PER_SECOND}/s` };
  return perSecond;
}

/** How a rate is paced: `count` slots every `intervalMs` (at most `perSecond` in any second). */
export function paceOf(perSecond: number): { count: number; intervalMs: number } {
  return perSecond >= 1 ? { count: Math.floor(perSecond), intervalMs: SECOND } : { count: 1, intervalMs: Math.ceil(SECOND / perSecond) };
}

/** "10/s", for people. */
export const formatRate = (perSecond: number): string => (perSecond >= 1 ? `${Math.round(perSecond * 1000) / 1000}/s` : `${Math.round(perSecond * 3600 * 1000) / 1000}/h`);
