/**
 * `clock start` against a Redis that is not there: a clear error line, the process keeps retrying,
 * and a SIGTERM still stops it cleanly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SECOND } from "../../src/schedule/duration.ts";
import { firedLines, sleep, startClockProcess } from "../helpers/fired.ts";
import { freePort } from "../helpers/redis.ts";
import { testScope } from "../helpers/scope.ts";

const QUEUE = "e2e";

test("an unreachable Redis: the clock logs a clear error, keeps running, and exits 0 on SIGTERM", { timeout: 45 * SECOND }, async (t) => {
  const scope = testScope(t);
  const port = await freePort(); // nothing listens here
  const url = `redis://127.0.0.1:${port}`;
  const configPath = scope.configFile({
    schedules: { nowhere: { every: "1s", adapter: "sidekiq", job: { class: "TickJob", args: [], queue: QUEUE } } },
  });
  const clock = startClockProcess(scope, "clock", configPath, url);
  const { line: error } = await clock.waitFor((line) => (line.level ?? 0) >= 50, { what: "an error line" });
  assert.match(error.msg, /redis/i, "the error line says Redis is the problem");
  assert.equal(error["redis"], url, "the error line names the Redis it tried");
  const err = error["err"];
  assert.ok(err !== null && typeof err === "object", "the error line carries the cause under err");
  assert.match(String((err as Record<string, unknown>)["message"]), /ECONNREFUSED|connect/i);

  const seenAt = Date.now();
  await sleep(3 * SECOND);
  assert.ok(clock.alive, `the clock exited ${Date.now() - seenAt} ms after the error instead of retrying\n${clock.tail()}`);
  assert.equal(firedLines(clock.lines).length, 0, "nothing can have fired without Redis");
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM even while Redis is unreachable\n${clock.tail()}`);
});
