/**
 * sidekiq-cron beside part 1: Debian's sidekiq-cron (1.8) run as its users run it, inside Sidekiq
 * (6.4) servers (`sidekiq -r bench/sidekiq_cron_boot.rb`), each group against a throwaway
 * redis-server of its own:
 *
 *   - one process with the finest job the version accepts, the same one-second schedule as part 1;
 *   - three processes with the same schedule, sharing one Redis: its duplicates, per slot;
 *   - a baseline: the same Sidekiq process with the cron poller off (`cron_poll_interval` 0, the
 *     README's off switch), so what the poller itself costs can be told from Sidekiq's own cost.
 *
 * No Sidekiq process listens to the job's queue: this process pops it (BRPOP, as a Sidekiq fetcher
 * does), so each job is seen with its receive time and the payload's `enqueued_at` (Ruby's clock,
 * read just before the LPUSH). The job does not carry its slot; sidekiq-cron's own sorted set
 * `cron_job:NAME:enqueued` holds one member per slot it claimed (ZADD, which is also how it keeps a
 * slot to one process). Each job is the latest claimed slot at or before its `enqueued_at`.
 *
 * After part 1's window the schedule is made daily (the hash field Job#save writes; every poll
 * re-reads it) and the processes idle for IDLE_MS beside the one-schedule clock.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DateTime } from "luxon";
import type { Redis } from "ioredis";
import type { LoggedProcess } from "../test/helpers/process.ts";
import { SYSTEM_RUBY, SYSTEM_SIDEKIQ } from "../test/helpers/ruby.ts";
import {
  connect,
  cpuMs,
  ms,
  note,
  perfTaskClock,
  ratio,
  redisServer,
  ROOT,
  section,
  SECOND,
  sleep,
  sleepUntil,
  spawnProcess,
  stopProc,
  summarize,
  wallNow,
  type Row,
  type Summary,
} from "./lib.ts";

const BOOT = join(ROOT, "bench", "sidekiq_cron_boot.rb");
const JOB = "tick";
const QUEUE = "bench";
/** The finest cron fugit accepts (6 fields, seconds); the one-minute fallback if the version refuses it. */
const SECONDS_CRON = "* * * * * *";
const MINUTE_CRON = "* * * * *";
/** Sidekiq 6.4's pollers wait 0-5 s at random before their first poll once poll_interval_average is set (scheduled.rb). */
const INITIAL_WAIT_MS = 5 * SECOND;
const IDLE_MS = 30 * SECOND;
const HOUR = 3600 * SECOND;

/** The poll interval used unless --sidekiq-cron-poll says otherwise, seconds. */
export const DEFAULT_POLL_S = 1;

export interface SidekiqCronSetup {
  readonly versions: string;
  readonly cron: string;
  readonly periodMs: number;
  /** Why the seconds cron was refused, when it was. */
  readonly refused: string | null;
}

/**
 * Versions, and whether sidekiq-cron's own validation (Job#valid?, which calls Fugit.do_parse)
 * takes a seconds cron; or why sidekiq-cron cannot be run here.
 */
export function probeSidekiqCron(): SidekiqCronSetup | string {
  // Job#valid? is sidekiq-cron's own check (Fugit.do_parse, then "a Fugit::Cron?"); allocate skips
  // Job#initialize, which reads the job's status from Redis, so the probe needs no server.
  const script = [
    'require "sidekiq/cron"',
    'require "sidekiq/cron/version"',
    "job = Sidekiq::Cron::Job.allocate",
    `{ "@name" => "probe", "@cron" => ${JSON.stringify(SECONDS_CRON)}, "@klass" => "Probe" }.each { |name, value| job.instance_variable_set(name, value) }`,
    'puts "sidekiq #{Sidekiq::VERSION}, sidekiq-cron #{Sidekiq::Cron::VERSION}, fugit #{Fugit::VERSION}, ruby #{RUBY_VERSION}"',
    'puts(job.valid? ? "accepted" : job.errors.join("; "))',
  ].join("\n");
  const probe = spawnSync(SYSTEM_RUBY, ["-e", script], { encoding: "utf8", timeout: 20 * SECOND });
  if (probe.error !== undefined || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split("\n")[0] ?? `exit ${String(probe.status)}`;
    return `Debian's ruby-sidekiq-cron is not usable (${SYSTEM_RUBY} -r sidekiq/cron: ${why}); apt-get install ruby-sidekiq-cron ruby-sidekiq`;
  }
  if (!existsSync(SYSTEM_SIDEKIQ)) return `${SYSTEM_SIDEKIQ} is missing (apt-get install ruby-sidekiq)`;
  const [versions = "?", verdict = ""] = probe.stdout.trim().split("\n");
  const accepted = verdict === "accepted";
  return { versions, cron: accepted ? SECONDS_CRON : MINUTE_CRON, periodMs: accepted ? SECOND : 60 * SECOND, refused: accepted ? null : verdict };
}

/** What part 1 measured of our clock over its window, for the ratios. */
export interface OursInWindow {
  readonly redis: Summary;
  readonly consumer: Summary;
  readonly slots: number;
  readonly fired: number;
  readonly duplicates: number;
  readonly cpuPct: number;
}

interface Popped {
  readonly receivedAt: number;
  readonly enqueuedAt: number;
  readonly jid: string;
}

/** BRPOP on a connection of its own, as a Sidekiq fetcher pops the queue. */
function consume(redis: Redis): { popped: Popped[]; stop: () => Promise<void> } {
  const popped: Popped[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const reply = await redis.brpop(`queue:${QUEUE}`, 1).catch(() => null);
      const receivedAt = wallNow();
      if (reply === null) continue;
      const job = JSON.parse(reply[1]) as { enqueued_at: number; jid: string };
      popped.push({ receivedAt, enqueuedAt: job.enqueued_at * SECOND, jid: job.jid });
    }
  })();
  return {
    popped,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

interface Group {
  readonly label: string;
  readonly url: string;
  readonly redis: Redis;
  readonly procs: LoggedProcess[];
  readonly consumer: ReturnType<typeof consume>;
}

interface GroupResult {
  readonly inRedis: Summary;
  readonly consumer: Summary;
  readonly slots: number;
  readonly enqueued: number;
  readonly missed: number;
  readonly duplicates: number;
  readonly maxPerSlot: number;
  readonly unmatched: number;
}

/** Jobs per slot over [fromAt, untilAt): each job is the latest slot sidekiq-cron claimed at or before its enqueued_at. */
async function tally(group: Group, setup: SidekiqCronSetup, fromAt: number, untilAt: number): Promise<GroupResult> {
  const members = await group.redis.zrange(`cron_job:${JOB}:enqueued`, 0, -1, "WITHSCORES");
  const claims: number[] = [];
  for (let i = 1; i < members.length; i += 2) claims.push(Math.round(Number(members[i]) * SECOND));
  claims.sort((a, b) => a - b);
  const perSlot = new Map<number, Popped[]>();
  let unmatched = 0;
  for (const job of group.consumer.popped) {
    const slotAt = claims.filter((claim) => claim <= job.enqueuedAt).at(-1);
    if (slotAt === undefined || job.enqueuedAt - slotAt > 60 * SECOND) unmatched++;
    else perSlot.set(slotAt, [...(perSlot.get(slotAt) ?? []), job]);
  }
  const inWindow = [...perSlot.entries()].filter(([slotAt]) => slotAt >= fromAt && slotAt < untilAt);
  const slots = Math.ceil((untilAt - fromAt) / setup.periodMs);
  const first = inWindow.flatMap(([slotAt, jobs]) => (jobs[0] === undefined ? [] : [{ slotAt, job: jobs[0] }]));
  return {
    inRedis: summarize(first.map(({ slotAt, job }) => job.enqueuedAt - slotAt)),
    consumer: summarize(first.map(({ slotAt, job }) => job.receivedAt - slotAt)),
    slots,
    enqueued: inWindow.length,
    missed: slots - inWindow.length,
    duplicates: inWindow.reduce((sum, [, jobs]) => sum + jobs.length - 1, 0),
    maxPerSlot: Math.max(0, ...inWindow.map(([, jobs]) => jobs.length)),
    unmatched,
  };
}

const NOT_RUN = "(part 1 not run)";
const pct = (cpu: number, wall: number): string => `${((cpu / wall) * 100).toFixed(3)}%`;

export interface SidekiqCron {
  readonly setup: SidekiqCronSetup;
  readonly pollS: number;
  /** Every process has loaded the schedule (or booted, for the baseline). */
  readonly ready: Promise<void>;
  /** Part 1 chose its window: slots from here on count (the pollers' random first wait is over), CPU sampled at the edges. */
  window(fromAt: number, untilAt: number): void;
  /** After the window: lag, slots, duplicates and CPU beside ours (null: part 1 not in the run); then the schedule goes daily and the idle window starts. */
  rows(ours: OursInWindow | null): Promise<Row[]>;
  /** Without part 1: a window of its own, then rows(null). */
  alone(windowMs: number): Promise<Row[]>;
  /** Every process stopped at once (a failed start). */
  stop(): Promise<void>;
  /** After the idle window: idle CPU beside the one-schedule clock's; every process stopped. */
  finish(): Promise<Row[]>;
}

/** Spawns every group; `currentIdleClock` gives the one-schedule clock whose idle CPU is read over the same idle window (null: not running). */
export async function startSidekiqCron(setup: SidekiqCronSetup, pollS: number, currentIdleClock: () => Pick<LoggedProcess, "pid" | "alive"> | null): Promise<SidekiqCron> {
  const schedule = JSON.stringify({ [JOB]: { cron: setup.cron, class: "TickJob", queue: QUEUE } });
  const spawnGroup = async (label: string, count: number): Promise<Group> => {
    const server = await redisServer();
    const procs = Array.from({ length: count }, (_, i) =>
      spawnProcess(SYSTEM_SIDEKIQ, ["-r", BOOT, "-q", "idle", "-c", "1", "-t", "1"], {
        name: `sidekiq-cron ${label}${count > 1 ? ` #${i + 1}` : ""}`,
        env: { REDIS_URL: server.url, CRON_SCHEDULE: schedule, CRON_POLL_INTERVAL: String(pollS), SIDEKIQ_PROCESSES: String(count) },
      }),
    );
    return { label, url: server.url, redis: connect(server.url), procs, consumer: consume(connect(server.url)) };
  };
  const one = await spawnGroup("1 process", 1);
  const three = await spawnGroup("3 processes", 3);
  // The baseline shares the one-process group's Redis: with its poller off it never reads the schedule.
  const baseline = spawnProcess(SYSTEM_SIDEKIQ, ["-r", BOOT, "-q", "idle", "-c", "1", "-t", "1"], {
    name: "sidekiq (cron poller off)",
    env: { REDIS_URL: one.url, CRON_POLL_INTERVAL: "0" },
  });
  const everyCronProc = [...one.procs, ...three.procs];
  const all = [...everyCronProc, baseline];
  let readyAt = Number.NaN;
  const ready = Promise.all([
    ...everyCronProc.map((proc) => proc.waitFor((line) => line.msg.includes(`Cron Jobs - added job with name: ${JOB}`), { timeoutMs: 30 * SECOND, what: "the schedule loaded" })),
    baseline.waitFor((line) => line.msg.includes("Booting Sidekiq"), { timeoutMs: 30 * SECOND, what: "boot" }),
  ]).then(() => {
    readyAt = wallNow();
  });

  let windowFromAt = Number.NaN;
  let windowUntilAt = Number.NaN;
  const busyCpu = new Map<number, number>();
  const sample = (into: Map<number, number>, sign: number): void => {
    for (const proc of all) {
      // Gone (crashed) between the check and the read: its figure stays NaN, and its exit shows in its tail.
      let used = Number.NaN;
      try {
        if (proc.alive) used = cpuMs(proc.pid);
      } catch {
        // as above
      }
      into.set(proc.pid, (into.get(proc.pid) ?? 0) + sign * used);
    }
  };
  let idle: Promise<{ cpu: Map<number, number>; clockMs: number | null; wallMs: number; perf: Map<number, number>; clockPerfMs: number | null }> | null = null;

  const describe = (label: string, result: GroupResult): string =>
    `${label.padEnd(12)} slots ${result.enqueued} of ${result.slots} enqueued (${result.missed} missed), duplicates ${result.duplicates} (max ${result.maxPerSlot} per slot)` +
    `; lag in Redis p50 ${ms(result.inRedis.p50)} p99 ${ms(result.inRedis.p99)} max ${ms(result.inRedis.max)}, at BRPOP p50 ${ms(result.consumer.p50)} p99 ${ms(result.consumer.p99)}` +
    (result.unmatched > 0 ? `; ${result.unmatched} job(s) matched no claimed slot` : "");

  const window = (fromAt: number, untilAt: number): void => {
    windowFromAt = Math.max(fromAt, Math.ceil((readyAt + INITIAL_WAIT_MS) / setup.periodMs) * setup.periodMs);
    windowUntilAt = untilAt;
    // Timers, not awaits: part 1 is sleeping through the window meanwhile.
    setTimeout(() => sample(busyCpu, -1), Math.max(0, windowFromAt - wallNow()));
    setTimeout(() => sample(busyCpu, 1), Math.max(0, windowUntilAt - wallNow()));
  };

  const rows = async (ours: OursInWindow | null): Promise<Row[]> => {
    section(`1b. sidekiq-cron (${setup.versions}): "${setup.cron}" in Sidekiq servers, cron_poll_interval ${pollS} s, beside part 1`);
    if (setup.refused !== null) note(`the seconds cron "${SECONDS_CRON}" was refused (${setup.refused}): the one-minute job "${MINUTE_CRON}" instead`);
    if (!Number.isFinite(windowFromAt) || windowUntilAt - windowFromAt < setup.periodMs) {
      const iso = (at: number): string => (Number.isFinite(at) ? new Date(at).toISOString() : "(none)");
      const why = `no slot to measure: window ${iso(windowFromAt)} .. ${iso(windowUntilAt)}, one slot per ${setup.periodMs / SECOND} s`;
      note(`not measured: ${why}`);
      return [{ section: "1b sidekiq-cron", measure: "(not measured)", ours: "", peers: why, ratio: "", target: "", verdict: "" }];
    }
    // A slot is claimed by the first poll a second after it (fugit's previous_time looks from now - 1 s), up to 1.5 polls later.
    await sleepUntil(windowUntilAt + SECOND + 1.5 * pollS * SECOND + 300);
    const windowMs = windowUntilAt - windowFromAt;
    note(
      `slots ${new Date(windowFromAt).toISOString()} .. ${new Date(windowUntilAt).toISOString()} (from 5 s after the last process loaded the schedule: the pollers' random first wait)`,
    );
    const [r1, r3] = [await tally(one, setup, windowFromAt, windowUntilAt), await tally(three, setup, windowFromAt, windowUntilAt)];
    note(describe("1 process", r1));
    note(describe("3 processes", r3));
    const busy = (proc: LoggedProcess): string => pct(busyCpu.get(proc.pid) ?? Number.NaN, windowMs);
    note(
      `CPU over the window (utime+stime): 1 process ${busy(one.procs[0] as LoggedProcess)}; 3 processes ${three.procs.map(busy).join(", ")}; Sidekiq with the cron poller off ${busy(baseline)}${ours === null ? "" : `; ours (part 1's clock) ${ours.cpuPct.toFixed(3)}%`}`,
    );
    note("ours fires every slot ~1 ms late; sidekiq-cron 1.8 enqueues a slot only once a second has passed since it (fugit 1.5's previous_time searches from now - 1 s),");
    note("and skips the slot after each one it enqueued (not_enqueued_after? compares the enqueue's whole second with the slot), whatever the poll interval.");

    // Idle: the same processes with a daily schedule (next slot hours away), from now on.
    const hour = DateTime.fromMillis(wallNow() + 6 * HOUR, { zone: "UTC" }).hour;
    await Promise.all([one.redis, three.redis].map((redis) => redis.hset(`cron_job:${JOB}`, "cron", `30 ${hour} * * *`)));
    await Promise.all([one.consumer.stop(), three.consumer.stop()]);
    idle = (async () => {
      await sleep(2 * pollS * SECOND); // every poller has read the daily schedule
      const cpu = new Map<number, number>();
      sample(cpu, -1);
      const idleClock = currentIdleClock();
      const [wall0, clock0] = [wallNow(), idleClock?.alive === true ? cpuMs(idleClock.pid) : null];
      // perf's task-clock beside the ticks, as part 3 does: a 10 ms tick is 0.033% of 30 s.
      const clockPerf = idleClock?.alive === true ? perfTaskClock(idleClock.pid, IDLE_MS) : Promise.resolve(null);
      const precise = Promise.all(all.map(async (proc) => [proc.pid, await perfTaskClock(proc.pid, IDLE_MS)] as const));
      await sleep(IDLE_MS);
      sample(cpu, 1);
      const clockMs = idleClock?.alive === true && clock0 !== null ? cpuMs(idleClock.pid) - clock0 : null;
      const wallMs = wallNow() - wall0;
      const perf = new Map((await precise).flatMap(([pid, taskMs]) => (taskMs === null ? [] : [[pid, taskMs] as const])));
      const clockPerfMs = await clockPerf;
      await Promise.all(all.map((proc) => stopProc(proc)));
      return { cpu, clockMs, wallMs, perf, clockPerfMs };
    })();
    // finish() awaits it later; until then a failure must not count as an unhandled rejection.
    idle.catch(() => undefined);

    const lagOf = (summary: Summary): string => `${ms(summary.p50)} / ${ms(summary.p99)}`;
    const oursLag = (pick: (of: OursInWindow) => Summary): string => (ours === null ? NOT_RUN : `${ms(pick(ours).p50, 3)} / ${ms(pick(ours).p99, 3)}`);
    const lagRatio = (pick: (of: OursInWindow) => Summary, peer: Summary): string =>
      ours === null ? "" : `${ratio(pick(ours).p50, peer.p50)} / ${ratio(pick(ours).p99, peer.p99)} (1 proc)`;
    const enqueuedOf = (result: GroupResult): string => `${result.enqueued} of ${result.slots} (${result.missed} MISSED)`;
    const cronCpu = [...everyCronProc].map((proc) => busyCpu.get(proc.pid) ?? Number.NaN);
    return [
      {
        section: "1b sidekiq-cron",
        measure: "p50 / p99 lag, in Redis (sidekiq-cron: enqueued_at)",
        ours: oursLag((of) => of.redis),
        peers: `1 process ${lagOf(r1.inRedis)}; 3 processes ${lagOf(r3.inRedis)}`,
        ratio: lagRatio((of) => of.redis, r1.inRedis),
        target: "",
        verdict: "",
      },
      {
        section: "1b sidekiq-cron",
        measure: "p50 / p99 lag, at a consumer (BLPOP / BRPOP)",
        ours: oursLag((of) => of.consumer),
        peers: `1 process ${lagOf(r1.consumer)}; 3 processes ${lagOf(r3.consumer)}`,
        ratio: lagRatio((of) => of.consumer, r1.consumer),
        target: "",
        verdict: "",
      },
      {
        section: "1b sidekiq-cron",
        measure: `slots enqueued, every-${setup.periodMs / SECOND}s job`,
        ours: ours === null ? NOT_RUN : `${ours.fired} of ${ours.slots}`,
        peers: `1 process ${enqueuedOf(r1)}; 3 processes ${enqueuedOf(r3)}`,
        ratio: "",
        target: "",
        verdict: "",
      },
      {
        section: "1b sidekiq-cron",
        measure: "duplicates (jobs beyond one per slot)",
        ours: ours === null ? NOT_RUN : String(ours.duplicates),
        peers: `3 processes ${r3.duplicates} (max ${r3.maxPerSlot} per slot); 1 process ${r1.duplicates}`,
        ratio: "",
        target: "",
        verdict: "",
      },
      {
        section: "1b sidekiq-cron",
        measure: `CPU with the every-${setup.periodMs / SECOND}s job, per process`,
        ours: ours === null ? NOT_RUN : `${ours.cpuPct.toFixed(3)}%`,
        peers: `${cronCpu.map((cpu) => pct(cpu, windowMs)).join(", ")} (1 + 3 procs); cron poller off ${busy(baseline)}`,
        ratio: ours === null ? "" : `${ratio(ours.cpuPct, ((cronCpu[0] ?? Number.NaN) / windowMs) * 100)} (1 proc)`,
        target: "",
        verdict: "",
      },
    ];
  };

  return {
    setup,
    pollS,
    ready,
    window,
    rows,
    async alone(windowMs) {
      const fromAt = Math.ceil(wallNow() / setup.periodMs) * setup.periodMs;
      window(fromAt, fromAt + windowMs);
      note(`sidekiq-cron alone (part 1 is not in this run): slots over ${windowMs / SECOND} s ...`);
      await sleepUntil(fromAt + windowMs);
      return await rows(null);
    },
    async stop() {
      await Promise.all(all.map((proc) => stopProc(proc)));
    },
    async finish() {
      if (idle === null) {
        await Promise.all(all.map((proc) => stopProc(proc)));
        return [];
      }
      const { cpu, clockMs, wallMs, perf, clockPerfMs } = await idle;
      const withPerf = (ticksMs: number | undefined, perfMs: number | null | undefined): string =>
        `${pct(ticksMs ?? Number.NaN, wallMs)}${perfMs === null || perfMs === undefined ? "" : ` (perf ${pct(perfMs, IDLE_MS)})`}`;
      const idlePct = (proc: LoggedProcess): string => withPerf(cpu.get(proc.pid), perf.get(proc.pid));
      const clockPct = clockMs === null ? "(not running: part 3 not in this run)" : withPerf(clockMs, clockPerfMs);
      note(
        `sidekiq-cron idle (a daily job) over ${(wallMs / SECOND).toFixed(0)} s, utime+stime (perf task-clock): 1 process ${idlePct(one.procs[0] as LoggedProcess)}; 3 processes ${three.procs.map(idlePct).join(", ")}; cron poller off ${idlePct(baseline)}; one-schedule clock ${clockPct}`,
      );
      // The ratio by perf where both have it (finer than ticks), else by ticks.
      const onePid = one.procs[0]?.pid ?? -1;
      const onePerf = perf.get(onePid);
      const idleRatio =
        clockMs === null
          ? ""
          : onePerf !== undefined && clockPerfMs !== null
            ? `${ratio(clockPerfMs, onePerf)} (1 proc, perf)`
            : `${ratio(clockMs, cpu.get(onePid) ?? Number.NaN)} (1 proc)`;
      return [
        {
          section: "1b sidekiq-cron",
          measure: `idle CPU, a daily job (${(wallMs / SECOND).toFixed(0)} s), per process`,
          ours: clockMs === null ? "n/a" : `${clockPct} (one-schedule clock)`,
          peers: `${everyCronProc.map(idlePct).join(", ")} (1 + 3 procs); cron poller off ${idlePct(baseline)}`,
          ratio: idleRatio,
          target: "",
          verdict: "",
        },
      ];
    },
  };
}

/** The rows that say why sidekiq-cron was not measured. */
export function notMeasured(why: string): Row[] {
  note(`sidekiq-cron not measured: ${why}`);
  return [{ section: "1b sidekiq-cron", measure: "(not measured)", ours: "", peers: why.slice(0, 120), ratio: "", target: "", verdict: "" }];
}
