/**
 * `durability: { replicas, timeoutMs }`: a WAIT pipelined right behind each fire batch on the same
 * connection; a batch fewer replicas acknowledged is reported (event, log line, metric, status and
 * health). Real redis-servers: a primary alone, and the same primary with a replica attached.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { buildAdapters } from "../src/adapters/index.ts";
import { parseConfig, startClock } from "../src/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { Firer, type Replication } from "../src/fire/fire.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import { LogSink } from "./helpers/logs.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

let primary: TestRedis;
let redis: ScriptedRedis;
let prefix = 0;

before(async () => {
  // Full syncs at once (a primary waits 5 s by default to batch replicas).
  primary = await startRedis(["--repl-diskless-sync-delay", "0"]);
  redis = withScripts(new Redis(primary.url));
});
after(async () => {
  redis.disconnect();
  await primary.close();
});

function setup(durability: { replicas: number; timeoutMs: number }, batchSize?: number) {
  const namespace = `d${++prefix}`;
  const keys = clockKeys(namespace);
  const adapters = buildAdapters(new Set(["list"]), {}, { namespace });
  const reports: Replication[] = [];
  const replicated: number[] = [];
  const firer = new Firer({
    redis,
    keys,
    adapters,
    token: () => "",
    now: () => Date.now(),
    durability,
    onUnreplicated: (report) => reports.push(report),
    onReplicated: (batches) => replicated.push(batches),
    ...(batchSize === undefined ? {} : { batchSize }),
  });
  const schedule = (name: string) =>
    parseSchedule(name, { every: "1s", adapter: "list", job: { class: "T", queue: `q${prefix}` } }, { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP });
  return { firer, schedule, reports, replicated };
}

/** The commands `run` sends to the primary, as MONITOR sees them (names only, lower case). */
async function monitored(run: () => Promise<void>): Promise<string[]> {
  const base = new Redis(primary.url);
  const monitor = await base.monitor();
  const commands: string[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => commands.push(String(args[0]).toLowerCase()));
  try {
    await run();
    await redis.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    monitor.disconnect();
    base.disconnect();
  }
  return commands;
}

test("a fire batch no replica acknowledged is reported once, then as 'again', and its end when a replica catches up", async () => {
  // Long enough for a replica's ACK on a busy machine (WAIT asks for it with REPLCONF GETACK).
  const { firer, schedule, reports, replicated } = setup({ replicas: 1, timeoutMs: 400 });
  const startedAt = Date.now();
  const [outcome] = await firer.fire([{ schedule: schedule("a"), slotAt: Date.now() - 5 }]);
  assert.equal(outcome?.status, "fired", "WAIT never holds a fire back: the job is in its queue");
  assert.ok(Date.now() - startedAt >= 390, "the WAIT waited its timeout for a replica that is not there");
  await firer.fire([
    { schedule: schedule("b"), slotAt: Date.now() - 5 },
    { schedule: schedule("c"), slotAt: Date.now() - 5 },
  ]);
  assert.deepEqual(reports, [
    { fires: 1, acknowledged: 0, wanted: 1, again: false },
    { fires: 2, acknowledged: 0, wanted: 1, again: true },
  ]);
  // A batch that advanced nothing (a duplicate) has nothing at risk: not reported.
  await firer.fire([{ schedule: schedule("a"), slotAt: 0 }]);
  assert.equal(reports.length, 2);

  const replica = await startRedis(["--replicaof", "127.0.0.1", String(primary.port)]);
  try {
    const link = new Redis(replica.url);
    const deadline = Date.now() + 10_000;
    while (!/master_link_status:up/.test(await link.info("replication"))) {
      assert.ok(Date.now() < deadline, "the replica synced within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    link.disconnect();
    // The first fire after the sync is acknowledged unless the replica's ACK is slow on a loaded
    // machine; then that batch is one more of the run ('again'), and the next one ends it.
    for (let attempt = 0; replicated.length === 0 && attempt < 10; attempt++) await firer.fire([{ schedule: schedule(`d${attempt}`), slotAt: Date.now() - 5 }]);
    assert.deepEqual(replicated, [reports.length], "the end of the run of unreplicated batches, with its length");
    assert.ok(reports.length >= 2 && reports.slice(1).every((report) => report.again), JSON.stringify(reports));
  } finally {
    await replica.close();
  }
});

test("WAIT follows a burst's batches on the same connection: one WAIT per fire, after the last script", async () => {
  const { firer, schedule } = setup({ replicas: 1, timeoutMs: 10 }, 2);
  const slotAt = Date.now() - 5;
  await firer.fire([{ schedule: schedule("warm"), slotAt }]); // loads the script, so the burst runs EVALSHA only
  const commands = await monitored(async () => {
    await firer.fire(["e", "f", "g", "h", "i"].map((name) => ({ schedule: schedule(name), slotAt })));
  });
  const relevant = commands.filter((command) => command === "evalsha" || command === "wait");
  assert.deepEqual(relevant, ["evalsha", "evalsha", "evalsha", "wait"]);
});

test("a script re-sent after NOSCRIPT (a primary fresh from a failover) is waited for again, behind it", async () => {
  const { firer, schedule, reports } = setup({ replicas: 1, timeoutMs: 10 });
  await redis.script("FLUSH");
  const commands = await monitored(async () => {
    await firer.fire([{ schedule: schedule("n"), slotAt: Date.now() - 5 }]);
  });
  const relevant = commands.filter((command) => ["evalsha", "eval", "wait"].includes(command));
  // EVALSHA (NOSCRIPT) and the first WAIT go out together; the script runs as EVAL after that
  // WAIT, so a second WAIT follows it: only that one speaks for the write.
  assert.deepEqual(relevant, ["evalsha", "wait", "eval", "wait"]);
  assert.equal(reports.at(-1)?.fires, 1);
});

test("a running clock with durability logs, counts and shows unreplicated fires (status, health, metrics)", async () => {
  const sink = new LogSink();
  const config = parseConfig({
    namespace: `run${++prefix}`,
    adapter: "list",
    durability: { replicas: 1, timeoutMs: 20 },
    schedules: { tick: { every: "1s", job: { class: "T" } } },
  });
  assert.deepEqual(config.durability, { replicas: 1, timeoutMs: 20 });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: primary.url });
  try {
    const first = await clock.events.next("fire:unreplicated", () => true, 5000);
    assert.equal(first.again, false);
    await clock.events.next("fire:unreplicated", () => true, 5000);
    const warned = await sink.waitFor((line) => line.msg === "fire batch not acknowledged by replicas: a failover now could roll these slots back", 1000);
    assert.deepEqual([warned["fires"], warned["acknowledged"], warned["wanted"]], [1, 0, 1]);
    await sink.waitFor((line) => line.msg === "fire batch again not acknowledged by replicas", 1000);
    const status = await clock.status();
    assert.ok(status.durability !== undefined && status.durability.unreplicatedFires >= 2);
    assert.ok(status.durability.lastUnreplicatedAt !== null && Date.now() - status.durability.lastUnreplicatedAt < 3000);
    assert.equal(status.durability.replicas, 1);
    const health = await clock.health();
    assert.equal(health.healthy, true, "unreplicated fires are a warning, not unhealthy");
    assert.deepEqual((health.body["durability"] as { replicas: number }).replicas, 1);
    const metrics = await clock.metrics.registry.metrics();
    assert.match(metrics, /^clock_unreplicated_fires_total [1-9]\d*$/m);
  } finally {
    await clock.stop();
  }
});

test("without durability nothing waits: no WAIT sent, no durability in status", async () => {
  const config = parseConfig({ namespace: `off${++prefix}`, adapter: "list", schedules: { tick: { every: "1s", job: { class: "T" } } } });
  assert.equal(config.durability, null);
  const sink = new LogSink();
  let clock: Awaited<ReturnType<typeof startClock>> | undefined;
  const commands = await monitored(async () => {
    clock = await startClock({ config, logger: sink.logger, redisUrl: primary.url });
    await clock.events.next("fire:fired", () => true, 5000);
  });
  try {
    assert.ok(commands.includes("evalsha") || commands.includes("eval"), "it fired");
    assert.ok(!commands.includes("wait"));
    assert.equal((await clock?.status())?.durability, undefined);
    assert.equal((await clock?.health())?.body["durability"], undefined);
  } finally {
    await clock?.stop();
  }
});

test("durability settings are checked at load: 1+ replicas, a timeout of 1..1000 ms (0 would block forever)", () => {
  assert.deepEqual(parseConfig({ durability: { replicas: 2 } }).durability, { replicas: 2, timeoutMs: 200 });
  for (const [durability, path, words] of [
    [{ replicas: 0 }, "durability.replicas", ""],
    [{ replicas: 1, timeoutMs: 0 }, "durability.timeoutMs", "would wait forever"],
    [{ replicas: 1, timeoutMs: 5000 }, "durability.timeoutMs", "lease renewals wait behind it"],
    [{ replicas: 1, extra: true }, "durability", ""],
  ] as const) {
    assert.throws(
      () => parseConfig({ durability }),
      (error: Error & { issues?: { path: string; message: string }[] }) => (error.issues ?? []).some((issue) => issue.path === path && issue.message.includes(words)),
      JSON.stringify(durability),
    );
  }
});
