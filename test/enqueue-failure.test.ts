/**
 * An enqueue-style adapter (BullMQ, or one's own with `enqueue`) whose enqueue fails: the slot is
 * recorded and kept in the outbox, but nobody is told it fired; a trigger says it enqueued nothing.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import type { Adapter, Enqueue } from "../src/adapters/types.ts";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule } from "../src/config/resolve.ts";
import { Firer, type FireOutcome } from "../src/fire/fire.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import { createClient, startClock, TriggerError } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: ScriptedRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
  redis = withScripts(suite.client(server.url));
});

/** An adapter whose enqueue fails while `failing` is set, and records the jobs it did enqueue. */
function flakyAdapter() {
  const state = { failing: true, enqueued: [] as string[] };
  const adapter: Adapter = {
    name: "flaky",
    async enqueue(enqueue: Enqueue) {
      if (state.failing) throw new Error("flaky queue is down");
      state.enqueued.push(enqueue.jobId);
    },
  };
  return { adapter, state };
}

test("a scheduled slot whose enqueue fails is outboxed, not fired; a trigger whose enqueue fails is an error and keeps nothing", async () => {
  const namespace = `ef${++n}`;
  const keys = clockKeys(namespace);
  const { adapter, state } = flakyAdapter();
  const reported: FireOutcome[] = [];
  const firer = new Firer({ redis, keys, adapters: new Map([["flaky", adapter]]), token: () => "", now: () => Date.now(), onEnqueueError: (outcome) => reported.push(outcome) });
  const schedule = parseSchedule("ext", { every: "1s", adapter: "flaky", job: { class: "X" } }, { timezone: "UTC", adapter: "flaky", catchUp: DEFAULT_CATCH_UP });
  const slotAt = Date.now() - 5;
  const [scheduled] = await firer.fire([{ schedule, slotAt }]);
  assert.equal(scheduled?.status, "outboxed");
  assert.equal(scheduled.error?.message, "flaky queue is down");
  assert.deepEqual(
    reported.map((outcome) => outcome.status),
    ["outboxed"],
  );
  assert.equal(await redis.hget(keys.ledger, "ext"), String(slotAt), "the ledger advanced: the slot is not fired again");
  assert.equal(await redis.hlen(keys.outbox), 1, "the outbox keeps the job for the drain");

  const [manual] = await firer.fire([{ schedule, slotAt: Date.now(), manual: { jobId: "clock-ext-manual-1" } }]);
  assert.equal(manual?.status, "error");
  assert.equal(manual.error?.message, "flaky queue is down");
  assert.equal(await redis.hlen(keys.outbox), 1, "a failed trigger leaves no outbox entry of its own");
  assert.equal(reported.length, 1, "onEnqueueError speaks of the outbox: scheduled fires only");

  state.failing = false;
  const [retried] = await firer.fire([{ schedule, slotAt: Date.now(), manual: { jobId: "clock-ext-manual-2" } }]);
  assert.equal(retried?.status, "fired");
  assert.equal(await firer.drainOutbox(() => undefined), 1);
  assert.deepEqual(state.enqueued, ["clock-ext-manual-2", `clock-ext-${slotAt}`]);
  assert.equal(await redis.hlen(keys.outbox), 0);
});

test("at the slot: a failed enqueue is logged as such and never as fired; the next slot that enqueues is", async (t) => {
  const scope = testScope(t);
  const namespace = `ef${++n}`;
  const { adapter, state } = flakyAdapter();
  const config = parseConfig({ namespace, adapter: "flaky", adapters: { flaky: adapter }, schedules: { pulse: { every: "1s", job: { class: "PulseJob" } } } });
  const sink = new LogSink();
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  const refused: FireOutcome[] = [];
  clock.events.on("fire:refused", ({ outcome }) => refused.push(outcome));
  scope.defer(() => clock.stop());
  const failed = await sink.waitFor((line) => line.msg === "enqueue failed after the ledger advanced; kept in the outbox for retry" && line["schedule"] === "pulse");
  state.failing = false;
  // One fire at a time: once a later slot fired, the failed slot's outcome was handled.
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "pulse" && line["jobId"] !== failed["jobId"]);
  assert.deepEqual(
    sink.fired("pulse").filter((line) => line["jobId"] === failed["jobId"]),
    [],
    `"fired" was logged for ${String(failed["jobId"])}, which is not in its queue`,
  );
  assert.ok(
    refused.some((outcome) => outcome.status === "outboxed" && outcome.jobId === failed["jobId"]),
    "the failed slot is reported as outboxed",
  );
  for (const line of sink.fired("pulse")) assert.ok(state.enqueued.includes(String(line["jobId"])), `${String(line["jobId"])} logged as fired but never enqueued`);
});

test("createClient().trigger throws TriggerError when the adapter enqueued nothing", async (t) => {
  const scope = testScope(t);
  const namespace = `ef${++n}`;
  const { adapter } = flakyAdapter();
  const config = parseConfig({ namespace, adapter: "flaky", adapters: { flaky: adapter }, schedules: { pulse: { every: "1h", job: { class: "PulseJob" } } } });
  const client = createClient({ redis: server.url, config, adapters: { flaky: adapter } });
  scope.defer(() => client.close());
  await assert.rejects(client.trigger("pulse"), (error: unknown) => {
    assert.ok(error instanceof TriggerError, String(error));
    assert.equal(error.message, 'trigger of "pulse" was not enqueued: flaky queue is down');
    return true;
  });
});
