/** Resque: `{ "class", "args" }`, `SADD resque:queues NAME`, `RPUSH resque:queue:NAME`. */
import { clockMetadata, traceField } from "./ids.ts";
import { listOverlap } from "./pending.ts";
import type { AdapterFactory } from "./types.ts";

export const resqueAdapter: AdapterFactory = (settings) => {
  const namespace = settings["namespace"] ?? "resque";
  // Every bad setting at once, one per line (adapterIssues splits them).
  const problems: string[] = [];
  if (typeof namespace !== "string" || namespace === "") problems.push("adapters.resque.namespace: expected a non-empty string");
  for (const key of Object.keys(settings)) {
    if (key !== "namespace") problems.push(`adapters.resque.${key}: unknown setting`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return {
    name: "resque",
    clusterRefusal: "Resque needs one Redis instance (it does not support Redis Cluster): point this clock at the Redis Resque uses",
    validate(job) {
      return Object.keys(job.options).map((key) => [key, "Resque jobs take no options"] as [string, string]);
    },
    // Waiting = still in resque:queue:NAME, which a worker pops (LPOP) when it takes the job.
    overlap: listOverlap,
    writes(enqueue) {
      const { job } = enqueue;
      // Resque reads only class and args; the extra keys are ignored by workers and kept for tracing.
      const payload = {
        class: job.class,
        args: job.args,
        id: enqueue.jobId,
        clock: { ...clockMetadata(enqueue), ...traceField(enqueue) },
      };
      return [
        { command: "SADD", key: `${namespace}:queues`, args: [job.queue] },
        { command: "RPUSH", key: `${namespace}:queue:${job.queue}`, args: [JSON.stringify(payload)] },
      ];
    },
  };
};
