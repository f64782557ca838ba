/**
 * Redis failures in words, in the CLI and in the clock's log: "cannot reach Redis at
 * 127.0.0.1:PORT: connection refused", "Redis refused the password"; never ioredis' own wording
 * ("Reached the max retries per request limit", "Stream isn't writeable ...") and never a
 * password. Against a closed port and throwaway redis-servers, never the machine's own Redis.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogLine } from "../helpers/logs.ts";
import { assertBuilt, runClock, type LoggedProcess } from "../helpers/process.ts";
import { freePort, type TestRedis } from "../helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "../helpers/scope.ts";

const PASSWORD = "s3cret-Pa55";
const WRONG = "hunter2-wrong";
const INTERNALS = /max retries|maxRetriesPerRequest|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|Connection is closed/i;

const suite = suiteScope();
let guarded: TestRedis;
let closedPort: number;

before(async () => {
  assertBuilt();
  guarded = await suite.redis(["--requirepass", PASSWORD]);
  closedPort = await freePort();
});

const CONFIG = 'export default { lease: { ttl: "10s" }, schedules: { tick: { every: "1s", adapter: "list", job: { class: "Tick" } } } };\n';

function startClock(scope: Scope, redisUrl: string): LoggedProcess {
  const dir = scope.tempDir({ "clock.config.mjs": CONFIG });
  return scope.clock(["start"], { cwd: dir, env: { REDIS_URL: redisUrl } });
}

const errorOf = (line: LogLine): string => String((line["err"] as { message?: unknown } | undefined)?.message);

describe("the CLI says what is wrong with Redis", { concurrency: true }, () => {
  for (const command of ["list", "status"]) {
    test(`clock ${command} against a closed port: "cannot reach Redis at 127.0.0.1:PORT: connection refused", exit 1`, async () => {
      const result = await runClock([command], { cwd: suite.tempDir(), env: { REDIS_URL: `redis://127.0.0.1:${closedPort}` } });
      assert.equal(result.stderr, `clock: cannot reach Redis at 127.0.0.1:${closedPort}: connection refused\n`);
      assert.equal(result.code, 1);
      assert.equal(result.stdout, "");
    });

    test(`clock ${command} with a wrong password: "Redis refused the password", exit 1, the password never printed`, async () => {
      const result = await runClock([command], { cwd: suite.tempDir(), env: { REDIS_URL: `redis://:${WRONG}@127.0.0.1:${guarded.port}` } });
      assert.equal(result.stderr, `clock: cannot log in to Redis at 127.0.0.1:${guarded.port}: Redis refused the password\n`);
      assert.equal(result.code, 1);
      assert.ok(!(result.stdout + result.stderr).includes(WRONG));
    });
  }

  test("clock list with no password where Redis asks for one says so, exit 1", async () => {
    const result = await runClock(["list"], { cwd: suite.tempDir(), env: { REDIS_URL: `redis://127.0.0.1:${guarded.port}` } });
    assert.equal(result.stderr, `clock: cannot log in to Redis at 127.0.0.1:${guarded.port}: Redis asks for a password and REDIS_URL has none\n`);
    assert.equal(result.code, 1);
  });

  test("with the right password the same command works (the server is the one refusing above)", async () => {
    const result = await runClock(["list", "--json"], { cwd: suite.tempDir(), env: { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${guarded.port}` } });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), []);
  });

  test("clock add warns about a 6-field rule that reads as something else, and saves it", async () => {
    const dir = suite.tempDir({ "def.json": JSON.stringify({ name: "report-42", cron: "0 9 * * 1-5 *", job: { class: "ReportJob" } }) });
    const result = await runClock(["add", "--file", "def.json", "--namespace", "add-warning"], { cwd: dir, env: { REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${guarded.port}` } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^saved schedule "report-42": cron "0 9 \* \* 1-5 \*"/);
    assert.match(
      result.stderr,
      /^warning: report-42\.cron: "0 9 \* \* 1-5 \*" has 6 fields, so the first is seconds and "1-5" is the month field: it fires every hour at :09 from January to May \(UTC\)\./,
    );
  });
});

describe("the clock's log says what is wrong with Redis", { concurrency: true }, () => {
  test("unreachable at start: every Redis line says connection refused in words, no ioredis internals", async (t) => {
    const proc = startClock(testScope(t), `redis://127.0.0.1:${closedPort}`);
    const { line: unreachable } = await proc.waitFor((line) => line.msg === "redis unreachable; retrying with backoff", { what: "redis unreachable" });
    assert.equal(errorOf(unreachable), `cannot reach Redis at 127.0.0.1:${closedPort}: connection refused`);
    // The last of the start-up steps that need Redis: every line before it is in.
    await proc.waitFor((line) => line.msg === "could not subscribe to schedule changes; polling instead", { what: "the subscribe failure" });
    const withErrors = proc.lines.filter((line) => line["err"] !== undefined);
    assert.ok(withErrors.length >= 3, proc.tail());
    for (const line of withErrors) assert.equal(errorOf(line), `cannot reach Redis at 127.0.0.1:${closedPort}: connection refused`, JSON.stringify(line));
    assert.doesNotMatch(JSON.stringify(proc.lines), INTERNALS);
    assert.equal((await proc.stop("SIGTERM", 15_000)).code, 0, proc.tail());
  });

  test("a wrong password at start: Redis refused the password, and the password is never logged", async (t) => {
    const proc = startClock(testScope(t), `redis://:${WRONG}@127.0.0.1:${guarded.port}`);
    const { line: unreachable } = await proc.waitFor((line) => line.msg === "redis unreachable; retrying with backoff", { what: "redis unreachable" });
    assert.equal(errorOf(unreachable), `cannot log in to Redis at 127.0.0.1:${guarded.port}: Redis refused the password`);
    await proc.waitFor((line) => line.msg === "could not subscribe to schedule changes; polling instead", { what: "the subscribe failure" });
    assert.doesNotMatch(JSON.stringify(proc.lines), INTERNALS);
    assert.ok(!JSON.stringify(proc.lines).includes(WRONG) && !proc.stderr.includes(WRONG), "the password was printed");
    assert.equal((await proc.stop("SIGTERM", 15_000)).code, 0, proc.tail());
  });

  test("Redis lost while firing: the lost line and the failed fire say so in words", async (t) => {
    const scope = testScope(t);
    const redis = await scope.redis();
    const proc = startClock(scope, redis.url);
    await proc.waitFor((line) => line.msg === "fired", { what: "a first fire" });
    await redis.stop();
    const { line: lost } = await proc.waitFor((line) => line.msg === "redis connection lost; reconnecting", { what: "redis connection lost" });
    assert.equal(errorOf(lost), `cannot reach Redis at 127.0.0.1:${redis.port}: connection refused`);
    // The leader keeps its lease for up to TTL − 500 ms by its own clock, so the next 1 s slot is tried and fails.
    const { line: failed } = await proc.waitFor((line) => line.msg === "fire failed; retrying with catch-up", { what: "a failed fire" });
    assert.match(errorOf(failed), new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${redis.port}: (connection refused|not connected)$`));
    assert.doesNotMatch(JSON.stringify(proc.lines), INTERNALS);
    assert.equal((await proc.stop("SIGTERM", 15_000)).code, 0, proc.tail());
  });
});
