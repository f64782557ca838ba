/**
 * BullMQ: its add touches many keys through its own Lua, so the clock calls `Queue.add` of the
 * `bullmq` package (an optional peer dependency) with a deterministic `jobId`. The ledger advance
 * and an outbox entry are written first in one script; the add follows; a crash between the two
 * leaves the outbox entry, which the next leader re-adds with the same jobId (BullMQ ignores an
 * add whose jobId exists).
 */
import type { Redis } from "ioredis";
import type { Json } from "../schedule/schedule.ts";
import type { AdapterFactory, CheckIn } from "./types.ts";

/** The event's own instant (its stream id's milliseconds: Redis time when BullMQ wrote it). */
const withAt = (atMs: number | undefined): { atMs?: number } => (atMs === undefined ? {} : { atMs });

const BULLMQ_OPTIONS: Readonly<Record<string, (value: Json) => boolean>> = {
  attempts: (value) => typeof value === "number" && Number.isInteger(value) && value > 0,
  backoff: (value) => (typeof value === "number" && value >= 0) || (value !== null && typeof value === "object" && !Array.isArray(value) && typeof value["type"] === "string"),
  priority: (value) => typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 2_097_152,
  removeOnComplete: (value) => typeof value === "boolean" || typeof value === "number" || (value !== null && typeof value === "object" && !Array.isArray(value)),
  removeOnFail: (value) => typeof value === "boolean" || typeof value === "number" || (value !== null && typeof value === "object" && !Array.isArray(value)),
  delay: (value) => typeof value === "number" && value >= 0,
  lifo: (value) => typeof value === "boolean",
  keepLogs: (value) => typeof value === "number" && value >= 0,
  stackTraceLimit: (value) => typeof value === "number" && value >= 0,
};

interface QueueLike {
  add(name: string, data: unknown, opts: Record<string, unknown>): Promise<unknown>;
  /** 1 removed, 0 not (a job a worker holds the lock of); a job that is not there is no error. */
  remove(jobId: string): Promise<number>;
  getJob(jobId: string): Promise<{ readonly stacktrace?: readonly string[] | null; readonly failedReason?: string } | undefined>;
  close(): Promise<void>;
}

interface QueueEventsLike {
  on(event: "active" | "completed" | "failed", listener: (args: { jobId: string; failedReason?: string }, id: string) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  close(): Promise<void>;
}

interface BullmqModule {
  readonly Queue: new (name: string, opts: Record<string, unknown>) => QueueLike;
  readonly QueueEvents?: new (name: string, opts: Record<string, unknown>) => QueueEventsLike;
}

/** The error class a failed job's last stack trace starts with (`TypeError: ...` -> `TypeError`), else `Error`. */
export function errorClassOfStack(stacktrace: readonly string[] | null | undefined): string {
  const last = stacktrace?.at(-1) ?? "";
  return /^([A-Za-z_$][\w$.]*)(?=:|\s|$)/.exec(last)?.[1] ?? "Error";
}

/**
 * `bullmq` as Node resolves it from this file: from the app's node_modules when the clock is
 * installed in an app, as a peer dependency is. Rejects with the install command when it is absent.
 */
async function importBullmq(): Promise<BullmqModule> {
  let module: Partial<BullmqModule>;
  try {
    module = (await import("bullmq")) as unknown as Partial<BullmqModule>;
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/Cannot find (package|module) 'bullmq'/.test(message)) throw new Error('the bullmq adapter needs the "bullmq" package, which is not installed: npm install bullmq');
    throw new Error(`the bullmq adapter could not load the "bullmq" package: ${message}`);
  }
  if (typeof module.Queue !== "function") throw new Error('the "bullmq" package has no Queue export: npm install bullmq@">=5"');
  return module as BullmqModule;
}

/** Job data: a single plain-object argument is the data itself; otherwise `{ args }`. */
export function bullmqData(args: readonly Json[]): Json {
  const [first] = args;
  if (args.length === 1 && first !== null && typeof first === "object" && !Array.isArray(first)) return first;
  return { args: [...args] };
}

export const bullmqAdapter: AdapterFactory = (settings, context) => {
  const prefix = settings["prefix"] ?? "bull";
  // Every bad setting at once, one per line (adapterIssues splits them).
  const problems: string[] = [];
  if (typeof prefix !== "string" || prefix === "") problems.push("adapters.bullmq.prefix: expected a non-empty string");
  for (const key of Object.keys(settings)) {
    if (key !== "prefix") problems.push(`adapters.bullmq.${key}: unknown setting`);
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
  let connection: Redis | null = null;
  const queues = new Map<string, Promise<QueueLike>>();
  let loading: Promise<BullmqModule> | null = null;
  // Not cached when it fails: a package installed while the clock runs is picked up at the next slot.
  const loadBullmq = (): Promise<BullmqModule> =>
    (loading ??= importBullmq().catch((error: unknown) => {
      loading = null;
      throw error;
    }));

  const queueFor = (name: string): Promise<QueueLike> => {
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = (async () => {
        const bullmq = await loadBullmq();
        if (connection === null) {
          if (context.connect === undefined) throw new Error("adapters.bullmq: no Redis connection to enqueue through (adapters built for validation cannot enqueue)");
          connection = context.connect({ maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
          connection.on("error", () => {
            // Errors surface as rejected adds, which the clock logs and retries from the outbox.
          });
        }
        return new bullmq.Queue(name, { connection, prefix });
      })();
      queues.set(name, queue);
      queue.catch(() => queues.delete(name));
    }
    return queue;
  };

  return {
    name: "bullmq",
    // BullMQ's own rule: on a cluster every key of a queue must be in one slot, so the prefix is a hash tag.
    ...(/^\{[^{}]+\}/.test(prefix as string)
      ? {}
      : { clusterRefusal: `on a Redis Cluster BullMQ needs a hash-tagged prefix: set adapters.bullmq.prefix to "{${prefix as string}}"` }),
    validate(job) {
      const problems: Array<[string, string]> = [];
      if (job.queue.includes(":")) problems.push(["", `BullMQ queue names cannot contain ':' (queue "${job.queue}")`]);
      for (const [key, value] of Object.entries(job.options)) {
        const check = BULLMQ_OPTIONS[key];
        if (check === undefined) problems.push([key, `unknown BullMQ job option (known: ${Object.keys(BULLMQ_OPTIONS).join(", ")})`]);
        else if (!check(value)) problems.push([key, `invalid value ${JSON.stringify(value)}`]);
      }
      return problems;
    },
    async load() {
      await loadBullmq();
    },
    // BullMQ's job states by key (its getState script reads the same): waiting in the wait or (before
    // BullMQ 5's meta flag) paused list, or in the delayed or prioritized sets; running in active.
    overlap: {
      pending: (enqueue) => {
        const queue = `${prefix as string}:${enqueue.job.queue}`;
        return {
          mark: enqueue.jobId,
          waitingLists: [`${queue}:wait`, `${queue}:paused`],
          waitingSets: [`${queue}:delayed`, `${queue}:prioritized`],
          runningLists: [`${queue}:active`],
        };
      },
      async withdraw(enqueue, jobId) {
        // BullMQ's own remove, atomic on its side; it leaves a job a worker has taken meanwhile alone.
        await (await queueFor(enqueue.job.queue)).remove(jobId);
      },
    },
    // QueueEvents per queue the clock fires into, each on a connection of its own (it blocks on XREAD).
    checkIns(onCheckIn, onError) {
      const watching = new Map<string, Promise<{ events: QueueEventsLike; connection: Redis } | null>>();
      let closed = false;
      const failedClass = async (queue: string, jobId: string): Promise<string> => {
        const job = await (await queueFor(queue)).getJob(jobId).catch(() => undefined);
        return errorClassOfStack(job?.stacktrace);
      };
      return {
        watch(queue, sinceMs) {
          if (closed || watching.has(queue)) return;
          const started = (async () => {
            const bullmq = await loadBullmq();
            if (bullmq.QueueEvents === undefined || context.connect === undefined) return null;
            const connection = context.connect({ maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false });
            connection.on("error", () => undefined); // QueueEvents reports its own errors
            // From just before the fire that asked for it: the job's first events are not missed.
            const events = new bullmq.QueueEvents(queue, { connection, prefix, lastEventId: `${Math.max(0, Math.floor(sinceMs) - 1)}-0` });
            const at = (id: string): number | undefined => {
              const ms = Number(id.split("-")[0]);
              return Number.isFinite(ms) ? ms : undefined;
            };
            const report = (checkIn: CheckIn) => onCheckIn(checkIn);
            events.on("active", ({ jobId }, id) => report({ queue, jobId, state: "started", ...withAt(at(id)) }));
            events.on("completed", ({ jobId }, id) => report({ queue, jobId, state: "succeeded", ...withAt(at(id)) }));
            events.on("failed", ({ jobId }, id) => {
              void failedClass(queue, jobId).then((error) => report({ queue, jobId, state: "failed", error, ...withAt(at(id)) }));
            });
            events.on("error", onError);
            return { events, connection };
          })().catch((error: unknown) => {
            onError(error as Error);
            watching.delete(queue);
            return null;
          });
          watching.set(queue, started);
        },
        async close() {
          closed = true;
          for (const started of watching.values()) {
            const watched = await started;
            await watched?.events.close().catch(() => undefined);
            watched?.connection.disconnect();
          }
          watching.clear();
        },
      };
    },
    async enqueue(enqueue) {
      const queue = await queueFor(enqueue.job.queue);
      await queue.add(enqueue.job.class, bullmqData(enqueue.job.args), { ...enqueue.job.options, jobId: enqueue.jobId });
    },
    async close() {
      for (const queue of queues.values()) await (await queue.catch(() => null))?.close();
      queues.clear();
      connection?.disconnect();
      connection = null;
    },
  };
};
