import { DAY, HOUR, MINUTE, SECOND } from "../time.ts";

export { DAY, HOUR, MINUTE, SECOND };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** A duration written as `"30s"`, `"5m"`, `"1h30m"`, `"1d"`, or a number of milliseconds. */
export type Duration = string | number;

/**
 * Milliseconds of a duration, or an error message. Compound forms ("1h30m") are sums of parts.
 */
export function parseDuration(input: Duration): number | { error: string } {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || !Number.isInteger(input) || input <= 0) {
      return { error: `expected a positive whole number of milliseconds, got ${input}` };
    }
    return input;
  }
  const text = input.trim().toLowerCase();
  const parts = text.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (text === "" || parts === null || parts.join("") !== text) {
    return { error: `invalid duration "${input}" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)` };
  }
  let totalMs = 0;
  for (const part of parts) {
    const [, amount, unit] = DURATION.exec(part) ?? [];
    totalMs += Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  }
  if (!Number.isInteger(totalMs) || totalMs <= 0) {
    return { error: `invalid duration "${input}": must be a positive whole number of milliseconds` };
  }
  return totalMs;
}

/** Short human form of a duration: 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let out = "";
  for (const [unit, size] of [
    ["d", DAY],
    ["h", HOUR],
    ["m", MINUTE],
    ["s", SECOND],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 ? `${out}${rest}ms` : out;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * An ISO-8601 instant: a date-time with `Z` or an offset, or a bare date (UTC midnight). A
 * date-time without an offset is refused: it would mean the host's zone, which differs by machine.
 */
export function parseInstant(text: string): number | { error: string } {
  const trimmed = text.trim();
  if (!ISO_DATE.test(trimmed) && !ISO_WITH_OFFSET.test(trimmed)) {
    return /^\d{4}-\d{2}-\d{2}T/.test(trimmed)
      ? { error: `time "${text}" has no UTC offset: add "Z" or e.g. "+01:00"` }
      : { error: `invalid time "${text}" (use ISO-8601, e.g. "2026-01-01T00:00:00Z")` };
  }
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? at : { error: `invalid time "${text}"` };
}
