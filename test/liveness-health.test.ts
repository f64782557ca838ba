/**
 * Issue 11, item 5: health tells the truth. /healthz is 200 only while some process leads and
 * fires: the leader reports its last successful fire, a standby whether a leader's heartbeat still
 * moves; a lease nobody live holds and failing fires are 503 with the reason, and 200 again after
 * recovery; a corrupt lease or ledger key is moved aside by the clock, which goes on firing. Real clocks (in this process) on a real redis-server.
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

test("the lease key replaced by a hash: the clock that acquires next moves it aside (logged), leads, fires go on, and /healthz is 200", async () => {
  const namespace = "health-lease-hash";
  const keys = clockKeys(namespace);
  const leader = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "leadership acquired");
  const standby = await node(namespace);
  await healthUntil(leader.base, "the leader before", ok);
  await healthUntil(standby.base, "the standby before", ok);

  await redis.multi().del(keys.lease).hset(keys.lease, "hand", "edited").exec();
  const repaired = (line: { msg: string; [field: string]: unknown }): boolean => line.msg.startsWith("corrupt key moved aside") && line["key"] === keys.lease;
  const moved = await Promise.any([leader.sink.waitFor(repaired, 10 * SECOND), standby.sink.waitFor(repaired, 10 * SECOND)]);
  assert.equal(moved["level"], 50, "logged as an error");
  assert.deepEqual(await redis.hgetall(`${keys.lease}:corrupt`), { hand: "edited" }, "what the key held is kept aside");
  assert.equal(await redis.type(keys.lease), "string", "a lease token again");
  const firedBefore = (await redis.llen(`jobs:${namespace}`)) + 0;
  await healthUntil(leader.base, "the first clock after the repair", ok);
  await healthUntil(standby.base, "the second clock after the repair", ok);
  await new Promise((resolve) => setTimeout(resolve, 2 * SECOND));
  assert.ok((await redis.llen(`jobs:${namespace}`)) > firedBefore, "fires go on after the repair");
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

test("the leader reports its last fire and a standby the leader's heartbeat; fires failing (the queue key of the wrong type) are 503 on both and 200 again after; the ledger of the wrong type is moved aside and fires go on", async () => {
  const namespace = "health-firing";
  const keys = clockKeys(namespace);
  const leader = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "leadership acquired");
  const standby = await node(namespace);
  await leader.sink.waitFor((line) => line.msg === "fired");
  const leaderHealth = await healthUntil(leader.base, "the leader", ok);
  assert.equal(leaderHealth.body["role"], "leader");
  assert.ok(typeof leaderHealth.body["lastFireMsAgo"] === "number" && leaderHealth.body["lastFireMsAgo"] < 3 * SECOND, JSON.stringify(leaderHealth.body));
  // Until the standby has read a heartbeat written after the first fire (one comes every TTL/3).
  const standbyHealth = await healthUntil(standby.base, "the standby", (answer) => {
    const heard = answer.body["leader"] as { alive?: boolean; lastFireMsAgo?: number | null } | null;
    return answer.status === 200 && heard?.alive === true && heard.lastFireMsAgo !== null;
  });
  const seen = standbyHealth.body["leader"] as { pid: number; heartbeatMsAgo: number; lastFireMsAgo: number | null };
  assert.equal(seen.pid, process.pid);
  assert.ok(seen.heartbeatMsAgo < 2200, JSON.stringify(seen));
  assert.ok(seen.lastFireMsAgo !== null && seen.lastFireMsAgo < 4 * SECOND, JSON.stringify(seen));

  // A key the clock does not own (the queue) of the wrong type: the clock never touches it, its fires fail, and both clocks say so.
  await redis.multi().del(`jobs:${namespace}`).set(`jobs:${namespace}`, "not a list").exec();
  await healthUntil(leader.base, "the leader whose fires fail", unhealthyWith(/^fires failing for \d+ ms: .*WRONGTYPE/));
  await healthUntil(standby.base, "a standby of a leader whose fires fail", unhealthyWith(/^the leader \(.+\/\d+\) reports its fires failing for \d+ ms$/));
  assert.equal(await redis.get(`jobs:${namespace}`), "not a list", "a key that is not the clock's is left alone");
  await redis.del(`jobs:${namespace}`);
  await healthUntil(leader.base, "the leader after recovery", ok);
  await healthUntil(standby.base, "the standby after recovery", ok);

  // The clock's own ledger of the wrong type: the leader moves it aside and fires go on.
  await redis.multi().del(keys.ledger).set(keys.ledger, "corrupt").exec();
  const moved = await leader.sink.waitFor((line) => line.msg.startsWith("corrupt key moved aside") && line["key"] === keys.ledger, 10 * SECOND);
  assert.equal(moved["found"], "string");
  assert.equal(await redis.get(`${keys.ledger}:corrupt`), "corrupt", "what the key held is kept aside");
  await leader.sink.waitFor((line) => line.msg.startsWith("ledger reset: Redis lost data?"), 10 * SECOND);
  await healthUntil(leader.base, "the leader after the repair", ok);
  await leader.sink.waitFor((line) => line.msg === "fired", 10 * SECOND, leader.sink.lines.length);
  assert.equal(await redis.type(keys.ledger), "hash", "the ledger is written afresh by the next fire");
});
