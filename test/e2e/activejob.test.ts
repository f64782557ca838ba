/**
 * End to end with real Rails 6.1 ActiveJob on a real Sidekiq 6.4 (Debian's ruby-activejob and
 * ruby-sidekiq): the real `clock start` with `adapters.sidekiq.activeJob: true` against a throwaway
 * redis-server, and `sidekiq -r test/fixtures/activejob_app.rb` performing what it enqueued through
 * ActiveJob's JobWrapper into ApplicationJob subclasses — `queue_as`, positional arguments of every
 * JSON type (no GlobalID), keyword arguments (`options.kwargs`), a Symbol-keyed options Hash.
 * Every slot performed exactly once; the job's provider_job_id is the slot's jid, its job_id the
 * UUID the README derives from it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { hexJobId } from "../../src/adapters/ids.ts";
import { ACTIVE_JOB_WRAPPER } from "../../src/adapters/sidekiq.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import type { Json } from "../../src/schedule/schedule.ts";
import { assertConsecutive, firedLines, NAMESPACE, parseJson, pollUntil, sleep, startClockProcess } from "../helpers/fired.ts";
import { ROOT } from "../helpers/process.ts";
import { missingActiveJob, SYSTEM_SIDEKIQ } from "../helpers/ruby.ts";
import { testScope } from "../helpers/scope.ts";

const APP = join(ROOT, "test", "fixtures", "activejob_app.rb");
const PERFORMED = "aj:performed";
const NO_ACTIVE_JOB = missingActiveJob();

/** The README's rule: the jid's 24 hex digits then its first 8 again, as a version 4, variant 8 UUID. */
function activeJobIdOf(jid: string): string {
  const hex = jid + jid.slice(0, 8);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A JSON value as activejob_app.rb's `typed` records what Ruby holds: classes of values and keys spelled out. */
function rubyTyped(value: Json, keyClass: "String" | "Symbol" = "String"): unknown {
  if (Array.isArray(value)) return { Array: value.map((item) => rubyTyped(item)) };
  if (value === null) return { NilClass: null };
  if (typeof value === "object") return { Hash: Object.entries(value).map(([key, item]) => [keyClass, key, rubyTyped(item)]) };
  if (typeof value === "number") return { [Number.isInteger(value) ? "Integer" : "Float"]: value };
  if (typeof value === "boolean") return { [value ? "TrueClass" : "FalseClass"]: value };
  return { String: value };
}

const REPORT_ARGS: Json[] = [1, "x", 2.5, null, true, false, [1, [2, "é"]], { k: "v", n: { deep: [1, { z: null }] } }, 2 ** 40];
const KEYWORD_ARGS: Json[] = ["acct-1", { a: 1 }];
const KEYWORDS = { region: "uk", depth: { x: [1] } };

interface Expected {
  readonly class: string;
  readonly queue: string;
  readonly seen: Record<string, unknown>;
}

const EXPECTED: Record<string, Expected> = {
  report: { class: "ReportJob", queue: "aj_reports", seen: { args: rubyTyped(REPORT_ARGS) } },
  // Ruby 3 passes a Hash as keywords only when ActiveJob marked it _aj_ruby2_keywords: otherwise
  // `perform(account, options, region:)` raises "missing keyword: :region" and nothing is recorded.
  keywords: { class: "KeywordJob", queue: "aj_reports", seen: { args: rubyTyped(KEYWORD_ARGS), kwargs: rubyTyped(KEYWORDS, "Symbol") } },
  // No queue_as: ActiveJob's "default", the clock's default queue too.
  legacy: { class: "LegacyOptionsJob", queue: "default", seen: { options: rubyTyped({ region: "eu" }, "Symbol"), region: rubyTyped("eu") } },
};

test(
  "activejob: a real Rails 6.1 ActiveJob on Sidekiq 6.4 performs every fired slot exactly once, with its args, kwargs, queue_as and the slot's ids",
  { skip: NO_ACTIVE_JOB ?? false, timeout: 60 * SECOND },
  async (t) => {
    const startedAt = Date.now();
    const scope = testScope(t);
    const redis = await scope.redis();
    const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
    const configPath = scope.configFile({
      adapter: "sidekiq",
      adapters: { sidekiq: { activeJob: true } },
      schedules: {
        report: { every: "1s", job: { class: "ReportJob", args: REPORT_ARGS, queue: "aj_reports" } },
        keywords: { cron: "* * * * * *", job: { class: "KeywordJob", args: KEYWORD_ARGS, queue: "aj_reports", options: { kwargs: KEYWORDS } } },
        legacy: { every: "1s", job: { class: "LegacyOptionsJob", options: { kwargs: { region: "eu" } } } },
      },
    });

    // -t 2: Sidekiq's shutdown waits up to this long for busy threads; the test drains first anyway.
    const sidekiq = scope.spawn(SYSTEM_SIDEKIQ, ["-r", APP, "-q", "aj_reports", "-q", "default", "-c", "2", "-t", "2"], { name: "sidekiq", env: { REDIS_URL: redis.url } });
    const clock = startClockProcess(scope, "clock", configPath, redis.url);
    await clock.waitFor(() => Object.keys(EXPECTED).every((name) => firedLines(clock.lines, name).length >= 5), { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
    assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, `clock start exits 0 on SIGTERM\n${clock.tail()}`);

    const fired = firedLines(clock.lines);
    for (const entry of fired) assert.equal(entry.jobId, hexJobId(NAMESPACE, entry.schedule, entry.slotAt), `jid of ${entry.schedule}@${String(entry.line["slot"])}`);
    for (const name of Object.keys(EXPECTED))
      assertConsecutive(
        firedLines(clock.lines, name).map((entry) => entry.slotAt),
        SECOND,
        `fired slots of ${name}`,
      );

    const queued = async (): Promise<number> => (await client.llen("queue:aj_reports")) + (await client.llen("queue:default"));
    await pollUntil(
      "sidekiq performed every fired job",
      async () => (await client.llen(PERFORMED)) >= fired.length && (await queued()) === 0,
      20 * SECOND,
      async () => `performed ${await client.llen(PERFORMED)} of ${fired.length}, ${await queued()} still queued, retry set ${await client.zcard("retry")}\n${sidekiq.tail()}`,
    );
    // A duplicate still on its way would show up now, before sidekiq goes.
    await sleep(500);
    await sidekiq.stop("SIGTERM");

    const performed = (await client.lrange(PERFORMED, 0, -1)).map((text) => parseJson(text, PERFORMED));
    const jids = performed.map((entry) => entry["provider_job_id"]);
    assert.equal(new Set(jids).size, jids.length, `a job was performed twice: ${JSON.stringify(jids)}`);
    assert.deepEqual([...jids].sort(), fired.map((entry) => entry.jobId).sort(), "the jobs performed are exactly the slots fired");
    const firedByJid = new Map(fired.map((entry) => [entry.jobId, entry]));
    for (const entry of performed) {
      const slot = firedByJid.get(String(entry["provider_job_id"]));
      assert.ok(slot !== undefined);
      const want = EXPECTED[slot.schedule];
      assert.ok(want !== undefined, `unexpected schedule ${slot.schedule}`);
      const label = `${slot.schedule}@${new Date(slot.slotAt).toISOString()}`;
      assert.equal(entry["job_class"], want.class, `job_class of ${label}`);
      assert.equal(entry["wrapper"], ACTIVE_JOB_WRAPPER, `Sidekiq class of ${label}`);
      assert.equal(entry["wrapped"], want.class, `wrapped of ${label}`);
      assert.equal(entry["jid"], slot.jobId, `Sidekiq jid of ${label}`);
      assert.equal(entry["job_id"], activeJobIdOf(slot.jobId), `ActiveJob job_id of ${label}`);
      assert.equal(entry["queue_name"], want.queue, `queue_name of ${label}`);
      assert.equal(entry["queue_as"], want.queue, `the job class's queue_as of ${label}`);
      assert.equal(entry["executions"], 1, `executions of ${label}`);
      assert.equal(entry["locale"], "en");
      assert.equal(entry["timezone"], "UTC");
      assert.equal(entry["slotAt"], slot.slotAt, `clock.slotAt of ${label}`);
      const enqueuedAt = Date.parse(String(entry["enqueued_at"]));
      assert.ok(enqueuedAt >= slot.slotAt && enqueuedAt < slot.slotAt + 5 * SECOND, `enqueued_at of ${label}: ${String(entry["enqueued_at"])}`);
      assert.deepEqual(entry["seen"], want.seen, `what perform got, ${label}`);
    }
    assert.equal(new Set(performed.map((entry) => entry["job_id"])).size, performed.length, "one ActiveJob job_id per slot");
    assert.equal(await client.zcard("retry"), 0, "Sidekiq put jobs in its retry set (a job raised)");
    assert.equal(await client.zcard("dead"), 0, "Sidekiq put jobs in its dead set");
    assert.deepEqual((await client.smembers("queues")).sort(), ["aj_reports", "default"]);
    t.diagnostic(`activejob e2e: ${performed.length} jobs in ${Date.now() - startedAt} ms`);
  },
);
