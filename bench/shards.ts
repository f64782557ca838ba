/**
 * Part 6, shards (issue #13 item 7; not in the default run: `--only shards`): one redis-server,
 * S dynamic schedules (default 1,000,000; --shards-schedules) in `{clock}:schedules`, per-tenant
 * rules across zones and intervals that are all due at one instant T (the top-of-the-hour burst),
 * and 4 clock processes with `shards: 16` on one config. Measured from outside, in Redis:
 *
 *   - spawn -> every shard's lease held, by the 4 processes, none over ceil(16 / 4) = 4;
 *   - each process's RSS once settled (and its peak, start-up and burst included);
 *   - the burst: T -> the first and the last of the S jobs in the list (burst.ts's poller, Redis
 *     TIME), beside redis-benchmark's LPUSH -P 64 ceiling for S pushes on the same server;
 *   - rebalance: SIGKILL of shard 0's leader -> every shard held by the 3 left, none over 6.
 *
 * A missed goal is a figure; the part fails only when it cannot measure.
 */
import { DateTime } from "luxon";
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { encodeEntry } from "../src/dynamic/store.ts";
import { indexAdd } from "../src/dynamic/schedule-index.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { nextSlotAfter } from "../src/schedule/slots.ts";
import type { LoggedProcess } from "../test/helpers/process.ts";
import { balanced, layout, shardHolders, shardsPerPid } from "../test/helpers/shards.ts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describeArrival, KEY, OURS_KEY, runBenchmark, watchArrivals } from "./burst.ts";
import { formatProfile, newestProfile, summariseProfile } from "./profile.ts";
import {
  calibrate,
  connect,
  memoryMb,
  monoAt,
  ms,
  note,
  ratio,
  redisServer,
  ROOT,
  section,
  SECOND,
  sleep,
  spawnClock,
  stopProc,
  verdict,
  waitIdle,
  waitMessage,
  wallNow,
  writeConfig,
  type Row,
} from "./lib.ts";

export const SHARDS_SCHEDULES = 1_000_000;
const SHARDS = 16;
const PROCESSES = 4;
/** The lease TTL by default (--shards-ttl changes it): short, so the rebalance is measured in seconds. */
export const SHARDS_TTL_MS = 5 * SECOND;
const RETRY_MS = 500;
/** The burst's queue: OURS_KEY with it is burst.ts's KEY, the list polled. */
const QUEUE = "burst";
const WRITE_CHUNK = 10_000;
const POLL_MS = 20;
const BURST_TIMEOUT_MS = 120 * SECOND;
const REBALANCE_TIMEOUT_MS = 30 * SECOND;
/** After the burst, how long the 4 are given to be balanced and idle again before the SIGKILL. */
const RECOVER_TIMEOUT_MS = 60 * SECOND;
/** How long the "fired" lines are awaited once every job is in Redis (they come after the writes). */
const FIRED_LINES_WAIT_MS = 10 * SECOND;

const GOAL_RSS_MB = 400;
const GOAL_LED_MS = 15 * SECOND;
const GOAL_CEILING = 3;

/** Whole-hour offsets only (DST included): minute M of every hour is the same instant in all of them. */
const ZONES = [
  "UTC",
  "Europe/London",
  "Europe/Berlin",
  "Europe/Athens",
  "Europe/Moscow",
  "Asia/Dubai",
  "Asia/Shanghai",
  "Asia/Tokyo",
  "Australia/Brisbane",
  "Pacific/Auckland",
  "America/Sao_Paulo",
  "America/New_York",
  "America/Chicago",
  "America/Denver",
  "America/Los_Angeles",
  "Pacific/Honolulu",
] as const;
const INTERVALS = ["1h", "2h", "6h", "12h", "1d"] as const;

/**
 * From the choice of T to settled, with room: writing S entries, then 4 processes each loading all
 * S on a 2-core machine. Measured on a shared 2-core machine: 100,000 written in 2.0 s and settled
 * 13.4 s after spawn; 1,000,000 written in 14.4 s and settled 71 s after spawn.
 */
function allowanceMs(count: number): number {
  return 12 * SECOND + count * 0.1;
}

/**
 * The rule of schedule i, due at T: mostly cron in a zone (hourly at M:S; daily or weekly at the
 * zone's local hour and weekday of T), a fifth `every` anchored at T. None is due between now and T.
 */
function ruleOf(i: number, instantAt: number): Record<string, unknown> {
  const zone = ZONES[i % ZONES.length] as string;
  const local = DateTime.fromMillis(instantAt, { zone });
  const [second, minute] = [local.second, local.minute];
  switch (Math.floor(i / ZONES.length) % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
      return { cron: `${second} ${minute} * * * *`, timezone: zone };
    case 4:
    case 5:
    case 6:
      return { cron: `${second} ${minute} ${local.hour} * * *`, timezone: zone };
    case 7:
      return { cron: `${second} ${minute} ${local.hour} * * ${local.weekday % 7}`, timezone: zone };
    default:
      return { every: INTERVALS[i % INTERVALS.length], anchor: new Date(instantAt).toISOString() };
  }
}

function definitionOf(i: number, instantAt: number): Record<string, unknown> {
  return { ...ruleOf(i, instantAt), adapter: "list", job: { class: "TenantReport", args: [i], queue: QUEUE } };
}

/** Each distinct rule, by the clock's own slot functions: its first slot after `fromAt` is T. */
function checkRules(count: number, instantAt: number, fromAt: number): void {
  const seen = new Set<string>();
  for (let i = 0; i < Math.min(count, ZONES.length * 10 * INTERVALS.length); i++) {
    const rule = ruleOf(i, instantAt);
    const text = JSON.stringify(rule);
    if (seen.has(text)) continue;
    seen.add(text);
    const schedule = parseSchedule(`rule-${i}`, definitionOf(i, instantAt), { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP });
    const next = nextSlotAfter(schedule, fromAt);
    if (next !== instantAt)
      throw new Error(`bench design: ${text} is next due at ${next === null ? "never" : new Date(next).toISOString()}, not at T ${new Date(instantAt).toISOString()}`);
  }
}

async function writeSchedules(redis: Redis, count: number, instantAt: number): Promise<number> {
  const keys = clockKeys("clock", SHARDS);
  const key = keys.schedules;
  const startedAt = wallNow();
  for (let from = 0; from < count; from += WRITE_CHUNK) {
    const pipeline = redis.pipeline();
    const now = Date.now();
    const names: string[] = [];
    for (let i = from; i < Math.min(count, from + WRITE_CHUNK); i++) {
      const name = `tenant-${String(i).padStart(7, "0")}-report`;
      names.push(name);
      pipeline.hset(key, name, encodeEntry(definitionOf(i, instantAt), now));
    }
    // Each entry's name in its shard's index, as the client writes it (schedule-index.ts).
    indexAdd(pipeline, keys, names);
    for (const [error] of (await pipeline.exec()) ?? []) if (error !== null) throw error;
  }
  const written = await redis.hlen(key);
  if (written !== count) throw new Error(`${key} holds ${written} entries, ${count} written`);
  return wallNow() - startedAt;
}

interface Balance {
  readonly ok: boolean;
  /** Wall time of the poll that saw it balanced (or the last poll). */
  readonly at: number;
  readonly holders: (number | null)[];
  readonly polls: number;
}

/** Polls the 16 leases until they are balanced over `live` (see test/helpers/shards.ts), or past `deadlineAt`. */
async function untilBalanced(redis: Redis, live: readonly LoggedProcess[], deadlineAt: number): Promise<Balance> {
  const pids = live.map((proc) => proc.pid);
  for (let polls = 1; ; polls++) {
    const holders = await shardHolders(redis, SHARDS);
    const at = wallNow();
    if (balanced(holders, pids)) return { ok: true, at, holders, polls };
    if (at > deadlineAt) return { ok: false, at, holders, polls };
    await sleep(POLL_MS);
  }
}

const mb = (value: number): string => value.toFixed(0);

/** Redis's own CPU so far (INFO cpu: used_cpu_user + used_cpu_sys), seconds. */
async function redisCpuS(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const of = (field: string): number => Number(new RegExp(`${field}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN);
  return of("used_cpu_user") + of("used_cpu_sys");
}

/** INFO memory's used_memory, bytes. */
async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

export async function benchShards(dir: string, count = SHARDS_SCHEDULES, profileDir: string | null = null, ttlMs = SHARDS_TTL_MS): Promise<Row[]> {
  const goalRebalanceMs = ttlMs + 2 * SECOND;
  section(
    `6. Shards: ${count.toLocaleString("en")} dynamic schedules due at one instant, ${PROCESSES} clock processes, shards: ${SHARDS}, lease { ttl: "${ttlMs / SECOND}s", retry: "${RETRY_MS}ms" }, one redis-server`,
  );
  calibrate();
  const server = await redisServer();
  const redis = connect(server.url);
  const chosenAt = wallNow();
  const instantAt = Math.ceil((chosenAt + allowanceMs(count)) / SECOND) * SECOND;
  checkRules(count, instantAt, chosenAt);
  const schedules = count.toLocaleString("en");
  const memoryBefore = await usedMemory(redis);
  const writeMs = await writeSchedules(redis, count, instantAt);
  const memoryWritten = await usedMemory(redis);
  note(
    `wrote ${count.toLocaleString("en")} entries to {clock}:schedules (HSET, pipelines of ${WRITE_CHUNK.toLocaleString("en")}) in ${ms(writeMs)}; T = ${new Date(instantAt).toISOString()}, ${ms(instantAt - wallNow())} from now`,
  );

  // The ceiling before the clocks start, on the quiet server (after the burst the clocks are still
  // writing history and log lines, and the ceiling measured then is theirs too); its list removed.
  const benchmarkMs = runBenchmark(server.port, count);
  await redis.del("mylist");

  const config = writeConfig(dir, "shards", {
    shards: SHARDS,
    adapter: "list",
    adapters: { list: { key: OURS_KEY, push: "rpush" } },
    lease: { ttl: `${ttlMs / SECOND}s`, retry: `${RETRY_MS}ms` },
    schedules: {},
  });
  // --profile: each clock with --cpu-prof in a directory of its own (the SIGKILLed one writes none).
  const profileDirOf = (n: number): string | null => (profileDir === null ? null : join(profileDir, `clock-${n + 1}`));
  const clocks = Array.from({ length: PROCESSES }, (_, n) => {
    const own = profileDirOf(n);
    // A million "fired" lines are counted, not parsed and kept: the bench shares the 2 cores with the clocks.
    return spawnClock(config, { label: `clock ${n + 1} (shards)`, redisUrl: server.url, nodeArgs: own === null ? [] : ["--cpu-prof", "--cpu-prof-dir", own], tally: ["fired"] });
  });
  const spawnedAt = Math.min(...clocks.map((clock) => clock.startedAt));
  const startedLines = clocks.map((clock) => waitMessage(clock, "clock started", instantAt - wallNow()).catch(() => null));

  const led = await untilBalanced(redis, clocks, instantAt - 500);
  const ledMs = led.ok ? led.at - spawnedAt : Number.NaN;
  note(
    led.ok
      ? `all ${SHARDS} shards led ${ms(ledMs)} after spawn (${led.polls} polls of the leases): ${layout(led.holders)}`
      : `NOT all ${SHARDS} shards led by ${PROCESSES} processes (<= ${Math.ceil(SHARDS / PROCESSES)} each) before T: ${layout(led.holders)}`,
  );
  const started = await Promise.all(startedLines);
  note(`"clock started" after spawn: ${started.map((line, n) => (line === null ? "not seen" : ms(line.receivedAt - (clocks[n] as LoggedProcess).startedAt))).join(", ")}`);
  const idle = await Promise.all(clocks.map((clock) => waitIdle(clock.pid, instantAt - wallNow() - 300)));
  const settledAt = wallNow();
  const settled = idle.every(Boolean) && settledAt < instantAt - 200;
  const rss = clocks.map((clock) => memoryMb(clock.pid).rssMb);
  note(
    `${settled ? `settled ${ms(instantAt - settledAt)} before T` : `STILL BUSY at T (${idle.filter((done) => !done).length} of ${PROCESSES} not idle): start-up not over`}; RSS then ${rss.map(mb).join(", ")} MB`,
  );

  const early = await redis.llen(KEY);
  if (early > 0) note(`warning: ${early} jobs in ${KEY} before T (the rules were checked due at T first): the burst's figures include them`);
  const instantMonoUs = monoAt(instantAt);
  const cpuBefore = await redisCpuS(redis);
  const arrival = await watchArrivals(connect(server.url), instantAt, count, ["llen"], KEY, BURST_TIMEOUT_MS);
  const doneMonoUs = monoAt(Number.isNaN(arrival.allAt) ? wallNow() : arrival.allAt);
  note(describeArrival(`burst, ${count.toLocaleString("en")}`, arrival, instantAt, BURST_TIMEOUT_MS));
  // Whether the burst waited on Redis: its CPU from just before T to the last job (the poller's own calls included).
  const redisBusyS = (await redisCpuS(redis)) - cpuBefore;
  const burstS = ((Number.isNaN(arrival.allAt) ? wallNow() : arrival.allAt) - instantAt) / SECOND;
  note(
    `Redis CPU during the burst: ${redisBusyS.toFixed(1)} s in ${burstS.toFixed(1)} s (${((100 * redisBusyS) / burstS).toFixed(0)}% of one core), ${((redisBusyS * 1e6) / Math.max(1, arrival.count)).toFixed(1)} µs per job in; the LPUSH ceiling is ${((benchmarkMs * 1000) / count).toFixed(2)} µs per push`,
  );
  const firstMs = arrival.firstAt - instantAt;
  const allMs = arrival.allAt - instantAt;
  // The "fired" lines follow the writes: wait (bounded) for them, to see how the burst split.
  const firedCounts = (): number[] => clocks.map((clock) => clock.tallied("fired"));
  for (const until = wallNow() + FIRED_LINES_WAIT_MS; firedCounts().reduce((sum, n) => sum + n, 0) < count && wallNow() < until;) await sleep(100);
  const fired = firedCounts();
  const peaks = clocks.map((clock) => memoryMb(clock.pid).peakMb);
  const perPid = shardsPerPid(led.holders);
  note(
    `per process: shards led / "fired" lines / RSS settled / peak MB: ${clocks.map((clock, n) => `${perPid.get(clock.pid) ?? 0} / ${fired[n]} / ${mb(rss[n] as number)} / ${mb(peaks[n] as number)}`).join("; ")}`,
  );
  // Redis memory per schedule: its entry (written), then what the clock keeps for it once it has
  // fired (ledger, history, stats: the growth since, less the burst's own queue list).
  const memoryFired = await usedMemory(redis);
  const burstList = Number(await redis.call("MEMORY", "USAGE", KEY, "SAMPLES", "0"));
  const entryBytes = (memoryWritten - memoryBefore) / count;
  const firedCount = Math.max(1, arrival.count);
  const firedBytes = (memoryFired - memoryWritten - burstList) / firedCount;
  note(
    `Redis used_memory: +${mb((memoryWritten - memoryBefore) / 2 ** 20)} MB for the ${schedules} entries (${entryBytes.toFixed(0)} B each), then +${mb((memoryFired - memoryWritten - burstList) / 2 ** 20)} MB once ${arrival.count.toLocaleString("en")} fired (${firedBytes.toFixed(0)} B per fired schedule: ledger, history, stats; the burst's list of ${mb(burstList / 2 ** 20)} MB left out)`,
  );
  // Why a lease went: each process's lease and timing lines since T (the first few).
  const TROUBLE = [
    "shard lost",
    "shard acquired",
    "timer woke late (event loop blocked or process paused)",
    "lease renewal came back after the lease's validity ran out (slow Redis replies); no fires in that gap, due slots fire now",
  ];
  for (const [n, clock] of clocks.entries()) {
    const lines = clock.log.entries.filter((heard) => heard.receivedAt >= instantAt && TROUBLE.includes(String(heard.line.msg)));
    if (lines.length === 0) continue;
    const shown = lines.slice(0, 8).map(({ line }) => {
      const at = Date.parse(String(line["time"])) - instantAt;
      const detail = line["shard"] ?? line["lateMs"] ?? line["lapsedMs"] ?? "";
      return `T+${ms(at)} ${String(line.msg).split(" (")[0] ?? ""} ${String(detail)}`;
    });
    note(`clock ${n + 1}, since T (${lines.length} lease/timer lines): ${shown.join("; ")}`);
  }
  const lostAfterT = clocks.map((clock) => clock.log.entries.filter((heard) => heard.receivedAt >= instantAt && heard.line.msg === "shard lost").length);
  if (lostAfterT.some((lost) => lost > 0)) note(`"shard lost" lines since T, per process: ${lostAfterT.join(", ")} (a lease not renewed in time during the burst)`);

  // Rebalance from a steady state: the 4 balanced and idle again after the burst (bounded), then
  // shard 0's leader (the one the others compare their config with) is killed.
  const recoverFrom = wallNow();
  const recovered = await untilBalanced(redis, clocks, recoverFrom + RECOVER_TIMEOUT_MS);
  const calm = await Promise.all(clocks.map((clock) => waitIdle(clock.pid, Math.max(0, recoverFrom + RECOVER_TIMEOUT_MS - wallNow()))));
  note(
    recovered.ok && calm.every(Boolean)
      ? `after the burst and the ceiling: balanced over ${PROCESSES} and idle again ${ms(wallNow() - recoverFrom)} later`
      : `after the burst and the ceiling: NOT ${recovered.ok ? "idle" : "balanced"} again within ${RECOVER_TIMEOUT_MS / SECOND} s (${layout(recovered.holders)}); the SIGKILL goes ahead`,
  );
  const before = await shardHolders(redis, SHARDS);
  const victim = clocks.find((clock) => clock.pid === before[0]) ?? (clocks[0] as LoggedProcess);
  const heldBefore = before.filter((pid) => pid === victim.pid).length;
  victim.signal("SIGKILL");
  const killedAt = wallNow();
  const left = clocks.filter((clock) => clock !== victim);
  const again = await untilBalanced(redis, left, killedAt + REBALANCE_TIMEOUT_MS);
  const rebalanceMs = again.ok ? again.at - killedAt : Number.NaN;
  note(
    again.ok
      ? `SIGKILL of pid ${victim.pid} (it led ${heldBefore} shards${before[0] === victim.pid ? ", shard 0 among them" : ""}): all ${SHARDS} led by the ${left.length} left (<= ${Math.ceil(SHARDS / left.length)} each) after ${ms(rebalanceMs)}: ${layout(again.holders)}`
      : `SIGKILL of pid ${victim.pid} (it led ${heldBefore} shards; before: ${layout(before)}): NOT rebalanced over the ${left.length} left within ${REBALANCE_TIMEOUT_MS / SECOND} s: ${layout(again.holders)}`,
  );
  // The clock's own stop deadline is 10 s (a 1,000,000 burst's history and log lines may still be going out).
  await Promise.all(left.map((clock) => stopProc(clock, 12 * SECOND)));
  await server.close();
  for (const [n, clock] of clocks.entries()) {
    const own = profileDirOf(n);
    const file = own === null || clock === victim || !existsSync(own) ? null : newestProfile(own);
    if (file === null) continue;
    note(`clock ${n + 1}: where its time goes from T until the last job is in (node --cpu-prof, ${file}):`);
    console.log(formatProfile(summariseProfile(file, ROOT, 12, { fromUs: instantMonoUs, toUs: doneMonoUs })));
    note(`clock ${n + 1}: and in the ${FIRED_LINES_WAIT_MS / SECOND} s after (telling the fires: log lines, history, metrics):`);
    console.log(formatProfile(summariseProfile(file, ROOT, 12, { fromUs: doneMonoUs, toUs: doneMonoUs + FIRED_LINES_WAIT_MS * 1000 })));
  }
  note(
    "measured from outside: the 16 leases {clock:s<k>}:lease polled every 20 ms (holder pid from the token); RSS/peak from /proc (VmRSS once every process used < 5% CPU over 500 ms, VmHWM after the burst); " +
      `the burst by burst.ts's poller (Redis TIME and LLEN ${KEY} in one script, about every ms from T - 20 ms); the ceiling is redis-benchmark -t lpush -P 64 -n ${count} (median of 3) on the same server before the clocks start`,
  );

  const maxRss = Math.max(...rss);
  const row = (measure: string, ours: string, target: string, met: boolean | null, peers = "", ratioText = ""): Row => ({
    section: "6 shards",
    measure,
    ours,
    peers,
    ratio: ratioText,
    target,
    verdict: verdict(met),
  });
  return [
    row(`write ${schedules} dynamic schedules (HSET pipelines)`, ms(writeMs), "", null),
    row("Redis memory per schedule: entry / state once fired", `${entryBytes.toFixed(0)} B / ${firedBytes.toFixed(0)} B`, "", null),
    row(
      `spawn ${PROCESSES} -> all ${SHARDS} shards led (<= ${Math.ceil(SHARDS / PROCESSES)} each)`,
      led.ok ? ms(ledMs) : "not before T",
      `<= ${GOAL_LED_MS / SECOND} s`,
      led.ok && ledMs <= GOAL_LED_MS,
    ),
    row(
      `RSS per process, settled (peak), ${schedules} schedules`,
      `${rss.map(mb).join(" / ")} MB (${peaks.map(mb).join(" / ")})`,
      `each <= ${GOAL_RSS_MB} MB`,
      maxRss <= GOAL_RSS_MB,
    ),
    row(
      `${schedules}-job burst: first / all in`,
      `${ms(firstMs)} / ${Number.isFinite(allMs) ? ms(allMs) : `> ${BURST_TIMEOUT_MS / SECOND} s (${arrival.count} in)`}${settled ? "" : " (not settled at T)"}`,
      `all <= ${GOAL_CEILING}x ceiling`,
      Number.isFinite(allMs) && allMs <= GOAL_CEILING * benchmarkMs,
      `redis-benchmark LPUSH -P 64 ${ms(benchmarkMs)}`,
      `${ratio(allMs, benchmarkMs)} ceiling`,
    ),
    row(
      `SIGKILL 1 of ${PROCESSES} -> all led by ${left.length} (<= ${Math.ceil(SHARDS / left.length)} each)`,
      again.ok ? ms(rebalanceMs) : `> ${REBALANCE_TIMEOUT_MS / SECOND} s`,
      `<= ttl ${ttlMs / SECOND} s + 2 s`,
      again.ok && rebalanceMs <= goalRebalanceMs,
    ),
  ];
}
