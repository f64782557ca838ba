/**
 * Part 3, scale: 100,000 schedules (per-tenant crons in four zones, plus intervals) in one config.
 * Start-up to the first fire, RSS after start, and idle CPU over 30 s, beside a clock with one
 * schedule that runs idle through the whole benchmark.
 *
 * "First fire" is measured with a probe: a schedule whose slot fell just before the spawn, and a
 * ledger entry saying the slot before it fired. The clock fires it (catch-up) as soon as it can,
 * so the figure is when the clock became able to fire, not when a next slot happened to come.
 * Every other schedule's next slot is at least an hour away: nothing fires in the idle window.
 */
import { DateTime } from "luxon";
import { clockKeys } from "../src/internal.ts";
import type { LoggedProcess } from "../test/helpers/process.ts";
import { formatProfile, newestProfile, summariseProfile } from "./profile.ts";
import {
  calibrate,
  connect,
  cpuMs,
  firedOf,
  memoryMb,
  monotonicUs,
  perfTaskClock,
  ms,
  note,
  redisServer,
  ROOT,
  section,
  SECOND,
  sleep,
  spawnClock,
  spawnPeer,
  stopProc,
  onCpuMs,
  verdict,
  waitIdle,
  waitMessage,
  wallNow,
  writeConfig,
  type Row,
} from "./lib.ts";

const SCHEDULES = 100_000;
const IDLE_MS = 30 * SECOND;
/** Bounded so the whole run stays under 5 minutes even when start-up never completes. */
const START_TIMEOUT_MS = 40 * SECOND;
/** A clock that never became able to fire is not idle: a short window shows it is still busy. */
const BUSY_WINDOW_MS = 10 * SECOND;
const HOUR = 3600 * SECOND;
/** Issue 14's goals at 100,000 schedules: the first fire within a second of the spawn, RSS, idle CPU. */
const FIRST_FIRE_GOAL_MS = SECOND;
const RSS_GOAL_MB = 150;
const IDLE_GOAL_PCT = 0.3;
const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo"] as const;
const INTERVALS = ["2h", "3h", "4h", "6h", "12h", "24h"] as const;

function percent(cpu: number, wall: number): number {
  return (cpu / wall) * 100;
}

/** 60% daily per-tenant crons "M H * * *" at 3..21 h from now in the tenant's zone, 40% intervals. */
export function scaleConfig(now: number, probeAt: number): { config: unknown; cronExpressions: number } {
  const schedules: Record<string, unknown> = {
    probe: { every: "1h", anchor: probeAt, job: { class: "Probe", queue: "bench" } },
  };
  const expressions = new Set<string>();
  for (let i = 0; i < SCHEDULES - 1; i++) {
    const tenant = `tenant-${String(i).padStart(6, "0")}`;
    if (i % 5 < 3) {
      const zone = ZONES[i % ZONES.length] as string;
      // Three or more hours ahead, +/- the minute: a DST change tomorrow still leaves an hour.
      const local = DateTime.fromMillis(now + (3 + (i % 19)) * HOUR, { zone });
      const cron = `${(i * 7) % 60} ${local.hour} * * *`;
      expressions.add(cron);
      schedules[`${tenant}:nightly-report`] = { cron, timezone: zone, job: { class: "NightlyReport", args: [i], queue: "reports" } };
    } else {
      // The anchor is 1-2 h ahead and every interval is at least 2 h: the next slot is the anchor.
      const every = INTERVALS[i % INTERVALS.length] as string;
      schedules[`${tenant}:sync`] = { every, anchor: now + HOUR + (i % 3600) * SECOND, job: { class: "TenantSync", args: [i], queue: "sync" } };
    }
  }
  return { config: { adapter: "list", timezone: "UTC", schedules }, cronExpressions: expressions.size };
}

export interface IdleClock {
  readonly proc: LoggedProcess;
  /** CPU ms and wall time once its start-up was over. */
  readonly settledCpuMs: number;
  readonly settledAt: number;
  /** The same in ns-resolution CPU time (onCpuMs), and the lease floor's: a process that only PINGs every TTL/3. */
  readonly settledOnCpuMs: number;
  readonly floor: LoggedProcess;
  readonly floorSettledMs: number;
}

/** The clock's default lease TTL/3: how often an idle leader renews (src/lease/redis-lease.ts). */
const RENEW_EVERY_MS = 10_000 / 3;

/** A clock with one daily schedule, started before everything else so its long idle window has fine resolution. */
export async function startIdleClock(dir: string): Promise<IdleClock> {
  const server = await redisServer();
  const hour = DateTime.fromMillis(wallNow() + 6 * HOUR, { zone: "UTC" }).hour;
  const config = writeConfig(dir, "one", { adapter: "list", schedules: { nightly: { cron: `30 ${hour} * * *`, job: { class: "Nightly" } } } });
  const proc = spawnClock(config, { label: "clock (one schedule)", redisUrl: server.url });
  const floor = spawnPeer("lease-floor", [server.url, RENEW_EVERY_MS]);
  await waitMessage(proc, "leadership acquired", 15 * SECOND);
  // The floor loads bench/peers.ts's imports (BullMQ, croner) first: settled once it has pinged and gone quiet.
  await floor.waitFor((line) => line["type"] === "ready", { timeoutMs: 15 * SECOND, what: "ready" });
  await Promise.all([waitIdle(proc.pid, 10 * SECOND), waitIdle(floor.pid, 10 * SECOND)]);
  return { proc, settledCpuMs: cpuMs(proc.pid), settledAt: wallNow(), settledOnCpuMs: onCpuMs(proc.pid), floor, floorSettledMs: onCpuMs(floor.pid) };
}

export async function benchScale(dir: string, idle: IdleClock, profileDir: string | null): Promise<Row[]> {
  section(`3. Scale: ${SCHEDULES.toLocaleString("en")} schedules (60% per-tenant crons in ${ZONES.length} zones, 40% intervals): start-up, RSS, idle CPU`);
  calibrate();
  const server = await redisServer();
  const now = Math.floor(wallNow());
  const probeAt = now - SECOND;
  const { config, cronExpressions } = scaleConfig(now, probeAt);
  const path = writeConfig(dir, "scale", config);
  await connect(server.url).hset(clockKeys("clock").ledger, "probe", String(probeAt - HOUR));
  note(`config: ${SCHEDULES.toLocaleString("en")} schedules, ${cronExpressions} distinct cron expressions; probe slot 1 s before spawn (see bench/scale.ts)`);

  // CLOCK_MONOTONIC at the spawn: the time base of the --cpu-prof samples.
  const spawnedMonoUs = monotonicUs();
  const clock = spawnClock(path, { label: "clock (100k)", redisUrl: server.url, nodeArgs: profileDir === null ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir] });
  const left = (): number => Math.max(0, clock.startedAt + START_TIMEOUT_MS - wallNow());
  const started = await waitMessage(clock, "clock started", left()).catch(() => null);
  const leader = await waitMessage(clock, "leadership acquired", left()).catch(() => null);
  const firstLine = await clock.waitFor((line) => firedOf(line) !== null, { timeoutMs: left(), what: "first fire" }).catch(() => null);
  const first = firstLine === null ? null : firedOf(firstLine.line);
  const startedMs = started === null ? Number.NaN : started.receivedAt - clock.startedAt;
  const leaderMs = leader === null ? Number.NaN : leader.receivedAt - clock.startedAt;
  // The fire's own Redis TIME, not when its log line arrived.
  const firstFireMs = first === null ? Number.NaN : first.redisAt - clock.startedAt;
  note(
    `spawn -> "clock started" ${ms(startedMs)}, -> "leadership acquired" ${ms(leaderMs)}, -> first fire in Redis ${first === null ? `none within ${START_TIMEOUT_MS / SECOND} s` : ms(firstFireMs)}`,
  );
  const firstMonoUs = spawnedMonoUs + (Number.isFinite(firstFireMs) ? firstFireMs : wallNow() - clock.startedAt) * 1000;

  const flaps = clock.linesOf("leadership lost").length;
  if (flaps > 0) note(`leadership lost ${flaps} time(s) during start-up: the event loop was blocked past the lease ttl`);
  // A clock that never fired is still starting: there is no idle state to wait for.
  const settled = first !== null && (await waitIdle(clock.pid, 30 * SECOND));
  await sleep(SECOND);
  const memory = memoryMb(clock.pid);
  const oneMemory = memoryMb(idle.proc.pid);
  note(
    `after start${settled ? "" : " (NOT idle: start-up still running)"}: RSS ${memory.rssMb.toFixed(0)} MB (peak ${memory.peakMb.toFixed(0)} MB); one-schedule clock RSS ${oneMemory.rssMb.toFixed(0)} MB`,
  );

  const windowMs = settled ? IDLE_MS : BUSY_WINDOW_MS;
  note(`idle for ${windowMs / SECOND} s ...`);
  const firedBefore = clock.lines.filter((line) => firedOf(line) !== null).length;
  const idleFromUs = monotonicUs();
  const [cpu0, oneCpu0, wall0] = [cpuMs(clock.pid), cpuMs(idle.proc.pid), wallNow()];
  const precise = Promise.all([perfTaskClock(clock.pid, windowMs), perfTaskClock(idle.proc.pid, windowMs)]);
  await sleep(windowMs);
  const [perfMs, onePerfMs] = await precise;
  const [cpu1, oneCpu1, wall1] = [cpuMs(clock.pid), cpuMs(idle.proc.pid), wallNow()];
  const idleToUs = monotonicUs();
  const firedDuring = clock.lines.filter((line) => firedOf(line) !== null).length - firedBefore;
  const idlePct = percent(cpu1 - cpu0, wall1 - wall0);
  const onePct = percent(oneCpu1 - oneCpu0, wall1 - wall0);
  const oneLongPct = percent(onCpuMs(idle.proc.pid) - idle.settledOnCpuMs, wall1 - idle.settledAt);
  const floorPct = percent(onCpuMs(idle.floor.pid) - idle.floorSettledMs, wall1 - idle.settledAt);
  const tick = percent(10, wall1 - wall0);
  note(
    `idle CPU (utime+stime, 10 ms ticks = ${tick.toFixed(3)}% over the window): 100k ${idlePct.toFixed(3)}% (${cpu1 - cpu0} ms), one schedule ${onePct.toFixed(3)}% (${oneCpu1 - oneCpu0} ms); fires in the window: ${firedDuring}`,
  );
  if (perfMs !== null && onePerfMs !== null) {
    note(
      `idle CPU by perf task-clock (precise) over the same window: 100k ${percent(perfMs, windowMs).toFixed(3)}% (${perfMs.toFixed(1)} ms), one schedule ${percent(onePerfMs, windowMs).toFixed(3)}% (${onePerfMs.toFixed(1)} ms)`,
    );
  }
  note(
    `one-schedule clock over its whole idle life (${((wall1 - idle.settledAt) / SECOND).toFixed(0)} s, other parts running beside it; schedstat, ns): ${oneLongPct.toFixed(3)}%; beside it, a process that only PINGs Redis every ${(RENEW_EVERY_MS / SECOND).toFixed(1)} s (the lease renewal's floor): ${floorPct.toFixed(3)}%`,
  );

  // Profiling: a clock whose loop is blocked handles SIGTERM only between passes; wait for it, for the profile.
  await stopProc(clock, profileDir === null ? 5 * SECOND : 40 * SECOND);
  await stopProc(idle.proc);
  await stopProc(idle.floor);
  if (profileDir !== null) {
    const file = newestProfile(profileDir);
    if (file !== null) {
      note(`where start-up goes, spawn to first fire (node --cpu-prof, ${file}):`);
      console.log(formatProfile(summariseProfile(file, ROOT, 20, { fromUs: spawnedMonoUs, toUs: firstMonoUs })));
      note(`where the idle CPU goes, over the ${windowMs / SECOND} s window:`);
      console.log(formatProfile(summariseProfile(file, ROOT, 10, { fromUs: idleFromUs, toUs: idleToUs })));
    }
  }

  return [
    { section: "3 scale", measure: "100k schedules: spawn -> clock started", ours: ms(startedMs), peers: "", ratio: "", target: "", verdict: "" },
    {
      section: "3 scale",
      measure: "100k schedules: spawn -> first fire",
      ours: first === null ? `> ${START_TIMEOUT_MS / SECOND} s` : ms(firstFireMs),
      peers: "",
      ratio: "",
      target: `<= ${FIRST_FIRE_GOAL_MS / SECOND} s`,
      verdict: verdict(first !== null && firstFireMs <= FIRST_FIRE_GOAL_MS),
    },
    {
      section: "3 scale",
      measure: "100k schedules: RSS after start (peak)",
      ours: `${memory.rssMb.toFixed(0)} MB (${memory.peakMb.toFixed(0)} MB)`,
      peers: `1 schedule: ${oneMemory.rssMb.toFixed(0)} MB`,
      ratio: "",
      target: `<= ${RSS_GOAL_MB} MB`,
      verdict: verdict(memory.rssMb <= RSS_GOAL_MB),
    },
    {
      section: "3 scale",
      measure: `100k schedules: idle CPU over ${windowMs / SECOND} s`,
      ours: `${idlePct.toFixed(3)}%${perfMs === null ? "" : ` (perf ${percent(perfMs, windowMs).toFixed(3)}%)`}${settled ? "" : " (never idle)"}`,
      peers: "",
      ratio: "",
      target: `<= ${IDLE_GOAL_PCT}%`,
      verdict: verdict(settled && idlePct <= IDLE_GOAL_PCT && firedDuring === 0),
    },
    {
      section: "3 scale",
      measure: `1 schedule: idle CPU (${windowMs / SECOND} s${onePerfMs === null ? "" : ", perf"}; whole run)`,
      ours: `${onePct.toFixed(3)}%${onePerfMs === null ? "" : ` (${percent(onePerfMs, windowMs).toFixed(3)}%)`}; ${oneLongPct.toFixed(3)}%`,
      peers: `PING every ${(RENEW_EVERY_MS / SECOND).toFixed(1)} s: ${floorPct.toFixed(3)}%; clockwork 0.02% (issue's figure, not run here)`,
      ratio: "",
      target: "<= 0.02%",
      verdict: verdict(oneLongPct <= 0.02),
    },
  ];
}
