/**
 * Plain JSON pushed to a list, for consumers of one's own (BLPOP it for FIFO order). The key may
 * name the queue (`{queue}`) and, with shards, the shard that fires (`{shard}`: on a Redis Cluster
 * a shard's fire script writes only keys of its own slot, e.g. `{clock:s{shard}}:jobs:{queue}`).
 */
import { traceField } from "./ids.ts";
import { listOverlap } from "./pending.ts";
import type { AdapterFactory } from "./types.ts";

export const listAdapter: AdapterFactory = (settings) => {
  const key = settings["key"] ?? "jobs:{queue}";
  const push = settings["push"] ?? "rpush";
  // Every bad setting at once, one per line (adapterIssues splits them).
  const problems: string[] = [];
  if (typeof key !== "string" || key === "") problems.push('adapters.list.key: expected a key, "{queue}" is replaced by the queue name');
  if (push !== "rpush" && push !== "lpush") problems.push('adapters.list.push: expected "rpush" or "lpush"');
  for (const name of Object.keys(settings)) {
    if (name !== "key" && name !== "push") problems.push(`adapters.list.${name}: unknown setting`);
  }
  // (`typeof key` only narrows the type: a non-string key is among the problems already)
  if (problems.length > 0 || typeof key !== "string") throw new Error(problems.join("\n"));
  return {
    name: "list",
    // Waiting = still in the list: a consumer that pops it has taken it.
    overlap: listOverlap,
    writes(enqueue) {
      const { job } = enqueue;
      const message = {
        id: enqueue.jobId,
        schedule: enqueue.schedule,
        slot: new Date(enqueue.slotAt).toISOString(),
        slotAt: enqueue.slotAt,
        class: job.class,
        args: job.args,
        queue: job.queue,
        options: job.options,
        enqueuedAt: enqueue.enqueuedAt,
        ...(enqueue.manual === true ? { manual: true } : {}),
        ...(enqueue.backfill === true ? { backfill: true } : {}),
        ...(enqueue.expiresAt === undefined ? {} : { expiresAt: enqueue.expiresAt }),
        ...traceField(enqueue),
      };
      return [
        {
          command: push === "rpush" ? "RPUSH" : "LPUSH",
          key: key.replaceAll("{queue}", job.queue).replaceAll("{shard}", String(enqueue.shard ?? 0)),
          args: [JSON.stringify(message)],
        },
      ];
    },
  };
};
