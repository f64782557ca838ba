/**
 * A big burst is told (log lines, metrics, history) without holding up what else must happen at
 * that instant: the planner yields to the event loop while it tells thousands of outcomes, waits
 * for the process's other fires in flight (shards) before it starts, and the leases renew on a
 * connection of their own, never queued behind the fire scripts. The planner on a fake clock; the
 * connection split on a real redis-server, seen through MONITOR.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome } from "../src/fire/fire.ts";
import { parseConfig, startClock } from "../src/index.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { FiresInFlight } from "../src/planner/shards.ts";
import { HOUR, SECOND } from "../src/schedule/duration.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { LogSink } from "./helpers/logs.ts";
import { testScope } from "./helpers/scope.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };
const hourly = (count: number): Schedule[] =>
  Array.from({ length: count }, (_, i) => parseSchedule(`tenant-${i}`, { cron: "0 * * * *", job: { class: "HourlyJob", args: [i], queue: "q" } }, defaults));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A planner of `count` hourly schedules whose fire answers at once; `fired` counts the fire:fired events. */
async function burstOf(count: number, othersReplied?: () => Promise<void>) {
  const clock = new FakeClock(T0 + 30 * 60 * SECOND);
  const events = new ClockEvents();
  const seen = { fired: 0, firesReturned: 0, firedAtNextTurn: -1 };
  events.on("fire:fired", () => seen.fired++);
  const leadership = new AlwaysLeader();
  const planner = new Planner({
    clock,
    leadership,
    events,
    readLedger: async () => new Map(),
    fire: async (requests) => {
      seen.firesReturned++;
      // What has been told by the next turn of the event loop after the fire's replies.
      setImmediate(() => {
        if (seen.firedAtNextTurn < 0) seen.firedAtNextTurn = seen.fired;
      });
      return requests.map((request): FireOutcome => ({ request, status: "fired", jobId: request.schedule.name, redisAt: clock.now() }));
    },
    ...(othersReplied === undefined ? {} : { othersReplied }),
  });
  planner.start(hourly(count));
  await leadership.start();
  return { clock, planner, seen };
}

async function until(what: string, done: () => boolean): Promise<void> {
  for (let turns = 0; !done(); turns++) {
    if (turns > 10_000) assert.fail(`never: ${what}`);
    await turn();
  }
}

test("a burst of 5,000 outcomes is told in parts: the event loop turns before the last is told", async (t) => {
  const h = await burstOf(5000);
  t.after(() => h.planner.stop());
  await h.clock.advance(T0 + HOUR - h.clock.now());
  await until("5,000 fired events", () => h.seen.fired === 5000);
  assert.equal(h.seen.firesReturned, 1);
  assert.ok(h.seen.firedAtNextTurn >= 0 && h.seen.firedAtNextTurn < 5000, `${h.seen.firedAtNextTurn} of 5,000 told before the loop turned`);
});

test("a big fire waits for the process's other fires in flight before it is told; a small one does not", async (t) => {
  let release = (): void => undefined;
  let asked = 0;
  const others = (): Promise<void> => {
    asked++;
    return new Promise((resolve) => (release = resolve));
  };
  const big = await burstOf(2000, others);
  t.after(() => big.planner.stop());
  await big.clock.advance(T0 + HOUR - big.clock.now());
  await until("the fire returned", () => big.seen.firesReturned === 1);
  for (let i = 0; i < 20; i++) await turn();
  assert.equal(asked, 1);
  assert.equal(big.seen.fired, 0, "nothing told while another fire is in flight");
  release();
  await until("2,000 fired events", () => big.seen.fired === 2000);

  const small = await burstOf(10, async () => {
    throw new Error("a small fire must not wait");
  });
  t.after(() => small.planner.stop());
  await small.clock.advance(T0 + HOUR - small.clock.now());
  await until("10 fired events", () => small.seen.fired === 10);
});

test("FiresInFlight: othersReplied resolves once no tracked fire is left, failed ones included", async () => {
  const inFlight = new FiresInFlight();
  let resolved = false;
  await inFlight.othersReplied();
  let finishA = (): void => undefined;
  let failB = (_error: Error): void => undefined;
  const a = inFlight.track(new Promise<void>((resolve) => (finishA = resolve)));
  const b = inFlight.track(new Promise<void>((_resolve, reject) => (failB = reject)));
  b.catch(() => undefined);
  void inFlight.othersReplied().then(() => (resolved = true));
  finishA();
  await a;
  for (let i = 0; i < 5; i++) await turn();
  assert.equal(resolved, false, "one fire still in flight");
  failB(new Error("Redis went away"));
  await until("othersReplied resolved", () => resolved);
});

test("FiresInFlight: turns go one at a time, and a timer that fell due during a turn runs before the next one starts", async () => {
  const inFlight = new FiresInFlight();
  const order: string[] = [];
  const endA = await inFlight.turn();
  order.push("A starts");
  const b = inFlight.turn().then((endB) => {
    order.push("B starts");
    endB();
  });
  const c = inFlight.turn().then((endC) => {
    order.push("C starts");
    endC();
  });
  for (let i = 0; i < 5; i++) await turn();
  assert.deepEqual(order, ["A starts"], "B waits for A's end");
  // A lease renewal's timer falls due while A's turn blocks the event loop (a big fire's start),
  // and A's turn ends in the same synchronous run.
  setTimeout(() => order.push("timer"), 0);
  const until = Date.now() + 20;
  while (Date.now() < until) {
    // busy, as the synchronous start of a 62,500-slot fire is
  }
  endA();
  await Promise.all([b, c]);
  assert.deepEqual(order, ["A starts", "timer", "B starts", "C starts"]);
});

test("the leases and the heartbeat go on a connection of their own, not the one the fire scripts go on", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const monitor = await scope.client(server.url).monitor();
  scope.defer(() => monitor.disconnect());
  const sources = { fire: new Set<string>(), lease: new Set<string>(), heartbeat: new Set<string>() };
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const command = (args[0] ?? "").toLowerCase();
    if (command !== "evalsha" && command !== "eval" && command !== "hset") return;
    if (args.includes("{split}:ledger")) sources.fire.add(source);
    // Acquire and renew end with the TTL in ms (the time-sync script names the lease key only to route).
    else if (args.includes("{split}:lease") && args.at(-1) === "2000") sources.lease.add(source);
    else if (command === "hset" && args[1] === "{split}:peers") sources.heartbeat.add(source);
  });
  const sink = new LogSink();
  const config = parseConfig({
    namespace: "split",
    adapter: "list",
    lease: { ttl: "2s", retry: "200ms" },
    schedules: { tick: { every: "1s", job: { class: "T", queue: "split" } } },
  });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((entry) => entry.msg === "fired", 5000);
  // Renewed every ttl/5 = 400 ms: a few renewals and heartbeats, and another fire, in 1.5 s.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.ok(
    sources.fire.size >= 1 && sources.lease.size >= 1 && sources.heartbeat.size >= 1,
    JSON.stringify({ fire: [...sources.fire], lease: [...sources.lease], heartbeat: [...sources.heartbeat] }),
  );
  for (const source of sources.lease) assert.ok(!sources.fire.has(source), `lease commands from ${source}, the fire scripts' connection`);
  for (const source of sources.heartbeat) assert.ok(sources.lease.has(source) && !sources.fire.has(source), `heartbeat from ${source}`);
});
