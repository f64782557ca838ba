/**
 * An app that installed the clock but not its optional peer `bullmq`, as a user meets it: the
 * package is copied into a temp app's node_modules (bin, dist, the Lua sources, package.json) and
 * every other package is linked in, bullmq excepted. `import("bullmq")` in the clock resolves from
 * the clock's own files, as in a real install, so it finds nothing; the repository's node_modules
 * (where bullmq is a dev dependency) is never on that path, since the copy is not a symlink.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { assertBuilt, ROOT, runClock, type CliResult } from "../helpers/process.ts";
import type { TestRedis } from "../helpers/redis.ts";
import { suiteScope, testScope } from "../helpers/scope.ts";

const INSTALL_HINT = "npm install bullmq";

const suite = suiteScope();
let app: string;
let bin: string;
let server: TestRedis;

const BULLMQ_CONFIG = `import { defineConfig } from "the-clock";

export default defineConfig({
  namespace: "nobull",
  schedules: {
    "bull-report": { every: "1s", adapter: "bullmq", job: { class: "BullReportJob", queue: "nobull" } },
    "sidekiq-report": { every: "1h", adapter: "sidekiq", job: { class: "SidekiqReportJob" } },
  },
});
`;

/** The installed copy's CLI (childEnv drops NODE_PATH, which could reach the repository's bullmq). */
async function clock(args: readonly string[], cwd = app): Promise<CliResult> {
  // A start that does not refuse would run on: cut it off well after a refusal would have come.
  return await runClock(args, { bin, cwd, env: { REDIS_URL: server.url, LOG_LEVEL: "info" }, timeoutMs: 20_000 });
}

before(async () => {
  assertBuilt();
  server = await suite.redis();
  app = suite.tempDir({}, "clock-app-nobull-");
  const installed = join(app, "node_modules", "the-clock");
  mkdirSync(installed, { recursive: true });
  for (const part of ["package.json", "bin", "dist", join("src", "redis", "lua")]) cpSync(join(ROOT, part), join(installed, part), { recursive: true });
  for (const name of readdirSync(join(ROOT, "node_modules"))) {
    if (name === "bullmq" || name === "the-clock" || name.startsWith(".")) continue;
    symlinkSync(join(ROOT, "node_modules", name), join(app, "node_modules", name));
  }
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app-without-bullmq", private: true, type: "module" }));
  writeFileSync(join(app, "clock.config.ts"), BULLMQ_CONFIG);
  bin = join(installed, "bin", "clock.js");
  // The premise, checked: from the installed clock, bullmq resolves nowhere.
  assert.throws(() => createRequire(join(installed, "dist", "adapters", "bullmq.js")).resolve("bullmq"), /Cannot find module 'bullmq'/);
});

describe("bullmq not installed", { concurrency: true }, () => {
  test("clock check exits 2, naming the adapter, its schedule and the install command", async () => {
    const result = await clock(["check"]);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(
      result.stderr.includes(`adapter "bullmq" (used by schedule bull-report): the bullmq adapter needs the "bullmq" package, which is not installed: ${INSTALL_HINT}`),
      result.stderr,
    );
  });

  test("clock start exits 2 with the install command before it starts (and so does --dry-run)", async () => {
    for (const args of [["start"], ["start", "--dry-run"]]) {
      const result = await clock(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
      assert.ok(result.stderr.includes(INSTALL_HINT), result.stderr);
      assert.ok(!result.stdout.includes('"fired"') && !result.stdout.includes("clock started"), result.stdout);
    }
  });

  test("clock trigger exits 1, says nothing was enqueued, and leaves nothing behind to enqueue later", async (t) => {
    const result = await clock(["trigger", "bull-report"]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(result.stdout, "", "no 'enqueued' line");
    assert.ok(result.stderr.startsWith('clock: trigger of "bull-report" was not enqueued: '), result.stderr);
    assert.ok(result.stderr.includes(INSTALL_HINT), result.stderr);
    const redis = testScope(t).client(server.url);
    assert.deepEqual(await redis.keys("bull:*"), []);
    assert.equal(await redis.hlen("{nobull}:outbox"), 0, "no outbox entry a running clock would enqueue behind the user's back");
  });

  test("a config that does not use bullmq still checks clean without it", async () => {
    const dir = join(app, "sidekiq-only");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "clock.config.mjs"), 'export default { schedules: { s: { every: "1h", job: { class: "S" } } } };\n');
    const result = await clock(["check"], dir);
    assert.equal(result.code, 0, result.stderr);
  });
});
