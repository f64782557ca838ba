import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { holderOf } from "../src/lease/lease.ts";
import { RedisLease } from "../src/lease/redis-lease.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { systemClock, type Clock } from "../src/time.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
});

function connect(): Redis {
  return suite.client(server.url);
}

function lease(namespace: string, options: { ttlMs?: number; retryMs?: number; clock?: Clock } = {}) {
  const changes: boolean[] = [];
  const l = new RedisLease({
    redis: withScripts(connect()),
    subscriber: connect(),
    keys: clockKeys(namespace),
    clock: options.clock ?? systemClock,
    ttlMs: options.ttlMs ?? 2000,
    retryMs: options.retryMs ?? 5000,
  });
  l.onChange((leader) => changes.push(leader));
  return { lease: l, changes };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
}

test("exactly one of several processes leads; the lease key holds its token", async () => {
  const ns = `l${++n}`;
  const all = [lease(ns), lease(ns), lease(ns)];
  await Promise.all(all.map((entry) => entry.lease.start()));
  const leaders = all.filter((entry) => entry.lease.isLeader());
  assert.equal(leaders.length, 1);
  const value = await connect().get(clockKeys(ns).lease);
  assert.equal(value, leaders[0]?.lease.token());
  assert.equal(holderOf(value ?? "")?.pid, process.pid);
  for (const entry of all) await entry.lease.stop();
});

test("release on stop hands over at once: a standby with a long retry period takes over through the notification", async () => {
  const ns = `l${++n}`;
  const first = lease(ns, { retryMs: 60_000 });
  const second = lease(ns, { retryMs: 60_000 });
  await first.lease.start();
  await second.lease.start();
  assert.ok(first.lease.isLeader());
  assert.ok(!second.lease.isLeader());
  const stoppedAt = performance.now();
  await first.lease.stop();
  await until(() => second.lease.isLeader(), 2000);
  const handoverMs = performance.now() - stoppedAt;
  assert.ok(handoverMs < 1000, `handover took ${handoverMs} ms`);
  assert.deepEqual(first.changes, [true, false]);
  await second.lease.stop();
});

test("the leader renews before expiry and keeps the lease across several TTLs", async () => {
  const ns = `l${++n}`;
  const one = lease(ns, { ttlMs: 600 });
  await one.lease.start();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.ok(one.lease.isLeader());
  assert.deepEqual(one.changes, [true]);
  const pttl = await connect().pttl(clockKeys(ns).lease);
  assert.ok(pttl > 0 && pttl <= 600);
  await one.lease.stop();
});

test("a leader that lost the key (stolen or expired) steps down at its next renewal; renew never resurrects it", async () => {
  const ns = `l${++n}`;
  const one = lease(ns, { ttlMs: 1000 });
  await one.lease.start();
  await connect().set(clockKeys(ns).lease, "other|1|0|x", "PX", 5000);
  await until(() => !one.lease.isLeader(), 2000);
  assert.equal(await connect().get(clockKeys(ns).lease), "other|1|0|x");
  await one.lease.stop();
  assert.equal(await connect().get(clockKeys(ns).lease), "other|1|0|x", "release compares the token: it never deletes another's lease");
});

test("a leader that cannot reach Redis stops counting itself leader before its lease could expire (monotonic clock)", async () => {
  const ns = `l${++n}`;
  let frozenFor = 0;
  const clock: Clock = { ...systemClock, monotonic: () => performance.now() + frozenFor };
  const one = lease(ns, { ttlMs: 2000, clock });
  await one.lease.start();
  assert.ok(one.lease.isLeader());
  frozenFor = 1600; // as if the process had been paused: past ttl - safety margin
  assert.ok(!one.lease.isLeader(), "past ttl - margin on the monotonic clock: not leader, whatever Redis says");
  await one.lease.stop();
});

test("after a crash (no release) a standby takes over within TTL plus one retry period", async () => {
  const ns = `l${++n}`;
  const keys = clockKeys(ns);
  await connect().set(keys.lease, "crashed|1|0|x", "PX", 800);
  const standby = lease(ns, { retryMs: 200 });
  await standby.lease.start();
  assert.ok(!standby.lease.isLeader());
  const waited = await until(() => standby.lease.isLeader(), 3000);
  assert.ok(waited <= 800 + 200 + 500, `took ${waited} ms`);
  await standby.lease.stop();
});
