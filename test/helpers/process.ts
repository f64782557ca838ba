/**
 * The one child-process harness, for tests and the benchmark: spawn a command (the CLI, a shell,
 * a worker, a peer), read its stdout as JSON log lines as they arrive, keep stderr, wait for a line
 * with a bound (the tail of the output in the error), stop it (a signal, then SIGKILL after a
 * bound) and reap it even when a test fails. `runClock` runs one CLI command to completion.
 * Spawns bin/clock.js, which runs dist/: `npm test` builds it first.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LineLog, parseLogLine, type Heard, type LinePredicate, type WaitOptions } from "./lines.ts";
import type { LogLine } from "./logs.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "clock.js");
const DEFAULT_STOP_MS = 20_000;

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, "dist", "cli", "run.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
}

/** Settings in the caller's shell (or set by the test runner) that would change what a child does. */
const DROPPED_ENV = ["CLOCK_CONFIG", "CLOCK_NAMESPACE", "REDIS_URL", "LOG_LEVEL", "REDIS_PROVIDER", "NODE_TEST_CONTEXT", "NODE_OPTIONS", "NODE_PATH"];

/** This process's environment without DROPPED_ENV, plus `extra`: a test sees only what it sets. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of DROPPED_ENV) delete env[name];
  return { ...env, ...extra };
}

/** Children still running, so that even a crashing test run leaves none behind. */
const live = new Set<() => void>();
process.once("exit", () => {
  for (const kill of live) kill();
});

// ---------------------------------------------------------------------------------------------
// The process

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** For messages ("clock#2", "sidekiq"); the command by default. */
  readonly name?: string;
  readonly cwd?: string;
  /** Set in the child's environment, on top of childEnv(). */
  readonly env?: Record<string, string>;
  /**
   * Lead a process group of its own and kill the whole group at clean-up: for a shell or npm,
   * whose clock may outlive it. Signals sent with signal() and stop() still go to the one pid.
   */
  readonly group?: boolean;
  /** The clock for `startedAt` and each line's `receivedAt` (the benchmark's is sub-millisecond). */
  readonly now?: () => number;
  /**
   * Messages only counted (`tallied`), never parsed or kept: a pino line with `"msg":"<m>"`. For
   * a benchmark's million "fired" lines, which a reader that parses and keeps each would spend
   * seconds of the machine's CPU and gigabytes on while the clocks it measures write them.
   */
  readonly tally?: readonly string[];
}

/**
 * A child whose stdout is a log: every line parsed (pino JSON; any other text kept with
 * `raw: true`), stderr kept as text, the exit recorded once stdout has drained.
 */
export class LoggedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** -1 if the command could not be started (see stderr). */
  readonly pid: number;
  readonly startedAt: number;
  readonly log = new LineLog();
  /** Every line, in order (the same as log.entries' lines). */
  readonly lines: LogLine[] = [];
  stderr = "";
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  /** Signals sent through signal() and stop(), in order (a SIGKILLed exit is expected, others not). */
  readonly signals: NodeJS.Signals[] = [];
  readonly #group: boolean;
  readonly #now: () => number;
  readonly #listeners = new Set<(heard: Heard) => void>();
  /** Per tallied message: its `"msg":"<m>"` mark, and how many lines had it. */
  readonly #tallies: { readonly mark: string; readonly msg: string; count: number }[];

  constructor(command: string, args: readonly string[], options: SpawnOptions = {}) {
    this.name = options.name ?? command;
    this.#group = options.group === true;
    this.#now = options.now ?? Date.now;
    this.#tallies = (options.tally ?? []).map((msg) => ({ mark: `"msg":${JSON.stringify(msg)}`, msg, count: 0 }));
    this.startedAt = this.#now();
    this.child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"], detached: this.#group });
    this.pid = this.child.pid ?? -1;
    const reap = (): void => this.#send("SIGKILL", this.#group);
    live.add(reap);
    this.child.once("error", (error) => (this.stderr += `spawn error: ${error.message}\n`));
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    let partial = "";
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const texts = (partial + chunk).split("\n");
      partial = texts.pop() ?? "";
      for (const text of texts) this.#hear(text);
    });
    this.child.stdout?.once("end", () => this.#hear(partial));
    this.exited = new Promise((resolve) => {
      // "close", not "exit": stdout has drained, every line the process wrote has been heard.
      this.child.once("close", (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(reap);
        this.exit = { code, signal };
        this.log.close(`${this.name} exited (code ${code}, signal ${signal})`);
        resolve(this.exit);
      });
    });
  }

  #hear(raw: string): void {
    const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (text.trim() === "") return;
    for (const tally of this.#tallies) {
      if (!text.includes(tally.mark)) continue;
      tally.count++;
      return;
    }
    const line = parseLogLine(text);
    this.lines.push(line);
    const heard = this.log.push({ proc: this, line, text, receivedAt: this.#now() });
    for (const listener of this.#listeners) listener(heard);
  }

  /** False from the moment the process exits (its stdout may still be draining: `exited` waits for that). */
  get alive(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything read from stdout, one line each. */
  get stdout(): string {
    return this.log.entries.map((entry) => `${entry.text}\n`).join("");
  }

  /** Calls `listener` with every line from now on; returns the unsubscribe. */
  onLine(listener: (heard: Heard) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** How many lines had the tallied message `msg` (SpawnOptions.tally; they are in no other list). */
  tallied(msg: string): number {
    const tally = this.#tallies.find((entry) => entry.msg === msg);
    if (tally === undefined) throw new Error(`${this.name}: "${msg}" is not a tallied message`);
    return tally.count;
  }

  /** The lines whose msg is `msg` (none for a tallied one). */
  linesOf(msg: string): LogLine[] {
    return this.lines.filter((line) => line.msg === msg);
  }

  /** The first line at or after `from` that matches; rejects when the process exits first or after the timeout. */
  waitFor(predicate: LinePredicate, options: WaitOptions = {}): Promise<Heard> {
    return this.log.waitFor(predicate, { ...options, what: `${options.what ?? "a matching line"} from ${this.name}`, diagnostics: () => this.tail() });
  }

  /** Sends `signal` to the process itself (never to its group), and records it. */
  signal(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    if (this.alive) this.#send(signal, false);
  }

  #send(signal: NodeJS.Signals, group: boolean): void {
    // child.kill() does nothing once the child is reaped, so a reused pid is never hit.
    if (!group) return void this.child.kill(signal);
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // the group is gone already
    }
  }

  /** Resolves with the exit, or rejects after `timeoutMs` (the process is left running). */
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

  /** Sends `signal` and waits for the exit; past `timeoutMs`, SIGKILLs (the group too) and rejects. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = DEFAULT_STOP_MS): Promise<Exit> {
    if (this.alive) this.signal(signal);
    try {
      return await this.waitExit(timeoutMs);
    } catch {
      await this.kill();
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}; SIGKILLed\n${this.tail()}`);
    }
  }

  /** For clean-up: SIGKILL to whatever still runs (the whole group for `group`), then the exit. */
  async kill(): Promise<Exit> {
    if (this.alive || this.#group) this.#send("SIGKILL", this.#group);
    return await this.exited;
  }

  /** State, the last lines and stderr, for failure messages. */
  tail(count = 25): string {
    const { exitCode, signalCode } = this.child;
    const state =
      this.exit !== null
        ? `exited code=${this.exit.code} signal=${this.exit.signal}`
        : exitCode !== null || signalCode !== null
          ? `exited code=${exitCode} signal=${signalCode}, but its stdout is still open (a descendant holds it)`
          : "running";
    const lines = this.log.entries.slice(-count).map((entry) => `  ${this.name} ${entry.text}`);
    const stderr = this.stderr
      .trimEnd()
      .split("\n")
      .slice(-count)
      .filter((text) => text !== "");
    return [
      `--- ${this.name} (pid ${this.pid}, ${state}, signals sent: ${this.signals.join(",") || "none"})`,
      ...lines,
      ...stderr.map((text) => `  ${this.name} stderr: ${text}`),
    ].join("\n");
  }
}

/** `node bin/clock.js ARGS`, as a user runs it: JSON log lines on a pipe. */
export function spawnClock(args: readonly string[], options: SpawnOptions = {}): LoggedProcess {
  return new LoggedProcess(process.execPath, [BIN, ...args], { name: "clock", ...options });
}

// ---------------------------------------------------------------------------------------------
// One command to completion

export interface CliResult {
  readonly code: number | null;
  /** Exactly the bytes read from the pipe. */
  readonly stdoutBytes: Buffer;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  /** SIGKILL after this long (default 30 s); the result then has code null. */
  readonly timeoutMs?: number;
  /** Read like a slow consumer (`jq` on a busy machine), so the pipe fills up. */
  readonly slowReader?: boolean;
  /** Written to stdin, which is then closed (by default stdin is /dev/null). */
  readonly input?: string;
  /** Another bin/clock.js (an installed copy). */
  readonly bin?: string;
}

/** A chunk, then a pause: a fast reader on another core sometimes drained the pipe and hid a defect. */
function throttle(stream: NodeJS.ReadableStream): void {
  stream.on("data", () => {
    stream.pause();
    setTimeout(() => stream.resume(), SLOW_READER_PAUSE_MS);
  });
}
const SLOW_READER_PAUSE_MS = 2;

/** The CLI as a user meets it through pipes: exit code, stdout and stderr of one command. */
export async function runClock(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: childEnv(options.env),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const kill = (): void => void child.kill("SIGKILL");
    live.add(kill);
    if (options.input !== undefined) child.stdin?.end(options.input);
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (options.slowReader === true && child.stdout !== null && child.stderr !== null) {
      throttle(child.stdout);
      throttle(child.stderr);
    }
    const timer = setTimeout(kill, options.timeoutMs ?? 30_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      live.delete(kill);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      live.delete(kill);
      const stdoutBytes = Buffer.concat(chunks);
      resolve({ code, stdoutBytes, stdout: stdoutBytes.toString("utf8"), stderr });
    });
  });
}
