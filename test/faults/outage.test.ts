/**
 * A Redis outage under a running `clock start`: loss and restore logged, the process keeps
 * running, and the slots the outage missed fire once, late, as catch-up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readableJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, EVERY_SECOND_CATCH_UP_ALL, firedLines, parseJson, sleep, startClockProcess } from "../helpers/fired.ts";
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
