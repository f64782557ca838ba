/**
 * One contract, every implementation of Leadership: what the planner relies on holds for the test
 * double (AlwaysLeader) exactly as for the Redis lease, so tests that use the double mean something.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { AlwaysLeader, type Leadership } from "../src/lease/lease.ts";
import { RedisLease } from "../src/lease/redis-lease.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { systemClock } from "../src/time.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
});

const implementations: Record<string, () => Leadership> = {
  AlwaysLeader: () => new AlwaysLeader(),
  RedisLease: () =>
    new RedisLease({
      redis: withScripts(suite.client(server.url)),
      subscriber: suite.client(server.url),
      keys: clockKeys(`contract-${++n}`),
      clock: systemClock,
      ttlMs: 2000,
      retryMs: 200,
    }),
};

for (const [name, make] of Object.entries(implementations)) {
  describe(`Leadership contract: ${name}`, () => {
    test("not leader before start; leader after start, told once through onChange", async () => {
      const leadership = make();
      const changes: boolean[] = [];
      leadership.onChange((leading) => changes.push(leading));
      assert.equal(leadership.isLeader(), false);
      await leadership.start();
      for (let waited = 0; !leadership.isLeader() && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(leadership.isLeader(), true);
      assert.deepEqual(changes, [true]);
      await leadership.stop();
    });

    test("the token is stable while leading (the fire script fences with it)", async () => {
      const leadership = make();
      await leadership.start();
      for (let waited = 0; !leadership.isLeader() && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      const token = leadership.token();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(leadership.token(), token);
      await leadership.stop();
    });

    test("stop gives leadership up, says so, and a second stop is harmless", async () => {
      const leadership = make();
      const changes: boolean[] = [];
      leadership.onChange((leading) => changes.push(leading));
      await leadership.start();
      for (let waited = 0; !leadership.isLeader() && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      await leadership.stop();
      assert.equal(leadership.isLeader(), false);
      await leadership.stop();
      assert.deepEqual(changes, [true, false]);
    });
  });
}
