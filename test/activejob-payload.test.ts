/**
 * The `activeJob: true` Sidekiq payload against ActiveJob 6.1's own: Debian's ruby-activejob calls
 * `perform_later` (test/fixtures/activejob_app.rb enqueue) on a throwaway redis-server, and what
 * its Sidekiq adapter pushed is the reference for what the clock writes for the same job —
 * `arguments` exactly, keyword arguments included. test/e2e/activejob.test.ts has Sidekiq perform it.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { sidekiqAdapter } from "../src/adapters/sidekiq.ts";
import { ConfigError, formatIssue } from "../src/errors.ts";
import { parseConfig } from "../src/config/resolve.ts";
import type { Json } from "../src/schedule/schedule.ts";
import { ROOT, childEnv } from "./helpers/process.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { missingActiveJob, SYSTEM_RUBY } from "./helpers/ruby.ts";
import { suiteScope } from "./helpers/scope.ts";

const APP = join(ROOT, "test", "fixtures", "activejob_app.rb");
const NO_ACTIVE_JOB = missingActiveJob();
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const suite = suiteScope();
let server: TestRedis;

before(async () => {
  if (NO_ACTIVE_JOB === null) server = await suite.redis();
});

interface Case {
  readonly class: string;
  /** The queue the job class's `queue_as` names: the clock's job.queue must be the same. */
  readonly queue: string;
  readonly args: Json[];
  readonly kwargs: Record<string, Json>;
}

const CASES: Case[] = [
  { class: "ReportJob", queue: "aj_reports", args: [1, "x", 2.5, null, true, false, [1, [2, "é"]], { k: "v", n: { deep: [1, { z: null }] } }, 2 ** 40], kwargs: {} },
  { class: "KeywordJob", queue: "aj_reports", args: ["acct-1", { a: 1 }], kwargs: { region: "uk", depth: { x: [1] } } },
  { class: "LegacyOptionsJob", queue: "default", args: [], kwargs: { region: "eu" } },
];

/** What ActiveJob's own `perform_later` pushed for each case, in order. */
function activeJobPayloads(): Record<string, unknown>[] {
  const run = spawnSync(SYSTEM_RUBY, [APP, "enqueue"], { input: JSON.stringify(CASES), encoding: "utf8", env: childEnv({ REDIS_URL: server.url }) });
  assert.equal(run.error, undefined);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>[];
}

function clockPayload(item: Case): Record<string, unknown> {
  const adapter = sidekiqAdapter({ activeJob: true }, { namespace: "aj" });
  const enqueue = {
    schedule: "aj",
    slotAt: Date.parse("2026-12-01T12:00:00Z"),
    jobId: "0f8a60a3174a93b9c6d13efc",
    job: { class: item.class, args: item.args, queue: item.queue, options: Object.keys(item.kwargs).length === 0 ? {} : { kwargs: item.kwargs } },
    enqueuedAt: Date.parse("2026-12-01T12:00:00.004Z"),
  };
  const push = adapter.writes?.(enqueue).find((write) => write.command === "LPUSH");
  assert.ok(push !== undefined);
  return JSON.parse(push.args[0] ?? "") as Record<string, unknown>;
}

function serializedJob(payload: Record<string, unknown>): Record<string, unknown> {
  const args = payload["args"];
  assert.ok(Array.isArray(args) && args.length === 1, `args is [serialized job]: ${JSON.stringify(payload)}`);
  return args[0] as Record<string, unknown>;
}

test("activeJob: the clock writes the payload ActiveJob 6.1's own perform_later pushes, arguments and keyword arguments exactly", { skip: NO_ACTIVE_JOB ?? false }, async () => {
  const { Redis } = await import("ioredis");
  const client = new Redis(server.url);
  try {
    const jids = activeJobPayloads();
    const pushed = new Map<string, Record<string, unknown>>();
    for (const queue of ["aj_reports", "default"]) {
      for (const text of await client.lrange(`queue:${queue}`, 0, -1)) {
        const payload = JSON.parse(text) as Record<string, unknown>;
        pushed.set(String(payload["jid"]), payload);
      }
    }
    for (const [i, item] of CASES.entries()) {
      const real = pushed.get(String(jids[i]));
      assert.ok(real !== undefined, `ActiveJob's push for ${item.class}`);
      const ours = clockPayload(item);
      const label = `${item.class}(${JSON.stringify(item.args)}, ${JSON.stringify(item.kwargs)})`;

      // The Sidekiq envelope: the same fields, plus the clock's stamp.
      assert.deepEqual(
        Object.keys(ours).filter((key) => !(key in real)),
        ["clock"],
        `${label}: fields the clock adds`,
      );
      assert.deepEqual(
        Object.keys(real).filter((key) => !(key in ours)),
        [],
        `${label}: fields the clock leaves out`,
      );
      for (const key of ["class", "wrapped", "queue", "retry"]) assert.deepEqual(ours[key], real[key], `${label}: ${key}`);
      assert.match(String(ours["jid"]), /^[0-9a-f]{24}$/);
      for (const key of ["created_at", "enqueued_at"]) assert.ok(typeof ours[key] === "number" && typeof real[key] === "number", `${label}: ${key} in float seconds`);

      // The serialized job.
      const ourJob = serializedJob(ours);
      const realJob = serializedJob(real);
      assert.deepEqual(ourJob["arguments"], realJob["arguments"], `${label}: arguments`);
      for (const key of ["job_class", "provider_job_id", "queue_name", "priority", "executions", "exception_executions", "locale"]) {
        assert.deepEqual(ourJob[key], realJob[key], `${label}: ${key}`);
      }
      // ActiveJob 6.1 neither writes nor reads scheduled_at: the clock's null is ignored.
      assert.deepEqual(
        Object.keys(ourJob).filter((key) => !(key in realJob)),
        ["scheduled_at"],
        `${label}: serialized fields the clock adds`,
      );
      assert.deepEqual(
        Object.keys(realJob).filter((key) => !(key in ourJob)),
        [],
        `${label}: serialized fields the clock leaves out`,
      );
      assert.equal(ourJob["scheduled_at"], null);
      // Without Rails Time.zone is nil; a Rails app's is config.time_zone, "UTC" unless set, which the clock writes.
      assert.equal(realJob["timezone"], null);
      assert.equal(ourJob["timezone"], "UTC");
      assert.match(String(ourJob["job_id"]), UUID_V4);
      assert.match(String(realJob["job_id"]), UUID_V4);
      for (const job of [ourJob, realJob]) assert.ok(Number.isFinite(Date.parse(String(job["enqueued_at"]))), `${label}: enqueued_at ISO 8601`);
    }
  } finally {
    client.disconnect();
  }
});

test("activeJob: kwargs are written as ActiveJob's last Hash marked _aj_ruby2_keywords, after the positional args; none without kwargs", () => {
  const withKwargs = serializedJob(clockPayload({ class: "K", queue: "q", args: [1, { a: "b" }], kwargs: { region: "uk", n: { m: 1 } } }));
  assert.deepEqual(withKwargs["arguments"], [1, { a: "b", _aj_symbol_keys: [] }, { region: "uk", n: { m: 1, _aj_symbol_keys: [] }, _aj_ruby2_keywords: ["region", "n"] }]);
  const without = serializedJob(clockPayload({ class: "K", queue: "q", args: [1], kwargs: {} }));
  assert.deepEqual(without["arguments"], [1]);
});

function configIssues(job: Record<string, unknown>, settings: Record<string, unknown> = {}): string[] {
  try {
    parseConfig({ adapters: { sidekiq: settings }, schedules: { s: { every: "1m", adapter: "sidekiq", job: { class: "C", ...job } } } });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatIssue);
    throw error;
  }
  return [];
}

test("kwargs on a plain Sidekiq job is refused at load: Sidekiq's perform takes positional args only", () => {
  assert.deepEqual(configIssues({ options: { kwargs: { a: 1 } } }), [
    "schedules.s.job.options.kwargs: keyword arguments need activeJob: true (a plain Sidekiq job's perform takes positional args only)",
  ]);
  assert.deepEqual(configIssues({ options: { kwargs: { a: 1 }, activeJob: true } }), []);
  assert.deepEqual(configIssues({ options: { kwargs: { a: 1 } } }, { activeJob: true }), [], "the adapter default activeJob: true allows kwargs");
  assert.deepEqual(configIssues({ options: { kwargs: [1], activeJob: true } }), ["schedules.s.job.options.kwargs: invalid value [1]"]);
});

test("an ActiveJob argument holding a key ActiveJob reserves (_aj_serialized, ...) is refused at load, not failed on every retry", () => {
  assert.deepEqual(configIssues({ args: [1, { ok: [{ _aj_serialized: "X" }] }], options: { activeJob: true } }), [
    "schedules.s.job.options.activeJob: job.args[1].ok[0]._aj_serialized is a key ActiveJob reserves for its own serialization (its serializer refuses it)",
  ]);
  assert.deepEqual(configIssues({ options: { activeJob: true, kwargs: { _aj_globalid: "gid://app/User/1" } } }), [
    "schedules.s.job.options.kwargs: kwargs._aj_globalid is a key ActiveJob reserves for its own serialization (its serializer refuses it)",
  ]);
  assert.deepEqual(configIssues({ args: [{ _aj_serialized: "X" }] }), [], "a plain Sidekiq job's args are its own");
});
