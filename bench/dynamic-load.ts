/**
 * 100,000 dynamic schedules stored in Redis, loaded by a clock with an empty config file:
 * time to "clock started" and to leadership, and RSS. Run: node --import tsx bench/dynamic-load.ts
 */
import { encodeEntry } from "../src/dynamic/store.ts";
import { cleanupAll, connect, memoryMb, redisServer, SECOND, sleep, spawnClock, stopProc, tempDir, waitMessage, writeConfig } from "./lib.ts";

try {
  const redis = await redisServer();
  const client = connect(redis.url);
  const pipeline = client.pipeline();
  for (let i = 0; i < 100_000; i++) {
    const definition =
      i % 2 === 0
        ? { cron: `${i % 60} ${i % 24} * * *`, timezone: ["UTC", "America/New_York", "Europe/Berlin"][i % 3], job: { class: "TenantJob", args: [i], queue: "t" } }
        : { every: `${(i % 20) + 2}h`, job: { class: "SyncJob", args: [i] } };
    pipeline.hset("{clock}:schedules", `tenant-${i}`, encodeEntry(definition, Date.now()));
  }
  await pipeline.exec();
  const config = writeConfig(tempDir(), "empty", { adapter: "list", schedules: {} });
  const clock = spawnClock(config, { label: "clock (100k dynamic)", redisUrl: redis.url });
  const started = await waitMessage(clock, "clock started", 120 * SECOND);
  console.log(`clock started after ${Math.round(started.receivedAt - clock.startedAt)} ms`);
  const leading = await waitMessage(clock, "leadership acquired", 120 * SECOND);
  console.log(`leadership acquired after ${Math.round(leading.receivedAt - clock.startedAt)} ms`);
  await sleep(3 * SECOND);
  console.log(`VmRSS: ${Math.round(memoryMb(clock.pid).rssMb * 1024)} kB`);
  console.log(started.text.slice(0, 200));
  await stopProc(clock);
} finally {
  await cleanupAll();
}
