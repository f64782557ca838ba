/**
 * A real Redis Cluster (three `redis-server --cluster-enabled yes` masters joined with
 * `redis-cli --cluster create`): `clock start` on `redis+cluster://` fires a list schedule whose
 * key carries the clock's hash tag (inside the fire script, one slot) and a BullMQ schedule with a
 * hash-tagged prefix (through the outbox: BullMQ's keys live in another slot), a real BullMQ
 * Worker on the cluster performs each slot once; `clock status` reads the cluster; a config the
 * cluster cannot carry (Sidekiq) is refused at start with the reason. On a cluster of its own with
 * AOF, the master of the clock's slot and then BullMQ's are restarted while both schedules fire:
 * the outage's slots fire by catch-up (or through the outbox), each once.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Worker, type Job } from "bullmq";
import { Cluster, type Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../../src/config/resolve.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, firedLines, parseJson, pollUntil, sleep, startClockProcess } from "../helpers/fired.ts";
import { timeOf, type LogLine } from "../helpers/logs.ts";
import { startCluster, type TestCluster } from "../helpers/cluster.ts";
import { layout, namesCoveringShards, shardHolders } from "../helpers/shards.ts";
import { createClient } from "../../src/index.ts";
import { parsePauseRecord } from "../../src/dynamic/pauses.ts";
import { clockKeys, keysOfSchedule, shardKeys, shardOf } from "../../src/redis/keys.ts";
import { runClock } from "../helpers/process.ts";
import { suiteScope, testScope, type Scope } from "../helpers/scope.ts";
import { readListSlots, verifySlots } from "../helpers/verifier.ts";

let cluster: TestCluster;
const suite = suiteScope();

before(async () => {
  cluster = await startCluster(3);
});
after(async () => {
  await cluster?.close();
});

/** An ioredis Cluster client on `on` (the suite's cluster by default), disconnected by `scope`. */
const connectCluster = (options: Record<string, unknown> = {}, on: TestCluster = cluster, scope: Scope = suite): Cluster => {
  const client = new Cluster(
    on.ports.map((port) => ({ host: "127.0.0.1", port })),
    options,
  );
  client.on("error", () => undefined);
  scope.defer(() => client.disconnect());
  return client;
};

/** A real BullMQ Worker on the suite's cluster, closed by `scope`: the ids of the jobs it performed, in order. */
async function performingWorker(scope: Scope, queue: string, prefix: string): Promise<string[]> {
  const performed: string[] = [];
  const worker = new Worker(
    queue,
    async (job: Job) => {
      performed.push(job.id ?? "");
    },
    { connection: connectCluster({ maxRetriesPerRequest: null }) as never, prefix },
  );
  scope.defer(() => worker.close(true));
  await worker.waitUntilReady();
  return performed;
}

test(
  "redis+cluster://: a list schedule in the clock's slot and a BullMQ schedule through the outbox fire every slot once; a real Worker performs them",
  { timeout: 60 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const configPath = scope.configFile({
      adapters: { list: { key: "{clock}:jobs:{queue}" }, bullmq: { prefix: "{bull}" } },
      schedules: {
        tick: { every: "1s", adapter: "list", job: { class: "TickJob", queue: "cl" } },
        bull: { every: "1s", adapter: "bullmq", job: { class: "BullJob", args: [{ n: 1 }], queue: "clq" } },
      },
    });
    const performed = await performingWorker(scope, "clq", "{bull}");

    const clock = startClockProcess(scope, "clock", configPath, cluster.url);
    await clock.waitFor(() => countFired(clock.lines, "tick") >= 4 && countFired(clock.lines, "bull") >= 4, { what: "4 fires of each", timeoutMs: 20 * SECOND });
    const status = await runClock(["status", "--json", "--config", configPath], { env: { REDIS_URL: cluster.url } });
    assert.equal(status.code, 0, status.stderr);
    const names = (JSON.parse(status.stdout) as { schedules: { name: string }[] }).schedules.map((schedule) => schedule.name).sort();
    assert.deepEqual(names, ["bull", "tick"], "clock status reads the cluster");
    assert.equal((await clock.stop("SIGTERM")).code, 0, clock.tail());

    const redis = connectCluster();
    const listed = (await redis.lrange("{clock}:jobs:cl", 0, -1)).map((text) => parseJson(text, "{clock}:jobs:cl")["slotAt"] as number);
    assertConsecutive(listed, SECOND, "the list schedule's jobs");
    assert.deepEqual(
      [...listed].sort((a, b) => a - b),
      firedLines(clock.lines, "tick")
        .map((fire) => fire.slotAt)
        .sort((a, b) => a - b),
    );
    const bullFired = firedLines(clock.lines, "bull");
    assertConsecutive(
      bullFired.map((fire) => fire.slotAt),
      SECOND,
      "the BullMQ schedule's slots",
    );
    await pollUntil(
      "the Worker performs every BullMQ slot",
      async () => performed.length >= bullFired.length,
      15 * SECOND,
      () => `${performed.length} of ${bullFired.length}`,
    );
    assert.deepEqual([...performed].sort(), bullFired.map((fire) => fire.jobId).sort(), "each slot performed once, by its job id");
  },
);

test("redis+cluster://: a Sidekiq schedule and a list key outside the clock's slot are refused at start, naming the schedule and why", async (t) => {
  const scope = testScope(t);
  const configPath = scope.configFile({
    schedules: {
      report: { every: "1h", adapter: "sidekiq", job: { class: "ReportJob" } },
      feed: { every: "1h", adapter: "list", job: { class: "FeedJob" } },
    },
  });
  const result = await runClock(["start", "--config", configPath], { env: { REDIS_URL: cluster.url } });
  assert.equal(result.code, 2, result.stdout + result.stderr); // a config error, as for any bad config
  const output = result.stdout + result.stderr;
  assert.match(output, /schedules\.report\.adapter: sidekiq: Sidekiq does not support Redis Cluster/);
  assert.match(output, /schedules\.feed\.adapter: on a Redis Cluster the list adapter's key "jobs:default" must carry the clock's hash tag \{clock\}/);
});

test("redis+cluster:// with shards: a list key outside the schedule's shard's slot, and an overlap check that would read BullMQ's slot, are refused at start, naming the field", async (t) => {
  const scope = testScope(t);
  const configPath = scope.configFile({
    namespace: "refused",
    shards: 4,
    adapters: { list: { key: "{refused}:jobs:{queue}" }, bullmq: { prefix: "{rbull}" } },
    schedules: {
      feed: { every: "1h", adapter: "list", job: { class: "FeedJob" } },
      single: { every: "1h", adapter: "bullmq", overlap: "skip", job: { class: "SingleJob" } },
    },
  });
  const result = await runClock(["start", "--config", configPath], { env: { REDIS_URL: cluster.url } });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  const output = result.stdout + result.stderr;
  const shard = shardOf("feed", 4);
  assert.match(
    output,
    new RegExp(
      `schedules\\.feed\\.adapter: on a Redis Cluster the list adapter's key "\\{refused\\}:jobs:default" must carry the hash tag \\{refused:s${shard}\\} of the schedule's shard \\(${shard}\\)`,
    ),
  );
  assert.match(output, /adapters\.list\.key "\{refused:s\{shard\}\}:jobs:\{queue\}"/);
  assert.match(output, /schedules\.single\.overlap: "skip" cannot be kept on a Redis Cluster with the bullmq adapter: the fire script would read "\{rbull\}:default:wait"/);
});

const CATCH_UP_ALL = { policy: "all", window: "5m", max: 1000 } as const;
const RESTART_TICK = { every: "1s", adapter: "list", catchUp: CATCH_UP_ALL, job: { class: "TickJob", queue: "cl" } } as const;
const RESTART_BULL = { every: "1s", adapter: "bullmq", catchUp: CATCH_UP_ALL, job: { class: "BullJob", args: [{ n: 1 }], queue: "clq" } } as const;
const SCHEDULE_DEFAULTS = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP } as const;
/** How long a node stays down (SIGTERM to the new process): several slots, well under cluster-node-timeout (15 s), so no node is marked failed. */
const DOWN_MS = 2500;
const WAIT_MS = 20 * SECOND;
/** The outbox drain's period (daemon/start.ts OUTBOX_DRAIN_MS, 30 s) and some. */
const OUTBOX_WAIT_MS = 45 * SECOND;
const floorSecond = (at: number): number => Math.floor(at / SECOND) * SECOND;
/** BullMQ job ids are readable, clock-<schedule>-<slot ms> (adapters/ids.ts). */
const slotOfJobId = (jobId: string): number => {
  const match = /^clock-bull-(\d+)$/.exec(jobId);
  assert.ok(match !== null, `not a job id of the bull schedule: ${jobId}`);
  return Number(match[1]);
};

interface Restart {
  readonly what: string;
  readonly port: number;
  /** SIGTERM sent to the node. */
  readonly stoppedAt: number;
  /** The node's new process spawned. */
  readonly spawnedAt: number;
  /** Every node answers and sees cluster_state:ok. */
  readonly okAt: number;
  /** The first fire of the affected schedule(s) heard after the new process was spawned. */
  readonly firstFireAt: number;
  /** Slots of the outage fired late (catchUp), and slots whose enqueue went to the outbox. */
  readonly caughtUp: number;
  readonly outboxed: number;
  readonly fireFailures: number;
}

test(
  "redis+cluster:// through node restarts (AOF): the master of the clock's slot, then BullMQ's, SIGTERMed and started again while both schedules fire; missed slots fire by catch-up, every slot once, each BullMQ job performed once",
  { timeout: 90 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const persisted = await startCluster(3, { appendonly: true });
    scope.defer(() => persisted.close());
    const clockNode = await persisted.nodeOf("{clock}:ledger");
    const bullNode = await persisted.nodeOf("{bull}:clq:id");
    const configPath = scope.configFile({
      adapters: { list: { key: "{clock}:jobs:{queue}" }, bullmq: { prefix: "{bull}" } },
      schedules: { tick: RESTART_TICK, bull: RESTART_BULL },
    });
    const tick = parseSchedule("tick", RESTART_TICK, SCHEDULE_DEFAULTS);
    const bull = parseSchedule("bull", RESTART_BULL, SCHEDULE_DEFAULTS);
    const performed: string[] = [];
    const workerErrors: string[] = [];
    const worker = new Worker(
      "clq",
      async (job: Job) => {
        performed.push(job.id ?? "");
      },
      { connection: connectCluster({ maxRetriesPerRequest: null }, persisted, scope) as never, prefix: "{bull}" },
    );
    // A Worker's connection errors while a node is down are expected; an "error" with no listener would throw.
    worker.on("error", (error) => workerErrors.push(error.message));
    scope.defer(() => worker.close(true));
    await worker.waitUntilReady();

    const clock = startClockProcess(scope, "clock", configPath, persisted.url);
    try {
      await clock.waitFor(() => countFired(clock.lines, "tick") >= 3 && countFired(clock.lines, "bull") >= 3, { what: "3 fires of each", timeoutMs: WAIT_MS });
      const outboxedSlots = (from = 0): number[] =>
        clock.log.entries
          .slice(from)
          .filter(({ line }) => line.msg === "enqueue failed after the ledger advanced; kept in the outbox for retry")
          .map(({ line }) => slotOfJobId(String(line["jobId"])));
      const restarts: Restart[] = [];
      const restart = async (what: string, port: number, schedules: readonly string[]): Promise<void> => {
        // Half-way between two slots: no fire script and no Worker's job is in flight at the SIGTERM
        // (a reply lost with it would be fine for the clock, a job lost mid-run is BullMQ's at-least-once).
        const midSecond = floorSecond(Date.now()) + SECOND / 2;
        await sleep(midSecond > Date.now() ? midSecond - Date.now() : midSecond + SECOND - Date.now());
        const from = clock.log.length;
        const stoppedAt = Date.now();
        await persisted.stopNode(port);
        await sleep(Math.max(0, stoppedAt + DOWN_MS - Date.now()));
        const spawnedAt = Date.now();
        await persisted.startNode(port);
        const okAt = Date.now();
        const firstFire = await clock.waitFor((line, heard) => line.msg === "fired" && schedules.includes(String(line["schedule"])) && heard.receivedAt >= spawnedAt, {
          from,
          timeoutMs: WAIT_MS,
          what: `a fire of ${schedules.join(" or ")} after node ${port} (${what}) is back`,
        });
        // Everything due by now is in: the ledger is ordered, so a fire of this second's slot follows every missed one.
        const due = floorSecond(Date.now());
        for (const name of schedules)
          await clock.waitFor((line) => line.msg === "fired" && line["schedule"] === name && Date.parse(String(line["slot"])) >= due, {
            from,
            timeoutMs: WAIT_MS,
            what: `a fire of ${name} at ${new Date(due).toISOString()} or later`,
          });
        const after = clock.log.entries.slice(from).map(({ line }) => line);
        restarts.push({
          what,
          port,
          stoppedAt,
          spawnedAt,
          okAt,
          firstFireAt: firstFire.receivedAt,
          caughtUp: after.filter((line) => line.msg === "fired" && line["catchUp"] === true).length,
          outboxed: outboxedSlots(from).length,
          fireFailures: after.filter((line) => line.msg === "fire failed; retrying with catch-up" || line.msg === "fire failed again; retrying").length,
        });
      };
      await restart("{clock}'s master", clockNode, ["tick", "bull"]);
      const clockRestart = restarts[0] as Restart;
      assert.ok(clockRestart.fireFailures > 0, `no fire failed while the {clock} master was down\n${clock.tail(40)}`);
      assert.ok(clockRestart.caughtUp >= 2, `no slot of the outage was fired late by catch-up: was the outage really missed?\n${clock.tail(40)}`);
      if (bullNode !== clockNode) {
        await clock.waitFor(() => countFired(clock.lines, "bull") >= 2, { what: "bull fires between the restarts", timeoutMs: WAIT_MS });
        await restart("{bull}'s master", bullNode, ["bull"]);
      }
      // The leader retries the outbox every 30 s (README): the slots outboxed while {bull}'s master
      // was down reach BullMQ at the next drain, so the clock runs until the Worker has them.
      const outboxedIds = outboxedSlots().map((at) => `clock-bull-${at}`);
      await pollUntil(
        "the outbox drain hands every outboxed slot to BullMQ and the Worker performs it",
        async () => outboxedIds.every((id) => performed.includes(id)),
        OUTBOX_WAIT_MS,
        () => `missing ${outboxedIds.filter((id) => !performed.includes(id)).join(", ")}\n${clock.tail(40)}`,
      );
      const outboxDoneAt = Date.now();
      await sleep(2 * SECOND);

      const untilAt = floorSecond(Date.now());
      const handled = (line: LogLine, name: string): boolean =>
        (line.msg === "fired" && line["schedule"] === name) || (name === "bull" && line.msg === "enqueue failed after the ledger advanced; kept in the outbox for retry");
      const slotOfLine = (line: LogLine): number => (line.msg === "fired" ? Date.parse(String(line["slot"])) : slotOfJobId(String(line["jobId"])));
      for (const name of ["tick", "bull"])
        await clock.waitFor((line) => handled(line, name) && slotOfLine(line) >= untilAt, {
          timeoutMs: WAIT_MS,
          what: `${name} handled through ${new Date(untilAt).toISOString()}`,
        });
      assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, clock.tail());

      // The list: every slot from the first through untilAt exactly once, in the queue.
      const redis = connectCluster({}, persisted, scope);
      const listed = await readListSlots(redis as unknown as Redis, "{clock}:jobs:cl", "tick");
      const tickFired = firedLines(clock.lines, "tick").map((fire) => fire.slotAt);
      assert.ok(listed.length > 0, "nothing reached the list");
      const firstLeader = clock.linesOf("leadership acquired")[0];
      assert.ok(firstLeader !== undefined, clock.tail());
      const listFrom = Math.min(...listed);
      assert.ok(
        listFrom <= timeOf(firstLeader) + 2 * SECOND,
        `the list's first slot ${new Date(listFrom).toISOString()} is long after the leadership at ${String(firstLeader.time)}`,
      );
      const listVerdict = verifySlots(tick, listed, listFrom, untilAt);
      // A fire whose reply a SIGTERMed node never sent is found fired on the retry, and logs no "fired": the queue may hold more, never less.
      assert.deepEqual(
        tickFired.filter((at) => !listed.includes(at)),
        [],
        "slots the clock logged as fired but missing from the list",
      );

      // BullMQ: every slot the clock logged as fired, or as kept in the outbox while {bull}'s master
      // was down, is performed; the performed slots are consecutive from the first through untilAt, each once by its job id.
      const bullLogged = [...firedLines(clock.lines, "bull").map((fire) => fire.jobId), ...outboxedSlots().map((at) => `clock-bull-${at}`)];
      assert.deepEqual(
        bullLogged.filter((id, i) => bullLogged.indexOf(id) !== i),
        [],
        "BullMQ slots the clock logged twice (fired or outboxed)",
      );
      const bullFrom = Math.min(...bullLogged.map(slotOfJobId));
      await pollUntil(
        "the Worker performs every BullMQ slot",
        async () => bullLogged.every((id) => performed.includes(id)),
        WAIT_MS,
        () => `missing ${bullLogged.filter((id) => !performed.includes(id)).join(", ")}`,
      );
      await sleep(500); // a duplicate would show up now
      const bullVerdict = verifySlots(bull, performed.map(slotOfJobId), bullFrom, untilAt);
      const catchUps = firedLines(clock.lines).filter((fire) => fire.catchUp).length;
      for (const r of restarts)
        console.log(
          `[cluster restart] ${r.what} (port ${r.port}): down ${r.spawnedAt - r.stoppedAt} ms until respawned, ${r.okAt - r.stoppedAt} ms until cluster_state:ok; ` +
            `first fire ${r.firstFireAt - r.spawnedAt} ms after the respawn (${r.firstFireAt - r.okAt} ms after ok); fire failures logged ${r.fireFailures}; ` +
            `slots caught up ${r.caughtUp} (fired late with catchUp, both schedules); outboxed ${r.outboxed}`,
        );
      console.log(
        `[cluster restart] {clock} on ${clockNode}, {bull} on ${bullNode}; ${listed.length} list slots, ${bullLogged.length} BullMQ slots logged (${outboxedIds.length} outboxed, then retried), ` +
          `${performed.length} performed by the Worker; catch-up fires ${catchUps}; outbox retries logged ${clock.linesOf("outbox enqueues retried").length}; Worker errors ${workerErrors.length}`,
      );
      const bullRestart = restarts.find((r) => r.port === bullNode && r.what.startsWith("{bull}"));
      if (bullRestart !== undefined && outboxedIds.length > 0)
        console.log(
          `[cluster restart] the ${outboxedIds.length} outboxed slots performed ${outboxDoneAt - bullRestart.okAt} ms after {bull}'s master was ok (the outbox is retried every second while entries wait)`,
        );
      console.log(`[cluster restart] ${listVerdict.summary}`);
      console.log(`[cluster restart] ${bullVerdict.summary}`);
      for (const [verdict, label] of [
        [listVerdict, "the list schedule"],
        [bullVerdict, "the BullMQ jobs performed"],
      ] as const) {
        assert.ok(verdict.expected >= 10, `${label}: only ${verdict.expected} slots`);
        assert.deepEqual(verdict.duplicates, [], `${label}: duplicates: ${verdict.summary}`);
        assert.deepEqual(verdict.missing, [], `${label}: missing: ${verdict.summary}`);
        assert.deepEqual(verdict.unexpected, [], `${label}: unexpected: ${verdict.summary}`);
      }
      assert.equal(new Set(performed).size, performed.length, "a BullMQ job performed twice");
    } catch (error) {
      console.error(`[cluster restart] clock log at failure:\n${clock.tail(80)}`);
      throw error;
    }
  },
);

const SHARDED = "sharded";
const SHARD_COUNT = 4;

test(
  "redis+cluster:// with shards: 4 on two processes: shard keys on more than one node, every list and BullMQ slot once; a pause made while firing holds from its write, a resume fires again",
  { timeout: 90 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const keys = clockKeys(SHARDED, SHARD_COUNT);
    const tenants = namesCoveringShards(SHARD_COUNT, 1);
    const paused = tenants[0] as string;
    const tenantSchedule = { every: "1s", adapter: "list", job: { class: "TenantJob" } } as const;
    const configPath = scope.configFile({
      namespace: SHARDED,
      shards: SHARD_COUNT,
      lease: { ttl: "2s", retry: "200ms" },
      // A shard's fire script writes only its own slot: each list under its shard's tag.
      adapters: { list: { key: `{${SHARDED}:s{shard}}:jobs:{queue}` }, bullmq: { prefix: "{sbull}" } },
      schedules: {
        ...Object.fromEntries(tenants.map((name) => [name, tenantSchedule])),
        bull: { every: "1s", adapter: "bullmq", job: { class: "BullJob", queue: "sq" } },
      },
    });
    const nodes = new Set(await Promise.all(Array.from({ length: SHARD_COUNT }, (_, shard) => cluster.nodeOf(shardKeys(keys, shard).ledger))));
    assert.ok(nodes.size > 1, `every shard's keys on one node (${[...nodes].join(", ")}): the test would not show them spread`);
    const performed = await performingWorker(scope, "sq", "{sbull}");
    const redis = connectCluster();
    const listOf = (name: string): string => `{${SHARDED}:s${shardOf(name, SHARD_COUNT)}}:jobs:default`;
    const slotsOf = (name: string): Promise<number[]> => readListSlots(redis as unknown as Redis, listOf(name), name);

    const clocks = [startClockProcess(scope, "clock#1", configPath, cluster.url), startClockProcess(scope, "clock#2", configPath, cluster.url)];
    try {
      await pollUntil(
        "every shard led, by both processes",
        async () => {
          const holders = await shardHolders(redis as unknown as Redis, SHARD_COUNT, SHARDED);
          return !holders.includes(null) && new Set(holders).size === 2;
        },
        WAIT_MS,
        async () => layout(await shardHolders(redis as unknown as Redis, SHARD_COUNT, SHARDED)),
      );
      await pollUntil("3 slots of the schedule to pause", async () => (await slotsOf(paused)).length >= 3, WAIT_MS);

      // Paused mid-second, while every schedule fires: no slot after the pause's instant (its shard's Redis time) is enqueued.
      const client = createClient({ redis: cluster.url, namespace: SHARDED });
      scope.defer(() => client.close());
      await sleep(SECOND / 2 - (Date.now() % SECOND) + SECOND);
      await client.schedules.pause(paused, { reason: "cluster test" });
      const pausedAt = parsePauseRecord(await redis.hget(keysOfSchedule(keys, paused).pauses, paused))?.pausedAt ?? Number.NaN;
      assert.ok(Number.isFinite(pausedAt), "the shard's record has the pause's instant");
      assert.equal(await redis.sismember(keys.paused, paused), 1, "the deployment's copy follows");
      await sleep(3 * SECOND);
      const duringPause = await slotsOf(paused);
      assert.deepEqual(
        duringPause.filter((at) => at > pausedAt),
        [],
        `slots after the pause at ${new Date(pausedAt).toISOString()} were enqueued`,
      );
      await client.schedules.resume(paused);
      const resumedAt = parsePauseRecord(await redis.hget(keys.pauses, paused))?.resumedAt ?? Number.NaN;
      assert.ok(resumedAt > pausedAt, "the resume is stamped after the pause");
      await pollUntil("a slot after the resume fires", async () => (await slotsOf(paused)).some((at) => at >= resumedAt), WAIT_MS);

      const untilAt = floorSecond(Date.now()) - SECOND;
      await pollUntil(
        "every list schedule enqueued through untilAt",
        async () => (await Promise.all(tenants.map(async (name) => (await slotsOf(name)).some((at) => at >= untilAt)))).every(Boolean),
        WAIT_MS,
      );
      for (const clock of clocks) assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, clock.tail());

      const tenant = parseSchedule(tenants[1] as string, tenantSchedule, SCHEDULE_DEFAULTS);
      for (const name of tenants) {
        const listed = await slotsOf(name);
        const fromAt = Math.min(...listed);
        const inRange = listed.filter((at) => at <= untilAt);
        // The paused schedule: every slot once outside the pause, none inside it (pause means skip).
        const expected = name === paused ? inRange.filter((at) => at <= pausedAt || at >= resumedAt) : inRange;
        assert.deepEqual(expected, inRange, `${name}: slots inside the pause were enqueued`);
        const verdict = verifySlots(tenant, inRange, fromAt, untilAt);
        const missing = name === paused ? verdict.missing.filter((at) => at <= pausedAt || at >= resumedAt) : verdict.missing;
        assert.deepEqual(verdict.duplicates, [], `${name}: ${verdict.summary}`);
        assert.deepEqual(missing, [], `${name}: ${verdict.summary}`);
        assert.deepEqual(verdict.unexpected, [], `${name}: ${verdict.summary}`);
      }
      const bullFired = [...new Set(clocks.flatMap((clock) => firedLines(clock.lines, "bull").map((fire) => fire.jobId)))];
      assert.equal(bullFired.length, clocks.flatMap((clock) => firedLines(clock.lines, "bull")).length, "a BullMQ slot logged as fired twice");
      await pollUntil("the Worker performs every BullMQ slot", async () => bullFired.every((id) => performed.includes(id)), WAIT_MS);
      await sleep(500); // a duplicate would show up now
      assert.equal(new Set(performed).size, performed.length, "a BullMQ job performed twice");
      assertConsecutive(bullFired.map(slotOfJobId), SECOND, "the BullMQ schedule's slots");
      console.log(
        `[cluster shards] shard ledgers on nodes ${[...nodes].join(", ")}; ${tenants.length} list schedules + BullMQ (${performed.length} performed); ` +
          `paused ${paused} at ${new Date(pausedAt).toISOString()}, resumed at ${new Date(resumedAt).toISOString()}`,
      );
    } catch (error) {
      for (const clock of clocks) console.error(`[cluster shards] ${clock.name} log at failure:\n${clock.tail(60)}`);
      throw error;
    }
  },
);

test(
  "redis+cluster:// with shards: 4 through a node restart (AOF): the master of the most shards SIGTERMed and started again while every shard fires; the outage's slots fire by catch-up, every slot once",
  { timeout: 90 * SECOND },
  async (t) => {
    const scope = testScope(t);
    const persisted = await startCluster(3, { appendonly: true });
    scope.defer(() => persisted.close());
    const keys = clockKeys(SHARDED, SHARD_COUNT);
    const tenants = namesCoveringShards(SHARD_COUNT, 1);
    const tick = { every: "1s", adapter: "list", catchUp: CATCH_UP_ALL, job: { class: "TenantJob" } } as const;
    const configPath = scope.configFile({
      namespace: SHARDED,
      shards: SHARD_COUNT,
      lease: { ttl: "2s", retry: "200ms" },
      adapters: { list: { key: `{${SHARDED}:s{shard}}:jobs:{queue}` } },
      schedules: Object.fromEntries(tenants.map((name) => [name, tick])),
    });
    const nodeOfShard = await Promise.all(Array.from({ length: SHARD_COUNT }, (_, shard) => persisted.nodeOf(shardKeys(keys, shard).ledger)));
    const busiest = [...new Set(nodeOfShard)].sort((a, b) => nodeOfShard.filter((port) => port === b).length - nodeOfShard.filter((port) => port === a).length)[0] as number;
    const redis = connectCluster({}, persisted, scope) as unknown as Redis;
    const slotsOf = (name: string): Promise<number[]> => readListSlots(redis, `{${SHARDED}:s${shardOf(name, SHARD_COUNT)}}:jobs:default`, name);
    const clock = startClockProcess(scope, "clock", configPath, persisted.url);
    try {
      await clock.waitFor(() => tenants.every((name) => countFired(clock.lines, name) >= 2), { what: "2 fires of every schedule", timeoutMs: WAIT_MS });
      await persisted.stopNode(busiest);
      await sleep(DOWN_MS);
      const spawnedAt = Date.now();
      await persisted.startNode(busiest);
      const due = floorSecond(Date.now()) + SECOND;
      for (const name of tenants)
        await clock.waitFor((line) => line.msg === "fired" && line["schedule"] === name && Date.parse(String(line["slot"])) >= due, {
          timeoutMs: WAIT_MS,
          what: `a fire of ${name} at ${new Date(due).toISOString()} or later`,
        });
      assert.deepEqual(await clock.stop("SIGTERM"), { code: 0, signal: null }, clock.tail());
      const caughtUp = firedLines(clock.lines).filter((fire) => fire.catchUp && fire.line.time !== undefined && timeOf(fire.line) >= spawnedAt).length;
      const schedule = parseSchedule(tenants[0] as string, tick, SCHEDULE_DEFAULTS);
      for (const name of tenants) {
        const listed = (await slotsOf(name)).filter((at) => at <= due);
        const verdict = verifySlots(schedule, listed, Math.min(...listed), due);
        assert.ok(verdict.expected >= 5, `${name}: only ${verdict.expected} slots`);
        assert.deepEqual(verdict.duplicates, [], `${name}: ${verdict.summary}`);
        assert.deepEqual(verdict.missing, [], `${name}: ${verdict.summary}`);
        assert.deepEqual(verdict.unexpected, [], `${name}: ${verdict.summary}`);
      }
      console.log(
        `[cluster shards restart] shards on nodes ${nodeOfShard.join(", ")}; restarted ${busiest} (${nodeOfShard.filter((port) => port === busiest).length} shards); ${caughtUp} slots caught up after the respawn; every slot once`,
      );
    } catch (error) {
      console.error(`[cluster shards restart] clock log at failure:\n${clock.tail(80)}`);
      throw error;
    }
  },
);
