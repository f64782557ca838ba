/**
 * Two clocks, one namespace, different configs: the one that does not lead says so (log, /healthz,
 * clock status), and keeps running (a rolling deploy differs for a while). Real redis-server, two
 * clocks in this process, the public API only.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock, type RunningClock } from "../../src/index.ts";
import { LogSink, type LogLine } from "../helpers/logs.ts";
import { runClock } from "../helpers/process.ts";
import type { TestRedis } from "../helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "../helpers/scope.ts";

const CHECK_MS = 150;
const MISMATCH = "config differs from the leader's";
const suite = suiteScope();
let server: TestRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
});

async function start(scope: Scope, namespace: string, schedules: Record<string, unknown>, timezone = "UTC"): Promise<{ clock: RunningClock; sink: LogSink; base: string }> {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", timezone, schedules, lease: { ttl: "2s", retry: "200ms" } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url, configCheckMs: CHECK_MS });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired" || line.msg === "clock started");
  const http = await startHttpServer(clock, { port: 0, clock: systemClock });
  return { clock, sink, base: addressOf(http) };
}

const job = (cls: string) => ({ class: cls, queue: "q" });
const isMismatch = (line: LogLine) => line.msg.startsWith(MISMATCH);
const healthz = async (base: string) => {
  const response = await fetch(`${base}/healthz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

test("a standby whose config differs from the leader's logs an error naming both fingerprints and the schedules that differ; /healthz (still 200) and clock status show it", async (t) => {
  const scope = testScope(t);
  const namespace = `m${++n}`;
  const a = await start(scope, namespace, { tick: { every: "1h", job: job("Tick") }, nightly: { cron: "0 3 * * *", job: job("Nightly") } });
  await a.sink.waitFor((line) => line.msg === "leadership acquired");
  const b = await start(scope, namespace, { tick: { every: "2h", job: job("Tick") }, "only-b": { cron: "0 4 * * *", job: job("OnlyB") } });
  const error = await b.sink.waitFor(isMismatch, 5000);
  assert.equal(error["level"], 50, "an error, not a warning");
  const mine = String(error["fingerprint"]);
  const theirs = String(error["leaderFingerprint"]);
  assert.match(mine, /^[0-9a-f]{16}$/);
  assert.match(theirs, /^[0-9a-f]{16}$/);
  assert.notEqual(mine, theirs);
  assert.deepEqual({ added: error["added"], removed: error["removed"], changed: error["changed"] }, { added: ["only-b"], removed: ["nightly"], changed: ["tick"] });
  // Every check period, not once: a deploy left half-done keeps saying so.
  await b.sink.waitFor(isMismatch, 5000, b.sink.lines.indexOf(error) + 1);
  assert.equal(a.sink.lines.filter(isMismatch).length, 0, "the leader's config is the one that fires");

  const standbyHealth = await healthz(b.base);
  assert.equal(standbyHealth.status, 200, "a mismatch warns; it does not fail the probe");
  assert.equal(standbyHealth.body["status"], "ok");
  assert.equal(standbyHealth.body["configFingerprint"], mine);
  assert.deepEqual((standbyHealth.body["configMismatch"] as Record<string, unknown>)["leaderFingerprint"], theirs);
  assert.equal((standbyHealth.body["warnings"] as string[]).length, 1);
  assert.match((standbyHealth.body["warnings"] as string[])[0] ?? "", new RegExp(`${mine}.*${theirs}`));
  const leaderHealth = await healthz(a.base);
  assert.equal(leaderHealth.body["configMismatch"], null);
  assert.equal(leaderHealth.body["configFingerprint"], theirs);

  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  const status = await client.status();
  assert.deepEqual(status.configMismatch?.leader, theirs);
  assert.deepEqual(
    status.configMismatch?.peers.map((peer) => [peer.role, peer.config]),
    [["standby", mine]],
  );
  assert.deepEqual(new Set(status.peers.map((peer) => peer.config)), new Set([mine, theirs]));
  const env = { REDIS_URL: server.url, CLOCK_NAMESPACE: namespace };
  const json = await runClock(["status", "--json"], { env, cwd: "/tmp" });
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { configMismatch: { leader: string } }).configMismatch.leader, theirs);
  const text = await runClock(["status"], { env, cwd: "/tmp" });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^config: +DIFFERS from the leader's ${theirs}: .*\\(standby\\) runs ${mine}`, "m"));

  // The rolling deploy ends: the old leader stops, the standby leads, and the warning clears.
  const mark = b.sink.lines.length;
  await a.clock.stop();
  await b.sink.waitFor((line) => line.msg === "leadership acquired", 5000, mark);
  await b.sink.waitFor((line) => line.msg.startsWith("this clock leads now"), 5000, mark);
  assert.equal((await healthz(b.base)).body["configMismatch"], null);
});

test("clocks with the same config (keys in another order) stay quiet; a changed default zone is a difference", async (t) => {
  const scope = testScope(t);
  const namespace = `m${++n}`;
  const a = await start(scope, namespace, { tick: { every: "1h", job: job("Tick") }, nightly: { cron: "0 3 * * *", job: { queue: "q", class: "Nightly" } } });
  await a.sink.waitFor((line) => line.msg === "leadership acquired");
  const b = await start(scope, namespace, { nightly: { job: { class: "Nightly", queue: "q" }, cron: "0 3 * * *" }, tick: { job: job("Tick"), every: "1h" } });
  const first = await b.sink.waitFor((line) => line.msg === "config check: matches the leader's", 5000);
  await b.sink.waitFor((line) => line.msg === "config check: matches the leader's", 5000, b.sink.lines.indexOf(first) + 1);
  assert.equal(b.sink.lines.filter(isMismatch).length, 0);
  assert.equal((await healthz(b.base)).body["configMismatch"], null);
  assert.deepEqual((await healthz(b.base)).body["warnings"], []);
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => client.close());
  assert.equal((await client.status()).configMismatch, null);
  // Same schedules, another default zone: what they fire at differs.
  const c = await start(scope, namespace, { tick: { every: "1h", job: job("Tick") }, nightly: { cron: "0 3 * * *", job: job("Nightly") } }, "Europe/Paris");
  const error = await c.sink.waitFor(isMismatch, 5000);
  assert.deepEqual(error["changed"], ["nightly", "tick"]);
  assert.equal(error["settingsDiffer"], true);
});
