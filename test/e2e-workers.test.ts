/**
 * End to end: the real `clock start` CLI (dist/ through bin/clock.js) against a throwaway
 * redis-server, with real workers reading what it enqueued — a `sidekiq` 6 process and a BullMQ
 * `Worker` — plus a crash-restart inside a slot, a Redis outage, a password in REDIS_URL and an
 * unreachable Redis. Every test waits on the clock's own log lines, never on the calendar alone.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Worker, type Job } from "bullmq";
import { hexJobId, readableJobId } from "../src/adapters/ids.ts";
import { SECOND } from "../src/schedule/duration.ts";
import { freePort, startRedis, type TestRedis } from "./helpers/redis.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLOCK_BIN = join(ROOT, "bin", "clock.js");
const SIDEKIQ_JOBS = join(ROOT, "test", "fixtures", "sidekiq_worker.rb");
const NAMESPACE = "clock";
const QUEUE = "e2e";
/** Real-time bounds are generous: this runs on a shared 2-core machine next to other test files. */
const LINE_TIMEOUT_MS = 15 * SECOND;
/** A SIGKILLed leader's lease lives on for its TTL (10 s) before a successor can take over. */
const TAKEOVER_TIMEOUT_MS = 25 * SECOND;
const EXIT_TIMEOUT_MS = 20 * SECOND;

// ---------------------------------------------------------------------------------------------
// Helpers: spawned processes whose stdout is pino JSON lines, clean-up that runs even on failure.

interface LogLine {
  readonly msg: string;
  readonly level: number;
  readonly [field: string]: unknown;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

class Spawned {
  readonly name: string;
  readonly child: ChildProcess;
  /** Parsed JSON lines of stdout, in order. */
  readonly lines: LogLine[] = [];
  stdout = "";
  stderr = "";
  exit: Exit | null = null;
  readonly closed: Promise<Exit>;
  readonly #waiters = new Set<() => void>();

  constructor(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
    this.name = name;
    this.child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    const stdout = this.child.stdout;
    assert.ok(stdout !== null);
    createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (text) => {
      this.stdout += `${text}\n`;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed !== null && typeof parsed === "object" && typeof (parsed as LogLine).msg === "string") this.lines.push(parsed as LogLine);
      } catch {
        // not JSON (sidekiq's own log format): kept in `stdout` only
      }
      this.#notify();
    });
    // `close`, not `exit`: every line the process wrote has been read by then.
    this.closed = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exit = { code, signal };
        this.#notify();
        resolve(this.exit);
      });
      this.child.once("error", (error) => {
        this.stderr += `spawn error: ${error.message}\n`;
      });
    });
  }

  get running(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** The last lines of output, for failure messages. */
  tail(count = 40): string {
    const out = this.stdout.trimEnd().split("\n").slice(-count).join("\n");
    const err = this.stderr.trimEnd().split("\n").slice(-count).join("\n");
    return `--- ${this.name} stdout (tail) ---\n${out}\n--- ${this.name} stderr (tail) ---\n${err}`;
  }

  /** Resolves with the condition's first defined value, checked on every new line. */
  waitUntil<T>(what: string, condition: () => T | undefined, timeoutMs = LINE_TIMEOUT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = (): void => {
        const value = condition();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.exit !== null) {
          finish();
          reject(new Error(`${this.name} exited (code ${this.exit.code}, signal ${this.exit.signal}) before ${what}\n${this.tail()}`));
        }
      };
      timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  waitForLine(what: string, predicate: (line: LogLine) => boolean, timeoutMs = LINE_TIMEOUT_MS): Promise<LogLine> {
    return this.waitUntil(what, () => this.lines.find(predicate), timeoutMs);
  }

  /** Sends the signal and waits for the process to end; SIGKILL if it does not within the bound. */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = EXIT_TIMEOUT_MS): Promise<Exit> {
    if (this.running) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    const exit = await Promise.race([this.closed, timedOut]);
    clearTimeout(timer);
    if (exit !== null) return exit;
    this.child.kill("SIGKILL");
    await this.closed;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}\n${this.tail()}`);
  }
}

/** Everything a test started, torn down in reverse order by `t.after` (and `after`, as a backstop). */
class Scope {
  readonly #steps: (() => Promise<void> | void)[] = [];
  defer(step: () => Promise<void> | void): void {
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
}

const scopes = new Set<Scope>();
after(async () => {
  for (const scope of scopes) await scope.close();
});

function scopeFor(t: TestContext): Scope {
  const scope = new Scope();
  scopes.add(scope);
  t.after(() => scope.close());
  return scope;
}

async function redisFor(scope: Scope, extraArgs: string[] = []): Promise<TestRedis> {
  const redis = await startRedis(extraArgs);
  scope.defer(() => redis.close());
  return redis;
}

function clientFor(scope: Scope, url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  client.on("error", () => {
    // the server is stopped on purpose in some tests
  });
  scope.defer(() => client.disconnect());
  return client;
}

function tempDir(scope: Scope): string {
  const dir = mkdtempSync(join(tmpdir(), "clock-e2e-"));
  scope.defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeConfig(dir: string, name: string, config: unknown): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `export default ${JSON.stringify(config, null, 2)};\n`);
  return path;
}

/** An environment without the runner's own settings that would change what the child does. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ["NODE_TEST_CONTEXT", "NODE_OPTIONS", "LOG_LEVEL", "CLOCK_CONFIG", "REDIS_PROVIDER"]) delete env[name];
  return env;
}

function startClockProcess(scope: Scope, name: string, configPath: string, redisUrl: string, extraArgs: string[] = []): Spawned {
  const clock = new Spawned(name, process.execPath, [CLOCK_BIN, "start", "--config", configPath, ...extraArgs], childEnv({ REDIS_URL: redisUrl }));
  scope.defer(async () => {
    if (clock.running) await clock.stop("SIGKILL", 5 * SECOND);
  });
  return clock;
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, command))) return join(dir, command);
  }
  return null;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls an async condition until it holds; the message says what was still missing. */
async function pollUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> | string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms. ${await describe()}`);
    await sleep(100);
  }
}

interface FiredLine {
  readonly schedule: string;
  readonly slotAt: number;
  readonly jobId: string;
  readonly catchUp: boolean;
  readonly line: LogLine;
}

function firedLines(lines: readonly LogLine[], schedule?: string): FiredLine[] {
  return lines
    .filter((line) => line.msg === "fired" && (schedule === undefined || line["schedule"] === schedule))
    .map((line) => {
      const slot = line["slot"];
      const jobId = line["jobId"];
      const name = line["schedule"];
      assert.equal(typeof slot, "string", `fired line without a slot: ${JSON.stringify(line)}`);
      assert.equal(typeof jobId, "string", `fired line without a jobId: ${JSON.stringify(line)}`);
      assert.equal(typeof name, "string", `fired line without a schedule: ${JSON.stringify(line)}`);
      const slotAt = Date.parse(slot as string);
      assert.ok(Number.isFinite(slotAt), `fired line with an unparsable slot: ${JSON.stringify(line)}`);
      return { schedule: name as string, slotAt, jobId: jobId as string, catchUp: line["catchUp"] === true, line };
    });
}

/** Slots one `stepMs` apart with nothing missing between the first and the last, each once. */
function assertConsecutive(slotAts: readonly number[], stepMs: number, label: string): void {
  const sorted = [...slotAts].sort((a, b) => a - b);
  const duplicates = sorted.filter((at, i) => i > 0 && at === sorted[i - 1]);
  assert.deepEqual(duplicates.map((at) => new Date(at).toISOString()), [], `${label}: slots that appear more than once`);
  const first = sorted[0];
  const last = sorted.at(-1);
  assert.ok(first !== undefined && last !== undefined, `${label}: no slots at all`);
  const present = new Set(sorted);
  const missing: string[] = [];
  for (let at = first; at <= last; at += stepMs) if (!present.has(at)) missing.push(new Date(at).toISOString());
  assert.deepEqual(missing, [], `${label}: slots missing between ${new Date(first).toISOString()} and ${new Date(last).toISOString()}`);
  const offGrid = sorted.filter((at) => (at - first) % stepMs !== 0);
  assert.deepEqual(offGrid, [], `${label}: slots not on the ${stepMs} ms grid`);
}

function countFired(clock: Spawned, schedule: string): number {
  return clock.lines.filter((line) => line.msg === "fired" && line["schedule"] === schedule).length;
}

function parseJson(text: string, where: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `${where}: not a JSON object: ${text}`);
  return parsed as Record<string, unknown>;
}

function slotAtOf(payload: Record<string, unknown>, where: string): number {
  const clock = payload["clock"];
  assert.ok(clock !== null && typeof clock === "object", `${where}: no "clock" field in ${JSON.stringify(payload)}`);
  const slotAt = (clock as Record<string, unknown>)["slotAt"];
  assert.equal(typeof slotAt, "number", `${where}: clock.slotAt is not a number in ${JSON.stringify(payload)}`);
  return slotAt as number;
}

const EVERY_SECOND_CATCH_UP_ALL = { policy: "all", window: "1m", max: 100 } as const;

// ---------------------------------------------------------------------------------------------

test("sidekiq: a real Sidekiq 6 process performs every fired slot exactly once, with the slot's jid and args", { timeout: 90 * SECOND }, async (t) => {
  const sidekiqBin = findOnPath("sidekiq");
  if (sidekiqBin === null) {
    assert.fail("`sidekiq` is not on PATH: this end-to-end test needs a real Sidekiq 6 (Debian: apt-get install ruby-sidekiq)");
  }
  const scope = scopeFor(t);
  const redis = await redisFor(scope);
  const client = clientFor(scope, redis.url);
  const dir = tempDir(scope);
  const configPath = writeConfig(dir, "clock.sidekiq", {
    schedules: {
      tick: { every: "1s", adapter: "sidekiq", job: { class: "TickJob", args: [1, "x"], queue: QUEUE } },
      "cron-tick": { cron: "* * * * * *", adapter: "sidekiq", job: { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }], queue: QUEUE } },
    },
  });
  const expected: Record<string, { class: string; args: unknown[] }> = {
    tick: { class: "TickJob", args: [1, "x"] },
    "cron-tick": { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }] },
  };

  // -t 2: Sidekiq's shutdown waits up to this long for busy threads; the test drains first anyway.
  const sidekiq = new Spawned("sidekiq", sidekiqBin, ["-r", SIDEKIQ_JOBS, "-q", QUEUE, "-c", "2", "-t", "2"], childEnv({ REDIS_URL: redis.url }));
  scope.defer(async () => {
    if (sidekiq.running) await sidekiq.stop("SIGKILL", 5 * SECOND);
  });
  const clock = startClockProcess(scope, "clock", configPath, redis.url);

  await clock.waitForLine('"leadership acquired"', (line) => line.msg === "leadership acquired");
  await clock.waitUntil("5 fires of each schedule", () => (countFired(clock, "tick") >= 5 && countFired(clock, "cron-tick") >= 5 ? true : undefined), 20 * SECOND);
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);
  assert.ok(clock.lines.some((line) => line.msg === "clock stopped"), "no \"clock stopped\" line");

  const fired = firedLines(clock.lines);
  for (const entry of fired) {
    assert.equal(entry.jobId, hexJobId(NAMESPACE, entry.schedule, entry.slotAt), `jid of ${entry.schedule}@${entry.line["slot"]} is not derived from the slot`);
    assert.equal(entry.line["adapter"], "sidekiq");
    assert.equal(entry.line["queue"], QUEUE);
  }
  for (const schedule of Object.keys(expected)) {
    assertConsecutive(firedLines(clock.lines, schedule).map((entry) => entry.slotAt), SECOND, `fired slots of ${schedule}`);
  }

  await pollUntil(
    "sidekiq drained queue:e2e",
    async () => (await client.llen("e2e:performed")) >= fired.length && (await client.llen(`queue:${QUEUE}`)) === 0,
    30 * SECOND,
    async () => `performed ${await client.llen("e2e:performed")} of ${fired.length}, queue:${QUEUE} holds ${await client.llen(`queue:${QUEUE}`)}\n${sidekiq.tail()}`,
  );
  // Let a duplicate that is still on its way show up before sidekiq goes.
  await sleep(500);
  await sidekiq.stop("SIGTERM");

  const performed = (await client.lrange("e2e:performed", 0, -1)).map((text) => parseJson(text, "e2e:performed"));
  const jids = performed.map((entry) => entry["jid"]);
  assert.equal(new Set(jids).size, jids.length, `a jid was performed twice: ${JSON.stringify(jids)}`);
  assert.deepEqual([...jids].sort(), fired.map((entry) => entry.jobId).sort(), "performed jids differ from the fired ones");

  const firedByJid = new Map(fired.map((entry) => [entry.jobId, entry]));
  for (const entry of performed) {
    const firedEntry = firedByJid.get(entry["jid"] as string);
    assert.ok(firedEntry !== undefined);
    const want = expected[firedEntry.schedule];
    assert.ok(want !== undefined, `unexpected schedule ${firedEntry.schedule}`);
    assert.equal(entry["class"], want.class, `class of jid ${String(entry["jid"])}`);
    assert.deepEqual(entry["args"], want.args, `args of jid ${String(entry["jid"])}`);
    assert.equal(entry["slotAt"], firedEntry.slotAt, `slot of jid ${String(entry["jid"])}: the job's clock.slotAt differs from the logged slot`);
    assert.equal(entry["slot"], new Date(firedEntry.slotAt).toISOString());
    assert.equal(entry["schedule"], firedEntry.schedule);
    assert.equal(entry["queue"], QUEUE);
  }
  assert.equal(await client.zcard("retry"), 0, "Sidekiq put jobs in its retry set (a job raised)");
  assert.equal(await client.zcard("dead"), 0, "Sidekiq put jobs in its dead set");
  assert.deepEqual(await client.smembers("queues"), [QUEUE]);
});

test("bullmq: a real BullMQ Worker processes every fired slot exactly once, job ids clock-<schedule>-<ms>", { timeout: 60 * SECOND }, async (t) => {
  const scope = scopeFor(t);
  const redis = await redisFor(scope);
  const client = clientFor(scope, redis.url);
  const dir = tempDir(scope);
  const options = { attempts: 2, removeOnComplete: false };
  const configPath = writeConfig(dir, "clock.bullmq", {
    schedules: {
      // One plain-object argument: it is the job's data. Anything else: data is { args }.
      "bull-object": { every: "1s", adapter: "bullmq", job: { class: "ObjectJob", args: [{ n: 1, s: "x" }], queue: QUEUE, options } },
      "bull-args": { every: "1s", adapter: "bullmq", job: { class: "ArgsJob", args: [1, "x"], queue: QUEUE, options } },
    },
  });
  const expected: Record<string, { name: string; data: unknown }> = {
    "bull-object": { name: "ObjectJob", data: { n: 1, s: "x" } },
    "bull-args": { name: "ArgsJob", data: { args: [1, "x"] } },
  };

  interface Processed {
    readonly id: string | undefined;
    readonly name: string;
    readonly data: unknown;
    readonly attempts: number | undefined;
    readonly attemptsMade: number;
  }
  const processed: Processed[] = [];
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  connection.on("error", () => undefined);
  scope.defer(() => connection.disconnect());
  const worker = new Worker(
    QUEUE,
    async (job: Job) => {
      processed.push({ id: job.id, name: job.name, data: job.data, attempts: job.opts.attempts, attemptsMade: job.attemptsMade });
    },
    { connection, concurrency: 2 },
  );
  const workerErrors: Error[] = [];
  worker.on("error", (error) => workerErrors.push(error));
  scope.defer(() => worker.close(true));
  await worker.waitUntilReady();

  const clock = startClockProcess(scope, "clock", configPath, redis.url);
  await clock.waitForLine('"leadership acquired"', (line) => line.msg === "leadership acquired");
  await clock.waitUntil("5 fires of each schedule", () => (countFired(clock, "bull-object") >= 5 && countFired(clock, "bull-args") >= 5 ? true : undefined), 20 * SECOND);
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  const fired = firedLines(clock.lines);
  for (const entry of fired) {
    assert.equal(entry.jobId, readableJobId(entry.schedule, entry.slotAt), `job id of ${entry.schedule}@${entry.line["slot"]}`);
    assert.equal(entry.jobId, `clock-${entry.schedule}-${entry.slotAt}`);
  }
  for (const schedule of Object.keys(expected)) {
    assertConsecutive(firedLines(clock.lines, schedule).map((entry) => entry.slotAt), SECOND, `fired slots of ${schedule}`);
  }

  await pollUntil("the worker processed every fired job", async () => processed.length >= fired.length, 30 * SECOND, () => `processed ${processed.length} of ${fired.length}`);
  await sleep(500);
  await worker.close();

  const ids = processed.map((job) => job.id);
  assert.equal(new Set(ids).size, ids.length, `a job was processed twice: ${JSON.stringify(ids)}`);
  assert.deepEqual([...ids].sort(), fired.map((entry) => entry.jobId).sort(), "processed job ids differ from the fired ones");
  const firedById = new Map(fired.map((entry) => [entry.jobId, entry]));
  for (const job of processed) {
    const firedEntry = firedById.get(job.id ?? "");
    assert.ok(firedEntry !== undefined);
    const want = expected[firedEntry.schedule];
    assert.ok(want !== undefined);
    assert.equal(job.name, want.name, `name of ${String(job.id)}`);
    assert.deepEqual(job.data, want.data, `data of ${String(job.id)}`);
    assert.equal(job.attempts, 2, `job options reach BullMQ (attempts) for ${String(job.id)}`);
    assert.equal(job.attemptsMade, 0, `${String(job.id)} is a first attempt`);
  }
  // removeOnComplete: false keeps every completed job; nothing failed.
  assert.deepEqual((await client.zrange(`bull:${QUEUE}:completed`, 0, -1)).sort(), [...ids].sort());
  assert.equal(await client.zcard(`bull:${QUEUE}:failed`), 0);
  assert.deepEqual(workerErrors.map((error) => error.message), []);
});

test("restart inside a slot: a SIGKILLed clock's successor fires no slot twice and misses none (catch-up all)", { timeout: 60 * SECOND }, async (t) => {
  const scope = scopeFor(t);
  const redis = await redisFor(scope);
  const client = clientFor(scope, redis.url);
  const dir = tempDir(scope);
  const configPath = writeConfig(dir, "clock.restart", {
    schedules: { tick: { every: "1s", adapter: "sidekiq", catchUp: EVERY_SECOND_CATCH_UP_ALL, job: { class: "TickJob", args: [1, "x"], queue: QUEUE } } },
  });

  const a = startClockProcess(scope, "clock A", configPath, redis.url);
  await a.waitForLine('"leadership acquired"', (line) => line.msg === "leadership acquired");
  await a.waitUntil("2 fires", () => (countFired(a, "tick") >= 2 ? true : undefined));
  // Right after a slot went out: the crash lands inside that slot's second.
  a.child.kill("SIGKILL");
  const b = startClockProcess(scope, "clock B", configPath, redis.url);
  assert.deepEqual(await a.closed, { code: null, signal: "SIGKILL" });
  const aFired = firedLines(a.lines, "tick");

  // A's lease outlives it (TTL 10 s): B takes over when it expires, then catches up.
  await b.waitForLine('"leadership acquired"', (line) => line.msg === "leadership acquired", TAKEOVER_TIMEOUT_MS);
  const takeoverAt = Date.now();
  await b.waitUntil("2 on-time fires after the takeover", () => {
    const live = firedLines(b.lines, "tick").filter((entry) => !entry.catchUp && entry.slotAt > takeoverAt);
    return live.length >= 2 ? true : undefined;
  });
  const exit = await b.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock B must exit 0 on SIGTERM\n${b.tail()}`);
  const bFired = firedLines(b.lines, "tick");

  const payloads = (await client.lrange(`queue:${QUEUE}`, 0, -1)).map((text) => parseJson(text, `queue:${QUEUE}`));
  const jids = payloads.map((payload) => payload["jid"] as string);
  const slots = payloads.map((payload) => slotAtOf(payload, `queue:${QUEUE}`));
  assert.equal(new Set(jids).size, jids.length, "a jid is in the queue twice");
  assertConsecutive(slots, SECOND, "slots in queue:e2e across the crash");
  payloads.forEach((payload, i) => {
    assert.equal(payload["jid"], hexJobId(NAMESPACE, "tick", slots[i] ?? Number.NaN));
    assert.equal(payload["class"], "TickJob");
    assert.deepEqual(payload["args"], [1, "x"]);
  });

  // What each process logged is exactly what is in the queue, and they share no slot.
  const aSlots = new Set(aFired.map((entry) => entry.slotAt));
  const overlap = bFired.filter((entry) => aSlots.has(entry.slotAt));
  assert.deepEqual(overlap.map((entry) => entry.line["slot"]), [], "clock B re-fired a slot clock A had fired");
  assert.deepEqual([...slots].sort((x, y) => x - y), [...aFired, ...bFired].map((entry) => entry.slotAt).sort((x, y) => x - y), "queue contents differ from the fired lines");
  const lastOfA = Math.max(...aSlots);
  const firstOfB = Math.min(...bFired.map((entry) => entry.slotAt));
  assert.equal(firstOfB, lastOfA + SECOND, "B did not continue right after A's last slot");
  assert.ok(bFired.some((entry) => entry.catchUp), "the slots missed during the takeover were not logged as catch-up");
  assert.equal(await client.hget(`{${NAMESPACE}}:ledger`, "tick"), String(Math.max(...slots)), "the ledger holds the newest fired slot");
});

test("redis outage: the clock logs loss and restore, keeps running, and fires the missed slots once (catch-up all)", { timeout: 60 * SECOND }, async (t) => {
  const scope = scopeFor(t);
  // The helper starts redis-server with `--appendonly no`; a later argument overrides an earlier
  // one, so the ledger, lease and list survive the restart (checked below, not assumed).
  const redis = await redisFor(scope, ["--appendonly", "yes"]);
  const client = clientFor(scope, redis.url);
  assert.deepEqual(await client.config("GET", "appendonly"), ["appendonly", "yes"], "precondition: the throwaway Redis persists to its AOF");
  const dir = tempDir(scope);
  const configPath = writeConfig(dir, "clock.outage", {
    schedules: { outage: { every: "1s", adapter: "list", catchUp: EVERY_SECOND_CATCH_UP_ALL, job: { class: "OutageJob", args: [3, "y"], queue: QUEUE } } },
  });

  const clock = startClockProcess(scope, "clock", configPath, redis.url);
  await clock.waitForLine('"leadership acquired"', (line) => line.msg === "leadership acquired");
  await clock.waitUntil("2 fires", () => (countFired(clock, "outage") >= 2 ? true : undefined));

  await redis.stop();
  // Taken once the server is gone and before it is back: a slot strictly between the two cannot
  // have been written on time.
  const downAt = Date.now();
  await clock.waitForLine('"redis connection lost; reconnecting"', (line) => line.msg === "redis connection lost; reconnecting");
  // The outage itself is a stretch of wall time: at least two slots fall inside it.
  await sleep(Math.max(0, downAt + 3 * SECOND - Date.now()));
  assert.ok(clock.running, `the clock exited during the outage\n${clock.tail()}`);
  const upAt = Date.now();
  await redis.start();
  await clock.waitForLine('"redis connection restored"', (line) => line.msg === "redis connection restored");
  await clock.waitUntil(
    "an on-time fire after the restore",
    () => (firedLines(clock.lines, "outage").some((entry) => !entry.catchUp && entry.slotAt >= upAt + SECOND) ? true : undefined),
    20 * SECOND,
  );
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  const lost = clock.lines.findIndex((line) => line.msg === "redis connection lost; reconnecting");
  const restored = clock.lines.findIndex((line) => line.msg === "redis connection restored");
  assert.ok(lost >= 0 && restored > lost, "loss must be logged before restore");
  assert.ok((clock.lines[lost]?.level ?? 0) >= 50, "the loss is logged at error level");

  const fired = firedLines(clock.lines, "outage");
  const messages = (await client.lrange(`jobs:${QUEUE}`, 0, -1)).map((text) => parseJson(text, `jobs:${QUEUE}`));
  const slots = messages.map((message) => message["slotAt"] as number);
  assertConsecutive(slots, SECOND, `slots in jobs:${QUEUE} across the outage`);
  assert.deepEqual([...slots].sort((x, y) => x - y), fired.map((entry) => entry.slotAt).sort((x, y) => x - y), "list contents differ from the fired lines");
  assert.equal(new Set(fired.map((entry) => entry.slotAt)).size, fired.length, "a slot was logged as fired twice");
  for (const message of messages) {
    const slotAt = message["slotAt"] as number;
    assert.equal(message["id"], readableJobId("outage", slotAt));
    assert.equal(message["schedule"], "outage");
    assert.equal(message["slot"], new Date(slotAt).toISOString());
    assert.equal(message["class"], "OutageJob");
    assert.deepEqual(message["args"], [3, "y"]);
  }
  // Slots whose instant fell inside the outage were fired late, as catch-up, after the restore.
  const duringOutage = fired.filter((entry) => entry.slotAt > downAt && entry.slotAt < upAt);
  assert.ok(duringOutage.length >= 2, `expected the slots of a 3 s outage in the list, got ${duringOutage.map((entry) => entry.line["slot"]).join(", ")}`);
  assert.ok(duringOutage.every((entry) => entry.catchUp), "slots missed during the outage must be logged as catch-up");
});

test("a password in REDIS_URL never reaches the logs", { timeout: 45 * SECOND }, async (t) => {
  const scope = scopeFor(t);
  const password = "s3cretpass";
  // The helper's readiness probe sends an unauthenticated PING, so --requirepass cannot be passed
  // at start: require the password (and create the URL's user) once the server is up.
  const redis = await redisFor(scope);
  const admin = clientFor(scope, redis.url);
  await admin.call("ACL", "SETUSER", "user", "on", `>${password}`, "~*", "&*", "+@all");
  await admin.config("SET", "requirepass", password);
  const url = `redis://user:${password}@127.0.0.1:${redis.port}`;
  const check = clientFor(scope, url);
  assert.equal(await check.ping(), "PONG", "precondition: the URL's credentials work");
  const anonymous = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  anonymous.on("error", () => undefined);
  scope.defer(() => anonymous.disconnect());
  await assert.rejects(async () => {
    await anonymous.connect();
    await anonymous.get("x");
  }, "precondition: Redis refuses a client without the password");

  const dir = tempDir(scope);
  const configPath = writeConfig(dir, "clock.password", {
    schedules: { secret: { every: "1s", adapter: "list", job: { class: "SecretJob", args: [], queue: QUEUE } } },
  });
  const clock = startClockProcess(scope, "clock", configPath, url, ["--log-level", "debug"]);
  const started = await clock.waitForLine('"clock started"', (line) => line.msg === "clock started");
  assert.equal(started["redis"], redis.url, "the logged Redis URL keeps host and port and drops the credentials");
  await clock.waitForLine('"fired"', (line) => line.msg === "fired");
  // Error paths print Redis error messages: take Redis away and let the clock complain.
  await redis.stop(true);
  await clock.waitForLine('"redis connection lost; reconnecting"', (line) => line.msg === "redis connection lost; reconnecting");
  await sleep(SECOND);
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);

  for (const [stream, text] of [["stdout", clock.stdout], ["stderr", clock.stderr]] as const) {
    const leaks = text.split("\n").filter((line) => line.includes(password));
    assert.deepEqual(leaks, [], `the Redis password appears on ${stream}`);
  }
});

test("an unreachable Redis: the clock logs a clear error, keeps running, and exits 0 on SIGTERM", { timeout: 45 * SECOND }, async (t) => {
  const scope = scopeFor(t);
  const port = await freePort(); // nothing listens here
  const url = `redis://127.0.0.1:${port}`;
  const dir = tempDir(scope);
  const configPath = writeConfig(dir, "clock.unreachable", {
    schedules: { nowhere: { every: "1s", adapter: "sidekiq", job: { class: "TickJob", args: [], queue: QUEUE } } },
  });
  const clock = startClockProcess(scope, "clock", configPath, url);
  const error = await clock.waitForLine("an error line", (line) => line.level >= 50);
  assert.match(error.msg, /redis/i, "the error line says Redis is the problem");
  assert.equal(error["redis"], url, "the error line names the Redis it tried");
  const err = error["err"];
  assert.ok(err !== null && typeof err === "object", "the error line carries the cause under err");
  assert.match(String((err as Record<string, unknown>)["message"]), /ECONNREFUSED|connect/i);

  const seenAt = Date.now();
  await sleep(3 * SECOND);
  assert.ok(clock.running, `the clock exited ${Date.now() - seenAt} ms after the error instead of retrying\n${clock.tail()}`);
  assert.equal(firedLines(clock.lines).length, 0, "nothing can have fired without Redis");
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM even while Redis is unreachable\n${clock.tail()}`);
});
