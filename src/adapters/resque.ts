/** Resque: `{ "class", "args" }`, `SADD resque:queues NAME`, `RPUSH resque:queue:NAME`. */
import type { AdapterFactory } from "./types.ts";

export const resqueAdapter: AdapterFactory = (settings) => {
  const namespace = settings["namespace"] ?? "resque";
  if (typeof namespace !== "string" || namespace === "") throw new Error("adapters.resque.namespace: expected a non-empty string");
  for (const key of Object.keys(settings)) {
    if (key !== "namespace") throw new Error(`adapters.resque.${key}: unknown setting`);
  }
  return {
    name: "resque",
    validate(job) {
      return Object.keys(job.options).map((key) => [key, "Resque jobs take no options"] as [string, string]);
    },
    writes(enqueue) {
      const { job } = enqueue;
      // Resque reads only class and args; the extra keys are ignored by workers and kept for tracing.
      const payload = {
        class: job.class,
        args: job.args,
        id: enqueue.jobId,
        clock: { schedule: enqueue.schedule, slot: new Date(enqueue.slotAt).toISOString(), slotAt: enqueue.slotAt, ...(enqueue.manual === true ? { manual: true } : {}) },
      };
      return [
        { command: "SADD", key: `${namespace}:queues`, args: [job.queue] },
        { command: "RPUSH", key: `${namespace}:queue:${job.queue}`, args: [JSON.stringify(payload)] },
      ];
    },
  };
};
