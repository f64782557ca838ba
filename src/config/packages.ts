/**
 * The packages adapters load at run time (BullMQ's `bullmq`, an optional peer dependency): loaded
 * by `clock check` and at start-up, so a missing one stops them with the install command instead
 * of failing at the first slot.
 */
import { buildAdapters } from "../adapters/index.ts";
import type { Adapter } from "../adapters/types.ts";
import { ConfigError, type FieldIssue } from "../errors.ts";
import type { ClockConfig } from "./resolve.ts";

/** Schedules named in an issue at most; the rest are counted. */
const NAMES_SHOWN = 3;

/** Runs every adapter's `load()`; throws a ConfigError naming each adapter that cannot be used and its schedules. */
export async function loadAdapterPackages(adapters: ReadonlyMap<string, Adapter>, schedules: readonly { readonly name: string; readonly adapter: string }[]): Promise<void> {
  const issues: FieldIssue[] = [];
  for (const [name, adapter] of adapters) {
    if (adapter.load === undefined) continue;
    try {
      await adapter.load();
    } catch (error) {
      const users = schedules.filter((schedule) => schedule.adapter === name).map((schedule) => schedule.name);
      const shown = users.slice(0, NAMES_SHOWN).join(", ") + (users.length > NAMES_SHOWN ? ` and ${users.length - NAMES_SHOWN} more` : "");
      const where = users.length === 0 ? "" : ` (used by schedule${users.length === 1 ? "" : "s"} ${shown})`;
      issues.push({ path: `adapter "${name}"${where}`, message: (error as Error).message ?? String(error) });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues, "cannot use an adapter");
}

/** `loadAdapterPackages` for the adapters a config's schedules use (and adapters of one's own, as `startClock` takes them). */
export async function checkAdapterPackages(config: ClockConfig, adapters: Readonly<Record<string, Adapter>> = {}): Promise<void> {
  const used = new Set(config.schedules.map((schedule) => schedule.adapter));
  const built = buildAdapters(used, { ...config.adapters, ...adapters }, { namespace: config.namespace });
  try {
    await loadAdapterPackages(built, config.schedules);
  } finally {
    for (const adapter of built.values()) await adapter.close?.().catch(() => undefined);
  }
}
