/**
 * A config's fingerprint: a stable hash of what decides what fires and how, so clocks that share a
 * namespace can tell they were started with different configs (a standby's own schedules never
 * fire while another config leads, and a failover swaps the schedule set).
 *
 * Hashed: every resolved config schedule (name, rule, zone, bounds, enabled, adapter, job,
 * catch-up, overlap, and any field a later version adds) and the settings dynamic schedules are resolved
 * with (default zone, adapter, catch-up, overlap and spread, calendars, adapter settings; an adapter object of one's own by its
 * functions' source). Not hashed: descriptions, labels, groups and rule display texts, lease timings (they decide
 * who leads, not what fires), the order of keys or of schedules.
 */
import type { ConfigDiff } from "../events.ts";
import { createHash } from "node:crypto";
import type { ClockConfig } from "../config/resolve.ts";
import { nextTurn } from "../time.ts";

export interface ConfigFingerprint {
  /** 16 hex digits: the config as a whole. */
  readonly fingerprint: string;
  /** Per schedule name, 8 hex digits: enough to name the schedules that differ. */
  readonly schedules: Readonly<Record<string, string>>;
  /** 8 hex digits: defaults and adapter settings. */
  readonly settings: string;
}

/** Display-only fields of a schedule: they change no slot and no payload. */
const NOT_FIRING: ReadonlySet<string> = new Set(["description", "ruleText", "labels", "group"]);

/**
 * JSON with object keys sorted and undefined dropped, so equal values give equal text; `omit`:
 * keys left out of the outermost object.
 */
export function canonicalJson(value: unknown, omit?: ReadonlySet<string>): string {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    case "undefined":
      return "null";
    case "function":
      return JSON.stringify(`function:${value.toString()}`);
    case "bigint":
      return JSON.stringify(`${value}n`);
    default:
      break;
  }
  if (value === null || typeof value !== "object") return JSON.stringify(String(value));
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) text += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${text}]`;
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = "{";
  for (const key of keys) {
    const item = record[key];
    if (item === undefined || omit?.has(key) === true) continue;
    text += `${text.length === 1 ? "" : ","}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

function hash(text: string, hexDigits: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, hexDigits);
}

/** Hashing yields to the event loop this often: 100,000 schedules take about a second of CPU. */
const YIELD_EVERY = 2_000;

/**
 * The fingerprint of a resolved config, plus adapters given to `startClock` beside it. Async and
 * in slices, so a large config never holds up a fire or a lease renewal.
 */
export async function fingerprintConfig(config: ClockConfig, extraAdapters: Readonly<Record<string, unknown>> = {}): Promise<ConfigFingerprint> {
  const schedules: Record<string, string> = {};
  let sinceYield = 0;
  for (const schedule of config.schedules) {
    if (++sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
    }
    schedules[schedule.name] = hash(canonicalJson(schedule, NOT_FIRING), 8);
  }
  // Calendars and a default spread decide dynamic schedules' slots; absent ones (and overlap "allow",
  // absent too: canonicalJson drops undefined) leave older fingerprints as they were.
  const calendars = config.calendars === undefined || Object.keys(config.calendars).length === 0 ? undefined : config.calendars;
  const settings = hash(
    canonicalJson({
      timezone: config.timezone,
      adapter: config.adapter,
      catchUp: config.catchUp,
      overlap: config.overlap,
      spread: config.spread,
      calendars,
      adapters: { ...config.adapters, ...extraAdapters },
    }),
    8,
  );
  const whole = createHash("sha256").update("clock-config-v1\n").update(settings);
  for (const name of Object.keys(schedules).sort()) whole.update(`\n${name}\t${schedules[name]}`);
  return { fingerprint: whole.digest("hex").slice(0, 16), schedules, settings };
}

/** Which config schedules differ between this clock's config and another's; names capped at `cap` per kind. */
export function diffConfigs(mine: ConfigFingerprint, theirs: Pick<ConfigFingerprint, "schedules" | "settings">, cap = 10): ConfigDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [name, digest] of Object.entries(mine.schedules)) {
    const other = theirs.schedules[name];
    if (other === undefined) added.push(name);
    else if (other !== digest) changed.push(name);
  }
  for (const name of Object.keys(theirs.schedules)) if (mine.schedules[name] === undefined) removed.push(name);
  const capped = (names: string[]) => names.sort().slice(0, cap);
  return {
    added: capped(added),
    removed: capped(removed),
    changed: capped(changed),
    counts: { added: added.length, removed: removed.length, changed: changed.length },
    settingsDiffer: mine.settings !== theirs.settings,
  };
}
