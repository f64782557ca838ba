/**
 * Pause means skip: slots inside a pause never fire, not on resume either; catch-up is for outages.
 * Real clocks on a real redis-server, through the public API and the real sync.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Redis } from "ioredis";
import { createClient, parseConfig, startClock, type Adapter, type Leadership, type RunningClock } from "../src/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { expirePauses, parsePauseRecord, readPlannerLedger, setPaused } from "../src/dynamic/pauses.ts";
import { DynamicSync } from "../src/dynamic/sync.ts";
import { Firer } from "../src/fire/fire.ts";
import { ClockEvents } from "../src/events.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { SECOND } from "../src/schedule/duration.ts";
import { FakeClock, settle } from "./helpers/fake-clock.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: Redis;
let n = 0;

before(async () => {
  server = await suite.redis();
  redis = suite.client(server.url);
});

async function slotsIn(queue: string): Promise<number[]> {
  return (await redis.lrange(`jobs:${queue}`, 0, -1)).map((raw) => (JSON.parse(raw) as { slotAt: number }).slotAt);
}

/** Resolves this long after the next whole second: "just after a slot" of an every-1s schedule. */
function justAfterNextSecond(offsetMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + offsetMs));
}

async function startWith(namespace: string, schedules: Record<string, unknown>): Promise<{ clock: RunningClock; sink: LogSink }> {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", schedules, lease: { ttl: "2s", retry: "200ms" } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  await sink.waitFor((line) => line.msg === "leadership acquired");
  return { clock, sink };
}

/** Pauses, lets slots pass, resumes just after a slot; returns the client-side bounds of the pause. */
async function pauseAndResume(
  client: ReturnType<typeof createClient>,
  sinks: () => LogSink,
  name: string,
  between?: () => Promise<void>,
): Promise<{ pausedAt: number; resumeSentAt: number; mark: number }> {
  await client.schedules.pause(name);
  const pausedAt = Date.now();
  await sinks().waitFor((line) => line.msg === "schedule change applied" && line["change"] === "pause" && line["schedule"] === name, 3000);
  await between?.();
  await new Promise((resolve) => setTimeout(resolve, 2000)); // two slots pass inside the pause
  await justAfterNextSecond(60);
  const mark = sinks().lines.length;
  const resumeSentAt = Date.now();
  await client.schedules.resume(name);
  return { pausedAt, resumeSentAt, mark };
}

test("real sync: a config schedule resumed just after a slot fires no slot of the pause, and the next slot once, on time", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const { clock, sink } = await startWith(namespace, { tick: { every: "1s", catchUp: { policy: "latest", window: "1h" }, job: { class: "Tick", queue: namespace } } });
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => clock.stop());
  scope.defer(() => client.close());
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "tick", 3000);
  const { pausedAt, resumeSentAt, mark } = await pauseAndResume(client, () => sink, "tick");
  const next = await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "tick", 3000, mark);
  const nextAt = Date.parse(String(next["slot"]));
  assert.ok(nextAt >= resumeSentAt, `the first fire after resume is slot ${new Date(nextAt).toISOString()}, from before the resume at ${new Date(resumeSentAt).toISOString()}`);
  assert.equal(next["catchUp"], undefined, "the slot after the resume fires on time, not as catch-up");
  const slots = await slotsIn(namespace);
  const inside = slots.filter((at) => at > pausedAt && at < resumeSentAt);
  assert.deepEqual(
    inside.map((at) => new Date(at).toISOString()),
    [],
    "no slot inside the pause fired",
  );
  assert.equal(slots.filter((at) => at === nextAt).length, 1, "the next slot fires once");
  assert.equal(new Set(slots).size, slots.length, "no slot twice");
});

test("real sync: a clock restarted while a dynamic schedule is paused does not catch up the paused slots when it is resumed", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  let { clock, sink } = await startWith(namespace, {});
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => clock.stop());
  scope.defer(() => client.close());
  await client.schedules.set("dyn", { every: "1s", adapter: "list", catchUp: { policy: "all", window: "1h", max: 100 }, job: { class: "Dyn", queue: namespace } });
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "dyn", 3000);
  const restart = async (): Promise<void> => {
    await clock.stop();
    ({ clock, sink } = await startWith(namespace, {}));
  };
  const { pausedAt, resumeSentAt, mark } = await pauseAndResume(client, () => sink, "dyn", restart);
  const next = await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "dyn", 3000, mark);
  assert.ok(Date.parse(String(next["slot"])) >= resumeSentAt, `fired ${String(next["slot"])}, from inside the pause`);
  const slots = await slotsIn(namespace);
  assert.deepEqual(
    slots.filter((at) => at > pausedAt && at < resumeSentAt).map((at) => new Date(at).toISOString()),
    [],
    "policy all catches up outages, never a pause",
  );
  assert.equal(new Set(slots).size, slots.length, "no slot twice");
});

// ---- On the injected fake clock: the real sync, planner and fire script on a real redis-server,
// with the pause and resume stamped at fake instants (in production Redis stamps them).

/** Far enough in the past that Redis TIME never calls a slot early. */
const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };
const EVERY_10S = { every: "10s", adapter: "list", catchUp: { policy: "all" as const, window: "1h", max: 100 }, job: { class: "T" } };

interface Node {
  readonly clock: FakeClock;
  readonly fired: { schedule: string; slotAt: number; catchUp: boolean }[];
  readonly changes: EventEmitter;
  lead(): void;
  /** Moves fake time forward a second at a time, letting every Redis round trip finish in between. */
  advanceTo(at: number): Promise<void>;
  stop(): Promise<void>;
}

async function fakeNode(namespace: string, startAt: number, config: Record<string, unknown> = {}, leading = true): Promise<Node> {
  const clock = new FakeClock(startAt);
  const redisConn = withScripts(new Redis(server.url));
  const subscriber = new Redis(server.url);
  const keys = clockKeys(namespace);
  const list: Adapter = { name: "list", writes: (e) => [{ command: "RPUSH", key: `jobs:${namespace}`, args: [JSON.stringify({ schedule: e.schedule, slotAt: e.slotAt })] }] };
  const firer = new Firer({ redis: redisConn, keys, adapters: new Map([["list", list]]), token: () => "", now: () => clock.now() });
  const pending = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  };
  let isLeader = leading;
  const listeners: ((leader: boolean) => void)[] = [];
  const leadership: Leadership = { token: () => "", isLeader: () => isLeader, onChange: (l) => listeners.push(l), start: async () => undefined, stop: async () => undefined };
  const fired: Node["fired"] = [];
  const changes = new EventEmitter();
  const events = new ClockEvents();
  events.on("schedule:changed", ({ kind, name, fields }) => changes.emit(`${kind} ${name}`, fields));
  events.on("fire:fired", ({ outcome, catchUp }) => fired.push({ schedule: outcome.request.schedule.name, slotAt: outcome.request.slotAt, catchUp }));
  const planner = new Planner({
    clock,
    leadership,
    fire: (requests) => track(firer.fire(requests)),
    readLedger: () => track(readPlannerLedger(redisConn, keys)),
    events,
  });
  const sync = new DynamicSync({
    redis: redisConn,
    subscriber,
    keys,
    configSchedules: parseConfig({ namespace, adapter: "list", schedules: config }).schedules,
    defaults,
    adapterCheck: { settings: {}, namespace },
    adapters: { ensure: () => undefined },
    events,
    now: () => clock.now(),
  });
  planner.start(await sync.load());
  await sync.start(planner);
  return {
    clock,
    fired,
    changes,
    lead() {
      isLeader = true;
      for (const listener of listeners) listener(true);
    },
    async advanceTo(at: number) {
      while (clock.now() < at) {
        await clock.advance(Math.min(SECOND, at - clock.now()));
        while (pending.size > 0) await Promise.all(pending);
        await settle();
      }
    },
    async stop() {
      await planner.stop();
      redisConn.disconnect();
      subscriber.disconnect();
    },
  };
}

/** Pauses or resumes at a fake instant, and waits until every given node has applied it. */
async function setPausedAt(namespace: string, name: string, paused: boolean, at: number, nodes: Node[]): Promise<void> {
  const kind = paused ? "pause" : "resume";
  const applied = nodes.map((node) => new Promise((resolve) => node.changes.once(`${kind} ${name}`, resolve)));
  await setPaused(withScripts(redis), clockKeys(namespace), name, paused, at);
  await Promise.all(applied);
}

const secondsOf = (node: Node, name: string) => node.fired.filter((fire) => fire.schedule === name).map((fire) => (fire.slotAt - T0) / SECOND);

test("fake clock: paused at :12, resumed at :47.39, the :40 slot does not fire as catch-up; :50 fires on time (config and dynamic schedules)", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const client = createClient({ redis: server.url, namespace });
  await client.schedules.set("dyn", EVERY_10S);
  await client.close();
  const node = await fakeNode(namespace, T0, { cfg: EVERY_10S });
  scope.defer(() => node.stop());
  await node.advanceTo(T0 + 12 * SECOND);
  for (const name of ["cfg", "dyn"]) await setPausedAt(namespace, name, true, node.clock.now(), [node]);
  await node.advanceTo(T0 + 47_390);
  const resumed = new Promise<unknown>((resolve) => node.changes.once("resume dyn", resolve));
  for (const name of ["cfg", "dyn"]) await setPausedAt(namespace, name, false, node.clock.now(), [node]);
  assert.deepEqual(await resumed, { skipped: 3 }, "the resume says how many slots it skipped");
  await node.advanceTo(T0 + 61 * SECOND);
  for (const name of ["cfg", "dyn"]) {
    assert.deepEqual(secondsOf(node, name), [10, 50, 60], `${name}: no slot of the pause fires`);
    assert.ok(
      node.fired.every((fire) => !fire.catchUp),
      "nothing fired as catch-up",
    );
  }
});

test("fake clock: a slot at the resume instant fires, on time", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const node = await fakeNode(namespace, T0, { cfg: EVERY_10S });
  scope.defer(() => node.stop());
  await node.advanceTo(T0 + 12 * SECOND);
  await setPausedAt(namespace, "cfg", true, node.clock.now(), [node]);
  await node.advanceTo(T0 + 50 * SECOND);
  await setPausedAt(namespace, "cfg", false, node.clock.now(), [node]);
  await node.advanceTo(T0 + 51 * SECOND);
  assert.deepEqual(secondsOf(node, "cfg"), [10, 50]);
  assert.equal(node.fired.at(-1)?.catchUp, false);
});

test("fake clock: a clock restarted while paused, and one down across the resume, catch up no slot of the pause", async () => {
  const namespace = `p${++n}`;
  const first = await fakeNode(namespace, T0, { cfg: EVERY_10S });
  await first.advanceTo(T0 + 12 * SECOND);
  await setPausedAt(namespace, "cfg", true, T0 + 12 * SECOND, [first]);
  await first.stop();
  // Restarted while paused (it loads the paused set), resumed while it runs.
  const restarted = await fakeNode(namespace, T0 + 25 * SECOND, { cfg: EVERY_10S });
  try {
    await restarted.advanceTo(T0 + 47_390);
    await setPausedAt(namespace, "cfg", false, T0 + 47_390, [restarted]);
    await restarted.advanceTo(T0 + 51 * SECOND);
    assert.deepEqual(secondsOf(restarted, "cfg"), [50]);
  } finally {
    await restarted.stop();
  }
  // Paused again at :52 and resumed at :77.39 while no clock runs; a clock starts at :78.
  await setPaused(withScripts(redis), clockKeys(namespace), "cfg", true, T0 + 52 * SECOND);
  await setPaused(withScripts(redis), clockKeys(namespace), "cfg", false, T0 + 77_390);
  const late = await fakeNode(namespace, T0 + 78 * SECOND, { cfg: EVERY_10S });
  try {
    await late.advanceTo(T0 + 81 * SECOND);
    assert.deepEqual(secondsOf(late, "cfg"), [80], "the resume instant is read from Redis: :60 and :70 stay skipped");
  } finally {
    await late.stop();
  }
});

test("fake clock: a standby that becomes leader after the resume catches up no slot of the pause, but does catch up the outage after it", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const leader = await fakeNode(namespace, T0, { cfg: EVERY_10S });
  const standby = await fakeNode(namespace, T0, { cfg: EVERY_10S }, false);
  scope.defer(() => standby.stop());
  await leader.advanceTo(T0 + 12 * SECOND);
  await standby.advanceTo(T0 + 12 * SECOND);
  await setPausedAt(namespace, "cfg", true, T0 + 12 * SECOND, [leader, standby]);
  await leader.stop(); // the leader dies during the pause
  await standby.advanceTo(T0 + 47_390);
  await setPausedAt(namespace, "cfg", false, T0 + 47_390, [standby]);
  // Nobody leads across :50 and :60 (an outage); the standby takes over at :65.
  await standby.advanceTo(T0 + 65 * SECOND);
  standby.lead();
  await standby.advanceTo(T0 + 71 * SECOND);
  assert.deepEqual(secondsOf(leader, "cfg"), [10]);
  assert.deepEqual(secondsOf(standby, "cfg"), [50, 60, 70], "policy all: every slot the outage missed after the resume, none of the pause");
  assert.deepEqual(
    standby.fired.map((fire) => fire.catchUp),
    [true, true, false],
  );
});

test("the fire script refuses a scheduled slot of a paused schedule, even from a clock that has not heard of the pause; a manual trigger still goes", async () => {
  const namespace = `p${++n}`;
  const keys = clockKeys(namespace);
  const scripted = withScripts(redis);
  const list: Adapter = { name: "list", writes: (e) => [{ command: "RPUSH", key: `jobs:${namespace}`, args: [JSON.stringify({ slotAt: e.slotAt })] }] };
  const firer = new Firer({ redis: scripted, keys, adapters: new Map([["list", list]]), token: () => "", now: () => Date.now() });
  const schedule = parseSchedule("s", { every: "10s", job: { class: "S" } }, defaults);
  await setPaused(scripted, keys, "s", true);
  const [refused] = await firer.fire([{ schedule, slotAt: T0 }]);
  assert.equal(refused?.status, "paused");
  assert.equal(await redis.hget(keys.ledger, "s"), null, "the ledger records fires only");
  const [manual] = await firer.fire([{ schedule, slotAt: T0, manual: { jobId: "by-hand" } }]);
  assert.equal(manual?.status, "fired");
  await setPaused(scripted, keys, "s", false);
  const [after] = await firer.fire([{ schedule, slotAt: T0 + 10 * SECOND }]);
  assert.equal(after?.status, "fired");
  assert.equal((await slotsIn(namespace)).length, 2);
});

test("pause and resume are stamped with Redis time; pausing twice keeps the first instant, resuming an active schedule stamps nothing", async () => {
  const namespace = `p${++n}`;
  const keys = clockKeys(namespace);
  const scripted = withScripts(redis);
  const before = Date.now();
  const first = await setPaused(scripted, keys, "s", true);
  const again = await setPaused(scripted, keys, "s", true);
  assert.equal(first.changed, true);
  assert.equal(again.changed, false);
  assert.ok(Math.abs(first.atMs - before) < 1000, "Redis TIME, in epoch ms");
  assert.deepEqual(parsePauseRecord(await redis.hget(keys.pauses, "s")), { pausedAt: first.atMs });
  const resumed = await setPaused(scripted, keys, "s", false);
  assert.deepEqual(parsePauseRecord(await redis.hget(keys.pauses, "s")), { pausedAt: first.atMs, resumedAt: resumed.atMs });
  const noop = await setPaused(scripted, keys, "s", false);
  assert.equal(noop.changed, false);
  assert.deepEqual(parsePauseRecord(await redis.hget(keys.pauses, "s")), { pausedAt: first.atMs, resumedAt: resumed.atMs }, "an outage's catch-up is not cut short");
});

test("fake clock: a pause with until :47.39 ends by itself, as a resume sent then: no slot of the pause fires, :50 on time", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const keys = clockKeys(namespace);
  const node = await fakeNode(namespace, T0, { cfg: EVERY_10S });
  scope.defer(() => node.stop());
  await node.advanceTo(T0 + 12 * SECOND);
  const paused = new Promise((resolve) => node.changes.once("pause cfg", resolve));
  await setPaused(withScripts(redis), keys, "cfg", true, node.clock.now(), { reason: "migration", untilAt: T0 + 47_390 });
  await paused;
  assert.deepEqual(parsePauseRecord(await redis.hget(keys.pauses, "cfg")), { pausedAt: T0 + 12 * SECOND, reason: "migration", until: T0 + 47_390 });
  const resumed = new Promise<unknown>((resolve) => node.changes.once("resume cfg", resolve));
  // The leader's expiry task, once a second (in production by Redis time; here by the fake clock's).
  for (let at = T0 + 13 * SECOND; at <= T0 + 48 * SECOND; at += SECOND) {
    await node.advanceTo(at);
    const ended = await expirePauses(withScripts(redis), keys, node.clock.now());
    if (at < T0 + 47_390) assert.deepEqual(ended, [], "not before its until");
    else if (at === T0 + 48 * SECOND) assert.deepEqual(ended, [{ name: "cfg", untilAt: T0 + 47_390 }]);
  }
  assert.deepEqual(await resumed, { skipped: 3 });
  assert.deepEqual(
    parsePauseRecord(await redis.hget(keys.pauses, "cfg")),
    { pausedAt: T0 + 12 * SECOND, resumedAt: T0 + 47_390 },
    "stamped at until, not when the leader got to it",
  );
  await node.advanceTo(T0 + 61 * SECOND);
  assert.deepEqual(secondsOf(node, "cfg"), [10, 50, 60]);
  assert.ok(node.fired.every((fire) => !fire.catchUp));
});

test("real clock: pause(name, { reason, until }) shows both in status, and the leader resumes it at until", async (t) => {
  const scope = testScope(t);
  const namespace = `p${++n}`;
  const { clock, sink } = await startWith(namespace, { tick: { every: "1s", job: { class: "Tick", queue: namespace } } });
  const client = createClient({ redis: server.url, namespace });
  scope.defer(() => clock.stop());
  scope.defer(() => client.close());
  await assert.rejects(client.schedules.pause("tick", { until: "2020-01-01T00:00:00Z" }), (error: Error) => /tick\.until: is not in the future/.test(error.message));
  const untilAt = Date.now() + 2500;
  await client.schedules.pause("tick", { reason: "deploy freeze", until: new Date(untilAt) });
  const pausedAt = Date.now();
  const status = await client.status();
  assert.deepEqual(status.schedules[0]?.pause, { since: status.schedules[0]?.pause?.since ?? -1, reason: "deploy freeze", until: untilAt });
  const running = await clock.status();
  assert.equal(running.schedules[0]?.pause?.reason, "deploy freeze", "the running clock's status (and page) too");
  const line = await sink.waitFor((entry) => entry.msg === "pause ended at its until; the schedule resumes as if resumed then", 5000);
  assert.equal(line["until"], new Date(untilAt).toISOString());
  const next = await sink.waitFor((entry) => entry.msg === "fired" && Date.parse(String(entry["slot"])) >= untilAt, 3000);
  assert.ok(Date.parse(String(next["slot"])) - untilAt < 1000, "the first slot at or after until fires");
  const slots = await slotsIn(namespace);
  assert.deepEqual(
    slots.filter((at) => at > pausedAt && at < untilAt),
    [],
    "no slot inside the pause",
  );
  assert.equal((await client.status()).schedules[0]?.paused, false);
});
