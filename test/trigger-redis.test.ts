/**
 * Every write goes through the connection the user configured: a trigger from the status page or
 * from a client given an ioredis instance lands on the clock's Redis (here a throwaway server on a
 * random port, with a password), and nothing lands on the default 127.0.0.1:6379.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { bullmqAdapter } from "../src/adapters/bullmq.ts";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const PASSWORD = "pw-trigger-9";
const suite = suiteScope();
let server: TestRedis;

before(async () => {
  server = await suite.redis(["--requirepass", PASSWORD]);
});

/** A queue name no one else uses, so the default Redis can be checked for it alone. */
function uniqueQueue(): string {
  return `clock-test-trigger-${randomBytes(8).toString("hex")}`;
}

/**
 * The keys holding `marker` on the machine's default Redis, if one answers there. Reads only keys
 * with this test's unique marker; any found are this test's own stray writes and are removed.
 */
async function strayKeysOnDefaultRedis(marker: string): Promise<string[]> {
  const local = new Redis(6379, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  local.on("error", () => undefined);
  try {
    await local.connect();
  } catch {
    return []; // nothing answers at 127.0.0.1:6379: nothing can have landed there
  }
  try {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await local.scan(cursor, "MATCH", `*${marker}*`, "COUNT", 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== "0");
    if (found.length > 0) await local.del(...found);
    return found;
  } finally {
    local.disconnect();
  }
}

function bullmqConfig(namespace: string, queue: string) {
  return parseConfig({
    namespace,
    adapter: "bullmq",
    schedules: { "bull-report": { cron: "0 9 * * *", job: { class: "BullReportJob", args: [{ n: 1 }], queue } } },
  });
}

test("a BullMQ trigger from the status page lands on the clock's Redis, not on 127.0.0.1:6379", async (t) => {
  const scope = testScope(t);
  const queue = uniqueQueue();
  const sink = new LogSink();
  const clock = await startClock({ config: bullmqConfig("trig-http", queue), logger: sink.logger, redisUrl: `redis://:${PASSWORD}@127.0.0.1:${server.port}` });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  const http = await startHttpServer(clock, { port: 0, token: "tok", clock: systemClock });
  const response = await fetch(`${addressOf(http)}/api/schedules/bull-report/trigger`, { method: "POST", headers: { authorization: "Bearer tok" } });
  const body = (await response.json()) as { jobId?: string; error?: string };
  const stray = await strayKeysOnDefaultRedis(queue);
  assert.deepEqual(stray, [], "the trigger wrote to the default Redis at 127.0.0.1:6379");
  assert.equal(response.status, 200, body.error);
  const reader = new Redis(server.port, { password: PASSWORD });
  scope.defer(() => reader.disconnect());
  assert.equal(await reader.hget(`bull:${queue}:${body.jobId ?? ""}`, "name"), "BullReportJob", "the job is in the clock's Redis");
});

test("createClient given an ioredis instance: a BullMQ trigger goes through that instance's server", async (t) => {
  const scope = testScope(t);
  const queue = uniqueQueue();
  const redis = new Redis(server.port, { password: PASSWORD });
  const client = createClient({ redis, config: bullmqConfig("trig-client", queue) });
  scope.defer(() => redis.disconnect());
  scope.defer(() => client.close());
  let result: { jobId: string } | undefined;
  let failure: unknown;
  try {
    result = await client.trigger("bull-report");
  } catch (error) {
    failure = error;
  }
  assert.deepEqual(await strayKeysOnDefaultRedis(queue), [], "the trigger wrote to the default Redis at 127.0.0.1:6379");
  assert.equal(failure, undefined);
  assert.equal(await redis.hget(`bull:${queue}:${result?.jobId ?? ""}`, "name"), "BullReportJob");
  assert.equal(redis.status, "ready", "the given instance is left open (the caller owns it)");
});

test("a BullMQ adapter built without a connection refuses to enqueue instead of reaching for a default address", async () => {
  const queue = uniqueQueue();
  const adapter = bullmqAdapter({}, { namespace: "no-connection" });
  try {
    await assert.rejects(
      adapter.enqueue?.({ schedule: "x", slotAt: 0, jobId: "clock-x-0", job: { class: "X", args: [], queue, options: {} }, enqueuedAt: 0 }) ?? Promise.resolve(),
      /adapters\.bullmq: no Redis connection to enqueue through/,
    );
  } finally {
    await adapter.close?.();
    assert.deepEqual(await strayKeysOnDefaultRedis(queue), [], "the adapter wrote to the default Redis at 127.0.0.1:6379");
  }
});
