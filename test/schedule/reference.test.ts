/**
 * The differential run: seeded random cron rules, in twelve zones, from instants chosen to sit
 * just before an offset change, on month and year ends, or anywhere in 2000-2040, each judged by
 * the independent oracle in test/helpers/reference-calendar.ts. The generator leans on what broke
 * before: `?`, day lists holding 29/30/31, steps in day fields, never-firing day and month
 * combinations, L/W/#, and day fields where cron's AND/OR rule decides.
 *
 * CLOCK_REFERENCE_SEED=n replays a run; CLOCK_REFERENCE_CASES=n changes its size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/resolve.ts";
import { ConfigError } from "../../src/errors.ts";
import { nextSlots, type Calendar } from "../../src/schedule/slots.ts";
import { parseReference, referenceEverMatches, referenceSlots, transitionsOf } from "../helpers/reference-calendar.ts";

const SEED = Number(process.env["CLOCK_REFERENCE_SEED"] ?? Date.now() % 1_000_000);
const CASES = Number(process.env["CLOCK_REFERENCE_CASES"] ?? 3000);
const SLOTS = 5;

const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/London",
  "Europe/Dublin", // negative DST in tzdb: winter is the "summer" offset
  "Australia/Lord_Howe", // 30-minute shifts
  "America/Santiago", // changes at midnight
  "Pacific/Apia", // 2011-12-30 never happened
  "Pacific/Chatham", // +12:45 / +13:45
  "Asia/Kathmandu", // +05:45
  "Africa/Casablanca", // DST suspended for Ramadan each year
  "Asia/Kolkata",
  "America/Sao_Paulo", // DST until 2019, none since
] as const;

/** mulberry32: small, seedable, good enough to spread cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
const integer = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));

const SECONDS = ["0", "30", "15,45", "*/20", "10/25"];
const MINUTES = () => pick([String(integer(0, 59)), `${integer(0, 29)},${integer(30, 59)}`, "*/15", "*/30", "0/20", "5/10", "10-20/5", "?/30", "0"]);
const HOURS = () => pick(["*", "?", String(integer(0, 23)), `${integer(0, 11)},${integer(12, 23)}`, "*/6", "1-5", "9-17/4", "0/8", "2", "1", "0", "23"]);
const DAYS_OF_MONTH = [
  "*",
  "?",
  "1",
  "15",
  "28",
  "29",
  "30",
  "31",
  "1,31",
  "1,15,30",
  "29,30,31",
  "30,31",
  "*/5",
  "*/2",
  "1-15/3",
  "5/10",
  "L",
  "LW",
  "15W",
  "1W",
  "31W",
  "*/10",
  "2/7",
];
const MONTHS = ["*", "?", "2", "2,3", "4,6,9,11", "1-6/2", "JAN-MAR", "*/3", "12", "2/3", "2,4,6", "1,12", "feb"];
const DAYS_OF_WEEK = ["*", "?", "1-5", "MON-FRI", "0", "7", "*/2", "1", "5L", "5#2", "1#1", "6,0", "SAT,SUN", "2/2", "*/3", "1#5", "0L", "5#L"];

/** A rule; day fields are "*" a third of the time so that both sides of cron's day rule come up. */
function randomExpression(): string {
  const starOr = (items: readonly string[]) => (next() < 0.3 ? "*" : pick(items));
  const fields = [MINUTES(), HOURS(), starOr(DAYS_OF_MONTH), starOr(MONTHS), starOr(DAYS_OF_WEEK)];
  return next() < 0.2 ? [pick(SECONDS), ...fields].join(" ") : fields.join(" ");
}

const FROM = Date.UTC(2000, 0, 1);
const UNTIL = Date.UTC(2040, 0, 1);
const transitions = new Map(ZONES.map((zone) => [zone, transitionsOf(zone, FROM, UNTIL)]));

/** A third just before an offset change, a third on a month or year end, a third anywhere. */
function randomStart(zone: string): number {
  const roll = next();
  const changes = transitions.get(zone as (typeof ZONES)[number]) ?? [];
  if (roll < 1 / 3 && changes.length > 0) return pick(changes) - integer(0, 180) * 60_000 - integer(0, 59) * 1000;
  if (roll < 2 / 3) {
    const year = integer(2000, 2039);
    const month = pick([1, 2, 2, 2, 3, 4, 6, 9, 11, 12, 12]); // the ends of February and December most often
    const end = Date.UTC(year, month, 1) - integer(0, 3 * 24 * 60) * 60_000; // up to three days before the month ends
    return end - integer(-14, 14) * 3_600_000; // the zone's own midnight is up to 14 h off UTC
  }
  return integer(FROM, UNTIL);
}

const calendar = (expression: string, zone: string): Calendar => ({ rule: { kind: "cron", expressions: [expression] }, timezone: zone });
const iso = (at: number) => new Date(at).toISOString();

/** Whether a rule's date fields can ever match, cached: the generator repeats day/month combinations. */
const everCache = new Map<string, boolean>();
function everMatches(expression: string): boolean {
  const days = expression.trim().split(/\s+/).slice(-3).join(" ");
  let ever = everCache.get(days);
  if (ever === undefined) {
    ever = referenceEverMatches(parseReference(expression));
    everCache.set(days, ever);
  }
  return ever;
}

test(`${CASES} random rules in ${ZONES.length} zones agree with the reference (seed ${SEED})`, () => {
  let neverFiring = 0;
  const failures: string[] = [];
  for (let index = 0; index < CASES && failures.length < 5; index++) {
    const expression = randomExpression();
    const zone = pick(ZONES);
    const fromAt = randomStart(zone);
    const where = `"${expression}" in ${zone} after ${iso(fromAt)}`;
    if (!everMatches(expression)) {
      neverFiring++;
      // A rule that can never fire is refused at validation, with the schedule and field named.
      try {
        parseConfig({ timezone: zone, schedules: { s: { cron: expression, job: { class: "Job" } } } });
        failures.push(`${where}: never fires, yet the config was accepted`);
      } catch (error) {
        const message = error instanceof ConfigError ? error.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ") : String(error);
        if (!/^schedules\.s\.cron: never fires \(/.test(message)) failures.push(`${where}: never fires, refused as ${message}`);
      }
      continue;
    }
    let actual: string[];
    try {
      parseConfig({ timezone: zone, schedules: { s: { cron: expression, job: { class: "Job" } } } });
      actual = nextSlots(calendar(expression, zone), fromAt, SLOTS).map(iso);
    } catch (error) {
      failures.push(`${where}: threw ${(error as Error).message}`);
      continue;
    }
    // The reference walks 30 years; compare what both can see (a rare rule's later slots are beyond).
    const horizonAt = fromAt + 29 * 365 * 24 * 3_600_000;
    actual = actual.filter((slot) => Date.parse(slot) < horizonAt);
    const expected = referenceSlots(expression, zone, fromAt, SLOTS)
      .map(iso)
      .filter((slot) => Date.parse(slot) < horizonAt);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) failures.push(`${where}:\n    got  ${actual.join(" ")}\n    want ${expected.join(" ")}`);
  }
  assert.ok(neverFiring > 0 || CASES < 500, "the generator made no never-firing rule: widen it");
  assert.deepEqual(failures, [], `seed ${SEED} (replay with CLOCK_REFERENCE_SEED=${SEED}):\n  ${failures.join("\n  ")}`);
});
