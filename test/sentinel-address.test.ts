/**
 * Redis addresses, parsed in one place (src/redis/connection.ts): redis+sentinel:// URLs and
 * Sentinel settings into targets, malformed ones refused naming the setting, and every message
 * about a target free of its credentials. Pure, plus the CLI spawned for its exit codes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClockError, createClient, parseConfig } from "../src/index.ts";
import { connectRedis, describeRedisError, parseRedisUrl, redactRedisUrl, redactSecrets, resolveRedisTarget } from "../src/redis/connection.ts";
import { errorSerializer } from "../src/log.ts";
import { runClock } from "./helpers/process.ts";
import { testScope } from "./helpers/scope.ts";

const URL = "redis+sentinel://app:pa55word@s1.internal:26379,s2.internal:26380,[::1]/mymaster/2?sentinelPassword=sent1nel";

test("a Sentinel URL: sentinels (26379 by default, IPv6 in brackets), master name, db, credentials for the primary and the Sentinels", () => {
  assert.deepEqual(parseRedisUrl(URL), {
    kind: "sentinel",
    sentinels: [
      { host: "s1.internal", port: 26379 },
      { host: "s2.internal", port: 26380 },
      { host: "::1", port: 26379 },
    ],
    name: "mymaster",
    db: 2,
    username: "app",
    password: "pa55word",
    sentinelPassword: "sent1nel",
    url: URL,
  });
  const bare = parseRedisUrl("redis+sentinel://10.0.0.1:26379/cache/");
  assert.deepEqual(bare, { kind: "sentinel", sentinels: [{ host: "10.0.0.1", port: 26379 }], name: "cache", db: 0, url: "redis+sentinel://10.0.0.1:26379/cache/" });
  // A lone userinfo is the password, as in redis://secret@host; percent-encoding is decoded.
  assert.equal((parseRedisUrl("redis+sentinel://p%40ss@h:1/m") as { password?: string }).password, "p@ss");
  assert.equal((parseRedisUrl("redis+sentinel://:p%3Ass@h:1/m") as { password?: string }).password, "p:ss");
});

test("a malformed REDIS_URL is refused with a message naming REDIS_URL, never repeating the URL or its password", () => {
  const cases: [string, RegExp][] = [
    ["redis+sentinel://:pw@/mymaster", /no Sentinel address/],
    ["redis+sentinel://:pw@h1:26379,h2:abc/mymaster", /Sentinel address 2 of 2 has an invalid port/],
    ["redis+sentinel://:pw@h1:99999/mymaster", /invalid port/],
    ["redis+sentinel://:pw@h1:26379", /no master name/],
    ["redis+sentinel://:pw@h1:26379/", /no master name/],
    ["redis+sentinel://:pw@h1:26379/my master", /master name may use/],
    ["redis+sentinel://:pw@h1:26379/mymaster/x", /database must be a number/],
    ["redis+sentinel://:pw@h1:26379/mymaster/0/extra", /too many path parts/],
    ["redis+sentinel://:pw@h1:26379/mymaster?password=pw", /unknown parameter "password"/],
    ["redis+sentinel://:p%ZZw@h1:26379/mymaster", /password is not valid percent-encoding/],
    ["rediss+sentinel://:pw@h1:26379/mymaster", /TLS through Sentinel .* is not supported/],
    ["redis+cluster://:pw@h1:7000,h2:7001/3", /only database 0/],
    ["http://:pw@h1:6379", /unsupported scheme "http:\/\/"/],
    ["redis://:pw@h1:notaport", /not a valid URL/],
  ];
  for (const [url, words] of cases) {
    assert.throws(
      () => parseRedisUrl(url, "REDIS_URL"),
      (error: unknown) => {
        assert.ok(error instanceof ClockError && error.code === "invalid", url);
        assert.match(error.message, /^invalid Redis address:\n {2}REDIS_URL: /, url);
        assert.match(error.message, words, url);
        assert.ok(!error.message.includes(":pw@") && !error.message.includes("p%ZZw"), `${url}: the message repeats the URL`);
        return true;
      },
    );
  }
  // What ioredis took before stays as it was: plain redis:// and rediss:// URLs, bare host:port and ports.
  for (const url of ["redis://:pw@127.0.0.1:6379/3", "rediss://cache.example:6380", "127.0.0.1:6379", "6379"]) assert.deepEqual(parseRedisUrl(url), { kind: "url", url });
});

test("which Redis: an explicit setting, then the config's redis, then REDIS_URL, then localhost", () => {
  const before = process.env["REDIS_URL"];
  try {
    delete process.env["REDIS_URL"];
    assert.deepEqual(resolveRedisTarget([undefined, "redisUrl"], [undefined, "redis"]), { kind: "url", url: "redis://127.0.0.1:6379" });
    process.env["REDIS_URL"] = "redis+sentinel://env:26379/from-env";
    assert.equal((resolveRedisTarget([undefined, "redis"]) as { name: string }).name, "from-env");
    assert.equal((resolveRedisTarget([undefined, "redisUrl"], [{ sentinels: [{ host: "cfg" }], name: "from-config" }, "redis"]) as { name: string }).name, "from-config");
    assert.deepEqual(resolveRedisTarget(["redis://explicit:1", "redisUrl"], [{ sentinels: [{ host: "cfg" }], name: "from-config" }, "redis"]), {
      kind: "url",
      url: "redis://explicit:1",
    });
    process.env["REDIS_URL"] = "redis+sentinel://:pw@h1:26379";
    assert.throws(() => resolveRedisTarget(), /REDIS_URL: no master name/);
  } finally {
    if (before === undefined) delete process.env["REDIS_URL"];
    else process.env["REDIS_URL"] = before;
  }
});

test("the config's redis: a URL or Sentinel settings, checked at load with the field's path", () => {
  const fromUrl = parseConfig({ redis: "redis+sentinel://h1:26379,h2:26379/mymaster" });
  assert.equal(fromUrl.redis?.kind, "sentinel");
  const fromSettings = parseConfig({ redis: { sentinels: [{ host: "h1", port: 26379 }, { host: "h2" }], name: "mymaster", db: 1, password: "pw", sentinelPassword: "spw" } });
  assert.deepEqual(fromSettings.redis, {
    kind: "sentinel",
    sentinels: [
      { host: "h1", port: 26379 },
      { host: "h2", port: 26379 },
    ],
    name: "mymaster",
    db: 1,
    password: "pw",
    sentinelPassword: "spw",
  });
  assert.equal(parseConfig({}).redis, undefined, "absent: REDIS_URL applies");
  const issues = (input: unknown): string[] => {
    try {
      parseConfig(input);
      return [];
    } catch (error) {
      return (error as ClockError).issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
  };
  assert.deepEqual(issues({ redis: "redis+sentinel://:pw@h1:26379" }), [
    "redis: no master name; expected redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db]",
  ]);
  assert.ok(issues({ redis: { sentinels: [], name: "m" } }).includes("redis.sentinels: expected at least one Sentinel { host, port }"));
  assert.ok(issues({ redis: { sentinels: [{ host: "h", port: 0 }], name: "m" } }).some((issue) => issue.startsWith("redis.sentinels.0.port:")));
  assert.ok(issues({ redis: { sentinels: [{ host: "h" }], name: "bad name" } }).some((issue) => issue.startsWith("redis.name:")));
  assert.ok(issues({ redis: { sentinels: [{ host: "h" }], name: "m", tls: true } }).some((issue) => issue.startsWith("redis:")));
});

test("redaction: logs name the Sentinels and the master, never a user or password (of the primary or the Sentinels)", () => {
  assert.equal(redactRedisUrl(URL), "redis+sentinel://s1.internal:26379,s2.internal:26380,[::1]:26379/mymaster/2");
  assert.equal(redactRedisUrl(parseRedisUrl(URL)), "redis+sentinel://s1.internal:26379,s2.internal:26380,[::1]:26379/mymaster/2");
  const leaked = `failed at ${URL}: WRONGPASS for app with pa55word (sent1nel, pa55word)`;
  const redacted = redactSecrets(leaked, URL);
  for (const secret of ["pa55word", "sent1nel", "app:", URL]) assert.ok(!redacted.includes(secret), `${secret} in ${redacted}`);
  assert.match(redacted, /failed at redis\+sentinel:\/\/s1\.internal:26379,s2\.internal:26380,\[::1\]:26379\/mymaster\/2/);
  // The log's err serializer redacts a target as it does a URL.
  const serialize = errorSerializer([parseRedisUrl(URL)]);
  assert.deepEqual(serialize(new Error("auth pa55word / sent1nel")), { type: "Error", message: "auth *** / ***" });
  // An unparsable URL with a password is never echoed.
  assert.equal(redactRedisUrl("redis+sentinel://:secret@/"), "(unparsable REDIS_URL)");
});

test("Redis failures through Sentinel in words: unreachable Sentinels, an unknown master, a refused login, a replica, no replicas", () => {
  const target = parseRedisUrl(URL);
  const sentinels = "s1.internal:26379,s2.internal:26380,[::1]:26379";
  const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
  const cases: [Error, string][] = [
    [
      new Error("All sentinels are unreachable. Retrying from scratch after 100ms. Last error: Connection is closed."),
      `cannot reach the Sentinels of mymaster (${sentinels}): no Sentinel answered`,
    ],
    [
      new Error("All sentinels are unreachable. Retrying from scratch after 100ms. Last error: connect ECONNREFUSED 10.0.0.1:26379"),
      `cannot reach the Sentinels of mymaster (${sentinels}): connection refused`,
    ],
    [
      new Error("All sentinels are unreachable. Retrying from scratch after 100ms. Last error: ERR No such master with that name"),
      `no Sentinel at ${sentinels} monitors a master named "mymaster" (check the name after the Sentinel addresses)`,
    ],
    [new Error("All sentinels are unreachable. Retrying from scratch after 10ms."), `no Sentinel at ${sentinels} named a primary for "mymaster" (a failover in progress?)`],
    [
      new Error("All sentinels are unreachable and retry is disabled. Last error: NOAUTH Authentication required."),
      `cannot log in to the Sentinels of mymaster (${sentinels}): Redis asks for a password and sentinelPassword has none`,
    ],
    [
      new Error("WRONGPASS invalid username-password pair or user is disabled."),
      `cannot log in to Redis master mymaster (Sentinels ${sentinels}): Redis refused the user name or password`,
    ],
    [
      new Error("READONLY You can't write against a read only replica. script: 73895, on @user_script:1."),
      `Redis master mymaster (Sentinels ${sentinels}): the connection reached a replica (a failover in progress); reconnecting to the primary Sentinel names`,
    ],
    [
      new Error("NOREPLICAS Not enough good replicas to write. script: 73895, on @user_script:1."),
      `Redis master mymaster (Sentinels ${sentinels}) refused the write: not enough replicas in sync (min-replicas-to-write)`,
    ],
  ];
  for (const [error, words] of cases) assert.equal(describeRedisError(offline, target, error), words);
  assert.equal(
    describeRedisError(Object.assign(new Error("connect ECONNREFUSED 10.0.0.9:6379"), { code: "ECONNREFUSED" }), target),
    `cannot reach Redis master mymaster (Sentinels ${sentinels}): connection refused`,
  );
  assert.equal(describeRedisError(offline, target), `cannot reach Redis master mymaster (Sentinels ${sentinels}): not connected`);
  // From settings (no URL), a missing password is the settings' to fix.
  const settings = resolveRedisTarget([{ sentinels: [{ host: "h" }], name: "m" }, "redis"]);
  assert.equal(
    describeRedisError(new Error("NOAUTH Authentication required."), settings),
    "cannot log in to Redis master m (Sentinels h:26379): Redis asks for a password and the redis setting has none",
  );
});

test("ioredis gets Sentinel options that follow a failover: sentinels, name, role master, failoverDetector, reconnect on READONLY", () => {
  const redis = connectRedis(parseRedisUrl(URL));
  try {
    const { options } = redis;
    assert.deepEqual(options.sentinels, [
      { host: "s1.internal", port: 26379 },
      { host: "s2.internal", port: 26380 },
      { host: "::1", port: 26379 },
    ]);
    assert.equal(options.name, "mymaster");
    assert.equal(options.role, "master");
    assert.equal(options.db, 2);
    assert.equal(options.username, "app");
    assert.equal(options.password, "pa55word");
    assert.equal(options.sentinelPassword, "sent1nel");
    assert.equal(options.failoverDetector, true);
    assert.equal(options.enableReadyCheck, true, "the ready check's INFO role is how ioredis refuses a demoted primary");
    assert.equal(typeof options.reconnectOnError, "function");
    assert.equal(options.reconnectOnError?.(new Error("READONLY You can't write against a read only replica.")), true);
    assert.equal(options.reconnectOnError?.(new Error("ERR wrong number of arguments")), false);
  } finally {
    redis.disconnect();
  }
});

test("createClient refuses a malformed REDIS_URL naming it, and takes Sentinel settings", async () => {
  const before = process.env["REDIS_URL"];
  try {
    process.env["REDIS_URL"] = "redis+sentinel://:pw@h1:26379";
    assert.throws(() => createClient(), /REDIS_URL: no master name/);
    assert.throws(() => createClient({ redis: "redis+sentinel://:pw@h1:26379" }), /redis: no master name/);
  } finally {
    if (before === undefined) delete process.env["REDIS_URL"];
    else process.env["REDIS_URL"] = before;
  }
  const client = createClient({ redis: { sentinels: [{ host: "127.0.0.1", port: 1 }], name: "mymaster", password: "pa55word" } });
  try {
    await assert.rejects(client.status(), (error: Error) => {
      const words = client.describeError(error);
      assert.match(words, /^cannot reach the Sentinels of mymaster \(127\.0\.0\.1:1\)/);
      assert.ok(!words.includes("pa55word"));
      return true;
    });
  } finally {
    await client.close();
  }
});

test("the CLI: a malformed REDIS_URL exits 2 naming REDIS_URL (start and status), never printing the password", async (t) => {
  const scope = testScope(t);
  {
    const cwd = scope.tempDir({ "clock.config.mjs": 'export default { schedules: { tick: { every: "1h", adapter: "list", job: { class: "T" } } } };\n' });
    for (const args of [["start"], ["status"]]) {
      const result = await runClock(args, { cwd, env: { REDIS_URL: "redis+sentinel://:hunter2@h1:26379,h2:x/mymaster" } });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, /^clock: invalid Redis address:\n {2}REDIS_URL: Sentinel address 2 of 2 has an invalid port/);
      assert.ok(!result.stderr.includes("hunter2") && !result.stdout.includes("hunter2"));
    }
  }
});

test("a Cluster URL and Cluster settings: seed nodes (6379 by default), credentials; no database; never a password in messages", () => {
  const url = "redis+cluster://app:pa55word@n1.internal:7000,n2.internal,[::1]:7002";
  assert.deepEqual(parseRedisUrl(url), {
    kind: "cluster",
    nodes: [
      { host: "n1.internal", port: 7000 },
      { host: "n2.internal", port: 6379 },
      { host: "::1", port: 7002 },
    ],
    username: "app",
    password: "pa55word",
    url,
  });
  assert.equal(redactRedisUrl(url), "redis+cluster://n1.internal:7000,n2.internal:6379,[::1]:7002");
  assert.equal(redactSecrets(`cannot reach ${url}: pa55word`, url), "cannot reach redis+cluster://n1.internal:7000,n2.internal:6379,[::1]:7002: ***");
  assert.match(
    describeRedisError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), url),
    /^cannot reach Redis Cluster at n1\.internal:7000,n2\.internal:6379,\[::1\]:7002: connection refused$/,
  );
  assert.throws(() => parseRedisUrl("redis+cluster://n1:7000/2"), /only database 0/);
  assert.throws(() => parseRedisUrl("redis+cluster://"), /no cluster node/);
  assert.throws(() => parseRedisUrl("rediss+cluster://n1:7000"), /TLS to a Redis Cluster/);
  assert.deepEqual(resolveRedisTarget([{ cluster: [{ host: "n1", port: 7000 }], password: "x" }, "redis"]), {
    kind: "cluster",
    nodes: [{ host: "n1", port: 7000 }],
    password: "x",
  });
  assert.throws(
    () => parseConfig({ redis: { cluster: [] }, schedules: {} }),
    (error: unknown) => error instanceof ClockError && /redis/.test(error.message),
  );
});
