/**
 * A password in REDIS_URL never reaches stdout or stderr of `clock start`, on the happy path or
 * on the error paths a lost Redis takes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SECOND } from "../../src/schedule/duration.ts";
import { sleep, startClockProcess } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const QUEUE = "e2e";

test("a password in REDIS_URL never reaches the logs", { timeout: 45 * SECOND }, async (t) => {
  const scope = testScope(t);
  const password = "s3cretpass";
  // The helper's readiness probe sends an unauthenticated PING, so --requirepass cannot be passed
  // at start: require the password (and create the URL's user) once the server is up.
  const redis = await scope.redis();
  const admin = scope.client(redis.url, { maxRetriesPerRequest: 1 });
  await admin.call("ACL", "SETUSER", "user", "on", `>${password}`, "~*", "&*", "+@all");
  await admin.config("SET", "requirepass", password);
  const url = `redis://user:${password}@127.0.0.1:${redis.port}`;
  const check = scope.client(url, { maxRetriesPerRequest: 1 });
  assert.equal(await check.ping(), "PONG", "precondition: the URL's credentials work");
  const anonymous = scope.client(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await assert.rejects(async () => {
    await anonymous.connect();
    await anonymous.get("x");
  }, "precondition: Redis refuses a client without the password");

  const configPath = scope.configFile({
    schedules: { secret: { every: "1s", adapter: "list", job: { class: "SecretJob", args: [], queue: QUEUE } } },
  });
  const clock = startClockProcess(scope, "clock", configPath, url, ["--log-level", "debug"]);
  const { line: started } = await clock.waitFor((line) => line.msg === "clock started", { what: '"clock started"' });
  assert.equal(started["redis"], redis.url, "the logged Redis URL keeps host and port and drops the credentials");
  await clock.waitFor((line) => line.msg === "fired", { what: '"fired"' });
  // Error paths print Redis error messages: take Redis away and let the clock complain.
  await redis.stop(true);
  await clock.waitFor((line) => line.msg === "redis connection lost; reconnecting", { what: '"redis connection lost; reconnecting"' });
  await sleep(SECOND);
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  for (const [stream, text] of [
    ["stdout", clock.stdout],
    ["stderr", clock.stderr],
  ] as const) {
    const leaks = text.split("\n").filter((line) => line.includes(password));
    assert.deepEqual(leaks, [], `the Redis password appears on ${stream}`);
  }
});
