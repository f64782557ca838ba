/**
 * Check-ins end to end: the real `clock start` CLI fires into a real BullMQ Worker (heard through
 * BullMQ's own events on the leader) and a real Sidekiq 6 running the shipped middleware
 * (contrib/sidekiq/clock_check_in.rb); the history then shows each slot started and finished, and a
 * failing job failed with its error class.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker, type Job } from "bullmq";
import { createClient, type HistoryEntry } from "../../src/index.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { countFired, firedLines, pollUntil, startClockProcess } from "../helpers/fired.ts";
import { ROOT } from "../helpers/process.ts";
import { SYSTEM_SIDEKIQ } from "../helpers/ruby.ts";
import { testScope } from "../helpers/scope.ts";
import { join } from "node:path";

const SCHEDULES = ["bull-ok", "bull-fail", "kiq-ok", "kiq-fail"] as const;
const ERROR_CLASS: Readonly<Record<string, string | null>> = { "bull-ok": null, "bull-fail": "TypeError", "kiq-ok": null, "kiq-fail": "ArgumentError" };

test("check-ins: BullMQ's events and the Sidekiq middleware record each slot's start and finish; failures keep their error class", { timeout: 60 * SECOND }, async (t) => {
  const scope = testScope(t);
  const redis = await scope.redis();
  const configPath = scope.configFile({
    schedules: {
      "bull-ok": { every: "1s", adapter: "bullmq", job: { class: "OkJob", queue: "ci-bull" } },
      "bull-fail": { every: "1s", adapter: "bullmq", job: { class: "FailJob", queue: "ci-bull" } },
      "kiq-ok": { every: "1s", adapter: "sidekiq", job: { class: "TickJob", queue: "ci-kiq" } },
      "kiq-fail": { every: "1s", adapter: "sidekiq", job: { class: "FailJob", queue: "ci-kiq", options: { retry: false } } },
    },
  });
  const sidekiq = scope.spawn(SYSTEM_SIDEKIQ, ["-r", join(ROOT, "test", "fixtures", "sidekiq_check_in.rb"), "-q", "ci-kiq", "-c", "2", "-t", "1"], {
    name: "sidekiq",
    env: { REDIS_URL: redis.url },
  });
  const connection = scope.client(redis.url, { maxRetriesPerRequest: null });
  const worker = new Worker(
    "ci-bull",
    async (job: Job) => {
      if (job.name === "FailJob") throw new TypeError("cannot read the report");
    },
    { connection, concurrency: 2 },
  );
  worker.on("error", () => undefined);
  scope.defer(() => worker.close(true));
  const clock = startClockProcess(scope, "clock", configPath, redis.url);
  const client = createClient({ redis: redis.url });
  scope.defer(() => client.close());

  await clock.waitFor(() => SCHEDULES.every((name) => countFired(clock.lines, name) >= 3), { what: "3 fires of each schedule", timeoutMs: 20 * SECOND });
  // The first three slots of each schedule: every one finished, as the worker reported it.
  const firstThree = new Map(SCHEDULES.map((name) => [name, firedLines(clock.lines, name).slice(0, 3)]));
  const finished = (entries: HistoryEntry[], name: (typeof SCHEDULES)[number]) =>
    (firstThree.get(name) ?? []).every((fired) => entries.some((entry) => entry.jobId === fired.jobId && (entry.result === "succeeded" || entry.result === "failed")));
  let histories = new Map<string, HistoryEntry[]>();
  await pollUntil(
    "every slot's outcome checked in",
    async () => {
      histories = new Map(await Promise.all(SCHEDULES.map(async (name) => [name, await client.history(name)] as const)));
      return SCHEDULES.every((name) => finished(histories.get(name) ?? [], name));
    },
    20 * SECOND,
    () => `${JSON.stringify(Object.fromEntries(histories), null, 1)}\n${sidekiq.tail()}\n${clock.tail()}`,
  );
  for (const name of SCHEDULES) {
    for (const fired of firstThree.get(name) ?? []) {
      const entry = histories.get(name)?.find((candidate) => candidate.jobId === fired.jobId);
      assert.ok(entry !== undefined, `${name}: ${fired.jobId} in the history`);
      assert.equal(entry.slotAt, fired.slotAt);
      assert.ok(entry.kind === "on-time" || entry.kind === "catch-up", `${name}: kind ${entry.kind}`);
      assert.equal(entry.result, ERROR_CLASS[name] === null ? "succeeded" : "failed", `${name}@${fired.slotAt}`);
      assert.equal(entry.error, ERROR_CLASS[name], `${name}: error class`);
      assert.ok(entry.startedAt !== null && entry.finishedAt !== null, `${name}: started and finished known (${JSON.stringify(entry)})`);
      // Redis time throughout: a job starts after it was enqueued and ends after it started.
      assert.ok(entry.startedAt >= Math.floor(entry.enqueuedAt) && entry.finishedAt >= entry.startedAt, `${name}: ${JSON.stringify(entry)}`);
    }
  }
  assert.ok(
    clock.lines.some((line) => line.msg === "job failed (worker check-in)" && line["schedule"] === "bull-fail" && line["error"] === "TypeError"),
    "the leader logs a failed BullMQ job",
  );
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM (QueueEvents closed)\n${clock.tail()}`);
});
