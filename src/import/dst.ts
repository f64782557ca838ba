/**
 * Where an imported rule fires at other instants than its source did: around DST changes. Away
 * from them cron, cronie, fugit and the clock agree; at a change each has its own rule (the
 * clock's is in README "The DST rule"). For each of the zone's next offset changes, the runs the
 * source would make in the 3 hours either side are simulated and compared with the clock's
 * slots; a rule is listed only when they differ, with both lists. The sources' rules:
 * - "literal": each real instant whose wall time matches runs, so a skipped wall time never runs
 *   and a repeated one runs twice. cronie with CRON_TZ (src/cron.c find_jobs matches each real
 *   minute's wall time in the job's zone; its comment: such jobs are "missed or run twice during
 *   the DST change"), and fugit (sidekiq-cron polling previous_time, rufus chaining next_time).
 * - "cronie-host": cronie in its own zone (src/cron.c main loop): a jump forward runs the fixed-
 *   time jobs of the skipped minutes once, at the jump; a jump back repeats only jobs whose minute
 *   or hour field starts with `*` (MIN_STAR, HR_STAR; @hourly is HR_STAR).
 */
import { IANAZone } from "luxon";
import { compileCron } from "../schedule/cron.ts";
import { DAY, HOUR, MINUTE } from "../schedule/duration.ts";
import { formatSlot } from "../schedule/format.ts";
import { nextSlots } from "../schedule/slots.ts";

/** Whose DST handling the source had, and its name in the message. */
export type DstSource = { readonly kind: "literal" | "cronie-host"; readonly name: string } | { readonly kind: "none" };

export const NO_DST: DstSource = { kind: "none" };
export const CRONIE_CRON_TZ: DstSource = { kind: "literal", name: "cronie (CRON_TZ)" };
export const CRONIE_HOST: DstSource = { kind: "cronie-host", name: "cronie" };
export const SIDEKIQ_CRON_DST: DstSource = { kind: "literal", name: "sidekiq-cron (fugit)" };
export const RUFUS_DST: DstSource = { kind: "literal", name: "sidekiq-scheduler (fugit)" };

/** How far ahead to look for offset changes; two years hold both changes of every DST zone. */
const LOOKAHEAD_MS = 2 * 366 * DAY;
const SAMPLE_MS = 6 * HOUR;
/** Runs compared on each side of a change: a DST shift is at most an hour or two. */
const WINDOW_MS = 3 * HOUR;
/** Rules that fire every second make many runs in a window; enough to find a difference. */
const MAX_WALLS = 50_000;
const SHOWN = 4;

interface Change {
  readonly at: number;
  readonly beforeMs: number;
  readonly afterMs: number;
}

const offsetMs = (zone: IANAZone, at: number): number => zone.offset(at) * MINUTE;

/** Offset changes in the look-ahead: sampled on whole hours every 6 h, each found to the minute. */
export function changesOf(zoneName: string, fromAt: number, lookaheadMs = LOOKAHEAD_MS): Change[] {
  const zone = IANAZone.create(zoneName);
  if (!zone.isValid) return [];
  const start = Math.floor(fromAt / HOUR) * HOUR;
  const changes: Change[] = [];
  let previous = offsetMs(zone, start);
  for (let at = start + SAMPLE_MS; at < start + lookaheadMs; at += SAMPLE_MS) {
    const offset = offsetMs(zone, at);
    if (offset === previous) continue;
    let low = at - SAMPLE_MS;
    let high = at;
    while (high - low > MINUTE) {
      const middle = low + Math.floor((high - low) / 2 / MINUTE) * MINUTE;
      if (offsetMs(zone, middle) === previous) low = middle;
      else high = middle;
    }
    changes.push({ at: high, beforeMs: previous, afterMs: offset });
    previous = offset;
  }
  return changes;
}

/** cronie's MIN_STAR | HR_STAR: the minute or the hour field starts with `*`. */
function cronieWildcard(expression: string): boolean {
  if (expression.trim() === "@hourly") return true;
  const [minute = "", hour = ""] = expression.trim().split(/\s+/);
  return minute.startsWith("*") || hour.startsWith("*");
}

/** The runs the source makes in [change.at - WINDOW_MS, change.at + WINDOW_MS). */
export function sourceRuns(expression: string, change: Change, kind: "literal" | "cronie-host"): number[] {
  const rule = compileCron(expression);
  const fromAt = change.at - WINDOW_MS;
  const untilAt = change.at + WINDOW_MS;
  const wildcard = cronieWildcard(expression);
  const runs = new Set<number>();
  let walls = 0;
  for (let wall = rule.next(fromAt + change.beforeMs - 1000); wall !== null && wall < untilAt + change.afterMs && walls < MAX_WALLS; wall = rule.next(wall), walls++) {
    // The real instants with this wall time: under the old offset before the change, the new one after.
    const instants = [wall - change.beforeMs, wall - change.afterMs].filter((at, index) => (index === 0 ? at < change.at : at >= change.at) && at >= fromAt && at < untilAt);
    const unique = [...new Set(instants)];
    if (kind === "literal") for (const at of unique) runs.add(at);
    else if (unique.length === 0) {
      if (!wildcard && wall - change.beforeMs >= change.at && wall - change.afterMs < change.at) runs.add(change.at); // skipped: run at the jump
    } else if (wildcard) for (const at of unique) runs.add(at);
    else runs.add(Math.min(...unique));
  }
  return [...runs].sort((a, b) => a - b);
}

/** The clock's slots in the same window. */
export function clockRuns(expression: string, timezone: string, change: Change): number[] {
  const calendar = { rule: { kind: "cron" as const, expressions: [expression] }, timezone };
  const untilAt = change.at + WINDOW_MS;
  const runs: number[] = [];
  let cursor = change.at - WINDOW_MS - 1;
  while (runs.length < MAX_WALLS) {
    const [next] = nextSlots(calendar, cursor, 1);
    if (next === undefined || next >= untilAt) break;
    runs.push(next);
    cursor = next;
  }
  return runs;
}

/** The runs not in `others`, as a phrase, or null when there are none. */
function listed(runs: readonly number[], others: ReadonlySet<number>, timezone: string, phrase: (runs: string) => string): string | null {
  const differing = runs.filter((at) => !others.has(at));
  if (differing.length === 0) return null;
  const shown = differing.slice(0, SHOWN).map((at) => formatSlot(at, timezone));
  return phrase(`${shown.join(", ")}${differing.length > SHOWN ? ` and ${differing.length - SHOWN} more` : ""}`);
}

/**
 * A sentence for the list when `expression` (clock syntax) fires at other instants than its source
 * around one of the coming offset changes of `timezone`; null when it never does.
 */
export function dstCaveat(expression: string, timezone: string, fromAt: number, source: DstSource): string | null {
  if (source.kind === "none") return null;
  for (const change of changesOf(timezone, fromAt)) {
    const theirs = sourceRuns(expression, change, source.kind);
    const ours = clockRuns(expression, timezone, change);
    const theirSet = new Set(theirs);
    const ourSet = new Set(ours);
    if (theirs.length === ours.length && theirs.every((at) => ourSet.has(at))) continue;
    const day = formatSlot(change.at, timezone).slice(0, 10);
    const what = change.afterMs > change.beforeMs ? "skip" : "repeat";
    const parts = [
      listed(theirs, ourSet, timezone, (runs) => `${source.name} runs at ${runs} and the clock does not`),
      listed(ours, theirSet, timezone, (runs) => `the clock fires at ${runs} and ${source.name} does not`),
    ].filter((part) => part !== null);
    return `DST: at the change of ${day} in ${timezone} (wall times ${what} ${Math.abs(change.afterMs - change.beforeMs) / MINUTE} minutes), ${parts.join("; ")} (README "The DST rule")`;
  }
  return null;
}
