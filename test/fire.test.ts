import { before, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { buildAdapters } from "../src/adapters/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { Firer, type FireRequest } from "../src/fire/fire.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: ScriptedRedis;
let prefix = 0;

before(async () => {
  server = await suite.redis();
  redis = withScripts(suite.client(server.url));
});

function setup(adapter = "sidekiq", settings: Record<string, Record<string, unknown>> = {}) {
  const namespace = `t${++prefix}`;
  const keys = clockKeys(namespace);
  const adapters = buildAdapters(new Set([adapter]), settings, { namespace, connect: (options) => new Redis(server.url, options) });
  let token = "";
  const firer = new Firer({ redis, keys, adapters, token: () => token, now: () => Date.now() });
  const schedule = (name: string, job: Record<string, unknown> = {}): Schedule =>
    parseSchedule(
      name,
      { every: "1s", adapter, job: { class: "ReportJob", args: [1, { a: "b" }], queue: `q${prefix}`, ...job } },
      { timezone: "UTC", adapter, catchUp: DEFAULT_CATCH_UP },
    );
  return { namespace, keys, firer, schedule, setToken: (value: string) => (token = value), queue: `q${prefix}` };
}

test("fires a slot once: the ledger refuses it the second time, atomically with the push", async () => {
  const { firer, schedule, keys, queue } = setup();
  const slotAt = Date.now() - 10;
  const request: FireRequest = { schedule: schedule("nightly"), slotAt };
  const [first] = await firer.fire([request]);
  const [second] = await firer.fire([request]);
  assert.equal(first?.status, "fired");
  assert.equal(second?.status, "duplicate");
  assert.equal(await redis.llen(`queue:${queue}`), 1);
  assert.equal(await redis.hget(keys.ledger, "nightly"), String(slotAt));
  const [older] = await firer.fire([{ schedule: schedule("nightly"), slotAt: slotAt - 1000 }]);
  assert.equal(older?.status, "duplicate", "the ledger is monotonic: an older slot never fires after a newer one");
});

test("writes exactly Sidekiq's layout: SADD queues, LPUSH queue:NAME, payload with jid and float timestamps", async () => {
  const { firer, schedule, queue } = setup();
  const slotAt = Date.parse("2026-01-01T09:00:00Z");
  const [outcome] = await firer.fire([{ schedule: schedule("report", { options: { retry: 3, tags: ["daily"] } }), slotAt }]);
  assert.equal(outcome?.status, "fired");
  assert.ok((await redis.smembers("queues")).includes(queue));
  const payload = JSON.parse((await redis.lindex(`queue:${queue}`, 0)) ?? "{}") as Record<string, unknown>;
  assert.equal(payload["class"], "ReportJob");
  assert.deepEqual(payload["args"], [1, { a: "b" }]);
  assert.equal(payload["queue"], queue);
  assert.equal(payload["retry"], 3);
  assert.deepEqual(payload["tags"], ["daily"]);
  assert.match(String(payload["jid"]), /^[0-9a-f]{24}$/);
  assert.equal(payload["jid"], outcome?.jobId);
  assert.equal(typeof payload["created_at"], "number");
  assert.ok(Math.abs((payload["enqueued_at"] as number) - Date.now() / 1000) < 60, "float seconds, as Sidekiq <= 7 writes");
  assert.deepEqual(payload["clock"], { schedule: "report", slot: "2026-01-01T09:00:00.000Z", slotAt });
});

test("the job id is derived from the slot, never from the time of the write", async () => {
  const a = setup();
  const b = setup();
  const slotAt = Date.parse("2026-01-01T09:00:00Z");
  const idA = a.firer.jobIdFor({ schedule: a.schedule("x"), slotAt });
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(a.firer.jobIdFor({ schedule: a.schedule("x"), slotAt }), idA);
  assert.notEqual(a.firer.jobIdFor({ schedule: a.schedule("x"), slotAt: slotAt + 1000 }), idA);
  assert.notEqual(b.firer.jobIdFor({ schedule: b.schedule("x"), slotAt }), idA, "the namespace is part of the id");
});

test("Sidekiq 8 timestamps, a redis-namespace prefix and the ActiveJob wrapper", async () => {
  const { firer, schedule, queue } = setup("sidekiq", { sidekiq: { namespace: "myapp", timestamps: "millis", activeJob: true } });
  await firer.fire([{ schedule: schedule("aj", { args: [7, { region: "uk" }] }), slotAt: Date.now() - 5 }]);
  assert.ok((await redis.smembers("myapp:queues")).includes(queue));
  const payload = JSON.parse((await redis.lindex(`myapp:queue:${queue}`, 0)) ?? "{}") as Record<string, unknown>;
  assert.equal(payload["class"], "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper");
  assert.equal(payload["wrapped"], "ReportJob");
  assert.ok(Number.isInteger(payload["created_at"]) && (payload["created_at"] as number) > 1e12, "integer milliseconds");
  const [serialized] = payload["args"] as Record<string, unknown>[];
  assert.equal(serialized?.["job_class"], "ReportJob");
  assert.equal(serialized?.["queue_name"], queue);
  assert.deepEqual(serialized?.["arguments"], [7, { region: "uk", _aj_symbol_keys: [] }]);
  assert.match(String(serialized?.["job_id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("Resque: SADD resque:queues, RPUSH resque:queue:NAME with class and args; namespace configurable", async () => {
  const { firer, schedule, queue } = setup("resque", { resque: { namespace: "rq" } });
  const slotAt = Date.now() - 5;
  await firer.fire([
    { schedule: schedule("r1"), slotAt },
    { schedule: schedule("r2"), slotAt },
  ]);
  assert.ok((await redis.smembers("rq:queues")).includes(queue));
  const items = (await redis.lrange(`rq:queue:${queue}`, 0, -1)).map((raw) => JSON.parse(raw) as Record<string, unknown>);
  assert.deepEqual(
    items.map((item) => [item["class"], item["args"]]),
    [
      ["ReportJob", [1, { a: "b" }]],
      ["ReportJob", [1, { a: "b" }]],
    ],
  );
  assert.deepEqual(
    items.map((item) => (item["clock"] as { schedule: string }).schedule),
    ["r1", "r2"],
    "RPUSH keeps FIFO order",
  );
});

test("list adapter: plain JSON on a named key", async () => {
  const { firer, schedule, queue } = setup("list", { list: { key: "custom:{queue}" } });
  const slotAt = Date.parse("2026-01-01T00:00:00Z");
  await firer.fire([{ schedule: schedule("l"), slotAt }]);
  const message = JSON.parse((await redis.lindex(`custom:${queue}`, 0)) ?? "{}") as Record<string, unknown>;
  assert.equal(message["id"], `clock-l-${slotAt}`);
  assert.equal(message["slot"], "2026-01-01T00:00:00.000Z");
  assert.equal(message["class"], "ReportJob");
});

test("fencing: a caller whose token is not the lease's is refused, nothing is written, refusals are counted", async () => {
  const { firer, schedule, keys, setToken, queue } = setup();
  await redis.set(keys.lease, "someone-else", "PX", 10_000);
  setToken("me");
  const outcomes = await firer.fire([
    { schedule: schedule("a"), slotAt: Date.now() - 5 },
    { schedule: schedule("b"), slotAt: Date.now() - 5 },
  ]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["fenced", "fenced"],
  );
  assert.equal(await redis.llen(`queue:${queue}`), 0);
  assert.equal(await redis.hlen(keys.ledger), 0);
  assert.equal(await redis.hget(keys.stats, "fenceRefusals"), "2");
  await redis.set(keys.lease, "me", "PX", 10_000);
  const [ok] = await firer.fire([{ schedule: schedule("a"), slotAt: Date.now() - 5 }]);
  assert.equal(ok?.status, "fired");
});

test("a slot is never written before its instant by Redis time", async () => {
  const { firer, schedule, queue } = setup();
  const [outcome] = await firer.fire([{ schedule: schedule("future"), slotAt: Date.now() + 60_000 }]);
  assert.equal(outcome?.status, "early");
  assert.equal(await redis.llen(`queue:${queue}`), 0);
});

test("a burst of 3,000 slots goes out in a few pipelined script calls, each slot once", async () => {
  const { firer, schedule, queue } = setup();
  const slotAt = Date.now() - 5;
  const requests = Array.from({ length: 3000 }, (_, i) => ({ schedule: schedule(`tenant-${i}`), slotAt }));
  const scriptCalls = async () => {
    const stats = await redis.info("commandstats");
    return ["evalsha", "eval"].reduce((sum, name) => sum + Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0), 0);
  };
  const before = await scriptCalls();
  const outcomes = await firer.fire(requests);
  const afterCount = await scriptCalls();
  assert.equal(outcomes.filter((outcome) => outcome.status === "fired").length, 3000);
  assert.equal(await redis.llen(`queue:${queue}`), 3000);
  // 3,000 / 500 per script = 6 script calls (and at most as many EVALs after a NOSCRIPT).
  assert.ok(afterCount - before <= 12, `${afterCount - before} script calls for 3,000 slots`);
  const again = await firer.fire(requests);
  assert.ok(again.every((outcome) => outcome.status === "duplicate"));
});

test("manual triggers bypass the ledger and carry their own job id", async () => {
  const { firer, schedule, keys, queue } = setup();
  const s = schedule("m");
  const outcomes = await firer.fire([
    { schedule: s, slotAt: Date.now(), manual: { jobId: "aaaaaaaaaaaaaaaaaaaaaaa1" } },
    { schedule: s, slotAt: Date.now(), manual: { jobId: "aaaaaaaaaaaaaaaaaaaaaaa2", args: ["now"] } },
  ]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["fired", "fired"],
  );
  assert.equal(await redis.hlen(keys.ledger), 0);
  const payloads = (await redis.lrange(`queue:${queue}`, 0, -1)).map((raw) => JSON.parse(raw) as { jid: string; args: unknown[] });
  assert.deepEqual(payloads.map((p) => p.jid).sort(), ["aaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaa2"]);
  assert.deepEqual(payloads.find((p) => p.jid.endsWith("2"))?.args, ["now"]);
});

test("enqueue adapters: the outbox keeps a job whose enqueue failed, and a drain re-runs it", async () => {
  const namespace = `t${++prefix}`;
  const keys = clockKeys(namespace);
  let failing = true;
  const enqueued: string[] = [];
  const adapters = new Map([
    [
      "custom",
      {
        name: "custom",
        async enqueue(e: { jobId: string }) {
          if (failing) throw new Error("queue down");
          enqueued.push(e.jobId);
        },
      },
    ],
  ]);
  const errors: string[] = [];
  const firer = new Firer({ redis, keys, adapters, token: () => "", now: () => Date.now(), onEnqueueError: (_o, error) => errors.push(error.message) });
  const s = parseSchedule("ext", { every: "1s", adapter: "custom", job: { class: "X" } }, { timezone: "UTC", adapter: "custom", catchUp: DEFAULT_CATCH_UP });
  const slotAt = Date.now() - 5;
  const [outcome] = await firer.fire([{ schedule: s, slotAt }]);
  assert.equal(outcome?.status, "outboxed", "the ledger advanced, but the job is not in its queue");
  assert.deepEqual(errors, ["queue down"]);
  assert.equal(await redis.hlen(keys.outbox), 1);
  failing = false;
  await redis.hset(keys.outbox, "garbage\u00001", "{not json");
  const corrupt: string[] = [];
  assert.equal(await firer.drainOutbox((field) => corrupt.push(field)), 1);
  assert.deepEqual(enqueued, [`clock-ext-${slotAt}`]);
  assert.deepEqual(corrupt, ["garbage\u00001"]);
  assert.equal(await redis.hlen(keys.outbox), 0);
});
