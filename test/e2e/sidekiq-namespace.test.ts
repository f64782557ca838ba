/**
 * End to end with redis-namespace: the real `clock start` with `adapters.sidekiq.namespace`
 * against a throwaway redis-server, and a real Sidekiq 6.4 configured with
 * `redis: { namespace: "myapp" }` (Debian's ruby-redis-namespace 1.9) performing what it enqueued.
 * Every slot performed exactly once, and nothing Sidekiq-shaped outside the namespace: a clock
 * that ignored the setting would write `queue:e2e`, which this Sidekiq never reads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { hexJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, firedLines, NAMESPACE, parseJson, pollUntil, sleep, startClockProcess } from "../helpers/fired.ts";
import { ROOT } from "../helpers/process.ts";
import { missingRedisNamespace, SYSTEM_SIDEKIQ } from "../helpers/ruby.ts";
import { testScope } from "../helpers/scope.ts";

const WORKER = join(ROOT, "test", "fixtures", "sidekiq_namespace_worker.rb");
const SIDEKIQ_NAMESPACE = "myapp";
const QUEUE = "e2e";
/** sidekiq_worker.rb's list, written through Sidekiq's (namespaced) connection. */
const PERFORMED = `${SIDEKIQ_NAMESPACE}:e2e:performed`;
const NO_NAMESPACE = missingRedisNamespace();

test(
  "sidekiq namespace: Sidekiq 6.4 on redis-namespace 1.9 performs every slot written with adapters.sidekiq.namespace exactly once",
  { skip: NO_NAMESPACE ?? false, timeout: 60 * SECOND },
  async (t) => {
    const startedAt = Date.now();
    const scope = testScope(t);
    const redis = await scope.redis();
    const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
    const configPath = scope.configFile({
      adapter: "sidekiq",
      adapters: { sidekiq: { namespace: SIDEKIQ_NAMESPACE } },
      schedules: {
        tick: { every: "1s", job: { class: "TickJob", args: [1, "x"], queue: QUEUE } },
        "cron-tick": { cron: "* * * * * *", job: { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }], queue: QUEUE } },
      },
    });
    const expected: Record<string, { class: string; args: unknown[] }> = {
      tick: { class: "TickJob", args: [1, "x"] },
      "cron-tick": { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }] },
    };

    const sidekiq = scope.spawn(SYSTEM_SIDEKIQ, ["-r", WORKER, "-q", QUEUE, "-c", "2", "-t", "2"], { name: "sidekiq", env: { REDIS_URL: redis.url, SIDEKIQ_NAMESPACE } });
    const clock = startClockProcess(scope, "clock", configPath, redis.url);
    await clock.waitFor(() => Object.keys(expected).every((name) => firedLines(clock.lines, name).length >= 5), { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
    assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, `clock start exits 0 on SIGTERM\n${clock.tail()}`);

    const fired = firedLines(clock.lines);
    for (const entry of fired) assert.equal(entry.jobId, hexJobId(NAMESPACE, entry.schedule, entry.slotAt), `jid of ${entry.schedule}@${String(entry.line["slot"])}`);
    for (const name of Object.keys(expected))
      assertConsecutive(
        firedLines(clock.lines, name).map((entry) => entry.slotAt),
        SECOND,
        `fired slots of ${name}`,
      );

    const queueKey = `${SIDEKIQ_NAMESPACE}:queue:${QUEUE}`;
    await pollUntil(
      `sidekiq drained ${queueKey}`,
      async () => (await client.llen(PERFORMED)) >= fired.length && (await client.llen(queueKey)) === 0,
      20 * SECOND,
      async () =>
        `performed ${await client.llen(PERFORMED)} of ${fired.length}, ${queueKey} holds ${await client.llen(queueKey)}, keys ${JSON.stringify((await client.keys("*")).sort())}\n${sidekiq.tail()}`,
    );
    // Sidekiq's own heartbeat is namespaced too: the process set it registers in while it runs.
    assert.equal(await client.scard(`${SIDEKIQ_NAMESPACE}:processes`), 1, `Sidekiq's process is not registered under ${SIDEKIQ_NAMESPACE}:processes`);
    // A duplicate still on its way would show up now, before sidekiq goes.
    await sleep(500);
    await sidekiq.stop("SIGTERM");

    const performed = (await client.lrange(PERFORMED, 0, -1)).map((text) => parseJson(text, PERFORMED));
    const jids = performed.map((entry) => entry["jid"]);
    assert.equal(new Set(jids).size, jids.length, `a jid was performed twice: ${JSON.stringify(jids)}`);
    assert.deepEqual([...jids].sort(), fired.map((entry) => entry.jobId).sort(), "the jobs performed are exactly the slots fired");
    const firedByJid = new Map(fired.map((entry) => [entry.jobId, entry]));
    for (const entry of performed) {
      const slot = firedByJid.get(String(entry["jid"]));
      assert.ok(slot !== undefined);
      const want = expected[slot.schedule];
      assert.ok(want !== undefined, `unexpected schedule ${slot.schedule}`);
      assert.equal(entry["class"], want.class, `class of jid ${slot.jobId}`);
      assert.deepEqual(entry["args"], want.args, `args of jid ${slot.jobId}`);
      assert.equal(entry["slotAt"], slot.slotAt, `clock.slotAt of jid ${slot.jobId}`);
      assert.equal(entry["queue"], QUEUE);
    }
    assert.deepEqual(await client.smembers(`${SIDEKIQ_NAMESPACE}:queues`), [QUEUE]);
    assert.equal(await client.zcard(`${SIDEKIQ_NAMESPACE}:retry`), 0, "Sidekiq put jobs in its retry set (a job raised)");
    assert.equal(await client.zcard(`${SIDEKIQ_NAMESPACE}:dead`), 0, "Sidekiq put jobs in its dead set");
    // The clock's own keys are under its hash tag, `{clock}:` (src/redis/keys.ts).
    const outside = (await client.keys("*")).filter((key) => !key.startsWith(`${SIDEKIQ_NAMESPACE}:`) && !key.startsWith(`{${NAMESPACE}}:`));
    assert.deepEqual(outside.sort(), [], "keys outside the Sidekiq namespace and the clock's own");
    t.diagnostic(`sidekiq namespace e2e: ${performed.length} jobs in ${Date.now() - startedAt} ms`);
  },
);
