/**
 * What every part of the benchmark shares: a sub-millisecond wall clock, statistics, child
 * processes (the tests' harness, each line timestamped on arrival), /proc readings, and cleanup.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { LogLine } from "../test/helpers/logs.ts";
import type { Heard } from "../test/helpers/lines.ts";
import { BIN, LoggedProcess, type SpawnOptions } from "../test/helpers/process.ts";
import { startRedis, type TestRedis } from "../test/helpers/redis.ts";

export const SECOND = 1000;
export const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

// ---------------------------------------------------------------------------------------------
// Time

let wallOffsetMs = 0;

/** A tick of Date.now() located to within this much, or the next tick is tried. */
const CALIBRATION_WIDTH_MS = 0.02;

/**
 * Aligns the high-resolution clock with the wall clock: Date.now() only has whole milliseconds,
 * but at the moment it ticks over it is exact, so busy-wait (about 1 ms) for a tick. The tick is
 * bracketed by high-resolution readings around the two Date.now() calls on either side of it; a
 * bracket widened by a preemption (a busy machine) is thrown away and the next tick tried.
 */
export function calibrate(): void {
  let best = { width: Number.POSITIVE_INFINITY, offset: wallOffsetMs };
  for (let attempt = 0; attempt < 10 && best.width > CALIBRATION_WIDTH_MS; attempt++) {
    let before = performance.now();
    const start = Date.now();
    for (;;) {
      const low = performance.now();
      const now = Date.now();
      const high = performance.now();
      if (now !== start) {
        // The tick to `now` came after the previous Date.now() call began and before this one ended.
        const width = high - before;
        if (width < best.width) best = { width, offset: now - (performance.timeOrigin + (before + high) / 2) };
        break;
      }
      before = low;
    }
  }
  wallOffsetMs = best.offset;
}

/** Wall-clock epoch ms with sub-millisecond precision (comparable with Redis TIME on this host). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now() + wallOffsetMs;
}

/** CLOCK_MONOTONIC in µs: the time base of V8's .cpuprofile samples. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A wall-clock instant (wallNow's ms) as CLOCK_MONOTONIC µs, the time base of .cpuprofile samples. */
export function monoAt(wall: number): number {
  return monotonicUs() - (wallNow() - wall) * 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export async function sleepUntil(wallAt: number): Promise<void> {
  await sleep(wallAt - wallNow());
}

/** Redis TIME as epoch ms with µs precision. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

// ---------------------------------------------------------------------------------------------
// Statistics

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly min: number;
}

/** Percentile by linear interpolation between closest ranks (numpy's default). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = sorted[low] as number;
  const b = sorted[high] as number;
  return a + (b - a) * (rank - low);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
    min: sorted[0] ?? Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function ms(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value.toFixed(Math.abs(value) >= 100 ? 0 : digits)} ms`;
}

/** "0.25x" style ratio of ours to a peer (below 1: ours is smaller, i.e. faster or leaner). */
export function ratio(ours: number, peer: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return "n/a";
  const value = ours / peer;
  // Two significant digits below 0.01 (sidekiq-cron's lag is ~1000x ours): "0.00x" would say nothing.
  return `${value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value >= 0.01 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

// ---------------------------------------------------------------------------------------------
// Results

export interface Row {
  readonly section: string;
  readonly measure: string;
  readonly ours: string;
  readonly peers: string;
  readonly ratio: string;
  readonly target: string;
  /** "met", "MISSED", or "" where there is no target. */
  readonly verdict: string;
}

export function verdict(met: boolean | null): string {
  return met === null ? "" : met ? "met" : "MISSED";
}

export function printTable(rows: readonly Row[]): void {
  const header: Row = { section: "part", measure: "measure", ours: "the clock", peers: "peers (same run)", ratio: "ours/peer", target: "target", verdict: "" };
  const columns = ["section", "measure", "ours", "peers", "ratio", "target", "verdict"] as const;
  const widths = columns.map((column) => Math.max(...[header, ...rows].map((row) => row[column].length)));
  const line = (row: Row): string =>
    columns
      .map((column, i) => row[column].padEnd(widths[i] as number))
      .join(" | ")
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((width) => "-".repeat(width)).join("-|-"));
  for (const row of rows) console.log(line(row));
}

export function section(title: string): void {
  console.log(`\n== ${title} ==`);
  console.log(
    `  (load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")})`,
  );
}

export function note(text: string): void {
  console.log(`  ${text}`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup: every child process and server is registered, and all go on exit or on an error.

const cleanups = new Set<() => Promise<void>>();

export function onCleanup(step: () => Promise<void>): () => void {
  cleanups.add(step);
  return () => cleanups.delete(step);
}

export async function cleanupAll(): Promise<void> {
  const steps = [...cleanups].reverse();
  cleanups.clear();
  await Promise.all(steps.map((step) => step().catch(() => undefined)));
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "clock-bench-"));
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function redisServer(): Promise<TestRedis> {
  const server = await startRedis();
  onCleanup(() => server.close());
  return server;
}

export function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  onCleanup(async () => {
    redis.disconnect();
  });
  return redis;
}

/** A config module for `clock start --config`: plain data, so no import is needed. */
export function writeConfig(dir: string, name: string, config: unknown): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `export default ${JSON.stringify(config)};\n`);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Child processes: the tests' harness (test/helpers/process.ts), with lines timestamped by wallNow()

/** SIGTERM, then SIGKILL after `timeoutMs`; a stop that needed the SIGKILL is noted, not thrown (the figures stand). */
export async function stopProc(proc: LoggedProcess, timeoutMs = 5 * SECOND): Promise<void> {
  await proc.stop("SIGTERM", timeoutMs).catch((error: unknown) => note(`warning: ${errorText(error).split("\n")[0] ?? ""}`));
}

function track(proc: LoggedProcess): LoggedProcess {
  onCleanup(async () => {
    if (proc.alive) await proc.stop("SIGTERM", 2 * SECOND).catch(() => undefined);
  });
  return proc;
}

/** The first line (already read or still to come) whose msg is `msg`. */
export function waitMessage(proc: LoggedProcess, msg: string, timeoutMs: number): Promise<Heard> {
  return proc.waitFor((line) => line.msg === msg, { timeoutMs, what: `"${msg}"` });
}

export interface ClockOptions {
  readonly label: string;
  readonly redisUrl: string;
  readonly nodeArgs?: readonly string[];
  readonly args?: readonly string[];
  /** Messages only counted, not parsed or kept (SpawnOptions.tally). */
  readonly tally?: readonly string[];
}

/** `node bin/clock.js start --config PATH`, as a user runs it (JSON log lines on a pipe). */
export function spawnClock(configPath: string, options: ClockOptions): LoggedProcess {
  return track(
    new LoggedProcess(process.execPath, [...(options.nodeArgs ?? []), BIN, "start", "--config", configPath, ...(options.args ?? [])], {
      name: options.label,
      cwd: ROOT,
      env: { REDIS_URL: options.redisUrl, LOG_LEVEL: "info" },
      now: wallNow,
      ...(options.tally === undefined ? {} : { tally: options.tally }),
    }),
  );
}

/** Any other command (a Sidekiq server), on the same harness, stopped at clean-up; lines timestamped by wallNow(). */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions): LoggedProcess {
  return track(new LoggedProcess(command, args, { cwd: ROOT, ...options, now: wallNow }));
}

/** A peer (croner, BullMQ) in its own process, as fair to it as the clock's own process is to us. */
export function spawnPeer(mode: string, args: readonly (string | number)[]): LoggedProcess {
  return track(new LoggedProcess(process.execPath, ["--import", "tsx", "bench/peers.ts", mode, ...args.map(String)], { name: mode, cwd: ROOT, now: wallNow }));
}

/** A fired log line's slot and the Redis time inside the write (slot + lagMs). */
export function firedOf(line: LogLine): { pid: number; slotAt: number; redisAt: number; lagMs: number; catchUp: boolean } | null {
  if (line.msg !== "fired") return null;
  const jobId = String(line["jobId"]);
  const slotAt = Number(jobId.slice(jobId.lastIndexOf("-") + 1));
  const lagMs = Number(line["lagMs"]);
  return { pid: Number(line["pid"]), slotAt, redisAt: slotAt + lagMs, lagMs, catchUp: line["catchUp"] === true };
}

// ---------------------------------------------------------------------------------------------
// /proc

export const CLOCK_TICKS_PER_SECOND = 100;

/** utime + stime of a process, ms (tick resolution: 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * SECOND) / CLOCK_TICKS_PER_SECOND;
}

/** Time on a CPU of all of a process's threads, ms, from each /proc/PID/task/TID/schedstat (ns resolution, not ticks). */
export function onCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return ns / 1e6;
}

/** Resident set size now and its peak, MB. */
export function memoryMb(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rssMb: field("VmRSS"), peakMb: field("VmHWM") };
}

/**
 * CPU time of a process over a window, ms, from `perf stat -e task-clock` (the scheduler's own
 * accounting, ns resolution); null where perf is missing or not allowed. /proc ticks charge a whole
 * 10 ms tick to whoever runs at the timer interrupt, which overstates a process that wakes often.
 */
export function perfTaskClock(pid: number, windowMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn("perf", ["stat", "-x", ",", "-e", "task-clock", "-p", String(pid), "--", "sleep", String(windowMs / SECOND)], { stdio: ["ignore", "ignore", "pipe"] });
    let output = "";
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", () => resolve(null));
    child.on("exit", (code) => {
      const line = output.split("\n").find((row) => row.includes("task-clock"));
      const value = Number(line?.split(",")[0]);
      resolve(code === 0 && Number.isFinite(value) ? value : null);
    });
    onCleanup(async () => void child.kill());
  });
}

/** Waits until a process has used under `busyShare` of a core over `spanMs` (its start-up work is over). */
export async function waitIdle(pid: number, timeoutMs: number, spanMs = 500, busyShare = 0.05): Promise<boolean> {
  const deadline = wallNow() + timeoutMs;
  let before = cpuMs(pid);
  while (wallNow() < deadline) {
    await sleep(spanMs);
    const after = cpuMs(pid);
    if (after - before <= spanMs * busyShare) return true;
    before = after;
  }
  return false;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
