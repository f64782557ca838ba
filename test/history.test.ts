/**
 * Fire history, check-ins and the audit of changes on a throwaway redis-server, in process: the
 * recorder fed the events a fire batch emits, the client's checkIn/history/changes, and the CLI's
 * `clock history` through its main() (no process spawned).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { main } from "../src/cli/main.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome } from "../src/fire/fire.ts";
import { HistoryRecorder } from "../src/history/recorder.ts";
import { historyKey, outcomesKey, publishHistorySize } from "../src/history/store.ts";
import { createClient, parseConfig } from "../src/index.ts";
import { clockKeys } from "../src/redis/keys.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

const scheduleNamed = (name: string): Schedule => ({ name, adapter: "list", job: { class: "X", args: [], queue: "q", options: {} } }) as unknown as Schedule;

function fired(events: ClockEvents, schedule: Schedule, slotAt: number, lagMs: number, catchUp = false): void {
  const outcome: FireOutcome = { request: { schedule, slotAt }, status: "fired", jobId: `clock-${schedule.name}-${slotAt}`, redisAt: slotAt + lagMs };
  events.emit("fire:fired", { outcome, lagMs, catchUp });
}

async function evalCalls(): Promise<number> {
  const stats = await redis.info("commandstats");
  return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

test("history keeps the last N fires per schedule, newest first, kinds and lag, and their outcomes leave with them", async (t) => {
  const scope = testScope(t);
  const keys = clockKeys("h1");
  const events = new ClockEvents();
  const recorder = new HistoryRecorder({ redis, keys, events, size: 3, adapters: new Map(), isLeader: () => true });
  scope.defer(() => recorder.stop());
  const tick = scheduleNamed("tick");
  const client = createClient({ redis: server.url, namespace: "h1" });
  scope.defer(() => client.close());
  // History off (no leader published a size): a check-in writes nothing, so no key grows that no trim caps.
  assert.equal(await client.checkIn("clock-tick-1000", "started"), false);
  assert.equal(await redis.exists(outcomesKey(keys, "tick")), 0);
  await publishHistorySize(redis, keys, 3);
  // A worker faster than the recorder: its check-in lands before the record and is kept.
  assert.equal(await client.checkIn("clock-tick-1000", "started"), true);

  for (let i = 1; i <= 4; i++) fired(events, tick, i * 1000, 0.5, i === 2);
  events.emit("fire:overlap-skipped", { outcome: { request: { schedule: tick, slotAt: 5000 }, status: "skipped", jobId: "clock-tick-5000", redisAt: 5000.25 } });
  await recorder.flush();

  const entries = await client.history("tick");
  assert.deepEqual(
    entries.map((entry) => [entry.slotAt, entry.kind, entry.lagMs, entry.jobId]),
    [
      [5000, "skipped", 0.25, "clock-tick-5000"],
      [4000, "on-time", 0.5, "clock-tick-4000"],
      [3000, "on-time", 0.5, "clock-tick-3000"],
    ],
  );
  assert.equal(entries[0]?.result, null);

  // Started, then failed: the start is kept; a new attempt starts afresh.
  assert.equal(await client.checkIn("clock-tick-4000", "started"), true);
  assert.equal(await client.checkIn("clock-tick-4000", "failed", { error: "TypeError" }), true);
  assert.equal(await client.checkIn("clock-tick-3000", "succeeded"), true);
  const [, four, three] = await client.history("tick");
  assert.equal(four?.result, "failed");
  assert.equal(four?.error, "TypeError");
  assert.ok(four?.startedAt !== null && four?.finishedAt !== null && (four?.finishedAt ?? 0) >= (four?.startedAt ?? Infinity));
  assert.equal(three?.result, "succeeded");
  assert.equal(three?.startedAt, null);

  // The next fire pushes 3000 out: its outcome field goes with it.
  fired(events, tick, 6000, 1);
  await recorder.flush();
  assert.equal(await redis.llen(historyKey(keys, "tick")), 3);
  assert.deepEqual(await redis.hkeys(outcomesKey(keys, "tick")), ["clock-tick-4000"]);

  // A hex jid names no schedule: the caller must say which.
  await assert.rejects(client.checkIn("0f8a60a3174a93b9c6d13efc", "started"), /pass \{ schedule \}/);
});

test("a burst of 10,000 fires is written in a few pipelined script calls, after the burst, never awaited by the emitter", async (t) => {
  const scope = testScope(t);
  const keys = clockKeys("h2");
  const events = new ClockEvents();
  const recorder = new HistoryRecorder({ redis, keys, events, size: 100, adapters: new Map(), isLeader: () => true });
  scope.defer(() => recorder.stop());
  const schedules = Array.from({ length: 10_000 }, (_, i) => scheduleNamed(`s${i}`));
  const before = await evalCalls();
  const started = performance.now();
  for (const schedule of schedules) fired(events, schedule, 60_000, 2);
  const emitMs = performance.now() - started;
  assert.ok(emitMs < 500, `emitting 10,000 fire events took ${emitMs} ms`);
  assert.equal(await redis.exists(historyKey(keys, "s0")), 0, "written after the burst, not during it");
  await new Promise((resolve) => setImmediate(resolve));
  await recorder.flush();
  assert.equal(await redis.llen(historyKey(keys, "s9999")), 1);
  const calls = (await evalCalls()) - before;
  assert.ok(calls <= 41, `${calls} script calls for 10,000 fires`);
});

test("the audit records set, pause, resume, trigger and remove with who and when; clock history --changes and NAME print them", async (t) => {
  const scope = testScope(t);
  const namespace = "h3";
  const config = parseConfig({ namespace, adapter: "list", schedules: {} });
  const client = createClient({ redis: server.url, namespace, config, actor: "ada@laptop" });
  scope.defer(() => client.close());
  await client.schedules.set("report", { every: "1h", job: { class: "ReportJob", args: [1] } });
  await client.schedules.pause("report");
  await client.schedules.resume("report", { actor: "ops-bot" });
  const { jobId } = await client.trigger("report", { args: [2] });
  const changes = await client.changes();
  assert.deepEqual(
    changes.map((change) => [change.action, change.actor, change.schedule]),
    [
      ["trigger", "ada@laptop", "report"],
      ["resume", "ops-bot", "report"],
      ["pause", "ada@laptop", "report"],
      ["set", "ada@laptop", "report"],
    ],
  );
  const [time] = await redis.time();
  for (const change of changes) assert.ok(Math.abs(change.at - Number(time) * 1000) < 5000, "stamped with Redis time");
  assert.deepEqual(changes[0]?.detail, { jobId, args: [2] });
  assert.equal((changes[3]?.detail as { every?: string } | null)?.every, "1h");
  // The trigger is in the schedule's history too.
  const [entry] = await client.history("report");
  assert.equal(entry?.kind, "trigger");
  assert.equal(entry?.jobId, jobId);

  const out: string[] = [];
  const io = { out: (text: string) => out.push(text), err: (text: string) => out.push(text), now: () => Date.now() };
  const saved = process.env["REDIS_URL"];
  process.env["REDIS_URL"] = server.url;
  t.after(() => (saved === undefined ? delete process.env["REDIS_URL"] : (process.env["REDIS_URL"] = saved)));
  assert.equal(await main(["remove", "report", "--namespace", namespace, "--actor", "cli-user"], io), 0);
  assert.equal(await main(["history", "--changes", "--json", "--limit", "2", "--namespace", namespace], io), 0);
  const printed = JSON.parse(out.at(-1) ?? "") as { action: string; actor: string }[];
  assert.deepEqual(
    printed.map((change) => [change.action, change.actor]),
    [
      ["remove", "cli-user"],
      ["trigger", "ada@laptop"],
    ],
  );
  assert.equal(await redis.exists(historyKey(clockKeys(namespace), "report")), 0, "a removed schedule's history goes with it");
  assert.equal(await main(["history", "report", "--namespace", namespace], io), 0);
  assert.match(out.at(-1) ?? "", /no history/);
  assert.equal(await main(["history", "--namespace", namespace], io), 2);
});
