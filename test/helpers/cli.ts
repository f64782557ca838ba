/**
 * The CLI as a user meets it, through pipes: spawn `node bin/clock.js` (the compiled dist/, which
 * `npm test` builds first) and collect exit code, stdout and stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "clock.js");

export interface CliResult {
  readonly code: number | null;
  /** Exactly the bytes read from the pipe. */
  readonly stdoutBytes: Buffer;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without CLOCK_CONFIG or REDIS_URL, so the caller's shell cannot change what a test sees. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["CLOCK_CONFIG"];
  delete env["REDIS_URL"];
  delete env["CLOCK_NAMESPACE"];
  return { ...env, ...extra };
}

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, "dist", "cli", "run.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
}

/** Reads like a slow consumer (`jq` on a busy machine): a chunk, then a pause, so the pipe fills up. */
function throttle(stream: NodeJS.ReadableStream): void {
  stream.on("data", () => {
    stream.pause();
    setTimeout(() => stream.resume(), SLOW_READER_PAUSE_MS);
  });
}
const SLOW_READER_PAUSE_MS = 2;

export async function runClock(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; slowReader?: boolean } = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (options.slowReader === true) {
      throttle(child.stdout);
      throttle(child.stderr);
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(chunks);
      resolve({ code, stdoutBytes, stdout: stdoutBytes.toString("utf8"), stderr });
    });
  });
}

/** Temp dirs with the given files; `removeAll` deletes every one made so far. */
export function tempDirs(): { make(files?: Record<string, string>): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make(files = {}) {
      const dir = mkdtempSync(join(tmpdir(), "clock-cli-"));
      made.push(dir);
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      return dir;
    },
    removeAll() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Every child still alive, so a failing test leaves no clock behind. */
const live = new Set<LoggedProcess>();
process.once("exit", () => {
  for (const proc of live) proc.killGroup();
});

/**
 * A long-running child (`clock start`, a Procfile line under `sh -c`): its stdout read as pino
 * JSON lines (anything else kept as `{ msg: text, raw: true }`), stderr as text. It leads its own
 * process group, so cleanup reaps whatever it started even when that outlived it (an orphaned
 * clock under a shell or npm); signals a test sends go to the one pid it names.
 */
export class LoggedProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #events = new EventEmitter<{ line: [LogLine]; close: [] }>();
  #closed = false;

  constructor(command: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
    this.child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"], detached: true });
    live.add(this);
    let buffer = "";
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (text.trim() === "") continue;
        const line = parseLine(text);
        this.lines.push(line);
        this.#events.emit("line", line);
      }
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      // "close", not "exit": stdout has drained, every line written has been read.
      this.child.once("close", (code, signal) => {
        live.delete(this);
        this.#closed = true;
        this.#events.emit("close");
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("the child did not start");
    return this.child.pid;
  }

  /** The first line (already read or still to come) that matches; rejects at exit or after `timeoutMs`. */
  waitFor(predicate: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    const seen = this.lines.find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off("line", onLine);
        this.#events.off("close", onClose);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`waiting for ${what}: ${why}\n${this.tail()}`));
      };
      const onLine = (line: LogLine): void => {
        if (!predicate(line)) return;
        done();
        resolve(line);
      };
      const onClose = (): void => fail("the process exited");
      const timer = setTimeout(() => fail(`not seen within ${timeoutMs} ms`), timeoutMs);
      this.#events.on("line", onLine);
      this.#events.on("close", onClose);
      if (this.#closed) onClose();
    });
  }

  /** Resolves with the exit, or rejects after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`pid ${this.child.pid} did not exit within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the whole process group: the child and anything it left behind. */
  killGroup(): void {
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // the group is gone already
    }
  }

  /** For hooks: SIGKILL the group if anything of it still runs, and wait until its output closed. */
  async kill(): Promise<void> {
    if (!this.#closed) this.killGroup();
    await this.exited;
  }

  tail(count = 20): string {
    return [...this.lines.slice(-count).map((line) => `  ${JSON.stringify(line)}`), ...(this.stderr === "" ? [] : [`  stderr: ${this.stderr.trim()}`])].join("\n");
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
