import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { createClient, parseConfig, startClock, ConfigError, ClashError } from "../src/index.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { LogSink } from "./helpers/logs.ts";
import { runClock } from "./helpers/process.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;
let n = 0;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

async function clockWith(scope: Scope, namespace: string, schedules: Record<string, unknown> = {}) {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", schedules, lease: { ttl: "2s", retry: "200ms" } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  return { clock, sink, config };
}

async function queue(name: string): Promise<{ schedule: string; slotAt: number; args: unknown[]; manual?: boolean }[]> {
  return (await redis.lrange(`jobs:${name}`, 0, -1)).map((raw) => JSON.parse(raw) as { schedule: string; slotAt: number; args: unknown[] });
}

test("API round trip: set, get, list, pause, resume, remove; bad definitions are refused with every field path", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  const schedule = await client.schedules.set("report-42", { cron: "0 9 * * 1-5", timezone: "Europe/Paris", job: { class: "ReportJob", args: [42], queue: "reports" } });
  assert.equal(schedule.ruleText, 'cron "0 9 * * 1-5"');
  const got = await client.schedules.get("report-42");
  assert.equal(got?.source, "dynamic");
  assert.deepEqual(got?.schedule?.job.args, [42]);
  await client.schedules.pause("report-42");
  assert.equal((await client.schedules.get("report-42"))?.paused, true);
  await client.schedules.resume("report-42");
  assert.equal((await client.schedules.get("report-42"))?.paused, false);
  assert.deepEqual(
    (await client.schedules.list()).map((info) => info.name),
    ["report-42"],
  );
  await assert.rejects(client.schedules.set("bad", { every: "2 s", timezone: "Mars/Olympus", job: { class: "" } } as never), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues.map((issue) => issue.path).sort(), ["bad.every", "bad.job.class", "bad.timezone"]);
    return true;
  });
  await assert.rejects(client.schedules.set("bad name!", { every: "1m", job: { class: "X" } }), ConfigError);
  await assert.rejects(client.schedules.set("huge", { every: "1m", job: { class: "X", args: ["x".repeat(70_000)] } }), /limit/);
  await assert.rejects(client.schedules.pause("nope"), /not found/);
  assert.equal(await client.schedules.remove("report-42"), true);
  assert.equal(await client.schedules.remove("report-42"), false);
  assert.equal(await client.schedules.get("report-42"), null);
});

test("config schedules can be paused and triggered, not replaced or removed", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const config = parseConfig({ namespace, adapter: "list", schedules: { nightly: { cron: "0 3 * * *", job: { class: "Nightly", queue: `q-${namespace}` } } } });
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());
  await assert.rejects(client.schedules.set("nightly", { every: "1m", job: { class: "X" } }), ClashError);
  await assert.rejects(client.schedules.remove("nightly"), ClashError);
  await client.schedules.pause("nightly");
  assert.equal((await client.schedules.get("nightly"))?.paused, true);
  const result = await client.trigger("nightly", { args: ["by hand"] });
  const [job] = await queue(`q-${namespace}`);
  assert.equal(job?.manual, true);
  assert.deepEqual(job?.args, ["by hand"]);
  assert.match(result.jobId, /^clock-nightly-\d+-manual-[0-9a-f]{8}$/);
  await assert.rejects(client.trigger("nightly", { args: [Number.NaN] as never }), ConfigError);
});

test("a running clock picks up an added schedule within a second, and stops a removed one", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const { sink } = await clockWith(scope, namespace);
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  await client.schedules.set("live", { every: "1s", adapter: "list", job: { class: "Live", queue: `q-${namespace}` } });
  await sink.waitFor((line) => line.msg === "schedule change applied" && line["schedule"] === "live", 2000);
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "live", 3000);
  await client.schedules.remove("live");
  await sink.waitFor((line) => line.msg === "schedule change applied" && line["change"] === "remove", 2000);
  const count = sink.fired("live").length;
  await new Promise((resolve) => setTimeout(resolve, 2200));
  assert.ok(sink.fired("live").length <= count + 1, "at most a fire already in flight after removal");
  const jobs = await queue(`q-${namespace}`);
  assert.equal(new Set(jobs.map((job) => job.slotAt)).size, jobs.length, "no slot twice");
});

test("a corrupt entry in Redis is reported by name and skipped; every other schedule keeps firing", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const keys = clockKeys(namespace);
  await redis.hset(keys.schedules, {
    "not-json": "{oops",
    "old-version": JSON.stringify({ v: 0, definition: {} }),
    "bad-cron": JSON.stringify({ v: 1, definition: { cron: "99 * * * *", job: { class: "X" } } }),
    proto: '{"v":1,"definition":{"every":"1s","job":{"class":"X","args":[{"__proto__":{"polluted":true}}]}}}',
    huge: JSON.stringify({ v: 1, definition: { every: "1s", job: { class: "X", args: ["y".repeat(70_000)] } } }),
    good: JSON.stringify({ v: 1, definition: { every: "1s", adapter: "list", job: { class: "Good", queue: `q-${namespace}` } } }),
  });
  const { sink } = await clockWith(scope, namespace);
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "good", 3000);
  const invalid = sink.lines
    .filter((line) => line.msg.startsWith("invalid dynamic schedule"))
    .map((line) => line["schedule"])
    .sort();
  assert.deepEqual(invalid, ["bad-cron", "huge", "not-json", "old-version", "proto"]);
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  const status = await client.status();
  assert.equal(status.invalidEntries, 5);
  assert.equal(status.schedules.find((s) => s.name === "good")?.error, undefined);
});

test("concurrent writers: the last write wins, every change is applied, nothing is lost", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const clients = Array.from({ length: 4 }, () => createClient({ redis: server.url, namespace }));
  for (const client of clients) scope.defer(() => client.close());
  await Promise.all(
    clients.flatMap((client, c) => Array.from({ length: 25 }, (_, i) => client.schedules.set(`s-${c}-${i}`, { every: `${i + 1}m`, job: { class: "C", args: [c, i] } }))),
  );
  const names = (await clients[0]!.schedules.list()).map((info) => info.name);
  assert.equal(names.length, 100);
  assert.equal(Number(await redis.get(clockKeys(namespace).changes)), 100, "one change counted per write");
  await Promise.all(clients.map((client, c) => client.schedules.set("shared", { every: "1m", job: { class: "Shared", args: [c] } })));
  const shared = await clients[0]!.schedules.get("shared");
  assert.equal(shared?.schedule?.job.class, "Shared");
});

test("CLI: add, list, pause, trigger, remove, with exit codes 0 / 2 / 1", async () => {
  const namespace = `d${++n}`;
  const env = { REDIS_URL: server.url, CLOCK_NAMESPACE: namespace };
  const cli = (args: string[], input?: string) => runClock(args, { env, cwd: "/tmp", ...(input === undefined ? {} : { input }) });
  const added = await cli(["add", "--file", "-"], JSON.stringify({ name: "cli-1", every: "1h", adapter: "list", job: { class: "CliJob", queue: `q-${namespace}` } }));
  assert.equal(added.code, 0, added.stderr);
  const bad = await cli(["add", "--file", "-"], JSON.stringify({ name: "cli-2", every: "soon", job: {} }));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /cli-2\.every: invalid duration "soon"/);
  assert.match(bad.stderr, /cli-2\.job\.class/);
  const listed = await cli(["list", "--json"]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    (JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name),
    ["cli-1"],
  );
  assert.equal((await cli(["pause", "cli-1"])).code, 0);
  assert.equal((await cli(["pause", "ghost"])).code, 2);
  const triggered = await cli(["trigger", "cli-1", "--args", "[1,2]"]);
  assert.equal(triggered.code, 0, triggered.stderr);
  assert.deepEqual(
    (await queue(`q-${namespace}`)).map((job) => job.args),
    [[1, 2]],
  );
  assert.equal((await cli(["trigger", "cli-1", "--args", "{not json"])).code, 2);
  assert.equal((await cli(["remove", "cli-1"])).code, 0);
  assert.equal((await cli(["remove", "cli-1"])).code, 2);
  const down = await runClock(["list"], { env: { ...env, REDIS_URL: "redis://user:hunter2@127.0.0.1:1" }, cwd: "/tmp" });
  assert.equal(down.code, 1);
  assert.equal(down.stderr, "clock: cannot reach Redis at 127.0.0.1:1: connection refused\n");
  assert.ok(!down.stderr.includes("hunter2"), "never print the password");
});

test("an adapter of one's own, given in the config, writes inside the atomic fire script", async (t) => {
  const namespace = `d${++n}`;
  const sink = new LogSink();
  const stream = {
    name: "stream",
    writes: ({ job, jobId, slotAt }: { job: { class: string; queue: string }; jobId: string; slotAt: number }) => [
      { command: "XADD" as const, key: `events:${namespace}`, args: ["*", "id", jobId, "class", job.class, "slot", String(slotAt)] },
    ],
  };
  const config = parseConfig({ namespace, adapters: { stream }, schedules: { ping: { every: "1s", adapter: "stream", job: { class: "Ping" } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  testScope(t).defer(() => clock.stop());
  const fired = await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "ping", 4000);
  const entries = await redis.xrange(`events:${namespace}`, "-", "+");
  assert.equal(entries.length >= 1, true);
  const fields = entries[0]![1];
  assert.deepEqual(fields.slice(0, 4), ["id", fired["jobId"], "class", "Ping"]);
  assert.equal(await redis.hget(clockKeys(namespace).ledger, "ping"), fields[5]);
});

test("a schedule added while three clocks run fires exactly once per slot, by whichever leads", async (t) => {
  const scope = testScope(t);
  const namespace = `d${++n}`;
  const sinks: LogSink[] = [];
  for (let i = 0; i < 3; i++) {
    const sink = new LogSink();
    const config = parseConfig({ namespace, adapter: "list", schedules: {}, lease: { ttl: "2s", retry: "200ms" } });
    const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
    scope.defer(() => clock.stop());
    sinks.push(sink);
  }
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  await client.schedules.set("added-live", { every: "1s", adapter: "list", job: { class: "Added", queue: `q-${namespace}` } });
  await Promise.all(sinks.map((sink) => sink.waitFor((line) => line.msg === "schedule change applied" && line["schedule"] === "added-live", 3000)));
  await new Promise((resolve) => setTimeout(resolve, 3500));
  await client.schedules.remove("added-live");
  const jobs = (await queue(`q-${namespace}`)).map((job) => job.slotAt);
  assert.ok(jobs.length >= 2, `${jobs.length} fires`);
  assert.equal(new Set(jobs).size, jobs.length, "no slot twice");
  const sorted = [...jobs].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) assert.equal(sorted[i]! - sorted[i - 1]!, 1000, "no slot missed");
  const firers = sinks.filter((sink) => sink.fired("added-live").length > 0).length;
  assert.equal(firers, 1, "one leader fired them all");
});
