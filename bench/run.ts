/**
 * `npm run bench`: the clock beside its peers, in one run on one machine, loopback only.
 *
 *   1. firing lag of a one-second schedule (ours, BullMQ job scheduler, croner + ioredis, at once)
 *      1b. sidekiq-cron in Sidekiq servers (one, three, one with its poller off) beside part 1:
 *      lag, slots enqueued, duplicates, CPU; then idle CPU with a daily job during part 2
 *   2. 10,000 schedules due at the same instant (ours, BullMQ, croner, redis-benchmark's ceiling),
 *      and ours at 1,000 / 10,000 / 100,000: burst, a tick's lag, RSS (the scaling curve)
 *   3. 100,000 schedules: start-up to first fire, RSS, idle CPU (and one schedule's idle CPU)
 *   4. failover: SIGKILL and SIGTERM of the leader among three clocks
 *   5. status: 100,000 dynamic schedules, /api/status polled every second vs not: the lag moved
 *   6. shards (only with --only shards, not in the default run): 1,000,000 dynamic schedules due at
 *      one instant, 4 processes with shards: 16: all shards led, RSS, the burst, a SIGKILL's rebalance
 *
 * Every redis-server is a throwaway one on a free port (test/helpers/redis.ts); every child
 * process and server is stopped at the end, on an error, on Ctrl-C, or past the time limit.
 *
 * Options: --only lag,sidekiq-cron,burst,scale,failover,status,shards (a subset; without it, all
 * but shards)   --profile (spawn our clocks with --cpu-prof and print where the burst and the
 * start-up spend their time; slows them down)   --curve 1000,10000 (the curve's points; 10,000 is
 * always one)   --sidekiq-cron-poll 1 (sidekiq-cron's cron_poll_interval, seconds)
 * --shards-schedules 100000 (part 6's schedule count, default 1,000,000)   --shards-ttl 10 (part 6's
 * lease TTL in seconds, default 5; the rebalance goal is TTL + 2 s).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchBurst, CURVE } from "./burst.ts";
import { benchFailover } from "./failover.ts";
import { benchLag } from "./lag.ts";
import { cleanupAll, errorText, printTable, ROOT, section, SECOND, tempDir, type Row } from "./lib.ts";
import { benchScale, startIdleClock, type IdleClock } from "./scale.ts";
import { DEFAULT_POLL_S, notMeasured, probeSidekiqCron, startSidekiqCron, type SidekiqCron } from "./sidekiq-cron.ts";
import { benchShards, SHARDS_SCHEDULES, SHARDS_TTL_MS } from "./shards.ts";
import { benchStatus } from "./status.ts";

const PARTS = ["lag", "sidekiq-cron", "burst", "scale", "failover", "status", "shards"] as const;
type Part = (typeof PARTS)[number];
/** What `npm run bench` runs without --only: every part but shards (minutes of its own, selected by name). */
const DEFAULT_PARTS: readonly Part[] = PARTS.filter((part) => part !== "shards");
/** The issue's bound is 5 minutes: stop everything short of it rather than overrun. */
const TIME_LIMIT_MS = 290 * SECOND;
/** Added to the limit when shards is in the run (1,000,000 schedules: writing, 4 start-ups, a 2-minute burst bound). */
const SHARDS_LIMIT_MS = 420 * SECOND;
/** sidekiq-cron's own window when part 1 is not in the run. */
const SIDEKIQ_CRON_ALONE_MS = 30 * SECOND;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function preflight(): void {
  if (!existsSync(join(ROOT, "dist/cli/run.js"))) throw new Error("dist/ is missing: run `npm run build` first (bin/clock.js runs dist/)");
  if (newestMtime(join(ROOT, "src")) > newestMtime(join(ROOT, "dist"))) console.log("warning: src/ is newer than dist/: the clock measured is the last build (`npm run build`)");
  for (const tool of ["redis-server", "redis-benchmark"]) {
    try {
      execFileSync(tool, ["--version"], { stdio: "ignore" });
    } catch {
      throw new Error(`${tool} is not on PATH (Debian: apt-get install redis-server redis-tools)`);
    }
  }
}

function machine(): string {
  const redis = /v=([\d.]+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "?";
  const model = cpus()[0]?.model ?? "?";
  return `${cpus().length} cores (${model}), load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(" ")}; Node ${process.version}; Redis ${redis}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      profile: { type: "boolean" },
      curve: { type: "string" },
      "sidekiq-cron-poll": { type: "string" },
      "shards-schedules": { type: "string" },
      "shards-ttl": { type: "string" },
    },
  });
  const curve = values.curve?.split(",").map(Number) ?? [...CURVE];
  if (curve.some((count) => !Number.isInteger(count) || count < 1)) throw new Error(`--curve: expected schedule counts like 1000,10000,100000, got ${values.curve ?? ""}`);
  const pollS = Number(values["sidekiq-cron-poll"] ?? DEFAULT_POLL_S);
  if (!(pollS > 0)) throw new Error(`--sidekiq-cron-poll: expected seconds > 0, got ${values["sidekiq-cron-poll"] ?? ""}`);
  const shardsCount = Number(values["shards-schedules"] ?? SHARDS_SCHEDULES);
  if (!Number.isInteger(shardsCount) || shardsCount < 1) throw new Error(`--shards-schedules: expected a schedule count like 100000, got ${values["shards-schedules"] ?? ""}`);
  const shardsTtlS = Number(values["shards-ttl"] ?? SHARDS_TTL_MS / 1000);
  if (!Number.isInteger(shardsTtlS) || shardsTtlS < 2) throw new Error(`--shards-ttl: expected whole seconds >= 2, like 10, got ${values["shards-ttl"] ?? ""}`);
  const parts = (values.only?.split(",") ?? [...DEFAULT_PARTS]) as Part[];
  const unknown = parts.filter((part) => !PARTS.includes(part));
  if (unknown.length > 0) throw new Error(`--only: unknown part(s) ${unknown.join(", ")}; parts are ${PARTS.join(", ")}`);
  preflight();
  if (parts.includes("shards")) armLimit(TIME_LIMIT_MS + SHARDS_LIMIT_MS);
  const startedAt = Date.now();
  console.log(`the clock benchmark: ${parts.join(", ")}${values.profile === true ? " (profiling: figures are slower than usual)" : ""}`);
  console.log(`machine: ${machine()}`);
  console.log("shared and noisy: quote medians and ratios against the peers measured in this same run");

  const dir = tempDir();
  /** Each profiled part gets a directory of its own: the newest .cpuprofile in it is that part's clock. */
  const profilesFor = (part: Part): string | null => {
    if (values.profile !== true) return null;
    const path = join(dir, "profiles", part);
    mkdirSync(path, { recursive: true });
    return path;
  };
  let failed = false;
  const attempt = async (name: string, run: () => Promise<Row[]>): Promise<void> => {
    try {
      rows.push(...(await run()));
    } catch (error) {
      failed = true;
      console.log(`  ${name} FAILED: ${errorText(error)}`);
      rows.push({ section: name, measure: "(failed)", ours: errorText(error).slice(0, 80), peers: "", ratio: "", target: "", verdict: "FAILED" });
    }
  };

  // Set inside attempt()'s callbacks (a holder: TypeScript would narrow a plain `let` to null here).
  const started: { idle: IdleClock | null; sidekiq: SidekiqCron | null } = { idle: null, sidekiq: null };
  // Booted while the idle clock starts and before part 1, so five Ruby start-ups do not land on its slots.
  let booting: Promise<void> = Promise.resolve();
  if (parts.includes("sidekiq-cron")) {
    await attempt("1b sidekiq-cron", async () => {
      const setup = probeSidekiqCron();
      if (typeof setup === "string") return notMeasured(setup);
      const sidekiq = await startSidekiqCron(setup, pollS, () => started.idle?.proc ?? null);
      started.sidekiq = sidekiq;
      booting = sidekiq.ready;
      // attempt() below reports a failed boot; until then it must not count as an unhandled rejection.
      booting.catch(() => undefined);
      return [];
    });
  }
  // Started first and left idle throughout, so its idle CPU is read over minutes, not 30 s.
  if (parts.includes("scale")) {
    await attempt("3 scale", async () => {
      started.idle = await startIdleClock(dir);
      return [];
    });
  }
  const idleClock = started.idle;
  if (started.sidekiq !== null) {
    const sidekiq = started.sidekiq;
    await attempt("1b sidekiq-cron", async () => {
      try {
        await booting;
      } catch (error) {
        started.sidekiq = null;
        await sidekiq.stop();
        throw error;
      }
      return [];
    });
  }
  const cron = started.sidekiq;
  if (parts.includes("lag")) await attempt("1 lag", () => benchLag(dir, cron));
  else if (cron !== null) await attempt("1b sidekiq-cron", () => cron.alone(SIDEKIQ_CRON_ALONE_MS));
  // Its idle window runs through part 2 (or on its own); its row goes with the other sidekiq-cron rows.
  const finishCron = async (): Promise<void> => {
    if (cron === null) return;
    const at = rows.map((row) => row.section).lastIndexOf("1b sidekiq-cron") + 1;
    const before = rows.length;
    await attempt("1b sidekiq-cron", () => cron.finish());
    if (at > 0) rows.splice(at, 0, ...rows.splice(before));
  };
  if (parts.includes("burst")) await attempt("2 burst", () => benchBurst(dir, profilesFor("burst"), curve));
  await finishCron();
  if (parts.includes("scale") && idleClock !== null) await attempt("3 scale", () => benchScale(dir, idleClock, profilesFor("scale")));
  if (parts.includes("failover")) await attempt("4 failover", () => benchFailover(dir));
  if (parts.includes("status")) await attempt("5 status", () => benchStatus(dir));
  if (parts.includes("shards")) await attempt("6 shards", () => benchShards(dir, shardsCount, profilesFor("shards"), shardsTtlS * 1000));

  await cleanupAll();
  printResults(startedAt, "");
  return failed ? 1 : 0;
}

/** Every part's rows so far: printed at the end, or as far as they got when the time limit stops the run. */
const rows: Row[] = [];
const runStartedAt = Date.now();

function printResults(startedAt: number, status: string): void {
  section(`Results (${((Date.now() - startedAt) / SECOND).toFixed(0)} s, npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""})${status}`);
  printTable(rows);
}

let limit: NodeJS.Timeout | undefined;
/** (Re)arms the run's time limit, counted from the run's start. */
function armLimit(limitMs: number): void {
  clearTimeout(limit);
  limit = setTimeout(
    () => {
      console.error(`bench: past ${limitMs / SECOND} s; stopping every child process and server`);
      void cleanupAll().finally(() => {
        printResults(runStartedAt, `, STOPPED at the ${limitMs / SECOND} s limit: the parts that finished`);
        process.exit(1);
      });
    },
    limitMs - (Date.now() - runStartedAt),
  );
  limit.unref();
}
armLimit(TIME_LIMIT_MS);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void cleanupAll().finally(() => process.exit(130));
  });
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`bench: ${errorText(error)}`);
  process.exitCode = 2;
} finally {
  await cleanupAll();
}
// Peers' leftover timers (a lost race's timeout) must not keep the run alive.
process.exit(process.exitCode);
