/**
 * The deployment's shard count, `{ns}:shards` (a string, written only with more than one shard, so
 * a single-shard deployment's keys are the ones it always had). Changing the count of a running
 * deployment would move schedules between ledgers: their fired slots would be forgotten (a
 * schedule would fire a slot again) or two leaders would fire one schedule. So it is refused, at
 * start, with what to do instead; a client reads the count to find each schedule's ledger.
 */
import type { Redis } from "ioredis";
import { ConfigError } from "../errors.ts";
import { clockKeys, type ClockKeys } from "../redis/keys.ts";

/** The count recorded in Redis (1 where none is). */
export async function readShardCount(redis: Redis, namespace: string): Promise<number> {
  const raw = await redis.get(clockKeys(namespace).shards);
  const count = Number(raw ?? 1);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

/**
 * Records `keys.shardCount` for the deployment, or refuses to start when the deployment runs with
 * another count (said with both numbers and the way out).
 */
export async function checkShardCount(redis: Redis, keys: ClockKeys): Promise<void> {
  const wanted = keys.shardCount;
  const single = clockKeys(keys.namespace);
  const recorded = await redis.get(keys.shards);
  const refuse = (running: number): never => {
    throw new ConfigError(
      [
        {
          path: "shards",
          message: `this deployment (namespace "${keys.namespace}") runs with ${running} shard${running === 1 ? "" : "s"}, this config asks for ${wanted}; changing the count of a running deployment is not supported (its ledgers would no longer match its schedules): keep shards: ${running}, or start the new count under a new namespace`,
        },
      ],
      "the shard count cannot change",
    );
  };
  if (recorded !== null) {
    if (Number(recorded) !== wanted) refuse(Number(recorded));
    return;
  }
  if (wanted === 1) return;
  // No count recorded: a new deployment, or one that ran with one shard (its ledger is the deployment's).
  if ((await redis.hlen(single.ledger)) > 0) refuse(1);
  const set = await redis.set(keys.shards, String(wanted), "NX");
  if (set === null) await checkShardCount(redis, keys); // another process recorded one meanwhile
}
