/**
 * Overlap skip and replace judged by real consumers: slots fired through the Firer (the planner's
 * path, without waiting for the calendar) into an unconsumed Sidekiq queue and a paused BullMQ
 * queue, then a real Sidekiq 6 and a real BullMQ Worker perform what was left — exactly the jobs the
 * policy kept, each performable as written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { buildAdapters } from "../../src/adapters/index.ts";
import { readableJobId } from "../../src/adapters/ids.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../../src/config/resolve.ts";
import { Firer, type FireOutcome } from "../../src/fire/fire.ts";
import { clockKeys } from "../../src/redis/keys.ts";
import { withScripts } from "../../src/redis/scripts.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import type { Schedule } from "../../src/schedule/schedule.ts";
import { NAMESPACE, parseJson, pollUntil, sleep } from "../helpers/fired.ts";
import { ROOT } from "../helpers/process.ts";
import { SYSTEM_SIDEKIQ } from "../helpers/ruby.ts";
import { testScope } from "../helpers/scope.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";

const QUEUE = "e2e";

/** Past slots one second apart (the script fires nothing before its instant by Redis time). */
function pastSlots(count: number): number[] {
  const base = Math.floor(Date.now() / SECOND) * SECOND - 30 * SECOND;
  return Array.from({ length: count }, (_, i) => base + i * SECOND);
}

function firerFor(adapter: string, url: string) {
  const redis = withScripts(new Redis(url, { maxRetriesPerRequest: 1 }));
  const adapters = buildAdapters(new Set([adapter]), {}, { namespace: NAMESPACE, connect: (options) => new Redis(url, options) });
  const firer = new Firer({ redis, keys: clockKeys(NAMESPACE), adapters, token: () => "", now: () => Date.now() });
  const schedule = (name: string, overlap: string, job: Record<string, unknown>): Schedule =>
    parseSchedule(
      name,
      { every: "1s", adapter, overlap, job: { queue: QUEUE, ...job } },
      { timezone: "UTC", adapter, catchUp: DEFAULT_CATCH_UP },
      { settings: {}, namespace: NAMESPACE },
    );
  const fireOne = async (s: Schedule, slotAt: number): Promise<FireOutcome> => {
    const [outcome] = await firer.fire([{ schedule: s, slotAt }]);
    assert.ok(outcome !== undefined);
    return outcome;
  };
  const close = async () => {
    for (const built of adapters.values()) await built.close?.();
    redis.disconnect();
  };
  return { firer, schedule, fireOne, close };
}

test("overlap on an unconsumed Sidekiq queue: skip keeps the first job, replace the last; a real Sidekiq 6 performs exactly those", { timeout: 60 * SECOND }, async (t) => {
  assert.ok(existsSync(SYSTEM_SIDEKIQ), `${SYSTEM_SIDEKIQ} is missing: this test needs Debian's ruby-sidekiq (apt-get install ruby-sidekiq)`);
  const scope = testScope(t);
  const server = await scope.redis();
  const client = scope.client(server.url, { maxRetriesPerRequest: 1 });
  const { schedule, fireOne, close } = firerFor("sidekiq", server.url);
  scope.defer(close);
  const skip = schedule("skip-tick", "skip", { class: "TickJob", args: [1, "x"] });
  const replace = schedule("replace-tick", "replace", { class: "CronTickJob", args: ["r", { k: "v" }] });
  const [a, b, c, d] = pastSlots(4) as [number, number, number, number];

  const skipped = [await fireOne(skip, a), await fireOne(skip, b), await fireOne(skip, c)];
  const replaced = [await fireOne(replace, a), await fireOne(replace, b), await fireOne(replace, c)];
  assert.deepEqual(
    skipped.map((outcome) => outcome.status),
    ["fired", "skipped", "skipped"],
  );
  assert.deepEqual(
    replaced.map((outcome) => outcome.status),
    ["fired", "fired", "fired"],
  );
  assert.equal(await client.llen(`queue:${QUEUE}`), 2, "one job per schedule waits");

  const sidekiq = scope.spawn(SYSTEM_SIDEKIQ, ["-r", join(ROOT, "test", "fixtures", "sidekiq_worker.rb"), "-q", QUEUE, "-c", "2", "-t", "2"], {
    name: "sidekiq",
    env: { REDIS_URL: server.url },
  });
  const performedCount = () => client.llen("e2e:performed");
  await pollUntil(
    "sidekiq performed the two waiting jobs",
    async () => (await performedCount()) >= 2,
    30 * SECOND,
    () => sidekiq.tail(),
  );
  // The skip's job was taken (and done): the next slot enqueues again.
  const next = await fireOne(skip, d);
  assert.equal(next.status, "fired");
  await pollUntil(
    "sidekiq performed the next slot's job",
    async () => (await performedCount()) >= 3,
    15 * SECOND,
    () => sidekiq.tail(),
  );
  await sleep(300); // a job performed twice would show up now
  await sidekiq.stop("SIGTERM");

  const performed = (await client.lrange("e2e:performed", 0, -1)).map((text) => parseJson(text, "e2e:performed"));
  const byJid = Object.fromEntries(performed.map((entry) => [entry["jid"], entry]));
  assert.deepEqual(Object.keys(byJid).sort(), [skipped[0]?.jobId, replaced[2]?.jobId, next.jobId].sort(), "exactly the kept jobs ran, each once");
  assert.equal(performed.length, 3);
  assert.deepEqual([byJid[skipped[0]?.jobId ?? ""]?.["slotAt"], byJid[skipped[0]?.jobId ?? ""]?.["args"], byJid[skipped[0]?.jobId ?? ""]?.["class"]], [a, [1, "x"], "TickJob"]);
  assert.deepEqual(
    [byJid[replaced[2]?.jobId ?? ""]?.["slotAt"], byJid[replaced[2]?.jobId ?? ""]?.["args"], byJid[replaced[2]?.jobId ?? ""]?.["class"]],
    [c, ["r", { k: "v" }], "CronTickJob"],
  );
  assert.equal(byJid[next.jobId]?.["slotAt"], d);
  assert.equal(await client.zcard("retry"), 0, "no job raised");
  assert.equal(await client.llen(`queue:${QUEUE}`), 0);
});

test(
  "overlap on a paused BullMQ queue: skip keeps the first job (and waits for an active one), replace the last; a real Worker processes exactly those",
  { timeout: 60 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const server = await scope.redis();
    const connection = scope.client(server.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection });
    scope.defer(() => queue.close());
    await queue.pause();
    const { schedule, fireOne, close } = firerFor("bullmq", server.url);
    scope.defer(close);
    const skip = schedule("bull-skip", "skip", { class: "SkipJob", args: [{ n: 1 }], options: { removeOnComplete: false } });
    const replace = schedule("bull-replace", "replace", { class: "ReplaceJob", args: [2, "y"], options: { removeOnComplete: false } });
    const [a, b, c, d, e] = pastSlots(5) as [number, number, number, number, number];

    const skipped = [await fireOne(skip, a), await fireOne(skip, b), await fireOne(skip, c)];
    const replaced = [await fireOne(replace, a), await fireOne(replace, b), await fireOne(replace, c)];
    assert.deepEqual(
      skipped.map((outcome) => outcome.status),
      ["fired", "skipped", "skipped"],
    );
    assert.deepEqual(
      replaced.map((outcome) => [outcome.status, outcome.previousSlotAt]),
      [
        ["fired", undefined],
        ["fired", a],
        ["fired", b],
      ],
    );
    const waiting = (await queue.getJobs(["waiting", "delayed", "prioritized"])).map((job) => job.id).sort();
    assert.deepEqual(waiting, [readableJobId("bull-replace", c), readableJobId("bull-skip", a)].sort(), "one job per schedule waits in the paused queue");
    assert.equal(await queue.getJob(readableJobId("bull-replace", a)), undefined, "the replaced job is gone, not just moved");

    // A worker that holds the skip job active until released.
    const processed: { id: string | undefined; name: string; data: unknown }[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = new Worker(
      QUEUE,
      async (job: Job) => {
        if (job.name === "SkipJob" && processed.length === 0) await held;
        processed.push({ id: job.id, name: job.name, data: job.data });
      },
      { connection: scope.client(server.url, { maxRetriesPerRequest: null }), concurrency: 2 },
    );
    scope.defer(() => worker.close(true));
    await worker.waitUntilReady();
    await queue.resume();
    await pollUntil("the skip job is active", async () => (await queue.getJobState(readableJobId("bull-skip", a))) === "active", 15 * SECOND);
    const whileActive = await fireOne(skip, d);
    assert.equal(whileActive.status, "skipped", "an active (running) BullMQ job counts as still pending");
    release();
    await pollUntil("the worker processed both jobs", async () => processed.length >= 2, 15 * SECOND);
    const after = await fireOne(skip, e);
    assert.equal(after.status, "fired", "a completed job no longer holds the schedule back");
    await pollUntil("the worker processed the next slot's job", async () => processed.length >= 3, 15 * SECOND);
    await sleep(300);
    await worker.close();

    assert.deepEqual(processed.map((job) => job.id).sort(), [readableJobId("bull-skip", a), readableJobId("bull-replace", c), readableJobId("bull-skip", e)].sort());
    assert.deepEqual(processed.find((job) => job.name === "ReplaceJob")?.data, { args: [2, "y"] });
    assert.deepEqual(processed.find((job) => job.name === "SkipJob")?.data, { n: 1 });
    assert.equal(await queue.getFailedCount(), 0);
  },
);
