/**
 * Fault-injection support: an exactly-once verifier over what reached a queue, and a fleet of
 * `clock start` processes (the shared harness, process.ts) with one log of all their lines.
 */
import type { Redis } from "ioredis";
import type { Schedule } from "../../src/schedule/schedule.ts";
import { slotsBetween } from "../../src/schedule/slots.ts";
import { LineLog, type Heard, type LinePredicate, type WaitOptions } from "./lines.ts";
import type { Exit, LoggedProcess } from "./process.ts";
import type { Scope } from "./scope.ts";

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
  const duplicates = [...counts]
    .filter(([, count]) => count > 1)
    .map(([at]) => at)
    .sort((a, b) => a - b);
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
// Fleet

/** Several clock processes on one config and Redis; one log of all their lines in arrival order. */
export class ClockFleet {
  readonly procs: LoggedProcess[] = [];
  readonly log = new LineLog();
  readonly #scope: Scope;
  readonly #configPath: string;
  readonly #redisUrl: string;

  constructor(scope: Scope, configPath: string, redisUrl: string) {
    this.#scope = scope;
    this.#configPath = configPath;
    this.#redisUrl = redisUrl;
  }

  spawn(): LoggedProcess {
    const proc = this.#scope.clock(["start", "--config", this.#configPath], { name: `clock#${this.procs.length + 1}`, env: { REDIS_URL: this.#redisUrl, LOG_LEVEL: "info" } });
    proc.onLine((heard) => this.log.push({ proc: heard.proc, line: heard.line, text: heard.text, receivedAt: heard.receivedAt }));
    this.procs.push(proc);
    return proc;
  }

  get alive(): LoggedProcess[] {
    return this.procs.filter((proc) => proc.alive);
  }

  /** The first line from any process at or after `from` that matches (`heard.proc` says whose). */
  waitFor(predicate: LinePredicate, options: WaitOptions = {}): Promise<Heard> {
    return this.log.waitFor(predicate, { ...options, diagnostics: () => this.diagnostics() });
  }

  /** Every line of a kind from every process. */
  heard(msg: string): Heard[] {
    return this.log.entries.filter((entry) => entry.line.msg === msg);
  }

  /** SIGTERMs every live process and collects the exits (a clean stop must exit within `timeoutMs`). */
  async stopAll(timeoutMs: number): Promise<Map<LoggedProcess, Exit>> {
    const running = this.alive;
    for (const proc of running) proc.signal("SIGTERM");
    const exits = new Map<LoggedProcess, Exit>();
    for (const proc of running) exits.set(proc, await proc.waitExit(timeoutMs));
    return exits;
  }

  diagnostics(perProcess = 25): string {
    return this.procs.map((proc) => proc.tail(perProcess)).join("\n");
  }
}

/** Leader by its own last word: the last of "leadership acquired" / "leadership lost". */
export function isLeading(proc: LoggedProcess): boolean {
  for (let i = proc.lines.length - 1; i >= 0; i--) {
    const msg = proc.lines[i]?.msg;
    if (msg === "leadership acquired") return true;
    if (msg === "leadership lost") return false;
  }
  return false;
}
