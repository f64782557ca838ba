/**
 * The exact text the adapters write, read back from a real redis-server: what a consumer parses,
 * not what JavaScript parses it into.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Redis, type RedisOptions } from "ioredis";
import { buildAdapters } from "../src/adapters/index.ts";
import { sidekiqAdapter } from "../src/adapters/sidekiq.ts";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule } from "../src/config/resolve.ts";
import { createClient } from "../src/client/client.ts";
import { Firer } from "../src/fire/fire.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: ScriptedRedis;
let n = 0;

before(async () => {
  server = await suite.redis();
  redis = withScripts(suite.client(server.url));
});

/** 2026-12-01T12:15:50.000Z: a whole second, the case JSON.stringify writes as an integer. */
const WHOLE_SECOND_AT = 1_796_165_750_000;

function context(namespace: string) {
  return { namespace, connect: (options: RedisOptions) => new Redis(server.url, options) };
}

function enqueueAt(enqueuedAt: number) {
  return { schedule: "nightly", slotAt: enqueuedAt, jobId: "0123456789abcdef01234567", job: { class: "NightlyJob", args: [1], queue: "default", options: {} }, enqueuedAt };
}

function payloadText(writes: readonly { command: string; args: readonly string[] }[]): string {
  const push = writes.find((write) => write.command === "LPUSH");
  assert.ok(push !== undefined, "the sidekiq adapter writes an LPUSH");
  return push.args[0] ?? "";
}

/** How Ruby's JSON (which Sidekiq.load_json is) types each timestamp: Sidekiq 8 reads Float as seconds, Integer as ms. */
function rubyTypes(text: string): string {
  const ruby = spawnSync("ruby", ["-rjson", "-e", 'j = JSON.parse(STDIN.read); print [j["created_at"].class, j["enqueued_at"].class].join(",")'], {
    input: text,
    encoding: "utf8",
  });
  assert.equal(ruby.error, undefined, "ruby is needed to read the payload as Sidekiq does (Debian: apt-get install ruby)");
  assert.equal(ruby.status, 0, ruby.stderr);
  return ruby.stdout;
}

test("a Sidekiq timestamp on a whole second is written with a decimal point, not as an integer Sidekiq 8 reads as ms", () => {
  const adapter = sidekiqAdapter({}, context("p-float"));
  const whole = payloadText(adapter.writes?.(enqueueAt(WHOLE_SECOND_AT)) ?? []);
  assert.match(whole, /"created_at":1796165750\.0[,}]/, whole);
  assert.match(whole, /"enqueued_at":1796165750\.0[,}]/, whole);
  assert.equal(rubyTypes(whole), "Float,Float");
  const withMillis = payloadText(adapter.writes?.(enqueueAt(WHOLE_SECOND_AT + 7)) ?? []);
  assert.match(withMillis, /"created_at":1796165750\.007[,}]/, withMillis);
  const parsed = JSON.parse(whole) as Record<string, unknown>;
  assert.equal(parsed["created_at"], 1_796_165_750);
  assert.equal(parsed["jid"], "0123456789abcdef01234567");
  assert.equal(parsed["class"], "NightlyJob");
});

test('timestamps: "millis" still writes integer milliseconds (Sidekiq 8\'s own format), also with the ActiveJob wrapper', () => {
  for (const activeJob of [false, true]) {
    const adapter = sidekiqAdapter({ timestamps: "millis", activeJob }, context("p-millis"));
    const text = payloadText(adapter.writes?.(enqueueAt(WHOLE_SECOND_AT)) ?? []);
    assert.match(text, /"created_at":1796165750000[,}]/, text);
    assert.match(text, /"enqueued_at":1796165750000[,}]/, text);
    assert.equal(rubyTypes(text), "Integer,Integer");
  }
});

test("through the fire script on a real redis-server: a write at a whole second lands as float seconds with a decimal point", async () => {
  const namespace = `p${++n}`;
  // The payload's time is the clock's own (the Firer's `now`), not Redis TIME: pin it to a whole second.
  const enqueuedAt = Math.floor(Date.now() / 1000) * 1000 - 2000;
  const firer = new Firer({ redis, keys: clockKeys(namespace), adapters: buildAdapters(new Set(["sidekiq"]), {}, context(namespace)), token: () => "", now: () => enqueuedAt });
  const queue = `q-${namespace}`;
  const schedule = parseSchedule(
    "whole",
    { every: "1s", adapter: "sidekiq", job: { class: "WholeJob", queue } },
    { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP },
  );
  const [outcome] = await firer.fire([{ schedule, slotAt: enqueuedAt }]);
  assert.equal(outcome?.status, "fired");
  const text = (await redis.lindex(`queue:${queue}`, 0)) ?? "";
  const seconds = enqueuedAt / 1000;
  assert.ok(text.includes(`"created_at":${seconds}.0,`) || text.includes(`"created_at":${seconds}.0}`), text);
  assert.ok(text.includes(`"enqueued_at":${seconds}.0`), text);
  assert.equal(rubyTypes(text), "Float,Float");
});

test("a Resque trigger: the id returned is the one in the payload, and the payload is marked manual", async () => {
  const namespace = `p${++n}`;
  const queue = `rq-${namespace}`;
  const config = parseConfig({ namespace, adapter: "resque", schedules: { "resque-report": { cron: "0 9 * * *", job: { class: "ReportJob", args: [7], queue } } } });
  const client = createClient({ redis: server.url, config });
  try {
    const result = await client.trigger("resque-report", { args: [8] });
    const items = await redis.lrange(`resque:queue:${queue}`, 0, -1);
    assert.equal(items.length, 1);
    const payload = JSON.parse(items[0] ?? "{}") as { class: string; args: unknown[]; id: string; clock: Record<string, unknown> };
    assert.equal(payload.id, result.jobId, "the id the trigger reports is the payload's");
    assert.match(result.jobId, /^clock-resque-report-\d+-manual-[0-9a-f]{8}$/);
    assert.equal(payload.clock["manual"], true);
    assert.equal(payload.class, "ReportJob");
    assert.deepEqual(payload.args, [8]);
    // A scheduled fire keeps its slot-derived id and no manual mark.
    const firer = new Firer({ redis, keys: clockKeys(namespace), adapters: buildAdapters(new Set(["resque"]), {}, context(namespace)), token: () => "", now: () => Date.now() });
    const [schedule] = config.schedules;
    assert.ok(schedule !== undefined);
    const slotAt = Date.now() - 1000;
    await firer.fire([{ schedule, slotAt }]);
    const scheduled = JSON.parse((await redis.lindex(`resque:queue:${queue}`, -1)) ?? "{}") as { id: string; clock: Record<string, unknown> };
    assert.equal(scheduled.id, `clock-resque-report-${slotAt}`);
    assert.equal("manual" in scheduled.clock, false);
  } finally {
    await client.close();
  }
});

test("a list trigger: the id returned is the message's id, and the message is marked manual", async () => {
  const namespace = `p${++n}`;
  const queue = `lq-${namespace}`;
  const config = parseConfig({ namespace, adapter: "list", schedules: { ping: { every: "1h", job: { class: "PingJob", queue } } } });
  const client = createClient({ redis: server.url, config });
  try {
    const result = await client.trigger("ping");
    const message = JSON.parse((await redis.lindex(`jobs:${queue}`, 0)) ?? "{}") as { id: string; manual?: boolean };
    assert.equal(message.id, result.jobId);
    assert.equal(message.manual, true);
  } finally {
    await client.close();
  }
});
