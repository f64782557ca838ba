/**
 * SIGTERM to exactly the process a Procfile runner (or `docker stop`, or systemd) signals stops
 * the clock: it logs "clock stopped" and no process of its tree remains. `clock: npx clock start`
 * failed this (npx does not pass SIGTERM on, npm/cli#6684; dash does not exec the last command of
 * `sh -c`), leaving an orphan clock that kept firing and holding the lease. The line is read from
 * the repository's Procfile, and run as runners run it: `sh -c "<line>"`.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertBuilt, ROOT } from "../helpers/process.ts";
import type { TestRedis } from "../helpers/redis.ts";
import { suiteScope, testScope, type Scope } from "../helpers/scope.ts";

const STOP_TIMEOUT_MS = 15_000;
const suite = suiteScope();
let redis: TestRedis;
let namespaces = 0;

before(async () => {
  assertBuilt();
  redis = await suite.redis();
});

/** Every descendant of `pid`, from `ps` (the clock may sit below a shell or npm). */
function descendants(pid: number): number[] {
  const rows = execFileSync("ps", ["-e", "-o", "pid=,ppid="], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((row) => row.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number): void => {
    for (const [child, ppid] of rows) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function procfileLine(name: string): string {
  const text = readFileSync(join(ROOT, "Procfile"), "utf8");
  const lines = text.split("\n").filter((line) => line.startsWith(`${name}:`));
  assert.equal(lines.length, 1, `one "${name}:" line in the Procfile:\n${text}`);
  return (lines[0] ?? "").slice(name.length + 1).trim();
}

/** Starts `command`, waits until the clock leads, SIGTERMs exactly that process, and checks the whole tree stopped. */
async function assertStopsOnSigterm(scope: Scope, command: string, args: readonly string[]): Promise<void> {
  // A namespace of its own: an orphan of a failed case must not hold the next case's lease.
  const namespace = `procfile-${++namespaces}`;
  const dir = scope.tempDir({
    "clock.config.mjs": `export default { namespace: "${namespace}", schedules: { tick: { every: "1s", adapter: "list", job: { class: "Tick" } } } };\n`,
  });
  // group: a failing run leaves the very orphans this file is about, and teardown reaps the whole group.
  const proc = scope.spawn(command, args, { cwd: ROOT, env: { REDIS_URL: redis.url, CLOCK_CONFIG: join(dir, "clock.config.mjs") }, group: true });
  const { line: started } = await proc.waitFor((line) => line.msg === "clock started", { what: "clock started", timeoutMs: 30_000 });
  await proc.waitFor((line) => line.msg === "leadership acquired", { what: "leadership acquired" });
  const clockPid = Number(started["pid"]);
  const tree = [proc.pid, ...descendants(proc.pid)];
  assert.ok(tree.includes(clockPid), `the clock (pid ${clockPid}) runs under ${command} (pid ${proc.pid}): tree ${tree.join(", ")}`);

  proc.signal("SIGTERM");
  const { line: stopped } = await proc.waitFor((line) => line.msg === "clock stopped", {
    what: `"clock stopped" after SIGTERM to pid ${proc.pid} only`,
    timeoutMs: STOP_TIMEOUT_MS,
  });
  assert.equal(stopped["pid"], clockPid);
  const exit = await proc.waitExit(STOP_TIMEOUT_MS);
  assert.deepEqual(exit, { code: 0, signal: null }, proc.tail());
  const left = tree.filter(isAlive);
  assert.deepEqual(left, [], `still running after the stop: ${left.join(", ")}`);
}

describe("SIGTERM to the process a runner signals stops the clock", () => {
  test("the Procfile's clock: line, run as sh -c, stops on a SIGTERM to the shell's pid", async (t) => {
    await assertStopsOnSigterm(testScope(t), "sh", ["-c", procfileLine("clock")]);
  });

  test("npm start stops on a SIGTERM to npm's pid (the script execs, and npm forwards the signal to its child)", async (t) => {
    await assertStopsOnSigterm(testScope(t), "npm", ["start"]);
  });

  test("the Procfile has a commented worker: example, which no runner starts", () => {
    const text = readFileSync(join(ROOT, "Procfile"), "utf8");
    assert.match(text, /^# worker: \S/m);
    assert.deepEqual(
      text
        .split("\n")
        .filter((line) => /^[A-Za-z0-9_-]+:/.test(line))
        .map((line) => line.split(":")[0]),
      ["clock"],
    );
  });
});
