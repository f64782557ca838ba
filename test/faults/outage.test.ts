/**
 * A Redis outage under a running `clock start`: loss and restore logged, the process keeps
 * running, and the slots the outage missed fire once, late, as catch-up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readableJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { createClient } from "../../src/index.ts";
import { assertConsecutive, countFired, EVERY_SECOND_CATCH_UP_ALL, firedLines, NAMESPACE, parseJson, sleep, startClockProcess } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const QUEUE = "e2e";

test("redis outage: the clock logs loss and restore, keeps running, and fires the missed slots once (catch-up all)", { timeout: 60 * SECOND }, async (t) => {
  const scope = testScope(t);
  // The helper starts redis-server with `--appendonly no`; a later argument overrides an earlier
  // one, so the ledger, lease and list survive the restart (checked below, not assumed).
  const redis = await scope.redis(["--appendonly", "yes"]);
  const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
  assert.deepEqual(await client.config("GET", "appendonly"), ["appendonly", "yes"], "precondition: the throwaway Redis persists to its AOF");
  const configPath = scope.configFile({
    schedules: { outage: { every: "1s", adapter: "list", catchUp: EVERY_SECOND_CATCH_UP_ALL, job: { class: "OutageJob", args: [3, "y"], queue: QUEUE } } },
  });

  const clock = startClockProcess(scope, "clock", configPath, redis.url);
  await clock.waitFor((line) => line.msg === "leadership acquired", { what: '"leadership acquired"' });
  await clock.waitFor(() => countFired(clock.lines, "outage") >= 2, { what: "2 fires" });

  await redis.stop();
  // Taken once the server is gone and before it is back: a slot strictly between the two cannot
  // have been written on time.
  const downAt = Date.now();
  await clock.waitFor((line) => line.msg === "redis connection lost; reconnecting", { what: '"redis connection lost; reconnecting"' });
  // The outage itself is a stretch of wall time: at least two slots fall inside it.
  await sleep(Math.max(0, downAt + 3 * SECOND - Date.now()));
  assert.ok(clock.alive, `the clock exited during the outage\n${clock.tail()}`);
  const upAt = Date.now();
  await redis.start();
  await clock.waitFor((line) => line.msg === "redis connection restored", { what: '"redis connection restored"' });
  await clock.waitFor(() => firedLines(clock.lines, "outage").some((entry) => !entry.catchUp && entry.slotAt >= upAt + SECOND), {
    what: "an on-time fire after the restore",
    timeoutMs: 20 * SECOND,
  });
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  const lost = clock.lines.findIndex((line) => line.msg === "redis connection lost; reconnecting");
  const restored = clock.lines.findIndex((line) => line.msg === "redis connection restored");
  assert.ok(lost >= 0 && restored > lost, "loss must be logged before restore");
  assert.ok((clock.lines[lost]?.level ?? 0) >= 50, "the loss is logged at error level");

  const fired = firedLines(clock.lines, "outage");
  const messages = (await client.lrange(`jobs:${QUEUE}`, 0, -1)).map((text) => parseJson(text, `jobs:${QUEUE}`));
  const slots = messages.map((message) => message["slotAt"] as number);
  assertConsecutive(slots, SECOND, `slots in jobs:${QUEUE} across the outage`);
  assert.deepEqual(
    [...slots].sort((x, y) => x - y),
    fired.map((entry) => entry.slotAt).sort((x, y) => x - y),
    "list contents differ from the fired lines",
  );
  assert.equal(new Set(fired.map((entry) => entry.slotAt)).size, fired.length, "a slot was logged as fired twice");
  for (const message of messages) {
    const slotAt = message["slotAt"] as number;
    assert.equal(message["id"], readableJobId("outage", slotAt));
    assert.equal(message["schedule"], "outage");
    assert.equal(message["slot"], new Date(slotAt).toISOString());
    assert.equal(message["class"], "OutageJob");
    assert.deepEqual(message["args"], [3, "y"]);
  }
  // Slots whose instant fell inside the outage were fired late, as catch-up, after the restore.
  const duringOutage = fired.filter((entry) => entry.slotAt > downAt && entry.slotAt < upAt);
  assert.ok(duringOutage.length >= 2, `expected the slots of a 3 s outage in the list, got ${duringOutage.map((entry) => entry.line["slot"]).join(", ")}`);
  assert.ok(
    duringOutage.every((entry) => entry.catchUp),
    "slots missed during the outage must be logged as catch-up",
  );
});

test(
  "redis restarted WITHOUT its data: no slot lost silently, none fired twice, and the lost ledger and dynamic schedules are said loudly",
  { timeout: 60 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const redis = await scope.redis(); // no persistence: a restart comes back empty
    const configPath = scope.configFile({
      schedules: { tick: { every: "1s", adapter: "list", catchUp: EVERY_SECOND_CATCH_UP_ALL, job: { class: "TickJob", queue: QUEUE } } },
    });
    const clock = startClockProcess(scope, "clock", configPath, redis.url);
    await clock.waitFor(() => countFired(clock.lines, "tick") >= 2, { what: "2 fires" });
    const client = createClient({ redis: redis.url, namespace: NAMESPACE });
    scope.defer(() => client.close());
    await client.schedules.set("hourly", { every: "1h", adapter: "list", job: { class: "HourlyJob" } });
    await clock.waitFor((line) => line.msg === "schedule change applied", { what: "the dynamic schedule applied" });

    await redis.stop(true);
    const downAt = Date.now();
    await sleep(3 * SECOND);
    const upAt = Date.now();
    await redis.start();
    await clock.waitFor((line) => line.msg.startsWith("ledger reset: Redis lost data?"), { what: "the ledger reset error", timeoutMs: 20 * SECOND });
    await clock.waitFor((line) => line.msg.startsWith("dynamic schedules reset: Redis lost data?"), { what: "the dynamic schedules reset error", timeoutMs: 20 * SECOND });
    await clock.waitFor(() => firedLines(clock.lines, "tick").some((entry) => !entry.catchUp && entry.slotAt >= upAt + SECOND), {
      what: "an on-time fire after the restart",
      timeoutMs: 20 * SECOND,
    });
    assert.equal((await clock.stop("SIGTERM")).code, 0, clock.tail());

    const fired = firedLines(clock.lines, "tick");
    assertConsecutive(
      fired.map((entry) => entry.slotAt),
      SECOND,
      "slots fired across the data loss",
    );
    const duringOutage = fired.filter((entry) => entry.slotAt > downAt && entry.slotAt < upAt);
    assert.ok(
      duringOutage.length >= 2 && duringOutage.every((entry) => entry.catchUp),
      `the outage's slots fire as catch-up: ${duringOutage.map((entry) => entry.line["slot"]).join(", ")}`,
    );
    const reset = clock.linesOf(
      "ledger reset: Redis lost data? the ledger lacks slots this clock fired; where an entry vanished the clock continues after the slots it fired, where one went back the slots after it follow the catch-up policy again (a job that survived may be enqueued twice)",
    )[0];
    assert.equal(reset?.level, 50, "logged at error level");
    const dynamic = clock.lines.find((line) => line.msg.startsWith("dynamic schedules reset"));
    assert.equal(dynamic?.["vanished"], 1, "the dynamic schedule that went with the data is counted");
    assert.deepEqual(dynamic?.["examples"], ["hourly"]);
  },
);
