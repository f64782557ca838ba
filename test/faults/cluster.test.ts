/**
 * A real Redis Cluster (three `redis-server --cluster-enabled yes` masters joined with
 * `redis-cli --cluster create`): `clock start` on `redis+cluster://` fires a list schedule whose
 * key carries the clock's hash tag (inside the fire script, one slot) and a BullMQ schedule with a
 * hash-tagged prefix (through the outbox: BullMQ's keys live in another slot), a real BullMQ
 * Worker on the cluster performs each slot once; `clock status` reads the cluster; a config the
 * cluster cannot carry (Sidekiq) is refused at start with the reason.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker, type Job } from "bullmq";
import { Cluster } from "ioredis";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, firedLines, parseJson, pollUntil, startClockProcess } from "../helpers/fired.ts";
import { startCluster, type TestCluster } from "../helpers/cluster.ts";
import { runClock } from "../helpers/process.ts";
import { suiteScope, testScope } from "../helpers/scope.ts";

let cluster: TestCluster;
const suite = suiteScope();

before(async () => {
  cluster = await startCluster(3);
});
after(async () => {
  await cluster?.close();
});

const connectCluster = (options: Record<string, unknown> = {}): Cluster => {
  const client = new Cluster(
    cluster.ports.map((port) => ({ host: "127.0.0.1", port })),
    options,
  );
  client.on("error", () => undefined);
  suite.defer(() => client.disconnect());
  return client;
};

test(
  "redis+cluster://: a list schedule in the clock's slot and a BullMQ schedule through the outbox fire every slot once; a real Worker performs them",
  { timeout: 60 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const configPath = scope.configFile({
      adapters: { list: { key: "{clock}:jobs:{queue}" }, bullmq: { prefix: "{bull}" } },
      schedules: {
        tick: { every: "1s", adapter: "list", job: { class: "TickJob", queue: "cl" } },
        bull: { every: "1s", adapter: "bullmq", job: { class: "BullJob", args: [{ n: 1 }], queue: "clq" } },
      },
    });
    const performed: string[] = [];
    const worker = new Worker(
      "clq",
      async (job: Job) => {
        performed.push(job.id ?? "");
      },
      { connection: connectCluster({ maxRetriesPerRequest: null }) as never, prefix: "{bull}" },
    );
    scope.defer(() => worker.close(true));
    await worker.waitUntilReady();

    const clock = startClockProcess(scope, "clock", configPath, cluster.url);
    await clock.waitFor(() => countFired(clock.lines, "tick") >= 4 && countFired(clock.lines, "bull") >= 4, { what: "4 fires of each", timeoutMs: 20 * SECOND });
    const status = await runClock(["status", "--json", "--config", configPath], { env: { REDIS_URL: cluster.url } });
    assert.equal(status.code, 0, status.stderr);
    const names = (JSON.parse(status.stdout) as { schedules: { name: string }[] }).schedules.map((schedule) => schedule.name).sort();
    assert.deepEqual(names, ["bull", "tick"], "clock status reads the cluster");
    assert.equal((await clock.stop("SIGTERM")).code, 0, clock.tail());

    const redis = connectCluster();
    const listed = (await redis.lrange("{clock}:jobs:cl", 0, -1)).map((text) => parseJson(text, "{clock}:jobs:cl")["slotAt"] as number);
    assertConsecutive(listed, SECOND, "the list schedule's jobs");
    assert.deepEqual(
      [...listed].sort((a, b) => a - b),
      firedLines(clock.lines, "tick")
        .map((fire) => fire.slotAt)
        .sort((a, b) => a - b),
    );
    const bullFired = firedLines(clock.lines, "bull");
    assertConsecutive(
      bullFired.map((fire) => fire.slotAt),
      SECOND,
      "the BullMQ schedule's slots",
    );
    await pollUntil(
      "the Worker performs every BullMQ slot",
      async () => performed.length >= bullFired.length,
      15 * SECOND,
      () => `${performed.length} of ${bullFired.length}`,
    );
    assert.deepEqual([...performed].sort(), bullFired.map((fire) => fire.jobId).sort(), "each slot performed once, by its job id");
  },
);

test("redis+cluster://: a Sidekiq schedule and a list key outside the clock's slot are refused at start, naming the schedule and why", async (t) => {
  const scope = testScope(t);
  const configPath = scope.configFile({
    schedules: {
      report: { every: "1h", adapter: "sidekiq", job: { class: "ReportJob" } },
      feed: { every: "1h", adapter: "list", job: { class: "FeedJob" } },
    },
  });
  const result = await runClock(["start", "--config", configPath], { env: { REDIS_URL: cluster.url } });
  assert.equal(result.code, 2, result.stdout + result.stderr); // a config error, as for any bad config
  const output = result.stdout + result.stderr;
  assert.match(output, /schedules\.report\.adapter: sidekiq: Sidekiq does not support Redis Cluster/);
  assert.match(output, /schedules\.feed\.adapter: on a Redis Cluster the list adapter's key "jobs:default" must carry the clock's hash tag \{clock\}/);
});
