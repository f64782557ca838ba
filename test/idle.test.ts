/**
 * An idle clock wakes for little: what it sends Redis while nothing is due, and the notifications
 * that replaced the once-a-second polls (backfill requests heard on their channel). On a real
 * redis-server; the command count is read through MONITOR.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { createClient, parseConfig, startClock } from "../src/index.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;
let n = 0;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

/** One daily schedule hours away: nothing is due while the test looks. */
function dailyConfig(namespace: string): ReturnType<typeof parseConfig> {
  const hour = (new Date().getUTCHours() + 6) % 24;
  return parseConfig({
    namespace,
    adapter: "list",
    timezone: "UTC",
    schedules: { nightly: { cron: `30 ${hour} * * *`, job: { class: "Nightly", queue: namespace } } },
  });
}

test("an idle leader sends Redis a handful of commands in 10 s, not dozens: no once-a-second polls", async (t) => {
  const scope = testScope(t);
  const namespace = `idle${++n}`;
  const sink = new LogSink();
  const clock = await startClock({ config: dailyConfig(namespace), logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  // Past the start-up reads (snapshot, history size, first sweeps).
  await new Promise((resolve) => setTimeout(resolve, 2 * SECOND));
  const monitor = scope.client(server.url);
  const commands: string[] = [];
  await monitor.monitor().then((stream) => {
    scope.defer(() => stream.disconnect());
    // Lua's own calls are shown as `[0 lua]`: the script call itself is what the clock sent.
    stream.on("monitor", (_time: string, args: string[], source: string) => {
      if (!source.includes("lua")) commands.push((args[0] ?? "").toLowerCase());
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 10 * SECOND));
  const counts = new Map<string, number>();
  for (const command of commands) counts.set(command, (counts.get(command) ?? 0) + 1);
  t.diagnostic(`10 s idle: ${commands.length} commands (${[...counts].map(([name, count]) => `${name} ${count}`).join(", ")})`);
  // Expected: 3 lease renewals with their heartbeats (TTL/3) and one 10 s safety poll of 4 reads,
  // ~10. Before: ~50 (a change poll, a backfill poll and a pause-expiry read every second).
  assert.ok(commands.length <= 20, `${commands.length} commands in 10 s of idle`);
  assert.ok((counts.get("smembers") ?? 0) <= 2, "the backfill set is not polled every second");
  assert.equal(counts.get("zrangebyscore") ?? 0, 0, "no pause ends every second while none is due");
});

test("a backfill request is heard at once on its channel: started with the clock's timers frozen", async (t) => {
  const scope = testScope(t);
  const namespace = `idle${++n}`;
  const anchorAt = Date.now() + 7.5 * MINUTE;
  const config = parseConfig({
    namespace,
    adapter: "list",
    schedules: { report: { every: "15m", anchor: anchorAt, job: { class: "Report", queue: namespace } } },
  });
  // Fake time that never advances: no poll ever runs, so only the notification can start the backfill.
  const fake = new FakeClock(Date.now());
  const sink = new LogSink();
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url, clock: fake });
  scope.defer(async () => {
    const stopped = clock.stop();
    await fake.advance(MINUTE);
    await stopped;
  });
  await sink.waitFor((line) => line.msg === "leadership acquired");
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());
  const fromAt = anchorAt - 4 * 15 * MINUTE;
  const run = await client.backfill("report", { from: new Date(fromAt).toISOString(), to: new Date(fromAt + 30 * MINUTE - 1).toISOString() });
  assert.ok("id" in run);
  const deadline = Date.now() + 20 * SECOND;
  for (;;) {
    const jobs = await redis.lrange(`jobs:${namespace}`, 0, -1);
    if (jobs.length === 2) break;
    assert.ok(Date.now() < deadline, `${jobs.length} backfilled jobs after 20 s: the request was not heard`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
