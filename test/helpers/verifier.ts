/**
 * Fault-injection support: an exactly-once verifier over what reached a queue, and a harness that
 * spawns `clock start` processes, reads their pino lines and reaps every child, even on failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";
import type { Schedule } from "../../src/schedule/schedule.ts";
import { slotsBetween } from "../../src/schedule/slots.ts";

// ---------------------------------------------------------------------------------------------
// Verifier

export interface Verdict {
  /** How many slots the schedule yields in [fromAt, untilAt]. */
  readonly expected: number;
  /** Slots enqueued more than once (each listed once), anywhere in the queue. */
  readonly duplicates: number[];
  /** Slots in [fromAt, untilAt] never enqueued. */
  readonly missing: number[];
  /** Enqueued instants the schedule never yields (in or out of the range). */
  readonly unexpected: number[];
  readonly summary: string;
}

/** Guards the expansion: a range this long means the caller passed the wrong bounds. */
const MAX_EXPECTED = 100_000;

const iso = (at: number): string => new Date(at).toISOString();

/**
 * Compares what was enqueued for one schedule with the schedule's own slots in [fromAt, untilAt]:
 * each slot in the range must appear exactly once; outside the range, only duplicates count.
 */
export function verifySlots(schedule: Schedule, enqueuedAts: readonly number[], fromAt: number, untilAt: number): Verdict {
  const { slots, total } = slotsBetween(schedule, fromAt - 1, untilAt, MAX_EXPECTED, MAX_EXPECTED + 1);
  if (total > MAX_EXPECTED) throw new Error(`verifySlots: ${total} slots between ${iso(fromAt)} and ${iso(untilAt)}; bounds look wrong`);
  const counts = new Map<number, number>();
  for (const at of enqueuedAts) counts.set(at, (counts.get(at) ?? 0) + 1);
  const duplicates = [...counts].filter(([, count]) => count > 1).map(([at]) => at).sort((a, b) => a - b);
  const missing = slots.filter((at) => !counts.has(at));
  // A slot of the schedule is the first slot after the instant just before it.
  const unexpected = [...counts.keys()].filter((at) => slotsBetween(schedule, at - 1, at, 1).slots[0] !== at).sort((a, b) => a - b);
  const outside = enqueuedAts.filter((at) => at < fromAt || at > untilAt).length;
  const show = (ats: readonly number[], label: (at: number) => string = iso): string =>
    ats.length === 0 ? "none" : ats.slice(0, 10).map(label).join(", ") + (ats.length > 10 ? `, ... (${ats.length} in all)` : "");
  const summary =
    `${schedule.name}: ${slots.length} expected slots ${iso(fromAt)} .. ${iso(untilAt)}; ${enqueuedAts.length} enqueued (${outside} outside the range); ` +
    `duplicates ${duplicates.length} [${show(duplicates, (at) => `${iso(at)} x${counts.get(at) ?? 0}`)}]; ` +
    `missing ${missing.length} [${show(missing)}]; unexpected ${unexpected.length} [${show(unexpected)}]`;
  return { expected: slots.length, duplicates, missing, unexpected, summary };
}

/** The `slotAt` of every message in a list queue (the `list` adapter's layout) for one schedule, in queue order. */
export async function readListSlots(redis: Redis, key: string, scheduleName: string): Promise<number[]> {
  const raw = await redis.lrange(key, 0, -1);
  const slots: number[] = [];
  for (const text of raw) {
    const message = JSON.parse(text) as { schedule?: unknown; slotAt?: unknown };
    if (message.schedule !== scheduleName) continue;
    if (typeof message.slotAt !== "number") throw new Error(`${key}: message without a numeric slotAt: ${text}`);
    slots.push(message.slotAt);
  }
  return slots;
}

// ---------------------------------------------------------------------------------------------
// Process harness

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLOCK_BIN = join(ROOT, "bin", "clock.js");

/** One pino line as parsed; lines that are not JSON keep their text in `msg` with `raw: true`. */
export interface LogLine {
  readonly msg?: string;
  readonly time?: string;
  readonly [field: string]: unknown;
}

export interface Heard {
  readonly proc: ClockProcess;
  readonly line: LogLine;
  /** Date.now() in this (test) process when the line arrived. */
  readonly receivedAt: number;
  /** Position in the log it was heard in: pass `from: index + 1` to wait for what comes after. */
  readonly index: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Epoch ms of a pino line (`time` is ISO-8601 in this logger). */
export function timeOf(line: LogLine): number {
  const at = typeof line.time === "string" ? Date.parse(line.time) : Number.NaN;
  if (!Number.isFinite(at)) throw new Error(`log line without a time: ${JSON.stringify(line)}`);
  return at;
}

/** An append-only list of heard lines that can be awaited from any position. */
export class LineLog {
  readonly entries: Heard[] = [];
  readonly #events = new EventEmitter<{ heard: [Heard]; closed: [string] }>();

  get length(): number {
    return this.entries.length;
  }

  push(proc: ClockProcess, line: LogLine): Heard {
    const heard: Heard = { proc, line, receivedAt: Date.now(), index: this.entries.length };
    this.entries.push(heard);
    this.#events.emit("heard", heard);
    return heard;
  }

  /** Rejects pending waits (the only process writing to this log is gone). */
  close(reason: string): void {
    this.#events.emit("closed", reason);
  }

  /** The first entry at or after `from` matching `predicate`, already heard or yet to come. */
  waitFor(predicate: (heard: Heard) => boolean, options: { from?: number; timeoutMs: number; what: string; diagnostics?: () => string }): Promise<Heard> {
    const from = options.from ?? 0;
    for (let i = from; i < this.entries.length; i++) {
      const entry = this.entries[i];
      if (entry !== undefined && predicate(entry)) return Promise.resolve(entry);
    }
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off("heard", onHeard);
        this.#events.off("closed", onClosed);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`waiting for ${options.what}: ${why}${options.diagnostics === undefined ? "" : `\n${options.diagnostics()}`}`));
      };
      const onHeard = (heard: Heard): void => {
        if (heard.index < from || !predicate(heard)) return;
        done();
        resolve(heard);
      };
      const onClosed = (reason: string): void => fail(reason);
      const timer = setTimeout(() => fail(`not seen within ${options.timeoutMs} ms`), options.timeoutMs);
      this.#events.on("heard", onHeard);
      this.#events.on("closed", onClosed);
    });
  }
}

/** Every child still alive, so even a crashing test run leaves no clock behind. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** One `clock start` child: its stdout parsed as JSON lines, stderr kept as text. */
export class ClockProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly log = new LineLog();
  readonly startedAt = Date.now();
  stderr = "";
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  /** Signals this test sent, in order (a SIGKILLed exit is expected, any other is not). */
  readonly signals: NodeJS.Signals[] = [];

  constructor(name: string, configPath: string, redisUrl: string, onLine: (proc: ClockProcess, line: LogLine) => void) {
    this.name = name;
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: redisUrl, LOG_LEVEL: "info" };
    delete env["CLOCK_CONFIG"];
    this.child = spawn(process.execPath, [CLOCK_BIN, "start", "--config", configPath], { env, stdio: ["ignore", "pipe", "pipe"] });
    live.add(this.child);
    let buffer = "";
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (text.trim() !== "") {
          const line = parseLine(text);
          this.log.push(this, line);
          onLine(this, line);
        }
        newline = buffer.indexOf("\n");
      }
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      // "close" (not "exit"): stdout is drained, so every line the process wrote has been heard.
      this.child.once("close", (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        this.log.close(`${this.name} exited (code ${code}, signal ${signal})`);
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Leader by its own last word: the last of "leadership acquired" / "leadership lost". */
  get leading(): boolean {
    for (let i = this.log.entries.length - 1; i >= 0; i--) {
      const msg = this.log.entries[i]?.line.msg;
      if (msg === "leadership acquired") return true;
      if (msg === "leadership lost") return false;
    }
    return false;
  }

  lines(msg: string): LogLine[] {
    return this.log.entries.filter((entry) => entry.line.msg === msg).map((entry) => entry.line);
  }

  signal(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (this.alive) this.child.kill(signal);
  }

  waitFor(predicate: (line: LogLine) => boolean, options: { from?: number; timeoutMs: number; what: string }): Promise<Heard> {
    return this.log.waitFor((heard) => predicate(heard.line), { ...options, what: `${options.what} from ${this.name}`, diagnostics: () => this.tail() });
  }

  /** Resolves with the exit, or rejects after `timeoutMs` (the child is left for cleanup to reap). */
  async waitExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last lines and stderr, for failure messages. */
  tail(count = 25): string {
    const lines = this.log.entries.slice(-count).map((entry) => `  ${this.name} ${JSON.stringify(entry.line)}`);
    const state = this.exit === null ? "running" : `exited code=${this.exit.code} signal=${this.exit.signal}`;
    return [`--- ${this.name} (pid ${this.pid}, ${state}, signals sent: ${this.signals.join(",") || "none"})`, ...lines, ...(this.stderr === "" ? [] : [`  stderr: ${this.stderr.trim()}`])].join("\n");
  }
}

function parseLine(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as LogLine;
  } catch {
    // not JSON: kept as text below
  }
  return { msg: text, raw: true };
}

/** Several clock processes on one config and Redis; one log of all their lines in arrival order. */
export class ClockFleet {
  readonly configPath: string;
  readonly redisUrl: string;
  readonly procs: ClockProcess[] = [];
  readonly log = new LineLog();
  #count = 0;

  constructor(configPath: string, redisUrl: string) {
    this.configPath = configPath;
    this.redisUrl = redisUrl;
  }

  spawn(): ClockProcess {
    const proc = new ClockProcess(`clock#${++this.#count}`, this.configPath, this.redisUrl, (from, line) => this.log.push(from, line));
    this.procs.push(proc);
    return proc;
  }

  get alive(): ClockProcess[] {
    return this.procs.filter((proc) => proc.alive);
  }

  /** The first line from any process at or after `from` that matches. */
  waitFor(predicate: (heard: Heard) => boolean, options: { from?: number; timeoutMs: number; what: string }): Promise<Heard> {
    return this.log.waitFor(predicate, { ...options, diagnostics: () => this.diagnostics() });
  }

  /** Every line of a kind from every process. */
  lines(msg: string): Heard[] {
    return this.log.entries.filter((entry) => entry.line.msg === msg);
  }

  /** SIGTERMs every live process and collects the exits (a clean stop must exit 0 within `timeoutMs`). */
  async stopAll(timeoutMs: number): Promise<Map<ClockProcess, Exit>> {
    const running = this.alive;
    for (const proc of running) proc.signal("SIGTERM");
    const exits = new Map<ClockProcess, Exit>();
    for (const proc of running) exits.set(proc, await proc.waitExit(timeoutMs));
    return exits;
  }

  /** For hooks: SIGKILLs whatever still runs (a stopped process dies of SIGKILL too) and waits for it. */
  async cleanup(): Promise<void> {
    const running = this.alive;
    for (const proc of running) proc.signal("SIGKILL");
    await Promise.all(running.map((proc) => proc.waitExit(5_000).catch(() => undefined)));
  }

  diagnostics(perProcess = 25): string {
    return this.procs.map((proc) => proc.tail(perProcess)).join("\n");
  }
}
