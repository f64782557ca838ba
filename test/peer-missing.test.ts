/**
 * An app that installed the clock but not its optional peer `bullmq`, as a user meets it: the
 * package is copied into a temp app's node_modules (bin, dist, the Lua sources, package.json) and
 * every other package is linked in, bullmq excepted. `import("bullmq")` in the clock resolves from
 * the clock's own files, as in a real install, so it finds nothing; the repository's node_modules
 * (where bullmq is a dev dependency) is never on that path, since the copy is not a symlink.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const INSTALL_HINT = "npm install bullmq";

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

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function clock(args: readonly string[], cwd = app): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: server.url, LOG_LEVEL: "info" };
  delete env["CLOCK_CONFIG"];
  delete env["NODE_PATH"];
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    // A start that does not refuse would run on: cut it off well after a refusal would have come.
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  assert.ok(existsSync(join(ROOT, "dist", "cli", "run.js")), "dist/ is missing: run `npm run build` first (npm test does)");
  server = await startRedis();
  app = mkdtempSync(join(tmpdir(), "clock-app-nobull-"));
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
after(async () => {
  await server.close();
  rmSync(app, { recursive: true, force: true });
});

describe("bullmq not installed", { concurrency: true }, () => {
  test("clock check exits 2, naming the adapter, its schedule and the install command", async () => {
    const result = await clock(["check"]);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.equal(result.stdout, "");
    assert.ok(result.stderr.includes(`adapter "bullmq" (used by schedule bull-report): the bullmq adapter needs the "bullmq" package, which is not installed: ${INSTALL_HINT}`), result.stderr);
  });

  test("clock start exits 2 with the install command before it starts (and so does --dry-run)", async () => {
    for (const args of [["start"], ["start", "--dry-run"]]) {
      const result = await clock(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
      assert.ok(result.stderr.includes(INSTALL_HINT), result.stderr);
      assert.ok(!result.stdout.includes('"fired"') && !result.stdout.includes("clock started"), result.stdout);
    }
  });

  test("clock trigger exits 1, says nothing was enqueued, and leaves nothing behind to enqueue later", async () => {
    const result = await clock(["trigger", "bull-report"]);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.equal(result.stdout, "", "no 'enqueued' line");
    assert.ok(result.stderr.startsWith('clock: trigger of "bull-report" was not enqueued: '), result.stderr);
    assert.ok(result.stderr.includes(INSTALL_HINT), result.stderr);
    const redis = new Redis(server.url);
    try {
      assert.deepEqual(await redis.keys("bull:*"), []);
      assert.equal(await redis.hlen("{nobull}:outbox"), 0, "no outbox entry a running clock would enqueue behind the user's back");
    } finally {
      redis.disconnect();
    }
  });

  test("a config that does not use bullmq still checks clean without it", async () => {
    const dir = join(app, "sidekiq-only");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "clock.config.mjs"), 'export default { schedules: { s: { every: "1h", job: { class: "S" } } } };\n');
    const result = await clock(["check"], dir);
    assert.equal(result.code, 0, result.stderr);
  });
});
