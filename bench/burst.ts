/**
 * Part 2, burst: 10,000 schedules due at the same instant, one system at a time, each against a
 * fresh redis-server. "In Redis" is watched from outside by a poller: a tiny script returning
 * Redis TIME and how many jobs have arrived, run about once a millisecond from the instant on.
 */
import { execFileSync } from "node:child_process";
import type { Redis } from "ioredis";
import { formatProfile, newestProfile, summariseProfile } from "./profile.ts";
import {
  calibrate,
  connect,
  errorText,
  firedOf,
  median,
  monotonicUs,
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
  verdict,
  waitIdle,
  waitMessage,
  wallNow,
  writeConfig,
  type Row,
} from "./lib.ts";

export const BURST = 10_000;
const KEY = "bench:burst";
const BURST_TIMEOUT_MS = 40 * SECOND;

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

interface Arrival {
  /** Redis time of the first poll that saw a job / all jobs (upper bounds), and of the poll before all. */
  readonly firstAt: number;
  readonly allAt: number;
  readonly beforeAllAt: number;
  readonly count: number;
  readonly polls: number;
}

async function watchArrivals(redis: Redis, instantAt: number, expected: number, args: readonly string[], key: string): Promise<Arrival> {
  const poll = async (): Promise<[number, number]> => {
    const [seconds, micros, count] = (await redis.eval(POLL_SCRIPT, 1, key, ...args)) as [string, string, number];
    return [Number(seconds) * 1000 + Number(micros) / 1000, count];
  };
  await sleepUntil(instantAt - 20);
  let firstAt = Number.NaN;
  let beforeAllAt = Number.NaN;
  let polls = 0;
  const deadline = instantAt + BURST_TIMEOUT_MS;
  for (;;) {
    const [at, count] = await poll();
    polls++;
    if (count > 0 && Number.isNaN(firstAt)) firstAt = at;
    if (count >= expected || at > deadline) return { firstAt, allAt: count >= expected ? at : Number.NaN, beforeAllAt, count, polls };
    beforeAllAt = at;
    await sleep(1);
  }
}

function describe(name: string, arrival: Arrival, instantAt: number): string {
  const all = Number.isNaN(arrival.allAt)
    ? `only ${arrival.count} within ${BURST_TIMEOUT_MS / SECOND} s`
    : `all in by ${ms(arrival.allAt - instantAt)} (between ${ms(arrival.beforeAllAt - instantAt)} and ${ms(arrival.allAt - instantAt)})`;
  return `${name.padEnd(22)} first job by ${ms(arrival.firstAt - instantAt).padStart(9)}, ${all}; ${arrival.polls} polls`;
}

/** 10,000 schedules "S M H * * *" (UTC) due at one instant, in a spawned clock. */
async function oursBurst(dir: string, profileDir: string | null): Promise<{ arrival: Arrival; instantAt: number; lastWriteAt: number; ready: boolean; benchmarkMs: number }> {
  const server = await redisServer();
  // Start-up, then the first ledger read re-plans every schedule: generous, so a slow build still settles first.
  const leadMs = 9 * SECOND;
  const instantAt = Math.ceil((wallNow() + leadMs) / SECOND) * SECOND;
  const at = new Date(instantAt);
  const cron = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
  const schedules: Record<string, unknown> = {};
  for (let i = 0; i < BURST; i++) schedules[`tenant-${String(i).padStart(5, "0")}-report`] = { cron, job: { class: "TenantReport", args: [i], queue: "reports" } };
  const config = writeConfig(dir, "burst", { adapter: "list", adapters: { list: { key: KEY, push: "rpush" } }, schedules });
  const clock = spawnClock(config, { label: "clock (burst)", redisUrl: server.url, nodeArgs: profileDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir] });
  await waitMessage(clock, "leadership acquired", leadMs);
  const ready = (await waitIdle(clock.pid, instantAt - wallNow() - 300)) && wallNow() < instantAt - 200;
  note(
    `ours: clock started ${ms((await waitMessage(clock, "clock started", 0)).receivedAt - clock.startedAt)} after spawn; ${ready ? "settled before the instant" : "STILL BUSY at the instant (start-up not over)"}`,
  );
  const monoAt = (wall: number): number => monotonicUs() - (wallNow() - wall) * 1000;
  const instantMonoUs = monoAt(instantAt);
  const arrival = await watchArrivals(connect(server.url), instantAt, BURST, ["llen"], KEY);
  const doneMonoUs = monoAt(Number.isNaN(arrival.allAt) ? wallNow() : arrival.allAt);
  // The fired lines come after the writes; the last batch's Redis TIME is a lower bound of "all in".
  // Counts as it matches: over the lines seen so far, then over each new one (no rescans).
  let fired = 0;
  await clock.waitFor((line) => line.msg === "fired" && ++fired >= BURST, { timeoutMs: 20 * SECOND, what: "10,000 fired lines" }).catch(() => undefined);
  const lastWriteAt = Math.max(...clock.lines.map(firedOf).map((fired) => fired?.redisAt ?? Number.NEGATIVE_INFINITY));
  note(describe("ours", arrival, instantAt));
  note(`ours: Redis TIME at the start of the last batch's script: ${ms(lastWriteAt - instantAt)} after the instant`);
  const benchmarkMs = runBenchmark(server.port);
  await stopProc(clock);
  if (profileDir !== null) {
    const file = newestProfile(profileDir);
    if (file !== null) {
      note(`ours: where the time goes from the instant until the last job is in (node --cpu-prof, ${file}):`);
      console.log(formatProfile(summariseProfile(file, ROOT, 15, { fromUs: instantMonoUs, toUs: doneMonoUs })));
    }
  }
  return { arrival, instantAt, lastWriteAt, ready, benchmarkMs };
}

/** The ceiling: redis-benchmark's pipelined LPUSH (50 clients, 64 deep) on the same server; median of 3, ms. */
function runBenchmark(port: number): number {
  const runs: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const output = execFileSync("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-t", "lpush", "-n", String(BURST), "-P", "64", "-q"], {
        encoding: "utf8",
        timeout: 20 * SECOND,
      });
      const match = /LPUSH:\s*([\d.]+)\s+requests per second/.exec(output.split("\r").join("\n"));
      if (match?.[1] !== undefined) runs.push((BURST / Number(match[1])) * SECOND);
    }
  } catch (error) {
    note(`redis-benchmark failed: ${errorText(error)} (Debian ships it in redis-tools)`);
  }
  const benchmarkMs = median(runs);
  note(`redis-benchmark -t lpush -n ${BURST} -P 64 (same server): ${runs.map((run) => ms(run)).join(", ")} -> median ${ms(benchmarkMs)} for ${BURST} pushes`);
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

export async function benchBurst(dir: string, profileDir: string | null): Promise<Row[]> {
  section(`2. Burst: ${BURST.toLocaleString("en")} schedules due at the same instant (one system at a time, each on a fresh redis-server)`);
  calibrate();
  const ours = await oursBurst(dir, profileDir);
  const bull = await bullmqBurst();
  note(describe("BullMQ", bull.arrival, bull.instantAt));
  note(`BullMQ: the Worker had processed all ${BURST} by ${ms(bull.processedMs)}`);
  const croner = await cronerBurst();
  note(`croner: ${BURST} new Cron(...) took ${ms(croner.setupMs)}, process RSS ${croner.rssMb.toFixed(0)} MB${croner.ready ? "" : " (NOT READY before the instant)"}`);
  note(describe("croner + ioredis", croner.arrival, croner.instantAt));

  const { benchmarkMs } = ours;
  const oursMs = ours.arrival.allAt - ours.instantAt;
  const bullMs = bull.arrival.allAt - bull.instantAt;
  const cronerMs = croner.arrival.allAt - croner.instantAt;
  const rate = (took: number): string => (Number.isFinite(took) ? `${Math.round((BURST / took) * SECOND).toLocaleString("en")}/s` : "n/a");
  return [
    {
      section: "2 burst",
      measure: `${BURST.toLocaleString("en")} same-instant jobs: last one in Redis after`,
      ours: Number.isFinite(oursMs) ? ms(oursMs) : `> ${BURST_TIMEOUT_MS / SECOND} s`,
      peers: `BullMQ ${ms(bullMs)}, croner ${ms(cronerMs)}, redis-benchmark LPUSH -P 64 ${ms(benchmarkMs)}`,
      ratio: `${ratio(oursMs, bullMs)} BullMQ, ${ratio(oursMs, cronerMs)} croner, ${ratio(oursMs, benchmarkMs)} ceiling`,
      target: "<= 100 ms",
      verdict: verdict(Number.isFinite(oursMs) && oursMs <= 100),
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
  ];
}
