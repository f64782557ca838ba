/**
 * 100,000 dynamic schedules stored in Redis, loaded by a clock with an empty config file:
 * time to "clock started" and to leadership, and RSS. Run: node --import tsx bench/dynamic-load.ts
 */
import { Redis } from "ioredis";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { encodeEntry } from "../src/dynamic/store.ts";
import { startRedis } from "../test/helpers/redis.ts";
const redis = await startRedis();
const client = new Redis(redis.url);
const pipeline = client.pipeline();
for (let i = 0; i < 100_000; i++) {
  const definition = i % 2 === 0 ? { cron: `${i % 60} ${i % 24} * * *`, timezone: ["UTC", "America/New_York", "Europe/Berlin"][i % 3], job: { class: "TenantJob", args: [i], queue: "t" } } : { every: `${(i % 20) + 2}h`, job: { class: "SyncJob", args: [i] } };
  pipeline.hset("{clock}:schedules", `tenant-${i}`, encodeEntry(definition, Date.now()));
}
await pipeline.exec();
writeFileSync("/tmp/empty.mjs", 'export default { adapter: "list", schedules: {} };\n');
const started = performance.now();
const child = spawn("node", ["bin/clock.js", "start", "--config", "/tmp/empty.mjs"], { env: { ...process.env, REDIS_URL: redis.url }, stdio: ["ignore", "pipe", "inherit"] });
let buffer = "";
await new Promise<void>((resolve) => child.stdout.on("data", (chunk: Buffer) => {
  buffer += chunk.toString();
  if (buffer.includes("clock started") && !buffer.includes("printed")) { buffer += "printed"; console.log(`clock started after ${Math.round(performance.now() - started)} ms`); }
  if (buffer.includes("leadership acquired")) resolve();
}));
console.log(`leadership acquired after ${Math.round(performance.now() - started)} ms`);
await new Promise((resolve) => setTimeout(resolve, 3000));
const { readFileSync } = await import("node:fs");
console.log(readFileSync(`/proc/${child.pid}/status`, "utf8").match(/VmRSS:\s+\d+ kB/)?.[0]);
console.log(buffer.split("\n").find((line) => line.includes("clock started"))?.slice(0, 200));
child.kill("SIGTERM");
await new Promise((resolve) => child.once("exit", resolve));
client.disconnect();
await redis.close();
