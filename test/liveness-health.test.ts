/**
 * Issue 11, item 5: health tells the truth. /healthz is 200 only while some process leads and
 * fires: the leader reports its last successful fire, a standby whether a leader's heartbeat still
 * moves; a corrupt lease key, a lease nobody live holds, and failing fires are 503 with the reason,
 * and 200 again after recovery. Real clocks (in this process) on a real redis-server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { addressOf, parseConfig, startClock, startHttpServer, systemClock, type RunningClock } from "../src/index.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { SECOND } from "../src/time.ts";
import { LogSink } from "./helpers/logs.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

let server: TestRedis;
let redis: Redis;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  redis.disconnect();
  await server.close();
});

interface Node {
  readonly clock: RunningClock;
  readonly sink: LogSink;
  readonly base: string;
}

/** TTL 2 s, retry 200 ms: "no leader for longer than TTL + retry" is 2.2 s. */
async function node(namespace: string): Promise<Node> {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", lease: { ttl: "2s", retry: "200ms" }, schedules: { tick: { every: "1s", job: { class: "Tick", queue: namespace } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  stops.push(() => clock.stop());
  const http = await startHttpServer(clock, { port: 0, clock: systemClock });
  return { clock, sink, base: addressOf(http) };
}

interface Health {
  readonly status: number;
  readonly body: { readonly reasons: string[]; readonly [field: string]: unknown };
}

async function health(base: string): Promise<Health> {
  const response = await fetch(`${base}/healthz`);
  return { status: response.status, body: (await response.json()) as Health["body"] };
}

/** Polls /healthz until `wanted` holds; fails with the last answer after `timeoutMs`. */
async function healthUntil(base: string, what: string, wanted: (answer: Health) => boolean, timeoutMs = 10 * SECOND): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await health(base);
    if (wanted(answer)) return answer;
    if (Date.now() > deadline) assert.fail(`${what}: /healthz after ${timeoutMs} ms: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ok = (answer: Health): boolean => answer.status === 200;
const unhealthyWith = (pattern: RegExp) => (answer: Health) => answer.status === 503 && answer.body.reasons.some((reason) => pattern.test(reason));

test("the lease key replaced by a hash: every clock's /healthz is 503 with the reason, the WRONGTYPE is logged, and 200 again once the key is gone", async () => {
  const namespace = "health-lease-hash";
  const keys = clockKeys(namespace);
  const leader = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "leadership acquired");
  const standby = await node(namespace);
  await healthUntil(leader.base, "the leader before", ok);
  await healthUntil(standby.base, "the standby before", ok);

  await redis.multi().del(keys.lease).hset(keys.lease, "hand", "edited").exec();
  for (const [name, clock] of [
    ["leader", leader],
    ["standby", standby],
  ] as const) {
    const answer = await healthUntil(clock.base, `the ${name} with a hash for a lease`, unhealthyWith(/^lease (renew|acquire) failing for \d+ ms: .*WRONGTYPE/));
    assert.match(String(answer.body["leaseError"]), /WRONGTYPE/);
    const logged = await clock.sink.waitFor((line) => line.msg === "lease operation failed; this process cannot lead while it goes on");
    assert.match(JSON.stringify(logged["err"]), /WRONGTYPE/, `${name}: ${JSON.stringify(logged)}`);
  }
  const after = await healthUntil(standby.base, "the standby, TTL + retry later", unhealthyWith(/^no clock process has led for \d+ ms/));
  assert.ok(after.body.reasons.length >= 2, JSON.stringify(after.body));

  await redis.del(keys.lease);
  await healthUntil(leader.base, "the first clock after the key is gone", ok);
  await healthUntil(standby.base, "the second clock after the key is gone", ok);
});

test("a lease that no live clock holds (a process that never heartbeats): /healthz is 503 once no one has led for longer than TTL + retry", async () => {
  const namespace = "health-leaderless";
  const keys = clockKeys(namespace);
  await redis.set(keys.lease, "elsewhere|1|0|zombie", "PX", 60 * SECOND);
  const startedAt = Date.now();
  const standby = await node(namespace);
  assert.equal((await health(standby.base)).status, 200, "a clock just started has not waited TTL + retry yet");
  const answer = await healthUntil(standby.base, "a standby with nobody leading", unhealthyWith(/^no clock process has led for \d+ ms \(no leader heartbeat moved\)$/));
  assert.ok(Date.now() - startedAt >= 2200, "not before TTL + retry");
  assert.equal(answer.body["role"], "standby");
  await redis.del(keys.lease);
  await healthUntil(standby.base, "once it leads", (next) => next.status === 200 && next.body["role"] === "leader");
});

test("the leader reports its last fire and a standby the leader's heartbeat; fires failing (the ledger replaced by a string) are 503 on both, and 200 again after", async () => {
  const namespace = "health-firing";
  const keys = clockKeys(namespace);
  const leader = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "leadership acquired");
  const standby = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "fired");
  const leaderHealth = await healthUntil(leader.base, "the leader", ok);
  assert.equal(leaderHealth.body["role"], "leader");
  assert.ok(typeof leaderHealth.body["lastFireMsAgo"] === "number" && leaderHealth.body["lastFireMsAgo"] < 3 * SECOND, JSON.stringify(leaderHealth.body));
  const standbyHealth = await healthUntil(standby.base, "the standby", (answer) => answer.status === 200 && (answer.body["leader"] as { alive?: boolean } | null)?.alive === true);
  const seen = standbyHealth.body["leader"] as { pid: number; heartbeatMsAgo: number; lastFireMsAgo: number | null };
  assert.equal(seen.pid, process.pid);
  assert.ok(seen.heartbeatMsAgo < 2200, JSON.stringify(seen));
  assert.ok(seen.lastFireMsAgo !== null && seen.lastFireMsAgo < 4 * SECOND, JSON.stringify(seen));

  await redis.multi().del(keys.ledger).set(keys.ledger, "corrupt").exec();
  await healthUntil(leader.base, "the leader whose fires fail", unhealthyWith(/^fires failing for \d+ ms: .*WRONGTYPE/));
  await healthUntil(standby.base, "a standby of a leader whose fires fail", unhealthyWith(/^the leader \(.+\/\d+\) reports its fires failing for \d+ ms$/));

  await redis.del(keys.ledger);
  await healthUntil(leader.base, "the leader after recovery", ok);
  await healthUntil(standby.base, "the standby after recovery", ok);
});
