/**
 * Overlap policy (`overlap: "allow" | "skip" | "replace"`), decided inside the fire script: the
 * script level on a throwaway redis-server with unconsumed queues (what is left in each queue),
 * the planner's path (log line, metric), and the field-level refusals. Real consumers judge the
 * payloads in test/e2e/overlap.test.ts.
 */
import { createHash } from "node:crypto";
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { buildAdapters, type Adapter } from "../src/adapters/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule, type Defaults } from "../src/config/resolve.ts";
import { ClockMetrics } from "../src/daemon/metrics.ts";
import { observe } from "../src/daemon/observe.ts";
import { ClockEvents } from "../src/events.ts";
import { Firer, type FireOutcome } from "../src/fire/fire.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts, type ScriptedRedis } from "../src/redis/scripts.ts";
import { SECOND } from "../src/schedule/duration.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { issuesOf } from "./helpers/config-errors.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { pollUntil } from "./helpers/fired.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let redis: ScriptedRedis;
let prefix = 0;

before(async () => {
  server = await suite.redis();
  redis = withScripts(suite.client(server.url));
});

/** Three past slots one second apart: the script fires nothing before its instant by Redis time. */
const slots = (): number[] => {
  const base = Math.floor(Date.now() / SECOND) * SECOND - 10 * SECOND;
  return [base, base + SECOND, base + 2 * SECOND];
};

function setup(adapter: string, settings: Record<string, Record<string, unknown>> = {}) {
  const namespace = `o${++prefix}`;
  const keys = clockKeys(namespace);
  const adapters = buildAdapters(new Set([adapter]), settings, { namespace });
  const firer = new Firer({ redis, keys, adapters, token: () => "", now: () => Date.now() });
  const queue = `q${prefix}`;
  const defaults: Defaults = { timezone: "UTC", adapter, catchUp: DEFAULT_CATCH_UP };
  const schedule = (name: string, overlap: string | undefined): Schedule =>
    parseSchedule(name, { every: "1s", adapter, ...(overlap === undefined ? {} : { overlap }), job: { class: "ReportJob", args: [1], queue } }, defaults, {
      settings,
      namespace,
    });
  /** Each slot in a fire of its own, as the planner fires on-time slots. */
  const fireEach = async (s: Schedule, slotAts: readonly number[]): Promise<FireOutcome[]> => {
    const outcomes: FireOutcome[] = [];
    for (const slotAt of slotAts) outcomes.push(...(await firer.fire([{ schedule: s, slotAt }])));
    return outcomes;
  };
  return { namespace, keys, firer, schedule, fireEach, queue };
}

test("overlap skip: while the previous slot's job waits in the Sidekiq queue, later slots enqueue nothing and advance the ledger", async () => {
  const { schedule, fireEach, queue, keys, firer } = setup("sidekiq");
  const [a, b, c] = slots() as [number, number, number];
  const s = schedule("skipper", "skip");
  const outcomes = await fireEach(s, [a, b]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["fired", "skipped"],
  );
  assert.equal(outcomes[1]?.previousSlotAt, a, "the skip names the slot whose job still waits");
  const waiting = await redis.lrange(`queue:${queue}`, 0, -1);
  assert.equal(waiting.length, 1, "two slots, one job: the second was skipped");
  assert.equal((JSON.parse(waiting[0] ?? "{}") as { jid: string }).jid, outcomes[0]?.jobId);
  assert.equal(await redis.hget(keys.ledger, "skipper"), String(b), "a skip advances the ledger like a fire");
  assert.equal((await firer.fire([{ schedule: s, slotAt: b }]))[0]?.status, "duplicate", "a skipped slot never fires later");
  // A worker takes the job (Sidekiq's fetch pops it): the next slot fires.
  await redis.rpop(`queue:${queue}`);
  const [third] = await fireEach(s, [c]);
  assert.equal(third?.status, "fired");
  assert.equal(await redis.llen(`queue:${queue}`), 1);
});

test("overlap replace: the waiting Sidekiq job is withdrawn and the new one pushed, in one script; allow leaves every job and writes no overlap state", async () => {
  const { schedule, fireEach, queue, keys } = setup("sidekiq");
  const [a, b, c] = slots() as [number, number, number];
  const outcomes = await fireEach(schedule("replacer", "replace"), [a, b, c]);
  assert.deepEqual(
    outcomes.map((outcome) => [outcome.status, outcome.previousSlotAt]),
    [
      ["fired", undefined],
      ["fired", a],
      ["fired", b],
    ],
  );
  const waiting = (await redis.lrange(`queue:${queue}`, 0, -1)).map((raw) => JSON.parse(raw) as { jid: string; clock: { slotAt: number } });
  assert.deepEqual(
    waiting.map((job) => [job.jid, job.clock.slotAt]),
    [[outcomes[2]?.jobId, c]],
  );

  const allowed = await fireEach(schedule("allower", undefined), [a, b, c]);
  assert.ok(allowed.every((outcome) => outcome.status === "fired" && outcome.previousSlotAt === undefined));
  assert.equal(await redis.llen(`queue:${queue}`), 4, "allow (the default) enqueues every slot, as before");
  assert.deepEqual(Object.keys(await redis.hgetall(keys.pushed)), ["replacer"], "allow keeps no overlap state");
});

test("overlap replace with several slots in one fire (catch-up all): only the newest job is left, the older slots are 'replaced'", async () => {
  const { schedule, firer, queue, keys } = setup("sidekiq");
  const s = schedule("burst", "replace");
  const outcomes = await firer.fire(slots().map((slotAt) => ({ schedule: s, slotAt })));
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["replaced", "replaced", "fired"],
  );
  assert.equal(await redis.llen(`queue:${queue}`), 1);
  assert.equal(await redis.hget(keys.ledger, "burst"), String(slots()[2]));
});

test("overlap on resque, list and celery (the pushed payload), and rq skip (the job id in rq:queue:Q)", async () => {
  const [a, b, c] = slots() as [number, number, number];
  const cases: { adapter: string; list: (queue: string) => string }[] = [
    { adapter: "resque", list: (queue) => `resque:queue:${queue}` },
    { adapter: "list", list: (queue) => `jobs:${queue}` },
    { adapter: "celery", list: (queue) => queue },
  ];
  for (const { adapter, list } of cases) {
    const { schedule, fireEach, queue } = setup(adapter);
    const skipped = await fireEach(schedule("s", "skip"), [a, b, c]);
    assert.deepEqual(
      skipped.map((outcome) => outcome.status),
      ["fired", "skipped", "skipped"],
      adapter,
    );
    const replaced = await fireEach(schedule("r", "replace"), [a, b, c]);
    assert.ok(
      replaced.every((outcome) => outcome.status === "fired"),
      adapter,
    );
    const left = await redis.lrange(list(queue), 0, -1);
    assert.equal(left.length, 2, `${adapter}: one job of each schedule`);
    assert.ok(
      left.some((raw) => raw.includes(replaced[2]?.jobId ?? "?")),
      `${adapter}: the replace left the newest job`,
    );
  }
  const { schedule, fireEach, queue } = setup("rq");
  const outcomes = await fireEach(schedule("s", "skip"), [a, b]);
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    ["fired", "skipped"],
  );
  assert.deepEqual(await redis.lrange(`rq:queue:${queue}`, 0, -1), [outcomes[0]?.jobId]);
  assert.equal(await redis.exists(`rq:job:${outcomes[1]?.jobId ?? ""}`), 0, "a skipped slot writes no RQ job hash");
  await redis.lpop(`rq:queue:${queue}`); // a worker starts it
  assert.equal((await fireEach(schedule("s", "skip"), [c]))[0]?.status, "fired");
});

test("overlap through the planner: each skip is logged and counted in clock_overlap_skips_total{schedule}", async () => {
  const { firer, schedule, queue } = setup("sidekiq");
  // The planner's calendar runs a minute behind the real one, so Redis time never finds a slot early.
  const clock = new FakeClock(Math.floor(Date.now() / SECOND) * SECOND - 60 * SECOND);
  const events = new ClockEvents();
  const sink = new LogSink();
  const metrics = new ClockMetrics();
  observe(events, sink.logger, metrics);
  const skips: FireOutcome[] = [];
  events.on("fire:overlap-skipped", ({ outcome }) => skips.push(outcome));
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire: (requests) => firer.fire(requests), readLedger: async () => new Map(), leadership, events });
  planner.start([schedule("planned", "skip")]);
  await leadership.start();
  for (let i = 0; i < 3; i++) {
    await clock.advance(SECOND);
    await pollUntil(`fire ${i + 1}`, async () => sink.lines.filter((line) => line["schedule"] === "planned").length >= i + 1, 5 * SECOND);
  }
  await planner.stop();
  assert.equal(sink.fired("planned").length, 1);
  assert.equal(skips.length, 2);
  const line = sink.lines.find((entry) => entry.msg === "slot skipped: the previous slot's job is still pending (overlap skip)");
  assert.ok(line !== undefined, "the skip is logged");
  assert.equal(line["schedule"], "planned");
  assert.equal(line["pending"], sink.fired("planned")[0]?.["slot"], "the line names the slot whose job still waits");
  assert.match(await metrics.registry.metrics(), /clock_overlap_skips_total\{schedule="planned"\} 2/);
  assert.equal(await redis.llen(`queue:${queue}`), 1);
});

test("overlap is validated field by field: unknown values, rq replace, and adapters that cannot tell are refused", () => {
  const job = { class: "J" };
  assert.deepEqual(issuesOf({ schedules: { a: { every: "1m", overlap: "queue", job } } }), ['schedules.a.overlap: expected "allow", "skip" or "replace"']);
  assert.deepEqual(issuesOf({ overlap: "never", schedules: {} }), ['overlap: expected "allow", "skip" or "replace"']);
  const [rq] = issuesOf({ schedules: { nightly: { every: "1m", adapter: "rq", overlap: "replace", job } } });
  assert.match(rq ?? "", /^schedules\.nightly\.overlap: "replace" is not supported by the rq adapter: RQ keeps a waiting job in its hash/);
  // The config default applies to every schedule, and is checked for each.
  const custom = { name: "stream", writes: () => [] };
  assert.deepEqual(
    issuesOf({ overlap: "skip", adapters: { stream: custom }, schedules: { s: { every: "1m", adapter: "stream", job }, ok: { every: "1m", adapter: "list", job } } }),
    [
      'schedules.s.overlap: "skip" needs to know whether the previous slot\'s job is still waiting, which the stream adapter cannot tell (only "allow"; an adapter of one\'s own tells it with overlap.pending)',
    ],
  );
  // Reported with the schema's problems, not a round later.
  assert.deepEqual(issuesOf({ schedules: { both: { every: "1m", cron: "* * * * *", adapter: "rq", overlap: "replace", job } } }).length, 2);
  // A dynamic schedule is refused at write time, by name and field (client.schedules.set validates with this).
  assert.throws(
    () =>
      parseSchedule(
        "dyn",
        { every: "1m", adapter: "rq", overlap: "replace", job },
        { timezone: "UTC", adapter: "rq", catchUp: DEFAULT_CATCH_UP },
        { settings: {}, namespace: "clock" },
      ),
    /dyn\.overlap: "replace" is not supported by the rq adapter/,
  );
  // A dynamic schedule inherits the config's default.
  const inherited = parseSchedule("d", { every: "1m", job }, { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP, overlap: "skip" });
  assert.equal((inherited as { overlap?: string }).overlap, "skip");
});

test("overlap allow (the default) sends the fire script no overlap fields: a plain entry, as before overlap existed", async () => {
  const namespace = "pin";
  const keys = clockKeys(namespace);
  const adapters = buildAdapters(new Set(["sidekiq"]), {}, { namespace });
  const calls: string[][] = [];
  const recorder = { clockFire: async (...args: (number | string)[]) => (calls.push(args.map(String)), [Date.now() * 1000, 1]) } as unknown as ScriptedRedis;
  const firer = new Firer({ redis: recorder, keys, adapters, token: () => "tok", now: () => 1_795_442_400_000 });
  const s = parseSchedule("pinned", { every: "1s", job: { class: "J", queue: "q" } }, { timezone: "UTC", adapter: "sidekiq", catchUp: DEFAULT_CATCH_UP });
  const [outcome] = await firer.fire([{ schedule: s, slotAt: 1_795_442_400_000 }]);
  // The payload of old, but for the slot's traceparent (README "Traces").
  const digest = createHash("sha256").update(`traceparent\0pin\0pinned\0${1_795_442_400_000}`).digest("hex");
  const traceparent = `00-${digest.slice(0, 32)}-${digest.slice(32, 48)}-01`;
  const payload = `{"class":"J","args":[],"queue":"q","retry":true,"jid":"${outcome?.jobId ?? ""}","clock":{"schedule":"pinned","slot":"2026-11-23T14:00:00.000Z","slotAt":1795442400000},"traceparent":"${traceparent}","created_at":1795442400.0,"enqueued_at":1795442400.0}`;
  // One JSON argument per batch (fire.lua's header): no overlap, limit or outbox fields for a plain schedule.
  assert.deepEqual(calls, [
    [
      "7",
      keys.lease,
      keys.ledger,
      keys.outbox,
      keys.stats,
      keys.paused,
      "queues",
      "queue:q",
      "tok",
      JSON.stringify([
        {
          m: "s",
          n: "pinned",
          t: "1795442400000",
          w: [
            ["SADD", 6, "q"],
            ["LPUSH", 7, payload],
          ],
        },
      ]),
    ],
  ]);
});

test("an enqueue adapter (BullMQ's path): a job still in the outbox holds a skip back; a replace's withdraw rides in the outbox and a drain replays it", async () => {
  const namespace = `o${++prefix}`;
  const keys = clockKeys(namespace);
  const list = `${namespace}:jobs`;
  let failing = false;
  const withdrawn: string[] = [];
  const adapter: Adapter = {
    name: "ext",
    async enqueue(enqueue) {
      if (failing) throw new Error("queue down");
      await redis.rpush(list, enqueue.jobId);
    },
    overlap: {
      pending: (enqueue) => ({ mark: enqueue.jobId, waitingLists: [list] }),
      async withdraw(_enqueue, mark) {
        withdrawn.push(mark);
        await redis.lrem(list, 0, mark);
      },
    },
  };
  const firer = new Firer({ redis, keys, adapters: new Map([["ext", adapter]]), token: () => "", now: () => Date.now() });
  const defaults: Defaults = { timezone: "UTC", adapter: "ext", catchUp: DEFAULT_CATCH_UP };
  const check = { settings: { ext: adapter }, namespace };
  const skip = parseSchedule("s", { every: "1s", overlap: "skip", job: { class: "J" } }, defaults, check);
  const replace = parseSchedule("r", { every: "1s", overlap: "replace", job: { class: "J" } }, defaults, check);
  const [a, b, c] = slots() as [number, number, number];

  failing = true;
  assert.equal((await firer.fire([{ schedule: skip, slotAt: a }]))[0]?.status, "outboxed");
  assert.equal((await firer.fire([{ schedule: skip, slotAt: b }]))[0]?.status, "skipped", "the outboxed job is pending: it will be added");

  failing = false;
  const [first] = await firer.fire([{ schedule: replace, slotAt: a }]);
  failing = true;
  const [second] = await firer.fire([{ schedule: replace, slotAt: b }]);
  assert.equal(second?.status, "outboxed");
  assert.deepEqual(withdrawn, [first?.jobId], "the waiting job was withdrawn before the add failed");
  const entry = JSON.parse((await redis.hget(keys.outbox, `r\u0000${b}`)) ?? "{}") as { withdraw?: string };
  assert.equal(entry.withdraw, first?.jobId, "the outbox entry names the job to withdraw");
  failing = false;
  await firer.drainOutbox(() => undefined);
  assert.deepEqual(withdrawn, [first?.jobId, first?.jobId], "the drain withdraws again (idempotent), then adds");
  // The skip schedule's outboxed job was added by the drain too: one job per schedule.
  assert.deepEqual((await redis.lrange(list, 0, -1)).sort(), [`clock-r-${b}`, `clock-s-${a}`].sort());
  // A replace whose previous job is still in the outbox withdraws it there, inside the script.
  failing = true;
  await firer.fire([{ schedule: replace, slotAt: c }]);
  const [late] = await firer.fire([{ schedule: replace, slotAt: c + SECOND }]);
  assert.equal(late?.status, "outboxed");
  assert.equal(await redis.hexists(keys.outbox, `r\u0000${c}`), 0, "the older outbox entry was withdrawn");
});
