/**
 * Runs alone, after the rest of npm test (test/alone/): three clocks, five Redis processes and two
 * failovers in real time fail under the load of the parallel suite on 2 cores (3 of 3 full runs),
 * and pass alone.
 *
 * Sentinel with the real engines: a primary, a replica and three redis-sentinels on loopback
 * (test/helpers/sentinel.ts), three `clock start` processes on REDIS_URL=redis+sentinel://...
 * firing a one-second schedule (catchUp "all", the list adapter) through SENTINEL FAILOVER and
 * then a SIGKILLed primary. What reached the queue of the last primary is checked slot by slot;
 * "fired" lines heard twice for one slot are the slots a failover rolled back and the clock fired
 * again (a worker that had taken the first copy would run it twice): measured and printed, and
 * held to the window the README admits. Spawns bin/clock.js, which runs dist/ (npm test builds it).
 */
import { afterEach, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "../../src/client/client.ts";
import { parseConfig, startClock } from "../../src/index.ts";
import { DEFAULT_CATCH_UP, parseSchedule } from "../../src/config/resolve.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { runClock } from "../helpers/process.ts";
import type { Heard } from "../helpers/lines.ts";
import { testScope } from "../helpers/scope.ts";
import { LogSink } from "../helpers/logs.ts";
import { startSentinelRig, type SentinelRig } from "../helpers/sentinel.ts";
import { ClockFleet, readListSlots, verifySlots } from "../helpers/verifier.ts";

const SCHEDULE_NAME = "tick";
const QUEUE = "sentinel";
const SCHEDULE_INPUT = { every: "1s", adapter: "list", catchUp: { policy: "all", window: "5m", max: 1000 }, job: { class: "Tick", queue: QUEUE } } as const;
const SCHEDULE = parseSchedule(SCHEDULE_NAME, SCHEDULE_INPUT, { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP });
const LINE_TIMEOUT_MS = 15 * SECOND;
/** Fires heard between faults: long enough to see the clocks settle, short enough for a ~60 s file. */
const STEADY_MS = 2000;
/** Every clock serves /healthz, /metrics and /api/status on a port of its own (the line "http endpoints listening" names it). */
process.env["CLOCK_HTTP_PORT"] = "0";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error("cleanup failed:", error));
});

const slotOf = (heard: Heard): number => Date.parse(String(heard.line["slot"]));
const floorSecond = (at: number): number => Math.floor(at / SECOND) * SECOND;
const fired = (heard: Heard): boolean => heard.line.msg === "fired";

function firedThrough(fleet: ClockFleet, slotAt: number, timeoutMs = LINE_TIMEOUT_MS): Promise<Heard> {
  return fleet.waitFor((_line, heard) => fired(heard) && slotOf(heard) >= slotAt, { timeoutMs, what: `a fire of ${new Date(slotAt).toISOString()} or later` });
}

/** The longest silence between two fires heard in [fromAt, untilAt] (receive times), ms. */
function longestSilence(fleet: ClockFleet, fromAt: number, untilAt: number): number {
  const times = fleet
    .heard("fired")
    .map((heard) => heard.receivedAt)
    .filter((at) => at >= fromAt && at <= untilAt);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0));
  return longest;
}

interface Fault {
  readonly kind: string;
  readonly startedAt: number;
  /** When every Sentinel named the new primary. */
  readonly promotedAt: number;
  /** The first fire of a slot due after the promotion: the clocks write to the new primary. */
  readonly firingAt: number;
}

/** What a clock's HTTP endpoints said of `durability` just before the stop. */
interface DurabilitySeen {
  readonly health: { readonly unreplicatedFires: number; readonly lastUnreplicatedAt: number | null } | undefined;
  readonly status: unknown;
  readonly metric: number | null;
}

interface Run {
  readonly fleet: ClockFleet;
  readonly durability: readonly DurabilitySeen[];
  readonly faults: readonly Fault[];
  readonly untilAt: number;
  readonly primaryPort: number;
}

/**
 * Three clocks on the rig's Sentinel URL; SENTINEL FAILOVER, then SIGKILL of the primary that
 * follows (brought back as a replica of the new one once the Sentinels promoted it, as an
 * operator would); then a clean stop. `during` runs after the first failover (client, CLI).
 */
async function runThroughFaults(t: TestContext, rig: SentinelRig, durability: object | null, during: (fleet: ClockFleet) => Promise<void> = async () => undefined): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "clock-sentinel-cfg-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const configPath = join(dir, "clock.config.mjs");
  const config = { lease: { ttl: "2s", retry: "200ms" }, schedules: { [SCHEDULE_NAME]: SCHEDULE_INPUT }, ...(durability === null ? {} : { durability }) };
  writeFileSync(configPath, `export default ${JSON.stringify(config, null, 2)};\n`);
  const fleet = new ClockFleet(testScope(t), configPath, rig.url);
  try {
    for (let i = 0; i < 3; i++) fleet.spawn();
    for (const proc of fleet.procs) await proc.waitFor((line) => line.msg === "clock started", { timeoutMs: LINE_TIMEOUT_MS, what: "clock started" });
    await firedThrough(fleet, floorSecond(Date.now()) + SECOND);
    await sleep(STEADY_MS);

    const faults: Fault[] = [];
    const fault = async (kind: string, inject: (primary: number) => Promise<void>, recover: (oldPrimary: number, newPrimary: number) => Promise<void>): Promise<number> => {
      const oldPrimary = await rig.primaryPort();
      const startedAt = Date.now();
      await inject(oldPrimary);
      const newPrimary = await rig.waitForNewPrimary(oldPrimary, 20 * SECOND);
      const promotedAt = Date.now();
      // The first fire of a slot due after the promotion, whatever the recovery does meanwhile.
      const firstFire = firedThrough(fleet, floorSecond(promotedAt) + SECOND, 20 * SECOND);
      firstFire.catch(() => undefined);
      await recover(oldPrimary, newPrimary);
      const firing = await firstFire;
      faults.push({ kind, startedAt, promotedAt, firingAt: firing.receivedAt });
      const lags = fleet
        .heard("fired")
        .filter((heard) => heard.receivedAt >= startedAt && heard.receivedAt <= firing.receivedAt)
        .map((heard) => Number(heard.line["lagMs"]));
      t.diagnostic(
        `${kind}: primary ${oldPrimary} -> ${newPrimary}; promoted after ${promotedAt - startedAt} ms; first fire of a later slot ${firing.receivedAt - startedAt} ms after the fault; ` +
          `longest silence between fires ${longestSilence(fleet, startedAt - SECOND, firing.receivedAt)} ms; largest lag ${Math.round(Math.max(0, ...lags))} ms`,
      );
      await sleep(STEADY_MS);
      return newPrimary;
    };

    await fault(
      "SENTINEL FAILOVER",
      () => rig.failover(),
      async () => undefined,
    );
    await during(fleet);
    const primaryPort = await fault(
      "SIGKILL of the primary",
      async (primary) => {
        const node = rig.nodes.find((candidate) => candidate.port === primary);
        assert.ok(node !== undefined, `primary ${primary} is one of the rig's nodes`);
        await node.kill();
      },
      async (oldPrimary, newPrimary) => {
        // Down long enough that batches go unacknowledged (or refused, with min-replicas-to-write), then back as a replica.
        await sleep(1500);
        await rig.nodes.find((node) => node.port === oldPrimary)?.restartAsReplicaOf(newPrimary);
      },
    );

    // A clean end: every slot up to now is in, what each clock reports read, then SIGTERM; each exits 0.
    const untilAt = floorSecond(Date.now());
    await firedThrough(fleet, untilAt);
    const seen = await Promise.all(fleet.procs.map(readDurability));
    const exits = await fleet.stopAll(LINE_TIMEOUT_MS);
    for (const [proc, exit] of exits) assert.equal(exit.code, 0, `${proc.name} exit after SIGTERM: ${JSON.stringify(exit)}\n${proc.tail()}`);
    return { fleet, durability: seen, faults, untilAt, primaryPort };
  } catch (error) {
    console.error(`process logs at failure:\n${fleet.diagnostics(40)}`);
    throw error;
  }
}

async function readDurability(proc: ClockFleet["procs"][number]): Promise<DurabilitySeen> {
  const listening = await proc.waitFor((line) => line.msg === "http endpoints listening", { timeoutMs: LINE_TIMEOUT_MS, what: "http endpoints listening" });
  const base = String(listening.line["http"]);
  const health = (await (await fetch(`${base}/healthz`)).json()) as { durability?: DurabilitySeen["health"] };
  const status = (await (await fetch(`${base}/api/status`)).json()) as { durability?: unknown };
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const metric = /^clock_unreplicated_fires_total (\d+)$/m.exec(metrics)?.[1];
  return { health: health.durability, status: status.durability, metric: metric === undefined ? null : Number(metric) };
}

/** Checks the queue on the last primary slot by slot; returns the slots fired more than once by the logs. */
async function verifyRun(t: TestContext, rig: SentinelRig, run: Run, label: string): Promise<number[]> {
  try {
    return await verifyQueueAndLogs(t, rig, run, label);
  } catch (error) {
    console.error(`${label}: process logs:\n${run.fleet.diagnostics(80)}`);
    throw error;
  }
}

async function verifyQueueAndLogs(t: TestContext, rig: SentinelRig, run: Run, label: string): Promise<number[]> {
  const redis = rig.connectNode(run.primaryPort);
  let slots: number[];
  try {
    assert.match(await redis.info("replication"), /role:master/, "the queue is read on the primary");
    slots = await readListSlots(redis, `jobs:${QUEUE}`, SCHEDULE_NAME);
  } finally {
    redis.disconnect();
  }
  const firstFire = run.fleet.heard("fired")[0];
  assert.ok(firstFire !== undefined && slots.length > 0, `${label}: nothing was enqueued`);
  const fromAt = slotOf(firstFire);
  const verdict = verifySlots(SCHEDULE, slots, fromAt, run.untilAt);
  t.diagnostic(`${label}: queue on the last primary: ${verdict.summary}`);
  assert.deepEqual(verdict.missing, [], `${label}: slots never enqueued on the last primary`);
  assert.deepEqual(verdict.duplicates, [], `${label}: slots twice in the last primary's queue`);
  assert.deepEqual(verdict.unexpected, [], `${label}: instants the schedule never yields`);

  const counts = new Map<number, number>();
  for (const heard of run.fleet.heard("fired")) counts.set(slotOf(heard), (counts.get(slotOf(heard)) ?? 0) + 1);
  const refired = [...counts]
    .filter(([, count]) => count > 1)
    .map(([at]) => at)
    .sort((a, b) => a - b);
  t.diagnostic(
    `${label}: slots fired twice (a failover rolled their write back, the clock fired them again): ${refired.length} [${refired.map((at) => new Date(at).toISOString()).join(", ")}]`,
  );
  // What each clock reported of WAIT: the same count in /healthz, /api/status and /metrics.
  let unreplicated = 0;
  for (const seen of run.durability) {
    assert.ok(seen.health !== undefined, "/healthz carries durability");
    assert.deepEqual(seen.status, seen.health, "/api/status says what /healthz says");
    assert.equal(seen.metric, seen.health.unreplicatedFires, "clock_unreplicated_fires_total is the same count");
    assert.equal(seen.health.lastUnreplicatedAt === null, seen.health.unreplicatedFires === 0);
    unreplicated += seen.health.unreplicatedFires;
  }
  t.diagnostic(`${label}: fires in batches no replica acknowledged (sum of the clocks' counts): ${unreplicated}`);
  // What the README admits: a failover can roll back only writes no replica had, and WAIT counts
  // those; nothing fires twice before the first fault.
  assert.ok(refired.length <= unreplicated, `${label}: ${refired.length} slots fired twice, but the clocks counted only ${unreplicated} unreplicated fires`);
  const firstFault = Math.min(...run.faults.map((fault) => fault.startedAt));
  for (const at of refired) assert.ok(at >= floorSecond(firstFault) - SECOND, `${label}: slot ${new Date(at).toISOString()} fired twice before any fault`);
  // Never a password in anything the clocks wrote, and the logs name the Sentinels and the master.
  for (const proc of run.fleet.procs) {
    const text = `${proc.log.entries.map((entry) => JSON.stringify(entry.line)).join("\n")}\n${proc.stderr}`;
    assert.ok(!text.includes(rig.password), `${proc.name} printed the Redis password`);
    const started = proc.linesOf("clock started")[0];
    assert.ok(started !== undefined);
    assert.equal(started["redis"], `redis+sentinel://${rig.sentinelPorts.map((port) => `127.0.0.1:${port}`).join(",")}/${rig.name}`);
    assert.equal(started["master"], rig.name);
  }
  return refired;
}

test(
  "three clocks through Sentinel fire on across SENTINEL FAILOVER and a SIGKILLed primary; the CLI and the client follow; WAIT counts what no replica confirmed",
  { timeout: 90 * SECOND },
  async (t) => {
    const rig = await startSentinelRig();
    cleanups.push(() => rig.close());
    // A client made before the failovers, used after them: it must follow on its own.
    const client = createClient({ redis: { sentinels: rig.sentinelPorts.map((port) => ({ host: "127.0.0.1", port })), name: rig.name, password: rig.password } });
    cleanups.push(() => client.close());
    assert.equal((await client.status()).namespace, "clock");

    const run = await runThroughFaults(t, rig, { replicas: 1, timeoutMs: 100 }, async (fleet) => {
      // A write through the old client: it reaches the new primary (a replica would say READONLY).
      await client.schedules.set("probe", { every: "1h", enabled: false, adapter: "list", job: { class: "Probe", queue: "probe" } });
      const status = await client.status();
      assert.ok(status.leader !== null, "the client sees a leader on the new primary");
      assert.ok(status.schedules.some((schedule) => schedule.name === "probe"));
      // The CLI through the same URL: exit 0, the leader, tick's last fire; never the password.
      // From a directory without a clock.config.*: the schedules the running clocks published.
      const cli = await runClock(["status", "--json"], { cwd: tmpdir(), env: { REDIS_URL: rig.url } });
      assert.equal(cli.code, 0, cli.stderr);
      assert.ok(!cli.stdout.includes(rig.password) && !cli.stderr.includes(rig.password));
      const parsed = JSON.parse(cli.stdout) as { leader: unknown; schedules: { name: string; lastFiredAt: number | null }[] };
      assert.ok(parsed.leader !== null);
      const tick = parsed.schedules.find((schedule) => schedule.name === SCHEDULE_NAME);
      assert.ok((tick?.lastFiredAt ?? 0) > Date.now() - 5 * SECOND, `tick fired lately: ${JSON.stringify(tick)}`);
      assert.ok(fleet.heard("redis primary changed (Sentinel failover); the ledger is read again").length > 0, "a clock logged the new primary");
    });
    const refired = await verifyRun(t, rig, run, "WAIT, no min-replicas-to-write");
    void refired;
    // The killed primary's absence: batches no replica confirmed, warned once, then "again" when it rejoined.
    const unacknowledged = run.fleet.heard("fire batch not acknowledged by replicas: a failover now could roll these slots back");
    assert.ok(unacknowledged.length > 0, "unreplicated batches were reported while the new primary had no replica");
    assert.ok(run.fleet.heard("replicas acknowledge fire batches again").length > 0, "and their end, once the old primary rejoined as a replica");
    t.diagnostic(`unreplicated-batch warnings: ${unacknowledged.length}`);

    // The client still answers on the last primary (it may be between connections for a moment
    // after the second failover: a few tries, the same client).
    let answered: Awaited<ReturnType<typeof client.status>> | null = null;
    let lastError: unknown = null;
    for (let attempt = 0; answered === null && attempt < 20; attempt++) {
      answered = await client.status().catch((error: unknown) => ((lastError = error), null));
      if (answered === null) await sleep(500);
    }
    assert.ok(answered !== null, `the client made before the failovers answers after them: ${String(lastError)}`);
    assert.ok(answered.schedules.some((schedule) => schedule.name === SCHEDULE_NAME));
  },
);

test("with durability.replicas 1 and min-replicas-to-write 1, the same faults fire no slot twice (measured)", { timeout: 90 * SECOND }, async (t) => {
  const rig = await startSentinelRig({ dataArgs: ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"] });
  cleanups.push(() => rig.close());
  const run = await runThroughFaults(t, rig, { replicas: 1, timeoutMs: 200 });
  const refired = await verifyRun(t, rig, run, "WAIT and min-replicas-to-write 1");
  assert.deepEqual(refired, [], "no slot fired twice");
  // Alone after the kill, the new primary refused writes until a replica was back: said in words.
  const failures = run.fleet.heard("fire failed; retrying with catch-up").map((heard) => JSON.stringify(heard.line["err"]));
  t.diagnostic(`fire failures while no replica was in sync: ${failures.length} (${[...new Set(failures)].join("; ")})`);
});

test(
  "BullMQ's own connection goes through Sentinel too; clock status says a wrong master name, a wrong password and unreachable Sentinels in words, never with the password",
  { timeout: 30 * SECOND },
  async () => {
    const rig = await startSentinelRig();
    cleanups.push(() => rig.close());
    // Given only the Sentinels' addresses, BullMQ's add can reach the primary only through them.
    const sink = new LogSink();
    const config = parseConfig({ adapter: "bullmq", namespace: "bq", schedules: { tick: { every: "1s", job: { class: "Tick", queue: "bq" } } } });
    const clock = await startClock({ config, logger: sink.logger, redisUrl: rig.url });
    try {
      const { outcome } = await clock.events.next("fire:fired", () => true, 10 * SECOND);
      const primary = rig.connectNode(await rig.primaryPort());
      try {
        assert.equal(await primary.hget(`bull:bq:${outcome.jobId}`, "name"), "Tick", "the job is in BullMQ's queue on the primary");
      } finally {
        primary.disconnect();
      }
    } finally {
      await clock.stop();
    }
    assert.ok(!JSON.stringify(sink.lines).includes(rig.password));
    const wrongName = await runClock(["status"], { env: { REDIS_URL: rig.url.replace(`/${rig.name}`, "/othermaster") } });
    assert.equal(wrongName.code, 1);
    assert.match(wrongName.stderr, /no Sentinel at 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ monitors a master named "othermaster"/);
    const wrongPassword = await runClock(["status"], { env: { REDIS_URL: rig.url.replace(rig.password, "not-the-pw") } });
    assert.equal(wrongPassword.code, 1);
    assert.match(wrongPassword.stderr, /cannot log in to Redis master mymaster \(Sentinels 127\.0\.0\.1:\d+,.*\): Redis refused the password/);
    assert.ok(!wrongPassword.stderr.includes("not-the-pw"));
    const ports = rig.sentinelPorts;
    await rig.close();
    const started = Date.now();
    const down = await runClock(["status"], { env: { REDIS_URL: `redis+sentinel://:${rig.password}@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/${rig.name}` } });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach the Sentinels of mymaster \(127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\)/);
    assert.ok(!down.stderr.includes(rig.password));
    assert.ok(Date.now() - started < 10 * SECOND, "gives up within seconds");
  },
);
