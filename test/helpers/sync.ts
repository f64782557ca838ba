/** A DynamicSync on a test's own Redis, as the daemon builds one: list adapter, UTC, no config schedules. */
import type { Redis } from "ioredis";
import { DEFAULT_CATCH_UP } from "../../src/config/resolve.ts";
import { DynamicSync } from "../../src/dynamic/sync.ts";
import { ClockEvents } from "../../src/events.ts";
import type { ClockKeys } from "../../src/redis/keys.ts";

/** With `leads`, a process of a sharded deployment (keys.shardCount shards) leading the shards it says. */
export function testSync(redis: Redis, subscriber: Redis, keys: ClockKeys, leads?: (shard: number) => boolean, events = new ClockEvents()): DynamicSync {
  return new DynamicSync({
    redis,
    subscriber,
    keys,
    configSchedules: [],
    defaults: { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP },
    adapterCheck: { settings: {}, namespace: keys.namespace },
    adapters: { ensure: () => undefined },
    events,
    now: () => Date.now(),
    ...(leads === undefined ? {} : { shards: { count: keys.shardCount, leads } }),
  });
}
