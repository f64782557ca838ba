/**
 * Redis memory of a full history: 10,000 schedules × 100 fires, each with an outcome checked in,
 * on a throwaway redis-server (default settings: listpack limits as shipped).
 *
 *   node --import tsx bench/history-memory.ts [schedules] [size]
 */
import { Redis } from "ioredis";
import { hexJobId } from "../src/adapters/ids.ts";
import { appendHistory, historyKey, outcomesKey, publishHistorySize, recordCheckIn, type FireRecord } from "../src/history/store.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { startRedis } from "../test/helpers/redis.ts";

const schedules = Number(process.argv[2] ?? 10_000);
const size = Number(process.argv[3] ?? 100);
const server = await startRedis();
const redis = new Redis(server.url);
try {
  const keys = clockKeys("clock");
  await publishHistorySize(redis, keys, size);
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
  const before = await usedMemory();
  const startAt = Date.UTC(2026, 0, 1);
  const started = performance.now();
  // One fire per schedule per minute, as a burst of `schedules` fires each minute: the recorder's shape.
  for (let slot = 0; slot < size; slot++) {
    const slotAt = startAt + slot * 60_000;
    const records: FireRecord[] = [];
    for (let i = 0; i < schedules; i++) {
      const schedule = `report-customer-${i}`;
      records.push({ schedule, slotAt, enqueuedAt: slotAt + 0.731, kind: "on-time", jobId: hexJobId("clock", schedule, slotAt) });
    }
    await appendHistory(redis, keys, records, size);
    const checkIns = records.map((record) => recordCheckIn(redis, keys, record.schedule, record.jobId, "succeeded", { atMs: record.slotAt + 1200 }));
    await Promise.all(checkIns);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = await usedMemory();
  const list = await redis.call("MEMORY", "USAGE", historyKey(keys, "report-customer-0"));
  const hash = await redis.call("MEMORY", "USAGE", outcomesKey(keys, "report-customer-0"));
  const encodings = [await redis.object("ENCODING", historyKey(keys, "report-customer-0")), await redis.object("ENCODING", outcomesKey(keys, "report-customer-0"))];
  console.log(
    JSON.stringify(
      {
        schedules,
        size,
        entries: schedules * size,
        usedMemoryDeltaMB: Math.round(((after - before) / 1024 / 1024) * 10) / 10,
        bytesPerEntry: Math.round((after - before) / (schedules * size)),
        memoryUsageOneList: list,
        memoryUsageOneOutcomesHash: hash,
        encodings,
        llen: await redis.llen(historyKey(keys, "report-customer-0")),
        hlen: await redis.hlen(outcomesKey(keys, "report-customer-0")),
        writeSeconds: Math.round(seconds * 10) / 10,
      },
      null,
      2,
    ),
  );
} finally {
  redis.disconnect();
  await server.close();
}
