/**
 * End to end with a real RQ: Debian's `rq worker` (RQ 1.13) on a throwaway redis-server performs
 * every slot a real `clock start` fires with the rq adapter, each exactly once, with the job's args
 * and kwargs, the slot's job id, and the options it was given, plus a `clock trigger` with its own
 * args and id — once with RQ's default (pickle)
 * serializer and a stock `rq worker`, once with `serializer: "json"` and a worker started with
 * `--serializer rq.serializers.JSONSerializer`. The job records what it saw on a Redis list.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { rqJobId } from "../../src/adapters/rq.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { runClock } from "../helpers/process.ts";
import { missingPythonPackage } from "../helpers/python.ts";
import { assertConsecutive, firedLines, LINE_TIMEOUT_MS, pollUntil } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

/** Debian's entry point: its shebang is Debian's Python, never a pyenv one on PATH. */
const RQ_CLI = "/usr/bin/rq";
const NO_RQ = missingPythonPackage("rq", "python3-rq") ?? (existsSync(RQ_CLI) ? null : `${RQ_CLI} is missing: apt-get install python3-rq`);
const PERFORMED = "e2e:performed";

/** The job module the worker imports (`-P dir`): functions that record what RQ gave them. */
const TASKS = `
import json
import os

import redis
from rq import get_current_job

performed = redis.Redis.from_url(os.environ["CLOCK_E2E_REDIS"])


def record(args, kwargs):
    job = get_current_job()
    performed.rpush("${PERFORMED}", json.dumps({
        "func": job.func_name,
        "id": job.id,
        "args": list(args),
        "args_type": type(job.args).__name__,
        "kwargs": kwargs,
        "clock": job.meta.get("clock"),
        "origin": job.origin,
        "description": job.description,
        "timeout": job.timeout,
        "result_ttl": job.result_ttl,
        "failure_ttl": job.failure_ttl,
        "enqueued_at": job.enqueued_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if job.enqueued_at else None,
    }))
    return "done"


def report(*args, **kwargs):
    return record(args, kwargs)


def nightly(*args, **kwargs):
    return record(args, kwargs)
`;

interface Expected {
  readonly func: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly queue: string;
  readonly description: string;
  readonly timeout: number;
  readonly result_ttl: number | null;
  readonly failure_ttl: number | null;
}

async function runRq(t: import("node:test").TestContext, serializer: "pickle" | "json"): Promise<void> {
  const startedAt = Date.now();
  const scope = testScope(t);
  const redis = await scope.redis();
  const client = new Redis(redis.url);
  scope.defer(() => client.disconnect());
  const dir = scope.tempDir({ "tasks.py": TASKS });

  const args = [1, "x", { k: "é", n: [1.5, null, true, 2 ** 40] }, 'it\'s "quoted"\n'];
  const kwargs = { when: "nightly", depth: { a: [1, 2] } };
  const expected: Record<string, Expected> = {
    // No queue: the clock's default, "default", which is also RQ's.
    report: {
      func: "tasks.report",
      args,
      kwargs: {},
      queue: "default",
      description: `tasks.report(1, 'x', {'k': 'é', 'n': [1.5, None, True, 1099511627776]}, 'it\\'s "quoted"\\n')`,
      timeout: 180,
      result_ttl: null,
      failure_ttl: null,
    },
    // A name with '.', ':' and '_' in it (escaped in the job id), and every option.
    "nightly.kw:eu_1": { func: "tasks.nightly", args: [], kwargs, queue: "e2e", description: "the nightly run", timeout: 30, result_ttl: 600, failure_ttl: 120 },
  };
  const config = {
    adapter: "rq",
    ...(serializer === "json" ? { adapters: { rq: { serializer: "json" } } } : {}),
    schedules: {
      report: { every: "1s", job: { class: "tasks.report", args } },
      "nightly.kw:eu_1": {
        cron: "* * * * * *",
        job: { class: "tasks.nightly", queue: "e2e", options: { kwargs, timeout: 30, result_ttl: 600, failure_ttl: 120, description: "the nightly run" } },
      },
    },
  };

  const workerArgs = ["worker", "--url", redis.url, "-P", dir, ...(serializer === "json" ? ["--serializer", "rq.serializers.JSONSerializer"] : []), "default", "e2e"];
  const worker = scope.spawn(RQ_CLI, workerArgs, { name: `rq worker (${serializer})`, group: true, cwd: dir, env: { CLOCK_E2E_REDIS: redis.url } });
  const configPath = scope.configFile(config);
  const clock = scope.clock(["start", "--config", configPath], { name: "clock", env: { REDIS_URL: redis.url } });
  await pollUntil(
    "*** Listening on",
    async () => /Listening on/.test(worker.stdout + worker.stderr),
    LINE_TIMEOUT_MS,
    () => worker.tail(),
  );
  await clock.waitFor(() => Object.keys(expected).every((name) => firedLines(clock.lines, name).length >= 5), { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
  assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, `clock start exits 0 on SIGTERM\n${clock.tail()}`);

  const fired = firedLines(clock.lines);
  for (const entry of fired) {
    assert.equal(entry.jobId, rqJobId(entry.schedule, entry.slotAt), `job id of ${entry.schedule} at ${String(entry.line["slot"])}`);
    assert.equal(entry.line["adapter"], "rq");
  }
  for (const name of Object.keys(expected))
    assertConsecutive(
      firedLines(clock.lines, name).map((entry) => entry.slotAt),
      SECOND,
      `fired slots of ${name}`,
    );

  // A trigger: by hand, with its own args and id, marked manual.
  const trigger = await runClock(["trigger", "report", "--args", '["by hand", 7]', "--config", configPath], { env: { REDIS_URL: redis.url } });
  assert.equal(trigger.code, 0, trigger.stderr);
  const triggerId = /\(job id (\S+)\)/.exec(trigger.stdout)?.[1];
  assert.ok(triggerId !== undefined && /^[0-9a-f]{24}$/.test(triggerId), trigger.stdout);

  const queued = async (): Promise<number> => (await client.llen("rq:queue:default")) + (await client.llen("rq:queue:e2e"));
  await pollUntil(
    "the worker performed every fired job and the trigger",
    async () => (await client.llen(PERFORMED)) >= fired.length + 1 && (await queued()) === 0,
    20 * SECOND,
    async () => `performed ${await client.llen(PERFORMED)} of ${fired.length + 1}, ${await queued()} still queued\n${worker.tail()}`,
  );
  // A duplicate still on its way would show up now, before the worker goes.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await worker.stop("SIGTERM");

  const all = (await client.lrange(PERFORMED, 0, -1)).map((text) => JSON.parse(text) as Record<string, unknown>);
  const manual = all.filter((entry) => entry["id"] === triggerId);
  assert.equal(manual.length, 1, `the trigger was performed ${manual.length} times`);
  assert.deepEqual(manual[0]?.["args"], ["by hand", 7]);
  assert.equal(manual[0]?.["description"], "tasks.report('by hand', 7)");
  assert.deepEqual((manual[0]?.["clock"] as Record<string, unknown> | undefined)?.["manual"], true, 'a trigger is marked manual in job.meta["clock"]');
  const performed = all.filter((entry) => entry["id"] !== triggerId);
  const ids = performed.map((entry) => entry["id"] as string);
  assert.equal(new Set(ids).size, ids.length, `a job ran twice: ${JSON.stringify(ids)}`);
  assert.deepEqual([...ids].sort(), fired.map((entry) => entry.jobId).sort(), "the jobs performed are exactly the slots fired");
  const firedById = new Map(fired.map((entry) => [entry.jobId, entry]));
  for (const entry of performed) {
    const slot = firedById.get(entry["id"] as string);
    assert.ok(slot !== undefined);
    const want = expected[slot.schedule];
    assert.ok(want !== undefined);
    const label = `${slot.jobId} (${serializer})`;
    assert.equal(entry["func"], want.func, `func of ${label}`);
    assert.deepEqual(entry["args"], want.args, `args of ${label}`);
    // Pickle carries the tuple RQ's enqueue makes of args; JSON has only lists.
    assert.equal(entry["args_type"], serializer === "pickle" ? "tuple" : "list", `args type of ${label}`);
    assert.deepEqual(entry["kwargs"], want.kwargs, `kwargs of ${label}`);
    // The slot's traceparent (README "Traces"), namespace `clock`.
    const digest = createHash("sha256").update(`traceparent\0clock\0${slot.schedule}\0${slot.slotAt}`).digest("hex");
    const traceparent = `00-${digest.slice(0, 32)}-${digest.slice(32, 48)}-01`;
    assert.deepEqual(entry["clock"], { schedule: slot.schedule, slot: new Date(slot.slotAt).toISOString(), slotAt: slot.slotAt, traceparent }, `job.meta["clock"] of ${label}`);
    assert.equal(entry["origin"], want.queue, `origin of ${label}`);
    assert.equal(entry["description"], want.description, `description of ${label}`);
    assert.equal(entry["timeout"], want.timeout, `timeout of ${label}`);
    assert.equal(entry["result_ttl"], want.result_ttl, `result_ttl of ${label}`);
    assert.equal(entry["failure_ttl"], want.failure_ttl, `failure_ttl of ${label}`);
    // RQ parsed the clock's timestamp back to the instant written (a fire is never before its slot).
    const enqueuedAt = Date.parse(String(entry["enqueued_at"]));
    assert.ok(enqueuedAt >= slot.slotAt && enqueuedAt < slot.slotAt + 5 * SECOND, `enqueued_at of ${label}: ${String(entry["enqueued_at"])}`);
  }
  for (const queue of ["default", "e2e"]) {
    assert.equal(await client.zcard(`rq:failed:${queue}`), 0, `RQ's failed registry of ${queue}`);
    const finished = await client.zrange(`rq:finished:${queue}`, 0, -1);
    const finishedIds: string[] = [...fired.filter((entry) => expected[entry.schedule]?.queue === queue).map((entry) => entry.jobId), ...(queue === "default" ? [triggerId] : [])];
    assert.deepEqual(finished.sort(), finishedIds.sort(), `RQ's finished registry of ${queue}`);
  }
  for (const id of [...ids, triggerId]) assert.equal(await client.hget(`rq:job:${id}`, "status"), "finished", `status of ${id}`);
  assert.deepEqual((await client.smembers("rq:queues")).sort(), ["rq:queue:default", "rq:queue:e2e"]);
  assert.ok(!((text: string) => /Traceback|ERROR/.test(text))(worker.stdout + worker.stderr), `the worker logged an error\n${worker.tail(60)}`);
  t.diagnostic(`rq e2e (${serializer}): ${all.length} jobs in ${Date.now() - startedAt} ms`);
}

test(
  "rq: a stock `rq worker` (RQ 1.13, default pickle serializer) performs every fired slot exactly once, with the slot's job id, args, kwargs and options",
  { skip: NO_RQ ?? false, timeout: 60 * SECOND },
  async (t) => {
    await runRq(t, "pickle");
  },
);

test(
  'rq: serializer "json" is performed by `rq worker --serializer rq.serializers.JSONSerializer`, every slot exactly once',
  { skip: NO_RQ ?? false, timeout: 60 * SECOND },
  async (t) => {
    await runRq(t, "json");
  },
);
