/**
 * What a running clock publishes about its config file, so clients in other processes (a web
 * handler, the CLI) know the config schedules: to refuse name clashes, to trigger and to show them.
 */
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, type ClockConfig, type Defaults } from "../config/resolve.ts";
import type { ClockKeys } from "../redis/keys.ts";
import type { Schedule } from "../schedule/schedule.ts";

export interface ConfigSnapshot {
  readonly v: 1;
  readonly defaults: Defaults;
  /** Built-in adapters' settings (custom adapter objects cannot cross processes). */
  readonly adapters: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly schedules: readonly Schedule[];
  readonly writtenAt: number;
  /** The config's `history.size` (absent from older clocks' snapshots: the default). */
  readonly historySize?: number;
}

export function snapshotOf(config: ClockConfig, now: number): ConfigSnapshot {
  const adapters: Record<string, Record<string, unknown>> = {};
  for (const [name, settings] of Object.entries(config.adapters)) {
    if (Object.values(settings).every((value) => typeof value !== "function")) adapters[name] = { ...settings };
  }
  return {
    v: 1,
    defaults: { timezone: config.timezone, adapter: config.adapter, catchUp: config.catchUp, ...(config.overlap === undefined ? {} : { overlap: config.overlap }) },
    adapters,
    schedules: config.schedules,
    writtenAt: now,
    ...(config.history === undefined ? {} : { historySize: config.history.size }),
  };
}

export async function writeSnapshot(redis: Redis, keys: ClockKeys, snapshot: ConfigSnapshot): Promise<void> {
  await redis.set(keys.config, JSON.stringify(snapshot));
}

/** The snapshot a clock wrote, or null when there is none or it cannot be read. */
export async function readSnapshot(redis: Redis, keys: ClockKeys): Promise<ConfigSnapshot | null> {
  const raw = await redis.get(keys.config);
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<ConfigSnapshot>;
    if (parsed.v !== 1 || !Array.isArray(parsed.schedules) || parsed.defaults === undefined) return null;
    return parsed as ConfigSnapshot;
  } catch {
    return null;
  }
}

export const FALLBACK_DEFAULTS: Defaults = { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP };
