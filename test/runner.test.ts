import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { loadConfig, parseConfig, startClock, systemClock, type Clock } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

const BIN = new URL("../bin/clock.js", import.meta.url).pathname;
let server: TestRedis;

before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.close();
});

test("a local clock that differs from Redis TIME is warned about at start", async () => {
  const sink = new LogSink();
  const ahead: Clock = { ...systemClock, now: () => Date.now() + 3000 };
  const config = parseConfig({ namespace: "skew", adapter: "list", schedules: { tick: { every: "1h", job: { class: "T" } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url, clock: ahead });
  try {
    const line = await sink.waitFor((entry) => entry.msg.startsWith("local clock differs from Redis TIME"), 3000);
    assert.ok(Math.abs((line["skewMs"] as number) - 3000) < 500, `skew ${String(line["skewMs"])}`);
  } finally {
    await clock.stop();
  }
});

test("clock start --dry-run needs no Redis, logs the exact writes at the right time, and exits 0 on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clock-dry-"));
  const path = join(dir, "clock.config.mjs");
  writeFileSync(path, `export default { schedules: { tick: { every: "1s", adapter: "resque", job: { class: "TickJob", args: [7] } } } };\n`);
  const child = spawn("node", [BIN, "start", "--dry-run", "--config", path], { env: { ...process.env, REDIS_URL: "redis://127.0.0.1:1" }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Record<string, unknown>[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dry-run fire within 5 s: ${JSON.stringify(lines)}`)), 5000);
      createInterface({ input: child.stdout }).on("line", (text) => {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line["msg"] === "fired") {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const wouldEnqueue = lines.find((line) => line["msg"] === "dry run: would enqueue");
    const writes = wouldEnqueue?.["writes"] as string[];
    assert.equal(writes[0], "SADD resque:queues default");
    assert.match(writes[1] ?? "", /^RPUSH resque:queue:default \{"class":"TickJob","args":\[7\]/);
    const fired = lines.find((line) => line["msg"] === "fired");
    assert.ok((fired?.["lagMs"] as number) >= 0, "never before the slot");
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    child.kill("SIGKILL");
  }
});

test("clock status shows the leader (never the token), the processes and each schedule's last and next slot", async () => {
  const dir = mkdtempSync(join(tmpdir(), "clock-status-"));
  const path = join(dir, "clock.config.mjs");
  writeFileSync(path, `export default { namespace: "st", adapter: "list", schedules: { tick: { every: "1s", job: { class: "T" } }, nightly: { cron: "0 3 * * *", job: { class: "N" } } } };\n`);
  const sink = new LogSink();
  const { config } = await loadConfig(path);
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  try {
    await sink.waitFor((line) => line.msg === "fired", 3000);
    const env = { ...process.env, REDIS_URL: server.url };
    const json = spawnSync("node", [BIN, "status", "--json", "--config", path], { env, encoding: "utf8" });
    assert.equal(json.status, 0, json.stderr);
    const status = JSON.parse(json.stdout) as { leader: { pid: number; ttlMs: number }; peers: { role: string }[]; schedules: { name: string; lastFiredAt: number | null; nextAt: number | null }[] };
    assert.equal(status.leader.pid, process.pid);
    assert.ok(status.leader.ttlMs > 0);
    assert.deepEqual(status.peers.map((peer) => peer.role), ["leader"]);
    const tick = status.schedules.find((s) => s.name === "tick");
    assert.ok(tick?.lastFiredAt !== null && tick?.nextAt !== null && (tick?.nextAt ?? 0) > (tick?.lastFiredAt ?? 0));
    assert.equal(status.schedules.find((s) => s.name === "nightly")?.lastFiredAt, null);
    const text = spawnSync("node", [BIN, "status", "--config", path], { env, encoding: "utf8" });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^leader: {4}\S+ pid \d+, since .*, lease \d+\.\d s left$/m);
    const reader = new Redis(server.url);
    const lease = (await reader.get("{st}:lease")) ?? "";
    reader.disconnect();
    assert.ok(!text.stdout.includes(lease.split("|").at(-1) ?? "???") && !json.stdout.includes(lease.split("|").at(-1) ?? "???"), "the token's random part is never shown");
  } finally {
    await clock.stop();
  }
});
