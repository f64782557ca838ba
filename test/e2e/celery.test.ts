/**
 * End to end with a real Celery: Debian's Celery 5.2 worker (prefork pool, Redis broker) on a
 * throwaway redis-server performs every slot a real `clock start` fires with the celery adapter,
 * each exactly once, with the job's args and kwargs and the slot's id as task id, and a `clock
 * trigger` with its own args and id. The task records
 * what it was given on a Redis list, which the test reads once the queue is drained.
 */
import { createHash } from "node:crypto";
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { readableJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { runClock } from "../helpers/process.ts";
import { missingPythonPackage, SYSTEM_PYTHON } from "../helpers/python.ts";
import { assertConsecutive, firedLines, LINE_TIMEOUT_MS, pollUntil } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const NO_CELERY = missingPythonPackage("celery, redis", "python3-celery python3-redis");
const QUEUE = "e2e";
const PERFORMED = "e2e:performed";

/** A Celery app as small as one gets: two tasks that record what they were called with. */
const CELERY_APP = `
import json
import os

import redis
from celery import Celery

app = Celery("clockapp", broker=os.environ["CLOCK_E2E_REDIS"])
performed = redis.Redis.from_url(os.environ["CLOCK_E2E_REDIS"])


def record(task, args, kwargs):
    request = task.request
    performed.rpush("${PERFORMED}", json.dumps({
        "task": task.name,
        "id": request.id,
        "root_id": request.root_id,
        "args": list(args),
        "kwargs": kwargs,
        "clock": getattr(request, "clock", None),
        "traceparent": getattr(request, "traceparent", None),
        "routing_key": (request.delivery_info or {}).get("routing_key"),
        "retries": request.retries,
        "eta": request.eta,
    }))


@app.task(name="tasks.report", bind=True)
def report(self, *args, **kwargs):
    record(self, args, kwargs)


@app.task(name="tasks.with_kwargs", bind=True)
def with_kwargs(self, *args, **kwargs):
    record(self, args, kwargs)
`;

test(
  "celery: a real Celery 5.2 worker performs every fired slot exactly once, with the slot's task id, args and kwargs",
  { skip: NO_CELERY ?? false, timeout: 60 * SECOND },
  async (t) => {
    const startedAt = Date.now();
    const scope = testScope(t);
    const redis = await scope.redis();
    const client = new Redis(redis.url);
    scope.defer(() => client.disconnect());
    const dir = scope.tempDir({ "clockapp.py": CELERY_APP });

    const args = [1, "x", { k: "é", n: [1.5, null, true, 2 ** 40] }];
    const kwargs = { when: "nightly", depth: { a: [1, 2] } };
    const expected: Record<string, { task: string; args: unknown[]; kwargs: Record<string, unknown> }> = {
      report: { task: "tasks.report", args, kwargs: {} },
      "report.kw:eu": { task: "tasks.with_kwargs", args: [], kwargs },
    };
    const config = {
      adapter: "celery",
      schedules: {
        report: { every: "1s", job: { class: "tasks.report", args, queue: QUEUE } },
        // A name with '.' and ':' (legal in schedule names) in the task id.
        "report.kw:eu": { cron: "* * * * * *", job: { class: "tasks.with_kwargs", queue: QUEUE, options: { kwargs } } },
      },
    };

    const worker = scope.spawn(
      SYSTEM_PYTHON,
      ["-m", "celery", "-A", "clockapp", "worker", "-Q", QUEUE, "-c", "2", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
      { name: "celery worker", group: true, cwd: dir, env: { CLOCK_E2E_REDIS: redis.url, PYTHONPATH: dir } },
    );
    const configPath = scope.configFile(config);
    const clock = scope.clock(["start", "--config", configPath], { name: "clock", env: { REDIS_URL: redis.url } });
    await pollUntil(
      '"ready."',
      async () => /celery@\S+ ready\./.test(worker.stdout + worker.stderr),
      LINE_TIMEOUT_MS,
      () => worker.tail(),
    );
    await clock.waitFor(() => Object.keys(expected).every((name) => firedLines(clock.lines, name).length >= 5), { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
    assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, `clock start exits 0 on SIGTERM\n${clock.tail()}`);

    const fired = firedLines(clock.lines);
    for (const entry of fired) {
      assert.equal(entry.jobId, readableJobId(entry.schedule, entry.slotAt), `task id of ${entry.schedule} at ${String(entry.line["slot"])}`);
      assert.equal(entry.line["adapter"], "celery");
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
    assert.ok(triggerId !== undefined && /^clock-report-\d+-manual-[0-9a-f]{8}$/.test(triggerId), trigger.stdout);

    await pollUntil(
      "the worker performed every fired task and the trigger",
      async () => (await client.llen(PERFORMED)) >= fired.length + 1 && (await client.llen(QUEUE)) === 0,
      20 * SECOND,
      async () => `performed ${await client.llen(PERFORMED)} of ${fired.length + 1}, ${await client.llen(QUEUE)} left in ${QUEUE}\n${worker.tail()}`,
    );
    // A duplicate still on its way would show up now, before the worker goes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await worker.stop("SIGTERM");

    const all = (await client.lrange(PERFORMED, 0, -1)).map((text) => JSON.parse(text) as Record<string, unknown>);
    const manual = all.filter((entry) => entry["id"] === triggerId);
    assert.equal(manual.length, 1, `the trigger was performed ${manual.length} times`);
    assert.deepEqual(manual[0]?.["args"], ["by hand", 7]);
    assert.deepEqual((manual[0]?.["clock"] as Record<string, unknown> | undefined)?.["manual"], true, "a trigger is marked manual in self.request.clock");
    const performed = all.filter((entry) => entry["id"] !== triggerId);
    const ids = performed.map((entry) => entry["id"] as string);
    assert.equal(new Set(ids).size, ids.length, `a task ran twice: ${JSON.stringify(ids)}`);
    assert.deepEqual([...ids].sort(), fired.map((entry) => entry.jobId).sort(), "the tasks performed are exactly the slots fired");
    const firedById = new Map(fired.map((entry) => [entry.jobId, entry]));
    for (const entry of performed) {
      const slot = firedById.get(entry["id"] as string);
      assert.ok(slot !== undefined);
      const want = expected[slot.schedule];
      assert.ok(want !== undefined);
      assert.equal(entry["task"], want.task, `task of ${slot.jobId}`);
      assert.deepEqual(entry["args"], want.args, `args of ${slot.jobId}`);
      assert.deepEqual(entry["kwargs"], want.kwargs, `kwargs of ${slot.jobId}`);
      assert.equal(entry["root_id"], slot.jobId);
      // Where Celery's OpenTelemetry instrumentation reads it: the slot's traceparent (README "Traces"), namespace `clock`.
      const digest = createHash("sha256").update(`traceparent\0clock\0${slot.schedule}\0${slot.slotAt}`).digest("hex");
      assert.equal(entry["traceparent"], `00-${digest.slice(0, 32)}-${digest.slice(32, 48)}-01`, `self.request.traceparent of ${slot.jobId}`);
      assert.deepEqual(entry["clock"], { schedule: slot.schedule, slot: new Date(slot.slotAt).toISOString(), slotAt: slot.slotAt }, `self.request.clock of ${slot.jobId}`);
      assert.equal(entry["routing_key"], QUEUE);
      assert.equal(entry["retries"], 0);
      assert.equal(entry["eta"], null);
    }
    // Acked, not left for redelivery: kombu's Redis transport keeps unacked messages in "unacked".
    assert.equal(await client.hlen("unacked"), 0, "messages left unacked");
    assert.ok(!((text: string) => /ERROR|Traceback|Received unregistered task/.test(text))(worker.stdout + worker.stderr), `the worker logged an error\n${worker.tail(60)}`);
    t.diagnostic(`celery e2e: ${all.length} tasks in ${Date.now() - startedAt} ms`);
  },
);
