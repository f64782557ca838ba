import { before, test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, parseConfig, startClock, systemClock, type Clock } from "../src/index.ts";
import { DEFER_FROM_SCHEDULES } from "../src/daemon/first-fire.ts";
import { pollUntil } from "./helpers/fired.ts";
import { LogSink } from "./helpers/logs.ts";
import { runClock } from "./helpers/process.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;

before(async () => {
  server = await suite.redis();
});

test("a local clock that differs from Redis TIME is warned about at start", async (t) => {
  const sink = new LogSink();
  const ahead: Clock = { ...systemClock, now: () => Date.now() + 3000 };
  const config = parseConfig({ namespace: "skew", adapter: "list", schedules: { tick: { every: "1h", job: { class: "T" } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url, clock: ahead });
  testScope(t).defer(() => clock.stop());
  const line = await sink.waitFor((entry) => entry.msg.startsWith("this host's clock differs from Redis TIME"), 3000);
  assert.ok(Math.abs((line["skewMs"] as number) - 3000) < 500, `skew ${String(line["skewMs"])}`);
});

test("a fresh clock on a ledger rewound to -5 catches up nothing from before the deployment's first start", async (t) => {
  const scope = testScope(t);
  const redis = scope.client(server.url);
  const [seconds] = await redis.time();
  // This deployment began 3 s ago; someone rewound the ledger to 1970.
  await redis.hset("{rewound}:stats", "since", String(Number(seconds) * 1000 - 3000));
  await redis.hset("{rewound}:ledger", "tick", "-5");
  const sink = new LogSink();
  const config = parseConfig({
    namespace: "rewound",
    adapter: "list",
    schedules: { tick: { every: "1s", catchUp: { policy: "all", window: "1h", max: 100 }, job: { class: "T", queue: "rewound" } } },
  });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((entry) => entry.msg === "fired", 5000);
  const fired = await redis.llen("jobs:rewound");
  assert.ok(fired >= 1 && fired <= 5, `${fired} slots fired: catch-up reached before the deployment began`);
});

test("clock start --dry-run needs no Redis, logs the exact writes at the right time, and exits 0 on SIGTERM", async (t) => {
  const scope = testScope(t);
  const path = scope.configFile({ schedules: { tick: { every: "1s", adapter: "resque", job: { class: "TickJob", args: [7] } } } });
  const proc = scope.clock(["start", "--dry-run", "--config", path], { env: { REDIS_URL: "redis://127.0.0.1:1" } });
  const { line: fired } = await proc.waitFor((line) => line.msg === "fired", { what: "a dry-run fire", timeoutMs: 5000 });
  const wouldEnqueue = proc.linesOf("dry run: would enqueue")[0];
  const writes = wouldEnqueue?.["writes"] as string[];
  assert.equal(writes[0], "SADD resque:queues default");
  assert.match(writes[1] ?? "", /^RPUSH resque:queue:default \{"class":"TickJob","args":\[7\]/);
  assert.ok((fired["lagMs"] as number) >= 0, "never before the slot");
  assert.equal((await proc.stop("SIGTERM")).code, 0, proc.tail());
});

test("clock status shows the leader (never the token), the processes and each schedule's last and next slot", async (t) => {
  const scope = testScope(t);
  const path = scope.configFile({
    namespace: "st",
    adapter: "list",
    schedules: { tick: { every: "1s", job: { class: "T" } }, nightly: { cron: "0 3 * * *", job: { class: "N" } } },
  });
  const sink = new LogSink();
  const { config } = await loadConfig(path);
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "fired", 3000);
  const env = { REDIS_URL: server.url };
  const json = await runClock(["status", "--json", "--config", path], { env });
  assert.equal(json.code, 0, json.stderr);
  const status = JSON.parse(json.stdout) as {
    leader: { pid: number; ttlMs: number };
    peers: { role: string }[];
    schedules: { name: string; lastFiredAt: number | null; nextAt: number | null }[];
  };
  assert.equal(status.leader.pid, process.pid);
  assert.ok(status.leader.ttlMs > 0);
  assert.deepEqual(
    status.peers.map((peer) => peer.role),
    ["leader"],
  );
  const tick = status.schedules.find((s) => s.name === "tick");
  assert.ok(tick?.lastFiredAt !== null && tick?.nextAt !== null && (tick?.nextAt ?? 0) > (tick?.lastFiredAt ?? 0));
  assert.equal(status.schedules.find((s) => s.name === "nightly")?.lastFiredAt, null);
  const text = await runClock(["status", "--config", path], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^leader: {4}\S+ pid \d+, since .*, lease \d+\.\d s left$/m);
  const lease = (await scope.client(server.url).get("{st}:lease")) ?? "";
  assert.ok(!text.stdout.includes(lease.split("|").at(-1) ?? "???") && !json.stdout.includes(lease.split("|").at(-1) ?? "???"), "the token's random part is never shown");
});

test("a config of 10,000 schedules or more publishes its snapshot and fingerprint after the first fire, not on the way to it", async (t) => {
  const scope = testScope(t);
  const redis = scope.client(server.url);
  const schedules: Record<string, unknown> = { tick: { every: "1s", job: { class: "T", queue: "deferred" } } };
  for (let i = 0; i < DEFER_FROM_SCHEDULES; i++) schedules[`tenant-${i}:report`] = { cron: `${i % 60} 3 * * *`, timezone: "Europe/Berlin", job: { class: "Report", args: [i] } };
  const sink = new LogSink();
  const config = parseConfig({ namespace: "deferred", adapter: "list", schedules });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  // Not assert.equal: a failure would diff the whole snapshot (megabytes) against null.
  assert.ok((await redis.get("{deferred}:config")) === null, "no snapshot yet when startClock returns");
  await pollUntil("the config snapshot is published", async () => (await redis.get("{deferred}:config")) !== null, 20_000);
  assert.ok(
    sink.lines.some((line) => line.msg === "fired"),
    "the first fire went before the snapshot",
  );
  const snapshot = JSON.parse((await redis.get("{deferred}:config")) ?? "{}") as { schedules: unknown[] };
  assert.equal(snapshot.schedules.length, DEFER_FROM_SCHEDULES + 1);
  await pollUntil(
    "the heartbeat carries the config fingerprint",
    async () => Object.values(await redis.hgetall("{deferred}:peers")).some((record) => /"config":"[0-9a-f]{16}"/.test(record)),
    20_000,
  );
});
