/**
 * A one-shot fires exactly once across a leader SIGKILL: two real `clock start` processes, the
 * leader killed right after its fire, the standby takes over, reads the ledger and fires nothing
 * again; the dynamic one-shot's entry is removed (by the dead leader, or by the new one's sweep).
 * Spawns bin/clock.js, which runs dist/: `npm test` builds it first.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertBuilt } from "../helpers/process.ts";
import { testScope } from "../helpers/scope.ts";
import { ClockFleet } from "../helpers/verifier.ts";

const QUEUE = "once";
const LINE_TIMEOUT_MS = 15 * SECOND;

test("once fires exactly once across a leader SIGKILL, and the dynamic one-shot's entry is removed", async (t) => {
  assertBuilt();
  const scope = testScope(t);
  // Far enough ahead for two node processes to boot on a busy machine; were they late, catch-up fires it late (once).
  const slotAt = Math.ceil(Date.now() / SECOND) * SECOND + 5 * SECOND;
  const once = new Date(slotAt).toISOString();
  const configPath = scope.configFile({
    lease: { ttl: "2s", retry: "200ms" },
    adapter: "list",
    schedules: { launch: { once, job: { class: "Launch", queue: QUEUE } } },
  });
  const server = await scope.redis();
  const redis = scope.client(server.url);
  await redis.hset("{clock}:schedules", "reminder", JSON.stringify({ v: 1, definition: { once, adapter: "list", job: { class: "Remind", queue: QUEUE } }, updatedAt: 0 }));
  const fleet = new ClockFleet(scope, configPath, server.url);
  try {
    fleet.spawn();
    fleet.spawn();
    const fired = await fleet.waitFor((line) => line.msg === "fired" && line["schedule"] === "launch", { timeoutMs: LINE_TIMEOUT_MS, what: "the one-shot's fire" });
    const leader = fired.proc;
    leader.signal("SIGKILL");
    await leader.waitExit(LINE_TIMEOUT_MS);
    await fleet.waitFor((line, heard) => line.msg === "leadership acquired" && heard.proc !== leader, {
      from: 0,
      timeoutMs: LINE_TIMEOUT_MS,
      what: "the standby's takeover",
    });
    // The takeover re-reads the ledger and fires whatever it would fire within a second or so.
    await sleep(2 * SECOND);
    for (let waited = 0; waited < 5 && (await redis.hexists("{clock}:schedules", "reminder")) === 1; waited++) await sleep(SECOND);
    const queued = (await redis.lrange(`jobs:${QUEUE}`, 0, -1)).map((raw) => JSON.parse(raw) as { schedule: string; slotAt: number });
    assert.deepEqual(
      queued.map((job) => `${job.schedule}@${new Date(job.slotAt).toISOString()}`).sort(),
      [`launch@${once}`, `reminder@${once}`],
      `each one-shot once in its queue\n${fleet.diagnostics()}`,
    );
    // The killed leader's last lines may die with it (SIGKILL right after a fire): what matters is
    // that the new leader fires nothing, and the queue above holds each one-shot once.
    const firedByNewLeader = fleet
      .heard("fired")
      .filter((heard) => heard.proc !== leader)
      .map((heard) => heard.line["schedule"]);
    assert.deepEqual(firedByNewLeader, [], "the new leader fires neither one-shot again");
    assert.equal(await redis.hexists("{clock}:schedules", "reminder"), 0, "the dynamic one-shot's entry is removed after it fired");
    const exits = await fleet.stopAll(LINE_TIMEOUT_MS);
    for (const [proc, exit] of exits) assert.equal(exit.code, 0, `${proc.name} exit after SIGTERM: ${JSON.stringify(exit)}`);
  } catch (error) {
    console.error(`[once] process logs at failure:\n${fleet.diagnostics(40)}`);
    throw error;
  }
});
