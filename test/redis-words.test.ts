/** describeRedisError, case by case: ioredis and net errors in, words out, never a credential. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeRedisError } from "../src/redis/connection.ts";

const URL = "redis://:pa55word@cache.internal:7149";
const netError = (code: string, message: string) => Object.assign(new Error(message), { code });
const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'), {
  name: "MaxRetriesPerRequestError",
});

test("network errors: cannot reach Redis at host:port, and why", () => {
  const cases: [Error, string][] = [
    [netError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:7149"), "connection refused"],
    [netError("ENOTFOUND", "getaddrinfo ENOTFOUND cache.internal"), "host not found"],
    [netError("ETIMEDOUT", "connect ETIMEDOUT"), "connection timed out"],
    [netError("ECONNRESET", "read ECONNRESET"), "connection reset"],
    [netError("EHOSTUNREACH", "connect EHOSTUNREACH 10.0.0.1:7149"), "host unreachable"],
  ];
  for (const [error, why] of cases) assert.equal(describeRedisError(error, URL), `cannot reach Redis at cache.internal:7149: ${why}`);
});

test("a command that failed only because the connection is down is explained by the connection's error", () => {
  assert.equal(
    describeRedisError(maxRetries, URL, netError("ECONNREFUSED", "connect ECONNREFUSED 10.0.0.1:7149")),
    "cannot reach Redis at cache.internal:7149: connection refused",
  );
  const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
  assert.equal(
    describeRedisError(offline, URL, new Error("WRONGPASS invalid username-password pair or user is disabled.")),
    "cannot log in to Redis at cache.internal:7149: Redis refused the password",
  );
  assert.equal(describeRedisError(new Error("Connection is closed."), URL), "cannot reach Redis at cache.internal:7149: not connected");
  assert.equal(describeRedisError(maxRetries, URL), "cannot reach Redis at cache.internal:7149: not connected");
});

test("authentication: refused password, missing password, a user name, a password Redis does not want", () => {
  assert.equal(
    describeRedisError(new Error("WRONGPASS invalid username-password pair or user is disabled."), URL),
    "cannot log in to Redis at cache.internal:7149: Redis refused the password",
  );
  assert.equal(describeRedisError(new Error("ERR invalid password"), URL), "cannot log in to Redis at cache.internal:7149: Redis refused the password");
  assert.equal(
    describeRedisError(new Error("WRONGPASS invalid username-password pair or user is disabled."), "redis://app:pw@cache.internal:7149"),
    "cannot log in to Redis at cache.internal:7149: Redis refused the user name or password",
  );
  assert.equal(
    describeRedisError(new Error("NOAUTH Authentication required."), "redis://cache.internal"),
    "cannot log in to Redis at cache.internal:6379: Redis asks for a password and REDIS_URL has none",
  );
  assert.equal(
    describeRedisError(new Error("ERR AUTH <password> called without any password configured for the default user."), URL),
    "cannot log in to Redis at cache.internal:7149: REDIS_URL has a password but Redis has none set",
  );
});

test("server states in words; anything else keeps its message, with Redis's location and no credential", () => {
  assert.equal(
    describeRedisError(new Error("READONLY You can't write against a read only replica."), URL),
    "Redis at cache.internal:7149 is a read-only replica: point REDIS_URL at the primary",
  );
  assert.equal(describeRedisError(new Error("LOADING Redis is loading the dataset in memory"), URL), "Redis at cache.internal:7149 is still loading its data set");
  assert.equal(
    describeRedisError(new Error(`ERR something about ${URL} and pa55word`), URL),
    "Redis at cache.internal:7149: ERR something about redis://cache.internal:7149 and ***",
  );
  assert.equal(describeRedisError(netError("ECONNREFUSED", "connect ECONNREFUSED"), ""), "cannot reach Redis: connection refused");
});
