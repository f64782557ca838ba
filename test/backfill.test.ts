/**
 * Backfill: every slot of a past range, once, through the leader, on a real redis-server with an
 * in-process clock and the list adapter.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { ClockError, ConfigError, createClient, parseConfig, startClock, type RunningClock } from "../src/index.ts";
import { main } from "../src/cli/main.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;
let n = 0;

const MINUTE = 60_000;
const EVERY = 15 * MINUTE;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

/**
 * A 15-minute schedule whose slots sit 7.5 minutes away from now, so none fires on its own while a
 * test runs (its ledger stays as the backfill leaves it), and the 6 hours from 30 slots ago to 7 ago.
 */
function fifteenMinutes(namespace: string): { raw: Record<string, unknown>; config: ReturnType<typeof parseConfig>; from: string; to: string } {
  const anchorAt = Date.now() + EVERY / 2;
  const raw = {
    namespace,
    adapter: "list",
    redis: server.url,
    schedules: { report: { every: "15m", anchor: anchorAt, job: { class: "Report", queue: namespace } } },
    lease: { ttl: "2s", retry: "200ms" },
  };
  const config = parseConfig(raw);
  const fromAt = anchorAt - 30 * EVERY;
  return { raw, config, from: new Date(fromAt).toISOString(), to: new Date(fromAt + 6 * 60 * MINUTE - 1).toISOString() };
}

async function leadingClock(scope: Scope, config: ReturnType<typeof parseConfig>): Promise<RunningClock> {
  const sink = new LogSink();
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  return clock;
}

async function jobsIn(queue: string): Promise<{ id: string; slotAt: number; backfill?: boolean }[]> {
  return (await redis.lrange(`jobs:${queue}`, 0, -1)).map((raw) => JSON.parse(raw) as { id: string; slotAt: number; backfill?: boolean });
}

async function waitForHeartbeat(namespace: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const peers = Object.values(await redis.hgetall(`{${namespace}}:peers`));
    if (peers.some((raw) => (JSON.parse(raw) as { role: string }).role === "leader")) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("no leader heartbeat");
}

test("a backfill of 6 hours of a 15-minute schedule enqueues exactly 24 jobs, marked backfill; run twice, still 24", async (t) => {
  const scope = testScope(t);
  const namespace = `b${++n}`;
  const { config, from, to } = fifteenMinutes(namespace);
  await leadingClock(scope, config);
  await waitForHeartbeat(namespace);
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());

  const plan = await client.backfill("report", { from, to, rate: "100/s", dryRun: true });
  assert.deepEqual([plan.total, plan.wouldFire, plan.skipped], [24, 24, 0]);
  assert.equal((await jobsIn(namespace)).length, 0, "a dry run writes nothing");

  const first = await client.backfill("report", { from, to, rate: "100/s", wait: true });
  assert.deepEqual([first.state, first.total, first.fired, first.skipped, first.paused], ["done", 24, 24, 0, 0]);
  const jobs = await jobsIn(namespace);
  assert.equal(jobs.length, 24);
  assert.equal(new Set(jobs.map((job) => job.slotAt)).size, 24, "each slot once");
  assert.ok(
    jobs.every((job) => job.backfill === true && job.id === `clock-report-${job.slotAt}`),
    "the slot's own job id, marked backfill",
  );
  assert.deepEqual(
    jobs.map((job) => job.slotAt),
    [...jobs.map((job) => job.slotAt)].sort((a, b) => a - b),
    "oldest first",
  );
  assert.equal(Number(await redis.hget(`{${namespace}}:ledger`, "report")), jobs.at(-1)?.slotAt, "the ledger holds the newest backfilled slot");

  const again = await client.backfill("report", { from, to, rate: "100/s", wait: true });
  assert.deepEqual([again.state, again.fired, again.skipped], ["done", 0, 24], "every slot is at or before the ledger now: skipped");
  assert.equal((await jobsIn(namespace)).length, 24, "still 24");
});

test("a backfill can be cancelled: it stops before its next batch, and what it fired stays fired once", async (t) => {
  const scope = testScope(t);
  const namespace = `b${++n}`;
  const { raw, config, from, to } = fifteenMinutes(namespace);
  await leadingClock(scope, config);
  await waitForHeartbeat(namespace);
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());
  const accepted = await client.backfill("report", { from, to, rate: "4/s" });
  assert.equal(accepted.state, "pending");
  for (let i = 0; i < 100 && ((await client.backfillStatus(accepted.id))?.fired ?? 0) < 4; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  // Through the CLI, as an operator would.
  const out: string[] = [];
  const code = await main(["backfill", "--cancel", accepted.id, "--config", scope.configFile(raw)], { out: (text) => out.push(text), err: () => undefined, now: () => Date.now() });
  assert.equal(code, 0, out.join("\n"));
  assert.match(out.join("\n"), /^cancelled: backfill/);
  const cancelled = await client.backfillStatus(accepted.id);
  assert.equal(cancelled?.state, "cancelled");
  assert.ok((cancelled?.fired ?? 0) >= 4 && (cancelled?.fired ?? 24) < 24, `fired ${cancelled?.fired} before the cancel`);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal((await jobsIn(namespace)).length, cancelled?.fired, "nothing fires after the cancel");
});

test("a backfill is refused with a clear message when no clock leads, and a bad range or rate names the field", async (t) => {
  const scope = testScope(t);
  const namespace = `b${++n}`;
  const { config, from, to } = fifteenMinutes(namespace);
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());
  await assert.rejects(
    client.backfill("report", { from, to }),
    (error: unknown) => error instanceof ClockError && error.code === "no-leader" && /no clock leads namespace "b\d+"/.test(error.message),
  );
  assert.equal(await redis.exists(`{${namespace}}:backfills`), 0, "nothing was asked for");
  await assert.rejects(
    client.backfill("report", { from: "yesterday", to: new Date(Date.now() + 3_600_000), rate: "fast" }),
    (error: unknown) =>
      error instanceof ConfigError &&
      ["report.from", "report.to", "report.rate"].every((path) => error.issues.some((issue) => issue.path === path)) &&
      /in the future/.test(error.message),
  );
});
