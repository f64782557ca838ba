/**
 * Part 2, burst: 10,000 schedules due at the same instant, one system at a time, each against a
 * fresh redis-server. "In Redis" is watched from outside by a poller: a tiny script returning
 * Redis TIME and how many jobs have arrived, run about once a millisecond from the instant on.
 *
 * The scaling curve: our clock alone at 1,000, 10,000 and 100,000 such schedules (--curve), each
 * beside a one-second tick whose lag is read over the seconds before the burst, and its RSS once
 * start-up is over; each burst beside redis-benchmark's ceiling for as many pushes on its server.
 * The 10,000 point is the one compared with BullMQ and croner.
 */
import { execFileSync } from "node:child_process";
import type { Redis } from "ioredis";
import type { Summary } from "./lib.ts";
import { formatProfile, newestProfile, summariseProfile } from "./profile.ts";
import {
  calibrate,
  connect,
  errorText,
  firedOf,
  median,
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
  sleepUntil,
  spawnClock,
  spawnPeer,
  stopProc,
  summarize,
  verdict,
  waitIdle,
  waitMessage,
  wallNow,
  writeConfig,
  type Row,
} from "./lib.ts";

export const BURST = 10_000;
/** The scaling curve's points (--curve changes them); BURST is the one beside the peers. */
export const CURVE = [1_000, BURST, 100_000] as const;
export const KEY = "bench:burst";
/** Our clocks push to bench:{queue}: the burst's jobs to KEY (queue "burst"), the tick's beside them. */
export const OURS_KEY = "bench:{queue}";
const TICK = "tick";
/** Tick slots read before each burst (the tick's lag p99 over so few is about its max). */
const LAG_SLOTS = 5;
const BURST_TIMEOUT_MS = 40 * SECOND;
/** How long the "fired" lines of a burst are awaited once every job is in Redis. */
const FIRED_LINES_WAIT_MS = 5 * SECOND;

/**
 * From spawn to settled, with room: on this machine (loaded) 1,000 settled about 1 s after spawn,
 * 10,000 about 1.4 s, 100,000 about 4.6 s; the tick's slots fill whatever is left before the burst.
 */
function startAllowanceMs(count: number): number {
  return count >= 100_000 ? 4 * SECOND : count >= 10_000 ? 1.5 * SECOND : SECOND;
}

/** Every second but the burst's: the tick must not add a job to the burst or wait behind it. */
export function tickCron(instantAt: number): string {
  const skip = new Date(instantAt).getUTCSeconds();
  const ranges = [skip > 0 ? `0-${skip - 1}` : "", skip < 59 ? `${skip + 1}-59` : ""].filter((range) => range !== "");
  return `${ranges.join(",")} * * * * *`;
}

/** TIME and an arrival count in one step: LLEN of a list, or how many due jobs left a sorted set. */
const POLL_SCRIPT = `
local t = redis.call('TIME')
local count
if ARGV[1] == 'llen' then
  count = redis.call('LLEN', KEYS[1])
else
  count = tonumber(ARGV[3]) - redis.call('ZCOUNT', KEYS[1], 0, ARGV[2])
end
return { t[1], t[2], count }`;

export interface Arrival {
  /** Redis time of the first poll that saw a job / all jobs (upper bounds), and of the poll before all. */
  readonly firstAt: number;
  readonly allAt: number;
  readonly beforeAllAt: number;
  readonly count: number;
  readonly polls: number;
}

/** Polls from 20 ms before the instant until `expected` jobs have arrived, or `timeoutMs` after the instant (then `count` is what arrived). */
export async function watchArrivals(redis: Redis, instantAt: number, expected: number, args: readonly string[], key: string, timeoutMs = BURST_TIMEOUT_MS): Promise<Arrival> {
  const poll = async (): Promise<[number, number]> => {
    const [seconds, micros, count] = (await redis.eval(POLL_SCRIPT, 1, key, ...args)) as [string, string, number];
    return [Number(seconds) * 1000 + Number(micros) / 1000, count];
  };
  await sleepUntil(instantAt - 20);
  let firstAt = Number.NaN;
  let beforeAllAt = Number.NaN;
  let polls = 0;
  const deadline = instantAt + timeoutMs;
  for (;;) {
    const [at, count] = await poll();
    polls++;
    if (count > 0 && Number.isNaN(firstAt)) firstAt = at;
    if (count >= expected || at > deadline) return { firstAt, allAt: count >= expected ? at : Number.NaN, beforeAllAt, count, polls };
    beforeAllAt = at;
    await sleep(1);
  }
}

export function describeArrival(name: string, arrival: Arrival, instantAt: number, timeoutMs = BURST_TIMEOUT_MS): string {
  const all = Number.isNaN(arrival.allAt)
    ? `only ${arrival.count} within ${timeoutMs / SECOND} s`
    : `all in by ${ms(arrival.allAt - instantAt)} (between ${ms(arrival.beforeAllAt - instantAt)} and ${ms(arrival.allAt - instantAt)})`;
  return `${name.padEnd(22)} first job by ${ms(arrival.firstAt - instantAt).padStart(9)}, ${all}; ${arrival.polls} polls`;
}

export interface Point {
  readonly count: number;
  readonly arrival: Arrival;
  readonly instantAt: number;
  /** Redis TIME at the start of the last batch's script: a lower bound of "all in". */
  readonly lastWriteAt: number;
  readonly ready: boolean;
  readonly benchmarkMs: number;
  readonly leaderMs: number;
  /** RSS once start-up was over (before the burst), and the peak after it, MB. */
  readonly rssMb: number;
  readonly peakMb: number;
  /** The tick's lag in Redis over the seconds between settling and the burst. */
  readonly lag: Summary;
}

/** `count` schedules "S M H * * *" (UTC) due at one instant, and a tick, in a spawned clock. */
async function oursAt(dir: string, count: number, profileDir: string | null): Promise<Point> {
  const server = await redisServer();
  const instantAt = Math.ceil((wallNow() + startAllowanceMs(count) + (LAG_SLOTS + 1) * SECOND) / SECOND) * SECOND;
  const at = new Date(instantAt);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  const schedules: Record<string, unknown> = { [TICK]: { cron: tickCron(instantAt), job: { class: "Tick", queue: TICK } } };
  for (let i = 0; i < count; i++) schedules[`tenant-${String(i).padStart(6, "0")}-report`] = { cron, job: { class: "TenantReport", args: [i], queue: "burst" } };
  const config = writeConfig(dir, `burst-${count}`, { adapter: "list", adapters: { list: { key: OURS_KEY, push: "rpush" } }, schedules });
  const clock = spawnClock(config, { label: `clock (burst ${count})`, redisUrl: server.url, nodeArgs: profileDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir] });
  const leader = await waitMessage(clock, "leadership acquired", instantAt - wallNow() - 500);
  const ready = (await waitIdle(clock.pid, instantAt - wallNow() - 300)) && wallNow() < instantAt - 200;
  const settledAt = wallNow();
  const { rssMb } = memoryMb(clock.pid);
  note(
    `ours, ${count.toLocaleString("en")}: clock started ${ms((await waitMessage(clock, "clock started", 0)).receivedAt - clock.startedAt)} after spawn; ${ready ? `settled ${ms(instantAt - settledAt)} before the instant` : "STILL BUSY at the instant (start-up not over)"}`,
  );
  const instantMonoUs = monoAt(instantAt);
  const arrival = await watchArrivals(connect(server.url), instantAt, count, ["llen"], KEY);
  const doneMonoUs = monoAt(Number.isNaN(arrival.allAt) ? wallNow() : arrival.allAt);
  // The fired lines come after the writes; the last batch's Redis TIME is a lower bound of "all in".
  // Counts as it matches: over the lines seen so far, then over each new one (no rescans).
  let fired = 0;
  const isBurst = (line: { msg: string; [field: string]: unknown }): boolean => line.msg === "fired" && line["schedule"] !== TICK;
  // Bounded: after the 100,000 burst the lines trickled in for over 20 s (the clock busy after its writes), which cost the run 20 s.
  const allLines = await clock
    .waitFor((line) => isBurst(line) && ++fired >= count, { timeoutMs: FIRED_LINES_WAIT_MS, what: `${count} fired lines` })
    .then(() => true)
    .catch(() => false);
  if (!allLines)
    note(
      `ours, ${count.toLocaleString("en")}: only ${fired} of ${count} "fired" lines within ${FIRED_LINES_WAIT_MS / SECOND} s after the burst; the last batch's time below is of those`,
    );
  const lastWriteAt = Math.max(...clock.lines.filter(isBurst).map((line) => firedOf(line)?.redisAt ?? Number.NEGATIVE_INFINITY));
  const { peakMb } = memoryMb(clock.pid);
  const lags = clock.lines
    .filter((line) => line["schedule"] === TICK)
    .flatMap((line) => firedOf(line) ?? [])
    .filter((tick) => tick.slotAt >= settledAt && tick.slotAt < instantAt)
    .map((tick) => tick.lagMs);
  note(describeArrival(`ours, ${count.toLocaleString("en")}`, arrival, instantAt));
  note(`ours: Redis TIME at the start of the last batch's script: ${ms(lastWriteAt - instantAt)} after the instant`);
  const benchmarkMs = runBenchmark(server.port, count);
  await stopProc(clock);
  note(`ours, ${count.toLocaleString("en")}: this point took ${ms(wallNow() - clock.startedAt)} from spawn to stop`);
  if (profileDir !== null) {
    const file = newestProfile(profileDir);
    if (file !== null) {
      note(`ours: where the time goes from the instant until the last job is in (node --cpu-prof, ${file}):`);
      console.log(formatProfile(summariseProfile(file, ROOT, 15, { fromUs: instantMonoUs, toUs: doneMonoUs })));
    }
  }
  return { count, arrival, instantAt, lastWriteAt, ready, benchmarkMs, leaderMs: leader.receivedAt - clock.startedAt, rssMb, peakMb, lag: summarize(lags) };
}

/** The ceiling: redis-benchmark's pipelined LPUSH (50 clients, 64 deep) on the same server; median of 3, ms. */
export function runBenchmark(port: number, count: number): number {
  const runs: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const output = execFileSync("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-t", "lpush", "-n", String(count), "-P", "64", "-q"], {
        encoding: "utf8",
        timeout: 20 * SECOND,
      });
      const match = /LPUSH:\s*([\d.]+)\s+requests per second/.exec(output.split("\r").join("\n"));
      if (match?.[1] !== undefined) runs.push((count / Number(match[1])) * SECOND);
    }
  } catch (error) {
    note(`redis-benchmark failed: ${errorText(error)} (Debian ships it in redis-tools)`);
  }
  const benchmarkMs = median(runs);
  note(`redis-benchmark -t lpush -n ${count} -P 64 (same server): ${runs.map((run) => ms(run)).join(", ")} -> median ${ms(benchmarkMs)} for ${count} pushes`);
  return benchmarkMs;
}

async function bullmqBurst(): Promise<{ arrival: Arrival; instantAt: number; processedMs: number; ready: boolean }> {
  const server = await redisServer();
  const instantAt = Math.ceil((wallNow() + 7 * SECOND) / SECOND) * SECOND;
  const peer = spawnPeer("bullmq-burst", [server.url, instantAt, BURST]);
  const readyLine = await peer.waitFor((line) => line["type"] === "ready", { timeoutMs: instantAt - wallNow(), what: "ready" });
  const ready = readyLine.receivedAt < instantAt - 200;
  note(
    `BullMQ: ${BURST} upsertJobScheduler("sN", { pattern: "${String(readyLine.line["pattern"])}" }) took ${ms(Number(readyLine.line["setupMs"]))}; Worker concurrency 50${ready ? "" : " (NOT READY before the instant)"}`,
  );
  // Due jobs sit in the delayed set with score slot * 0x1000 + counter until a worker promotes them.
  const dueScore = String((instantAt + 1) * 0x1000 - 1);
  const arrival = await watchArrivals(connect(server.url), instantAt, BURST, ["zcount", dueScore, String(BURST)], "bull:burst:delayed");
  const done = await peer.waitFor((line) => line["type"] === "done", { timeoutMs: 20 * SECOND, what: "done" }).catch(() => null);
  await stopProc(peer);
  return { arrival, instantAt, processedMs: done === null ? Number.NaN : done.receivedAt - instantAt, ready };
}

async function cronerBurst(): Promise<{ arrival: Arrival; instantAt: number; ready: boolean; setupMs: number; rssMb: number }> {
  const server = await redisServer();
  const instantAt = Math.ceil((wallNow() + 6 * SECOND) / SECOND) * SECOND;
  const peer = spawnPeer("croner-burst", [server.url, KEY, instantAt, BURST]);
  const readyLine = await peer.waitFor((line) => line["type"] === "ready", { timeoutMs: instantAt - wallNow(), what: "ready" });
  const ready = readyLine.receivedAt < instantAt - 200;
  const arrival = await watchArrivals(connect(server.url), instantAt, BURST, ["llen"], KEY);
  await stopProc(peer);
  return { arrival, instantAt, ready, setupMs: Number(readyLine.line["setupMs"]), rssMb: Number(readyLine.line["rssMb"]) };
}

function curveTable(points: readonly Point[]): void {
  const header = ["schedules", "spawn->leader", "RSS (peak)", "tick lag p50 / p99 (n)", "burst first / all in", "ceiling", "all/ceiling"];
  const rows = points.map((point) => [
    point.count.toLocaleString("en"),
    ms(point.leaderMs),
    `${point.rssMb.toFixed(0)} MB (${point.peakMb.toFixed(0)} MB)`,
    `${ms(point.lag.p50)} / ${ms(point.lag.p99)} (${point.lag.n})`,
    `${ms(point.arrival.firstAt - point.instantAt)} / ${ms(point.arrival.allAt - point.instantAt)}`,
    ms(point.benchmarkMs),
    ratio(point.arrival.allAt - point.instantAt, point.benchmarkMs),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  for (const row of [header, ...rows]) note(row.map((cell, i) => cell.padStart(widths[i] ?? 0)).join("  "));
}

/** Issue 14's goals: the burst within 2x the ceiling at 10,000 and 3x at 100,000, the first job within 2 ms. */
function ceilingGoal(count: number): number | null {
  return count >= 100_000 ? 3 : count >= BURST ? 2 : null;
}
const FIRST_JOB_GOAL_MS = 2;

function curveRow(point: Point): Row {
  const allMs = point.arrival.allAt - point.instantAt;
  const firstMs = point.arrival.firstAt - point.instantAt;
  const goal = ceilingGoal(point.count);
  const met = Number.isFinite(allMs) && firstMs <= FIRST_JOB_GOAL_MS && (goal === null || allMs <= goal * point.benchmarkMs);
  return {
    section: "2 curve",
    measure: `${point.count.toLocaleString("en")} schedules: burst first / all in; tick lag p99 (n); RSS (peak)`,
    ours: `${ms(firstMs)} / ${Number.isFinite(allMs) ? ms(allMs) : `> ${BURST_TIMEOUT_MS / SECOND} s`}; ${ms(point.lag.p99)} (${point.lag.n}); ${point.rssMb.toFixed(0)} MB (${point.peakMb.toFixed(0)})`,
    peers: `redis-benchmark LPUSH -P 64 ${ms(point.benchmarkMs)}`,
    ratio: `${ratio(allMs, point.benchmarkMs)} ceiling`,
    target: `${goal === null ? "" : `all <= ${goal}x ceiling, `}first <= ${FIRST_JOB_GOAL_MS} ms`,
    verdict: verdict(met),
  };
}

export async function benchBurst(dir: string, profileDir: string | null, curve: readonly number[] = CURVE): Promise<Row[]> {
  const counts = [...new Set([...curve, BURST])].sort((a, b) => a - b);
  section(
    `2. Burst: ${counts.map((count) => count.toLocaleString("en")).join(", ")} schedules due at the same instant (ours), ${BURST.toLocaleString("en")} for BullMQ and croner; one system at a time, each on a fresh redis-server`,
  );
  calibrate();
  const points: Point[] = [];
  for (const count of counts) points.push(await oursAt(dir, count, count === BURST ? profileDir : null));
  const ours = points.find((point) => point.count === BURST) as Point;
  const bull = await bullmqBurst();
  note(describeArrival("BullMQ", bull.arrival, bull.instantAt));
  note(`BullMQ: the Worker had processed all ${BURST} by ${ms(bull.processedMs)}`);
  const croner = await cronerBurst();
  note(`croner: ${BURST} new Cron(...) took ${ms(croner.setupMs)}, process RSS ${croner.rssMb.toFixed(0)} MB${croner.ready ? "" : " (NOT READY before the instant)"}`);
  note(describeArrival("croner + ioredis", croner.arrival, croner.instantAt));
  note("the curve (ours; tick: a one-second schedule beside the burst's, its lag in Redis over the seconds before the burst):");
  curveTable(points);

  const { benchmarkMs } = ours;
  const oursMs = ours.arrival.allAt - ours.instantAt;
  const bullMs = bull.arrival.allAt - bull.instantAt;
  const cronerMs = croner.arrival.allAt - croner.instantAt;
  const goal = ceilingGoal(BURST) ?? 2;
  const rate = (took: number): string => (Number.isFinite(took) ? `${Math.round((BURST / took) * SECOND).toLocaleString("en")}/s` : "n/a");
  return [
    {
      section: "2 burst",
      measure: `${BURST.toLocaleString("en")} same-instant jobs: last one in Redis after`,
      ours: Number.isFinite(oursMs) ? ms(oursMs) : `> ${BURST_TIMEOUT_MS / SECOND} s`,
      peers: `BullMQ ${ms(bullMs)}, croner ${ms(cronerMs)}, redis-benchmark LPUSH -P 64 ${ms(benchmarkMs)}`,
      ratio: `${ratio(oursMs, bullMs)} BullMQ, ${ratio(oursMs, cronerMs)} croner, ${ratio(oursMs, benchmarkMs)} ceiling`,
      target: `<= ${goal}x ceiling`,
      verdict: verdict(Number.isFinite(oursMs) && oursMs <= goal * benchmarkMs),
    },
    {
      section: "2 burst",
      measure: "jobs/s (jobs / time from the instant to the last)",
      ours: rate(oursMs),
      peers: `BullMQ ${rate(bullMs)}, croner ${rate(cronerMs)}, redis-benchmark ${rate(benchmarkMs)}`,
      ratio: "",
      target: "",
      verdict: "",
    },
    ...points.map(curveRow),
  ];
}
