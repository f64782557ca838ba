/**
 * A crash inside a slot: `clock start` SIGKILLed right after a fire, a successor started at once;
 * what reached the queue is each slot once, none missing, the gap caught up.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hexJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, EVERY_SECOND_CATCH_UP_ALL, firedLines, NAMESPACE, parseJson, slotAtOf, startClockProcess } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const QUEUE = "e2e";
/** A SIGKILLed leader's lease lives on for its TTL (10 s) before a successor can take over. */
const TAKEOVER_TIMEOUT_MS = 25 * SECOND;

test("restart inside a slot: a SIGKILLed clock's successor fires no slot twice and misses none (catch-up all)", { timeout: 60 * SECOND }, async (t) => {
  const scope = testScope(t);
  const redis = await scope.redis();
  const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
  const configPath = scope.configFile({
    schedules: { tick: { every: "1s", adapter: "sidekiq", catchUp: EVERY_SECOND_CATCH_UP_ALL, job: { class: "TickJob", args: [1, "x"], queue: QUEUE } } },
  });

  const a = startClockProcess(scope, "clock A", configPath, redis.url);
  await a.waitFor((line) => line.msg === "leadership acquired", { what: '"leadership acquired"' });
  await a.waitFor(() => countFired(a.lines, "tick") >= 2, { what: "2 fires" });
  // Right after a slot went out: the crash lands inside that slot's second.
  a.signal("SIGKILL");
  const b = startClockProcess(scope, "clock B", configPath, redis.url);
  assert.deepEqual(await a.exited, { code: null, signal: "SIGKILL" });
  const aFired = firedLines(a.lines, "tick");

  // A's lease outlives it (TTL 10 s): B takes over when it expires, then catches up.
  await b.waitFor((line) => line.msg === "leadership acquired", { what: '"leadership acquired"', timeoutMs: TAKEOVER_TIMEOUT_MS });
  const takeoverAt = Date.now();
  await b.waitFor(() => firedLines(b.lines, "tick").filter((entry) => !entry.catchUp && entry.slotAt > takeoverAt).length >= 2, { what: "2 on-time fires after the takeover" });
  const exit = await b.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock B must exit 0 on SIGTERM\n${b.tail()}`);
  const bFired = firedLines(b.lines, "tick");

  const payloads = (await client.lrange(`queue:${QUEUE}`, 0, -1)).map((text) => parseJson(text, `queue:${QUEUE}`));
  const jids = payloads.map((payload) => payload["jid"] as string);
  const slots = payloads.map((payload) => slotAtOf(payload, `queue:${QUEUE}`));
  assert.equal(new Set(jids).size, jids.length, "a jid is in the queue twice");
  assertConsecutive(slots, SECOND, "slots in queue:e2e across the crash");
  payloads.forEach((payload, i) => {
    assert.equal(payload["jid"], hexJobId(NAMESPACE, "tick", slots[i] ?? Number.NaN));
    assert.equal(payload["class"], "TickJob");
    assert.deepEqual(payload["args"], [1, "x"]);
  });

  // What each process logged is exactly what is in the queue, and they share no slot.
  const aSlots = new Set(aFired.map((entry) => entry.slotAt));
  const overlap = bFired.filter((entry) => aSlots.has(entry.slotAt));
  assert.deepEqual(
    overlap.map((entry) => entry.line["slot"]),
    [],
    "clock B re-fired a slot clock A had fired",
  );
  assert.deepEqual(
    [...slots].sort((x, y) => x - y),
    [...aFired, ...bFired].map((entry) => entry.slotAt).sort((x, y) => x - y),
    "queue contents differ from the fired lines",
  );
  const lastOfA = Math.max(...aSlots);
  const firstOfB = Math.min(...bFired.map((entry) => entry.slotAt));
  assert.equal(firstOfB, lastOfA + SECOND, "B did not continue right after A's last slot");
  assert.ok(
    bFired.some((entry) => entry.catchUp),
    "the slots missed during the takeover were not logged as catch-up",
  );
  assert.equal(await client.hget(`{${NAMESPACE}}:ledger`, "tick"), String(Math.max(...slots)), "the ledger holds the newest fired slot");
});
