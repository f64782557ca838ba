import type { Redis, RedisOptions } from "ioredis";
import type { Job } from "../schedule/schedule.ts";

/** One fire, as an adapter sees it: the job plus the slot it is for. */
export interface Enqueue {
  readonly schedule: string;
  /** The slot's instant, epoch ms. */
  readonly slotAt: number;
  /** Derived from (namespace, schedule, slot), never from the current time. */
  readonly jobId: string;
  readonly job: Job;
  /** When the payload was built (just before the write); queue systems want an enqueue time. */
  readonly enqueuedAt: number;
  /** True for a manual trigger, outside the schedule. */
  readonly manual?: boolean;
  /** True for a slot fired by a backfill (a past range asked for by hand; the slot's own job id). */
  readonly backfill?: boolean;
  /** With `expireAfter`: slot + expireAfter, epoch ms; workers may drop the job after it. Absent otherwise. */
  readonly expiresAt?: number;
  /**
   * The W3C `traceparent` derived from the slot (a trigger's or backfill's from its job id; ids.ts
   * traceparentFor): the clock's fires always carry it; absent only in an Enqueue made by hand.
   */
  readonly traceparent?: string;
  /**
   * With shards of leadership (`shards` above 1): the shard whose leader fires the slot, whose keys
   * are in the slot of hash tag `{<namespace>:s<shard>}` (the list adapter's `{shard}`). Absent
   * with one shard.
   */
  readonly shard?: number;
}

/** The commands the fire script runs for adapters (its `allowed` table; a test holds the two equal). */
export const WRITE_COMMANDS = ["LPUSH", "RPUSH", "SADD", "ZADD", "SET", "HSET", "XADD"] as const;
export type WriteCommand = (typeof WRITE_COMMANDS)[number];

/** A Redis write the fire script runs in the same atomic step as the ledger check. */
export interface Write {
  readonly command: WriteCommand;
  readonly key: string;
  readonly args: readonly string[];
}

/**
 * A schedule's overlap policy: what a slot does while the previous slot's job of the same schedule
 * is still pending. `allow` (default): enqueue anyway. `skip`: enqueue nothing (the ledger advances
 * as for a fire). `replace`: withdraw the waiting job and enqueue the new one. A resolved schedule
 * carries it as `overlap`, absent for `allow` (see overlapOf).
 */
export type Overlap = "allow" | "skip" | "replace";
export const OVERLAPS: readonly Overlap[] = ["allow", "skip", "replace"];

/** A schedule's overlap policy ("allow" when it has none): it rides beside the Schedule fields (config/resolve.ts). */
export function overlapOf(schedule: object): Overlap {
  const overlap = (schedule as { readonly overlap?: unknown }).overlap;
  return overlap === "skip" || overlap === "replace" ? overlap : "allow";
}

/** Where a job sits while it is pending, so the fire script can look for it (see fire.lua). */
export interface Pending {
  /** What the job leaves in its queue: the exact element pushed, or its id. */
  readonly mark: string;
  /** Lists holding `mark` while the job waits (LPOS); a replace removes it (LREM) unless `withdraw` does. */
  readonly waitingLists: readonly string[];
  /** Sorted sets holding `mark` as a member while the job waits (ZSCORE): BullMQ's delayed, prioritized. */
  readonly waitingSets?: readonly string[];
  /** Lists holding `mark` while the job runs (BullMQ's active): `skip` waits for it, `replace` cannot withdraw it. */
  readonly runningLists?: readonly string[];
}

/** What an adapter can tell about a schedule's previous job; without it, only `overlap: "allow"`. */
export interface OverlapSupport {
  /** Why `replace` is refused for this adapter, or absent when it is supported. */
  readonly noReplace?: string;
  /** Where this enqueue's job will be pending; `writes` are what `writes(enqueue)` returned. */
  pending(enqueue: Enqueue, writes: readonly Write[]): Pending;
  /** Enqueue-style adapters: removes the waiting job with this mark through the system's own client (idempotent). */
  withdraw?(enqueue: Enqueue, mark: string): Promise<void>;
}

/** A worker's report of a job, as a queue system's own events tell it (BullMQ's `active`, `completed`, `failed`). */
export interface CheckIn {
  readonly queue: string;
  readonly jobId: string;
  readonly state: "started" | "succeeded" | "failed";
  /** A failed job's error class (`TypeError`), when the system kept it. */
  readonly error?: string;
  /** The worker's own instant for it (epoch ms), when the event carries one; else Redis time at recording. */
  readonly atMs?: number;
}

/** Listening to a queue system's events for the clock's own jobs; one per adapter, queues added as they are fired into. */
export interface CheckInSource {
  /** Starts hearing `queue`'s events from `sinceMs` (Redis time, epoch ms) on; a queue watched already is left as it is. */
  watch(queue: string, sinceMs: number): void;
  close(): Promise<void>;
}

/**
 * Turns a job into the exact Redis writes of one queue system. Either `writes` (run inside the
 * fire script: the ledger advance and the push are one atomic step) or `enqueue` (run after the
 * script recorded the fire in an outbox, for systems whose own client must do the write; it must
 * be idempotent by `jobId`, since a crash can make it run twice).
 */
export interface Adapter {
  readonly name: string;
  /** Problems with a job's options for this adapter, as [path under job.options, message]. */
  validate?(job: Job): Array<[path: string, message: string]>;
  /** The id queue systems see for a slot's job; default `clock-<schedule>-<slot ms>`. */
  jobIdFor?(schedule: string, slotAt: number): string;
  writes?(enqueue: Enqueue): Write[];
  enqueue?(enqueue: Enqueue): Promise<void>;
  /** Support for `overlap: "skip" | "replace"`. */
  readonly overlap?: OverlapSupport;
  /**
   * Why this adapter cannot write to a Redis Cluster, when it cannot (its queue system needs one
   * Redis instance); absent: it can, as long as its `writes` keys share the clock's hash tag.
   */
  readonly clusterRefusal?: string;
  /**
   * Loads what `enqueue` needs (an optional peer package) and rejects saying what to install.
   * `clock check` and start-up call it, so a missing package stops them rather than a slot.
   */
  load?(): Promise<void>;
  /** Check-ins from the queue system's own events (BullMQ): the leader listens while it leads. */
  checkIns?(onCheckIn: (checkIn: CheckIn) => void, onError: (error: Error) => void): CheckInSource;
  close?(): Promise<void>;
}

/** Builds an adapter from its settings (the config's `adapters.<name>` block). */
export type AdapterFactory = (settings: Readonly<Record<string, unknown>>, context: AdapterContext) => Adapter;

export interface AdapterContext {
  /** The clock's key namespace (part of derived job ids). */
  readonly namespace: string;
  /**
   * Opens a new connection to the Redis the clock writes to (the configured URL, or a duplicate of
   * the ioredis instance given), for adapters whose own client writes (BullMQ). Absent where
   * adapters are only validated; an adapter never falls back to a default address.
   */
  readonly connect?: (options: RedisOptions) => Redis;
}
