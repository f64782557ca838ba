import { bullmqAdapter } from "./bullmq.ts";
import { celeryAdapter } from "./celery.ts";
import { listAdapter } from "./list.ts";
import { resqueAdapter } from "./resque.ts";
import { rqAdapter } from "./rq.ts";
import { sidekiqAdapter } from "./sidekiq.ts";
import { hashTagOf, keysOfSchedule, shardTagOf, type ClockKeys } from "../redis/keys.ts";
import { overlapOf, type Adapter, type AdapterContext, type AdapterFactory, type Overlap } from "./types.ts";

export const BUILT_IN_ADAPTERS: Readonly<Record<string, AdapterFactory>> = {
  sidekiq: sidekiqAdapter,
  resque: resqueAdapter,
  bullmq: bullmqAdapter,
  list: listAdapter,
  celery: celeryAdapter,
  rq: rqAdapter,
};

/** An adapter of one's own: an object with `writes` or `enqueue`, given in `adapters.<name>`. */
export function isAdapter(value: unknown): value is Adapter {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate["writes"] === "function" || typeof candidate["enqueue"] === "function";
}

/**
 * The adapters a config uses: built-ins built from their settings, custom ones taken as given.
 * Throws with the config path of a bad setting.
 */
export function buildAdapters(used: ReadonlySet<string>, settings: Readonly<Record<string, unknown>>, context: AdapterContext): Map<string, Adapter> {
  const adapters = new Map<string, Adapter>();
  for (const name of used) {
    const given = settings[name];
    if (isAdapter(given)) {
      adapters.set(name, given);
      continue;
    }
    const factory = BUILT_IN_ADAPTERS[name];
    if (factory === undefined) {
      throw new Error(`unknown adapter "${name}" (built in: ${Object.keys(BUILT_IN_ADAPTERS).join(", ")}; or give adapters.${name} an object with writes() or enqueue())`);
    }
    const own = (given ?? {}) as Record<string, unknown>;
    adapters.set(name, factory(own, context));
  }
  return adapters;
}

export type { Adapter, AdapterContext, AdapterFactory, Enqueue, Overlap, OverlapSupport, Pending, Write } from "./types.ts";
export { OVERLAPS, overlapOf } from "./types.ts";
export { bullmqData } from "./bullmq.ts";
export { ACTIVE_JOB_WRAPPER } from "./sidekiq.ts";
export { hexJobId, readableJobId, slotJobId } from "./ids.ts";

/**
 * Problems with the adapters a set of schedules uses: unknown adapter names, bad settings, job
 * options an adapter does not take. Paths are config paths (`schedules.NAME.job.options.retry`).
 */
export function adapterIssues(
  schedules: readonly { readonly name: string; readonly adapter: string; readonly job: import("../schedule/schedule.ts").Job; readonly overlap?: Overlap | undefined }[],
  settings: Readonly<Record<string, unknown>>,
  context: AdapterContext,
  pathOf: (schedule: string) => string = (schedule) => `schedules.${schedule}`,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const adapters = new Map<string, Adapter | null>();
  for (const name of new Set(schedules.map((schedule) => schedule.adapter))) {
    try {
      adapters.set(name, buildAdapters(new Set([name]), settings, context).get(name) ?? null);
    } catch (error) {
      adapters.set(name, null);
      const message = (error as Error).message;
      if (message.startsWith("unknown adapter")) {
        for (const schedule of schedules) if (schedule.adapter === name) issues.push({ path: `${pathOf(schedule.name)}.adapter`, message });
      } else {
        for (const line of message.split("\n")) {
          const colon = line.indexOf(": ");
          issues.push(colon > 0 ? { path: line.slice(0, colon), message: line.slice(colon + 2) } : { path: `adapters.${name}`, message: line });
        }
        // Bad settings must not hide bad job options until the next round: check those with the defaults.
        const factory = BUILT_IN_ADAPTERS[name];
        try {
          if (factory !== undefined) adapters.set(name, factory({}, context));
        } catch {
          // no validator then
        }
      }
    }
  }
  for (const schedule of schedules) {
    const adapter = adapters.get(schedule.adapter);
    for (const [path, message] of adapter?.validate?.(schedule.job) ?? []) {
      issues.push({ path: `${pathOf(schedule.name)}.job${path === "" ? ".queue" : `.options.${path}`}`, message });
    }
    const problem = adapter === null || adapter === undefined ? null : overlapProblem(adapter, overlapOf(schedule));
    if (problem !== null) issues.push({ path: `${pathOf(schedule.name)}.overlap`, message: problem });
  }
  return issues;
}

/** Why an adapter cannot keep a schedule's overlap policy, or null when it can. */
export function overlapProblem(adapter: Adapter, overlap: Overlap): string | null {
  if (overlap === "allow") return null;
  const support = adapter.overlap;
  if (support === undefined) {
    return `"${overlap}" needs to know whether the previous slot's job is still waiting, which the ${adapter.name} adapter cannot tell (only "allow"; an adapter of one's own tells it with overlap.pending)`;
  }
  if (overlap !== "replace") return null;
  if (support.noReplace !== undefined) return `"replace" is not supported by the ${adapter.name} adapter: ${support.noReplace}`;
  if (adapter.enqueue !== undefined && support.withdraw === undefined)
    return `"replace" needs overlap.withdraw from the ${adapter.name} adapter, which enqueues after the fire script and so must remove the waiting job itself`;
  return null;
}

/**
 * On a Redis Cluster, what the schedules' adapters cannot do, as config issues: a queue system that
 * needs one Redis instance (Sidekiq, Resque, Celery, RQ), and writes whose keys would leave the
 * slot of the schedule's shard (the fire script may touch keys of one slot only: its ledger's,
 * `{ns}` with one shard, `{ns:s<k>}` with shards). Enqueue-style adapters (BullMQ) write through
 * their own client after the script, so their keys go where they will.
 */
export function clusterIssues(
  schedules: readonly { readonly name: string; readonly adapter: string; readonly job: import("../schedule/schedule.ts").Job; readonly overlap?: Overlap | undefined }[],
  adapters: { get(name: string): Adapter | undefined },
  keys: ClockKeys,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  for (const schedule of schedules) {
    const adapter = adapters.get(schedule.adapter);
    if (adapter === undefined) continue;
    if (adapter.clusterRefusal !== undefined) {
      if (!seen.has(schedule.adapter)) issues.push({ path: `schedules.${schedule.name}.adapter`, message: `${schedule.adapter}: ${adapter.clusterRefusal}` });
      seen.add(schedule.adapter);
      continue;
    }
    const shard = keysOfSchedule(keys, schedule.name);
    const tag = shardTagOf(shard);
    const probe = { schedule: schedule.name, slotAt: 0, jobId: "cluster-check", job: schedule.job, enqueuedAt: 0, ...(keys.shardCount > 1 ? { shard: shard.shard } : {}) };
    const writes = adapter.writes?.(probe) ?? [];
    const outside = writes.find((write) => hashTagOf(write.key) !== tag)?.key;
    // An overlap check reads where the previous job waits, inside the fire script: those keys too.
    const overlap = overlapOf(schedule);
    const pending = overlap === "allow" ? undefined : adapter.overlap?.pending(probe, writes);
    const checked = pending === undefined ? [] : [...pending.waitingLists, ...(pending.waitingSets ?? []), ...(pending.runningLists ?? [])];
    const unreadable = checked.find((key) => hashTagOf(key) !== tag);
    if (outside === undefined && unreadable !== undefined) {
      issues.push({
        path: `schedules.${schedule.name}.overlap`,
        message: `"${overlap}" cannot be kept on a Redis Cluster with the ${schedule.adapter} adapter: the fire script would read "${unreadable}", outside the slot of {${tag}} (use "allow", or a queue in that slot)`,
      });
    }
    if (outside !== undefined) {
      const example = keys.shardCount > 1 ? `{${keys.namespace}:s{shard}}:jobs:{queue}` : `{${keys.namespace}}:jobs:{queue}`;
      issues.push({
        path: `schedules.${schedule.name}.adapter`,
        message: `on a Redis Cluster the ${schedule.adapter} adapter's key "${outside}" must carry ${keys.shardCount > 1 ? `the hash tag {${tag}} of the schedule's shard (${shard.shard})` : `the clock's hash tag {${tag}}`} (the fire script writes it with the ledger, in one slot)${schedule.adapter === "list" ? `: e.g. adapters.list.key "${example}"` : ""}`,
      });
    }
  }
  return issues;
}
