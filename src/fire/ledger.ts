/**
 * The clock's own records of what it fired, and their layout (nobody else reads it):
 * With `shards` above 1, each shard has its own ledger, stats, outbox, pushed and runs under
 * `{ns:s<k>}` (redis/keys.ts shardKeys): the same layouts, each holding its shard's schedules.
 * - `{ns}:ledger`, a hash: schedule name -> the newest slot fired (epoch ms, decimal). Only the
 *   fire script advances it, never backwards.
 * - `{ns}:stats`, a hash: `fenceRefusals` (the fire script counts them) and `since`, the Redis
 *   time this deployment's first clock started (epoch ms): no slot before it can have been missed.
 * - `{ns}:outbox`, a hash: "<schedule>\0<slot>" -> {"adapter","enqueue"}, for adapters that
 *   enqueue after the script (BullMQ): written by the script with the ledger advance, removed once
 *   the job is in its queue, re-run by the leader's drain after a crash (adapters dedupe by jobId).
 *   An entry of a replace (overlap) also carries "withdraw": the previous job's mark, which the
 *   adapter's own client removes before the add.
 * - `{ns}:pushed`, a hash: schedule name -> "<slot ms>:<mark>" of the last job pushed for it, only
 *   for schedules with `overlap` skip or replace. The mark is what the job leaves in its queue (the
 *   exact payload pushed, or the job id), so the fire script can tell whether it is still waiting
 *   (`LPOS`, `ZSCORE`) and withdraw it (`LREM`). Written by the fire script alone, with the push.
 * - `{ns}:runs`, a hash: schedule name -> how many of its slots fired (decimal), only for schedules
 *   with `maxRuns`. The fire script counts a push (a fire or a replace; not an overlap skip, not a
 *   manual trigger) in the same atomic step as the ledger advance, and refuses a slot once the count
 *   has reached the schedule's `maxRuns`; a restart reads it back. Removing the field starts the
 *   count again; nothing else writes it.
 */
import type { Redis } from "ioredis";
import type { Adapter, Enqueue } from "../adapters/types.ts";
import { shardKeys, shardOf, type ClockKeys } from "../redis/keys.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";

/** Adapters by name, as the firer and the drain need them. */
export interface AdapterLookup {
  get(name: string): Adapter | undefined;
}

/** The ledger: the newest fired slot per schedule name (entries that are not numbers are skipped). */
export async function readLedger(redis: Redis, keys: ClockKeys): Promise<Map<string, number>> {
  return parseLedger(await redis.hgetall(keys.ledger));
}

/** Some schedules' fire counts (`{ns}:runs`; 0 where none fired): for status of schedules with maxRuns. */
export async function readRunsOf(redis: Redis, keys: ClockKeys, names: readonly string[]): Promise<number[]> {
  const values = await hmgetByShard(redis, keys, "runs", names);
  return values.map((value) => (value === null || !Number.isFinite(Number(value)) ? 0 : Number(value)));
}

/** Some schedules' newest fired slots (null where none fired): O(names), for a page of status. */
export async function readLedgerOf(redis: Redis, keys: ClockKeys, names: readonly string[]): Promise<(number | null)[]> {
  const values = await hmgetByShard(redis, keys, "ledger", names);
  return values.map((value) => (value === null || !Number.isFinite(Number(value)) ? null : Number(value)));
}

/** One HMGET per shard that holds some of `names` (one in all for a single shard), values in the order of `names`. */
async function hmgetByShard(redis: Redis, keys: ClockKeys, hash: "ledger" | "runs", names: readonly string[]): Promise<(string | null)[]> {
  if (names.length === 0) return [];
  if (keys.shardCount <= 1) return await redis.hmget(keys[hash], ...names);
  const byShard = new Map<number, number[]>();
  names.forEach((name, index) => {
    const shard = shardOf(name, keys.shardCount);
    const indexes = byShard.get(shard);
    if (indexes === undefined) byShard.set(shard, [index]);
    else indexes.push(index);
  });
  const values: (string | null)[] = new Array<string | null>(names.length).fill(null);
  await Promise.all(
    [...byShard].map(async ([shard, indexes]) => {
      const read = await redis.hmget(shardKeys(keys, shard)[hash], ...indexes.map((index) => names[index] as string));
      indexes.forEach((index, at) => {
        values[index] = read[at] ?? null;
      });
    }),
  );
  return values;
}

/**
 * When this deployment began: the first start of any clock of its namespace (Redis time), kept in
 * the stats hash. A ledger older than it (rewound by hand, a stale replica) cannot mean slots
 * missed before it: catch-up never reaches further back. Where no marker exists yet but the ledger
 * does (a deployment older than the marker, or one that lost it), the oldest ledger entry is the
 * evidence of how far back it goes.
 */
export async function deploymentSince(redis: ScriptedRedis, keys: ClockKeys): Promise<number> {
  const [seconds, micros] = await redis.clockTime(keys.lease);
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  if ((await redis.hsetnx(keys.stats, "since", String(nowMs))) === 1) {
    let oldest = nowMs;
    for (const at of (await readLedger(redis, keys)).values()) oldest = Math.min(oldest, at);
    if (oldest < nowMs) await redis.hset(keys.stats, "since", String(oldest));
    return oldest;
  }
  const since = Number(await redis.hget(keys.stats, "since"));
  // A corrupt marker bounds nothing.
  return Number.isFinite(since) && since <= nowMs ? since : Number.NEGATIVE_INFINITY;
}

export function parseLedger(raw: Readonly<Record<string, string>>): Map<string, number> {
  const ledger = new Map<string, number>();
  for (const [name, value] of Object.entries(raw)) {
    const at = Number(value);
    if (Number.isFinite(at)) ledger.set(name, at);
  }
  return ledger;
}

interface OutboxMessage {
  readonly adapter: string;
  readonly enqueue: Enqueue;
  /** Overlap replace: the previous job's mark, for the adapter to withdraw before the add (set by the script). */
  readonly withdraw?: string;
}

const outboxField = (enqueue: Pick<Enqueue, "schedule" | "slotAt">): string => `${enqueue.schedule}\0${enqueue.slotAt}`;

/** The outbox entry the fire script writes beside the ledger advance. */
export function encodeOutboxMessage(adapter: string, enqueue: Enqueue): string {
  return JSON.stringify({ adapter, enqueue } satisfies OutboxMessage);
}

/** The job is in its queue: its outbox entry can go. */
export async function clearOutboxEntry(redis: Redis, keys: ClockKeys, enqueue: Pick<Enqueue, "schedule" | "slotAt">): Promise<void> {
  await redis.hdel(keys.outbox, outboxField(enqueue));
}

/** An outbox field for people: "schedule@slot". */
export const describeOutboxField = (field: string): string => field.replace("\0", "@");

/**
 * Re-runs enqueues that a crash or an error left in the outbox; adapters dedupe by jobId.
 * Returns how many went through; corrupt entries are reported and removed.
 */
export async function drainOutbox(redis: Redis, keys: ClockKeys, adapters: AdapterLookup, onCorrupt: (field: string, reason: string) => void): Promise<number> {
  const entries = await redis.hgetall(keys.outbox);
  let done = 0;
  for (const [field, raw] of Object.entries(entries)) {
    let message: OutboxMessage;
    try {
      message = JSON.parse(raw) as OutboxMessage;
      if (typeof message.adapter !== "string" || typeof message.enqueue?.jobId !== "string") throw new Error("missing adapter or jobId");
    } catch (error) {
      onCorrupt(field, (error as Error).message);
      await redis.hdel(keys.outbox, field);
      continue;
    }
    let adapter: Adapter | undefined;
    try {
      adapter = adapters.get(message.adapter);
    } catch {
      adapter = undefined; // an adapter this process cannot build: left for one that can
    }
    if (adapter?.enqueue === undefined) continue;
    if (typeof message.withdraw === "string") await adapter.overlap?.withdraw?.(message.enqueue, message.withdraw);
    await adapter.enqueue(message.enqueue);
    await redis.hdel(keys.outbox, field);
    done++;
  }
  return done;
}
