import { test } from "node:test";
import assert from "node:assert/strict";
import { startRedis } from "./helpers/redis.ts";
import { Redis } from "ioredis";

test("the throwaway redis-server answers and goes away", async () => {
  const redis = await startRedis();
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  try {
    await client.connect();
    assert.equal(await client.ping(), "PONG");
  } finally {
    client.disconnect();
    await redis.close();
  }
});
