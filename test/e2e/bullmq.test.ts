/**
 * End to end with a real BullMQ Worker: the real `clock start` CLI (dist/ through bin/clock.js)
 * against a throwaway redis-server, and a Worker in this process processing what it enqueued.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, type Job } from "bullmq";
import { readableJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, firedLines, pollUntil, sleep, startClockProcess } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const QUEUE = "e2e";

test("bullmq: a real BullMQ Worker processes every fired slot exactly once, job ids clock-<schedule>-<ms>", { timeout: 60 * SECOND }, async (t) => {
  const scope = testScope(t);
  const redis = await scope.redis();
  const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
  const options = { attempts: 2, removeOnComplete: false };
  const configPath = scope.configFile({
    schedules: {
      // One plain-object argument: it is the job's data. Anything else: data is { args }.
      "bull-object": { every: "1s", adapter: "bullmq", job: { class: "ObjectJob", args: [{ n: 1, s: "x" }], queue: QUEUE, options } },
      "bull-args": { every: "1s", adapter: "bullmq", job: { class: "ArgsJob", args: [1, "x"], queue: QUEUE, options } },
    },
  });
  const expected: Record<string, { name: string; data: unknown }> = {
    "bull-object": { name: "ObjectJob", data: { n: 1, s: "x" } },
    "bull-args": { name: "ArgsJob", data: { args: [1, "x"] } },
  };

  interface Processed {
    readonly id: string | undefined;
    readonly name: string;
    readonly data: unknown;
    readonly attempts: number | undefined;
    readonly attemptsMade: number;
  }
  const processed: Processed[] = [];
  const connection = scope.client(redis.url, { maxRetriesPerRequest: null });
  const worker = new Worker(
    QUEUE,
    async (job: Job) => {
      processed.push({ id: job.id, name: job.name, data: job.data, attempts: job.opts.attempts, attemptsMade: job.attemptsMade });
    },
    { connection, concurrency: 2 },
  );
  const workerErrors: Error[] = [];
  worker.on("error", (error) => workerErrors.push(error));
  scope.defer(() => worker.close(true));
  await worker.waitUntilReady();

  const clock = startClockProcess(scope, "clock", configPath, redis.url);
  await clock.waitFor((line) => line.msg === "leadership acquired", { what: '"leadership acquired"' });
  await clock.waitFor(() => countFired(clock.lines, "bull-object") >= 5 && countFired(clock.lines, "bull-args") >= 5, { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  const fired = firedLines(clock.lines);
  for (const entry of fired) {
    assert.equal(entry.jobId, readableJobId(entry.schedule, entry.slotAt), `job id of ${entry.schedule}@${entry.line["slot"]}`);
    assert.equal(entry.jobId, `clock-${entry.schedule}-${entry.slotAt}`);
  }
  for (const schedule of Object.keys(expected)) {
    assertConsecutive(
      firedLines(clock.lines, schedule).map((entry) => entry.slotAt),
      SECOND,
      `fired slots of ${schedule}`,
    );
  }

  await pollUntil(
    "the worker processed every fired job",
    async () => processed.length >= fired.length,
    30 * SECOND,
    () => `processed ${processed.length} of ${fired.length}`,
  );
  await sleep(500);
  await worker.close();

  const ids = processed.map((job) => job.id);
  assert.equal(new Set(ids).size, ids.length, `a job was processed twice: ${JSON.stringify(ids)}`);
  assert.deepEqual([...ids].sort(), fired.map((entry) => entry.jobId).sort(), "processed job ids differ from the fired ones");
  const firedById = new Map(fired.map((entry) => [entry.jobId, entry]));
  for (const job of processed) {
    const firedEntry = firedById.get(job.id ?? "");
    assert.ok(firedEntry !== undefined);
    const want = expected[firedEntry.schedule];
    assert.ok(want !== undefined);
    assert.equal(job.name, want.name, `name of ${String(job.id)}`);
    assert.deepEqual(job.data, want.data, `data of ${String(job.id)}`);
    assert.equal(job.attempts, 2, `job options reach BullMQ (attempts) for ${String(job.id)}`);
    assert.equal(job.attemptsMade, 0, `${String(job.id)} is a first attempt`);
  }
  // removeOnComplete: false keeps every completed job; nothing failed.
  assert.deepEqual((await client.zrange(`bull:${QUEUE}:completed`, 0, -1)).sort(), [...ids].sort());
  assert.equal(await client.zcard(`bull:${QUEUE}:failed`), 0);
  assert.deepEqual(
    workerErrors.map((error) => error.message),
    [],
  );
});
