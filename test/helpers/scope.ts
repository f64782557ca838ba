/**
 * What a test started, released when it ends, passed or failed: `const scope = testScope(t)` in a
 * test (bound to t.after), `const suite = suiteScope()` at the top of a file or a describe for what
 * before hooks share (bound to after). Each resource registers its own teardown as it is made, and
 * teardowns run in reverse order: clocks go before the Redis they talk to, files last.
 */
import { after, type TestContext } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { LoggedProcess, spawnClock, type SpawnOptions } from "./process.ts";
import { startRedis, type TestRedis } from "./redis.ts";

export class Scope {
  readonly #steps: (() => unknown)[] = [];

  /** Runs `step` at teardown, before everything registered earlier. */
  defer(step: () => unknown): void {
    this.#steps.push(step);
  }

  /** A throwaway redis-server on a free loopback port (test/helpers/redis.ts). */
  async redis(extraArgs: string[] = []): Promise<TestRedis> {
    const server = await startRedis(extraArgs);
    this.defer(() => server.close());
    return server;
  }

  /** A client that may outlive its server (tests stop servers on purpose): errors reach commands, not the console. */
  client(url: string, options: RedisOptions = {}): Redis {
    const client = new Redis(url, options);
    client.on("error", () => undefined);
    this.defer(() => client.disconnect());
    return client;
  }

  /** A temp dir holding `files` (name -> text). */
  tempDir(files: Record<string, string> = {}, prefix = "clock-test-"): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.defer(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  /** A config module (configModule) in a temp dir of its own; returns its path. */
  configFile(config: unknown, name = "clock.config.mjs"): string {
    return join(this.tempDir({ [name]: configModule(config) }), name);
  }

  /** A child process (process.ts), SIGKILLed at teardown if it still runs. */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): LoggedProcess {
    return this.adopt(new LoggedProcess(command, args, options));
  }

  /** `node bin/clock.js ARGS` (process.ts's spawnClock), SIGKILLed at teardown if it still runs. */
  clock(args: readonly string[], options: SpawnOptions = {}): LoggedProcess {
    return this.adopt(spawnClock(args, options));
  }

  adopt(proc: LoggedProcess): LoggedProcess {
    this.defer(() => proc.kill());
    return proc;
  }

  /** Every teardown, newest first; each runs even if one before it failed, and failures are reported together. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} clean-up steps failed`);
  }
}

/** A scope torn down by t.after, when this test ends. */
export function testScope(t: TestContext): Scope {
  const scope = new Scope();
  t.after(() => scope.close());
  return scope;
}

/** A scope torn down by `after` of the enclosing suite (the file, or the describe it is called in). */
export function suiteScope(): Scope {
  const scope = new Scope();
  after(() => scope.close());
  return scope;
}

/** A config module for `clock start --config`: plain data, so it needs no import. */
export function configModule(config: unknown): string {
  return `export default ${JSON.stringify(config, null, 2)};\n`;
}
