/**
 * For end-to-end tests against real workers in other languages: spawned processes whose output
 * is watched line by line (the clock's pino JSON, a worker's own log), torn down with their whole
 * process group (Celery's prefork pool and RQ's work horses are children of the worker), and a
 * `clock start` of the built CLI on a temp config.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { SECOND } from "../../src/schedule/duration.ts";
import { BIN } from "./cli.ts";
import { startRedis, type TestRedis } from "./redis.ts";

/** Real-time bounds are generous: the machine is shared by other test files. */
export const LINE_TIMEOUT_MS = 15 * SECOND;
const EXIT_TIMEOUT_MS = 15 * SECOND;

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

export class Spawned {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout lines that parsed as JSON log lines. */
  readonly lines: LogLine[] = [];
  /** Every line of stdout and stderr, in arrival order per stream. */
  readonly text: string[] = [];
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited = false;
  readonly #waiters = new Set<() => void>();

  constructor(name: string, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string }) {
    this.name = name;
    // detached: its own process group, so stop() reaches the worker's children too.
    this.child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"], detached: true });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      assert.ok(stream !== null);
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
        this.text.push(line);
        if (stream === this.child.stdout) {
          try {
            const parsed: unknown = JSON.parse(line);
            if (parsed !== null && typeof parsed === "object" && typeof (parsed as LogLine).msg === "string") this.lines.push(parsed as LogLine);
          } catch {
            // not JSON
          }
        }
        this.#notify();
      });
    }
    this.child.once("error", (error) => this.text.push(`spawn error: ${error.message}`));
    this.closed = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exited = true;
        this.#notify();
        resolve({ code, signal });
      });
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  tail(count = 30): string {
    return `--- ${this.name} (last ${count} lines) ---\n${this.text.slice(-count).join("\n")}`;
  }

  /** Resolves with the condition's first defined value, checked on every new line. */
  waitUntil<T>(what: string, condition: () => T | undefined, timeoutMs = LINE_TIMEOUT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        const value = condition();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.exited) {
          finish();
          reject(new Error(`${this.name} exited before ${what}\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  waitForText(what: string, pattern: RegExp, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    return this.waitUntil(what, () => this.text.find((line) => pattern.test(line)), timeoutMs);
  }

  /** The signal to the whole group, then SIGKILL if it has not exited within the bound. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = EXIT_TIMEOUT_MS): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const pid = this.child.pid;
    const kill = (sig: NodeJS.Signals): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        // the group is gone already
      }
    };
    if (!this.exited) kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    const exit = await Promise.race([this.closed, timedOut]);
    clearTimeout(timer);
    // Children that outlived their parent (a work horse mid-job) go with the group.
    kill("SIGKILL");
    if (exit !== null) return exit;
    await this.closed;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}\n${this.tail()}`);
  }
}

/** Everything a test started, released in reverse order when it ends, pass or fail. */
export class Scope {
  readonly #steps: (() => Promise<unknown> | unknown)[] = [];
  defer(step: () => Promise<unknown> | unknown): void {
    this.#steps.push(step);
  }
  async close(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // best effort: the next resource must still be released
      }
    }
  }
  static for(t: TestContext): Scope {
    const scope = new Scope();
    t.after(() => scope.close());
    return scope;
  }

  async redis(): Promise<TestRedis> {
    const redis = await startRedis();
    this.defer(() => redis.close());
    return redis;
  }

  tempDir(files: Record<string, string> = {}): string {
    const dir = mkdtempSync(join(tmpdir(), "clock-e2e-"));
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  spawn(name: string, command: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Spawned {
    const spawned = new Spawned(name, command, args, options);
    this.defer(() => spawned.stop("SIGKILL", 5 * SECOND));
    return spawned;
  }

  /** `clock start` of the built CLI (bin/clock.js) on a config file. */
  startClock(name: string, configPath: string, redisUrl: string): Spawned {
    return this.spawn(name, process.execPath, [BIN, "start", "--config", configPath], { env: childEnv({ REDIS_URL: redisUrl }) });
  }
}

/** Writes a config module to `dir` and returns its path. */
export function writeConfig(dir: string, name: string, config: unknown): string {
  const path = join(dir, `${name}.config.mjs`);
  writeFileSync(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}

/** The environment without the test runner's settings and the caller's clock and Redis settings. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["NODE_TEST_CONTEXT", "NODE_OPTIONS", "LOG_LEVEL", "CLOCK_CONFIG", "CLOCK_NAMESPACE", "REDIS_URL", "REDIS_PROVIDER"]) delete env[name];
  return { ...env, ...extra };
}

export interface Fired {
  readonly schedule: string;
  readonly slotAt: number;
  readonly jobId: string;
  readonly line: LogLine;
}

/** The clock's `fired` lines: the slots it put in a queue. */
export function firedLines(clock: Spawned, schedule?: string): Fired[] {
  return clock.lines
    .filter((line) => line.msg === "fired" && (schedule === undefined || line["schedule"] === schedule))
    .map((line) => {
      assert.equal(typeof line["slot"], "string", `fired line without a slot: ${JSON.stringify(line)}`);
      assert.equal(typeof line["jobId"], "string", `fired line without a jobId: ${JSON.stringify(line)}`);
      return { schedule: String(line["schedule"]), slotAt: Date.parse(line["slot"] as string), jobId: line["jobId"] as string, line };
    });
}

/** Slots one `stepMs` apart, none missing between the first and the last, none twice. */
export function assertConsecutive(slotAts: readonly number[], stepMs: number, label: string): void {
  const sorted = [...slotAts].sort((a, b) => a - b);
  assert.ok(sorted.length > 0, `${label}: no slots at all`);
  assert.deepEqual(sorted.filter((at, i) => i > 0 && at === sorted[i - 1]), [], `${label}: slots that appear twice`);
  const first = sorted[0] ?? 0;
  sorted.forEach((at, i) => assert.equal(at, first + i * stepMs, `${label}: slot ${i} is not ${stepMs} ms after the one before`));
}

/** Polls until the condition holds; fails saying what was still missing. */
export async function pollUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> | string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms. ${await describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
