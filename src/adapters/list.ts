/** Plain JSON pushed to a list, for consumers of one's own (BLPOP it for FIFO order). */
import type { AdapterFactory } from "./types.ts";

export const listAdapter: AdapterFactory = (settings) => {
  const key = settings["key"] ?? "jobs:{queue}";
  const push = settings["push"] ?? "rpush";
  if (typeof key !== "string" || key === "") throw new Error('adapters.list.key: expected a key, "{queue}" is replaced by the queue name');
  if (push !== "rpush" && push !== "lpush") throw new Error('adapters.list.push: expected "rpush" or "lpush"');
  for (const name of Object.keys(settings)) {
    if (name !== "key" && name !== "push") throw new Error(`adapters.list.${name}: unknown setting`);
  }
  return {
    name: "list",
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
      };
      return [{ command: push === "rpush" ? "RPUSH" : "LPUSH", key: key.replaceAll("{queue}", job.queue), args: [JSON.stringify(message)] }];
    },
  };
};
