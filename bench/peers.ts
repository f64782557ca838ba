/**
 * The peers, each run in a process of its own (as the clock is): a naive croner + ioredis loop
 * and BullMQ's job schedulers. Reports JSON lines on stdout; runs until SIGTERM.
 *
 *   croner-lag URL KEY            new Cron("* * * * * *", () => redis.lpush(KEY, ...))
 *   croner-burst URL KEY AT N     N crons due at instant AT, each LPUSHes once
 *   bullmq-lag URL                upsertJobScheduler("s", { every: 1000 }) and a Worker
 *   bullmq-burst URL AT N         N job schedulers with a cron pattern due at AT, and a Worker
 *   lease-floor URL MS            one PING every MS: what holding a lease costs at the least (an
 *                                 idle process with one Redis round trip per renewal, nothing else)
 */
import { Cron } from "croner";
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { calibrate, wallNow } from "./lib.ts";

const [mode, url = "", ...rest] = process.argv.slice(2);

function report(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const stops: (() => Promise<void>)[] = [];
process.on("SIGTERM", () => {
  void (async () => {
    for (const stop of stops) await stop().catch(() => undefined);
    process.exit(0);
  })();
});

/** Seconds, minutes and hours of an instant in local time: what a user writes in a crontab. */
function cronAt(at: number): string {
  const date = new Date(at);
  return `${date.getSeconds()} ${date.getMinutes()} ${date.getHours()} * * *`;
}

function bullConnection(): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Events kept in BullMQ's stream: enough for every job of a burst (the default is 10,000). */
const EVENTS_MAX_LEN = 200_000;

async function cronerLag(key: string): Promise<void> {
  const redis = new Redis(url);
  stops.push(async () => void redis.disconnect());
  // Croner does not hand the callback its scheduled instant: the nearest second is the slot, so a
  // fire before its second would show as a negative lag.
  const cron = new Cron("* * * * * *", () => {
    const firedAt = Date.now();
    void redis.lpush(key, JSON.stringify({ slotAt: Math.round(firedAt / 1000) * 1000, firedAt }));
  });
  stops.unshift(async () => cron.stop());
  report({ type: "ready" });
}

async function cronerBurst(key: string, instantAt: number, count: number): Promise<void> {
  const redis = new Redis(url);
  await redis.ping();
  stops.push(async () => void redis.disconnect());
  const startedAt = wallNow();
  const crons: Cron[] = [];
  const pattern = cronAt(instantAt);
  for (let i = 0; i < count; i++) {
    crons.push(new Cron(pattern, () => void redis.lpush(key, JSON.stringify({ i, firedAt: Date.now() }))));
  }
  stops.unshift(async () => crons.forEach((cron) => cron.stop()));
  report({ type: "ready", setupMs: wallNow() - startedAt, rssMb: process.memoryUsage().rss / 2 ** 20 });
}

async function bullmqLag(): Promise<void> {
  calibrate();
  setInterval(calibrate, 10_000).unref();
  const connection = bullConnection();
  const queue = new Queue("lag", { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  await queue.upsertJobScheduler("s", { every: 1000 }, { name: "tick", data: {} });
  const worker = new Worker(
    "lag",
    async (job: Job) => {
      const receivedAt = wallNow();
      const id = job.id ?? "";
      report({ type: "job", id, slotAt: Number(id.slice(id.lastIndexOf(":") + 1)), receivedAt, timestamp: job.timestamp, delay: job.opts.delay ?? 0 });
    },
    { connection, concurrency: 1 },
  );
  stops.push(
    () => worker.close(),
    () => queue.close(),
  );
  await worker.waitUntilReady();
  report({ type: "ready" });
}

async function bullmqBurst(instantAt: number, count: number): Promise<void> {
  const connection = bullConnection();
  const queue = new Queue("burst", { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
  stops.push(() => queue.close());
  const startedAt = wallNow();
  const pattern = cronAt(instantAt);
  // Upserts in parallel chunks: each is one script call, and one call per scheduler is BullMQ's API.
  for (let start = 0; start < count; start += 500) {
    const chunk = Array.from({ length: Math.min(500, count - start) }, (_, i) => start + i);
    await Promise.all(chunk.map((i) => queue.upsertJobScheduler(`s${i}`, { pattern }, { name: "burst", data: { i } })));
  }
  const setupMs = wallNow() - startedAt;
  let processed = 0;
  // Delayed jobs reach the wait list only when a worker asks for work (BullMQ has no separate
  // scheduler process since v2): the worker is part of what is measured.
  const worker = new Worker(
    "burst",
    async () => {
      processed++;
      if (processed === count) report({ type: "done", processed });
    },
    { connection, concurrency: 50 },
  );
  stops.unshift(() => worker.close());
  await worker.waitUntilReady();
  report({ type: "ready", setupMs, pattern });
}

/** The least a process that renews a lease every `everyMs` can cost: one round trip, nothing else. */
function leaseFloor(everyMs: number): void {
  const redis = new Redis(url);
  const timer = setInterval(() => void redis.ping(), everyMs);
  stops.unshift(async () => {
    clearInterval(timer);
    redis.disconnect();
  });
  report({ type: "ready" });
}

switch (mode) {
  case "lease-floor":
    leaseFloor(Number(rest[0]));
    break;
  case "croner-lag":
    await cronerLag(rest[0] ?? "bench:croner");
    break;
  case "croner-burst":
    await cronerBurst(rest[0] ?? "bench:croner", Number(rest[1]), Number(rest[2]));
    break;
  case "bullmq-lag":
    await bullmqLag();
    break;
  case "bullmq-burst":
    await bullmqBurst(Number(rest[0]), Number(rest[1]));
    break;
  default:
    process.stderr.write(`peers: unknown mode ${String(mode)}\n`);
    process.exit(2);
}
