/**
 * Every key the clock owns, in one place: all under one hash tag (`{namespace}:...`) so each of its
 * scripts touches keys of one Redis Cluster slot. What each key holds is documented here and owned
 * by one module (named per key), which alone reads and writes its layout.
 */
export interface ClockKeys {
  /** The namespace itself (not a key): derived ids hash it (job ids, traceparents). */
  readonly namespace: string;
  /**
   * How many shards of leadership the deployment runs (`shards`, default 1; `{ns}:shards` holds it
   * when above 1). With one, every key is as below; with more, the shard keys (lease, ledger,
   * outbox, pushed, stats, runs, released, paused, pauses) of shard k are under `{ns:sk}`
   * (shardKeys), the rest stay under `{ns}`.
   */
  readonly shardCount: number;
  /** Which shard these keys are of (0 for the deployment's keys, and for the only shard of one). */
  readonly shard: number;
  readonly lease: string;
  readonly ledger: string;
  readonly outbox: string;
  /** Hash (fire/ledger.ts): per schedule with an overlap policy, the slot and mark of its last pushed job. */
  readonly pushed: string;
  readonly stats: string;
  /** Hash (fire/ledger.ts): per schedule with `maxRuns`, how many of its slots fired. */
  readonly runs: string;
  readonly peers: string;
  readonly released: string;
  readonly schedules: string;
  /**
   * Set (dynamic/schedule-index.ts), with shards only: the names of this shard's dynamic schedules,
   * `{ns}:schedules:s<k>` (the deployment's tag, beside the schedules hash, so a writer changes both
   * in one MULTI), so a process reads only the entries of the shards it leads. Written beside every
   * entry with more than one shard; never with one (a single-shard deployment's keys are unchanged).
   */
  readonly scheduleIndex: string;
  /** String (dynamic/schedule-index.ts): held (SET NX PX) by the one process building the index of a deployment whose entries lack it. */
  readonly scheduleIndexBuild: string;
  /**
   * Set: names of paused schedules, the one the fire script refuses slots by. A shard's (shardKeys,
   * with shards) holds its own schedules' and is written first (dynamic/shard-pauses.ts); the
   * deployment's is then the copy the clients, sync and status read.
   */
  readonly paused: string;
  /** Hash: when each paused schedule was paused and resumed (Redis time), so a pause skips its slots; a shard's beside its paused set. */
  readonly pauses: string;
  /** Sorted set (dynamic/pauses.ts): paused schedule name -> the `until` its pause ends at by itself. */
  readonly pauseEnds: string;
  readonly changes: string;
  readonly config: string;
  /** Prefix of `<prefix>:<fingerprint>`: each running config's per-schedule digests. */
  readonly configs: string;
  /** Set (dynamic/backfill.ts): ids of backfills not finished; `<backfills>:<id>` is each one's hash (request and progress). Also the channel a new request is published on. */
  readonly backfills: string;
  /** Prefix of `<prefix>:<schedule>` (history/store.ts): a list of the schedule's last fires, newest first. */
  readonly history: string;
  /** String (history/store.ts): the fires the leader keeps per schedule; check-ins write only while it is above 0. */
  readonly historySize: string;
  /** Prefix of `<prefix>:<schedule>` (history/store.ts): a hash of job id -> the outcome workers checked in. */
  readonly outcomes: string;
  /** Stream (history/audit.ts): every dynamic change (set, remove, pause, resume, trigger), who and what, capped. */
  readonly audit: string;
  /** Hash (history/states.ts): per schedule with `expect`, its state (ok, late, failed, missed) as the leader last judged it. */
  readonly states: string;
  /** String: the shard count of a deployment with more than one (absent: one); a start with another count is refused. */
  readonly shards: string;
}

export function clockKeys(namespace: string, shardCount = 1): ClockKeys {
  const tag = `{${namespace}}`;
  return {
    namespace,
    shardCount,
    shard: 0,
    lease: `${tag}:lease`,
    ledger: `${tag}:ledger`,
    outbox: `${tag}:outbox`,
    pushed: `${tag}:pushed`,
    stats: `${tag}:stats`,
    runs: `${tag}:runs`,
    peers: `${tag}:peers`,
    released: `${tag}:lease:released`,
    schedules: `${tag}:schedules`,
    scheduleIndex: `${tag}:schedules:s0`,
    scheduleIndexBuild: `${tag}:schedules:indexing`,
    paused: `${tag}:paused`,
    pauses: `${tag}:pauses`,
    pauseEnds: `${tag}:pause-ends`,
    changes: `${tag}:changes`,
    config: `${tag}:config`,
    configs: `${tag}:configs`,
    backfills: `${tag}:backfills`,
    history: `${tag}:history`,
    historySize: `${tag}:history-size`,
    outcomes: `${tag}:outcomes`,
    audit: `${tag}:audit`,
    states: `${tag}:states`,
    shards: `${tag}:shards`,
  };
}

/**
 * The keys of shard `shard`: its own lease, ledger, outbox, pushed, stats, runs and pause state
 * (paused, pauses) under the tag `{ns:s<k>}`, the deployment's keys otherwise. With one shard: the deployment's keys, unchanged
 * (a single-shard deployment's layout is the one it always had).
 */
export function shardKeys(keys: ClockKeys, shard: number): ClockKeys {
  if (keys.shardCount <= 1) return keys;
  const tag = `{${keys.namespace}:s${shard}}`;
  return {
    ...keys,
    shard,
    lease: `${tag}:lease`,
    released: `${tag}:lease:released`,
    ledger: `${tag}:ledger`,
    outbox: `${tag}:outbox`,
    pushed: `${tag}:pushed`,
    stats: `${tag}:stats`,
    runs: `${tag}:runs`,
    // The fire script reads the paused set in the shard's own slot (on a Redis Cluster, the only one it may touch).
    paused: `${tag}:paused`,
    pauses: `${tag}:pauses`,
    // The deployment's tag: the entries' hash and their index change together.
    scheduleIndex: `{${keys.namespace}}:schedules:s${shard}`,
  };
}

/** The hash tag of a Redis key (`clock` of `{clock}:ledger`), as Redis Cluster picks the slot by it; null when it has none. */
export function hashTagOf(key: string): string | null {
  const open = key.indexOf("{");
  const close = open < 0 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/** The hash tag every key of `keys`' shard carries (`ns` with one shard, `ns:s<k>` with more). */
export const shardTagOf = (keys: ClockKeys): string => (keys.shardCount <= 1 ? keys.namespace : `${keys.namespace}:s${keys.shard}`);

/**
 * The shard a schedule belongs to: FNV-1a (32 bits) of its name's UTF-8 bytes, mod the count. The
 * same in every process and after every restart; never a runtime's own string hash.
 */
export function shardOf(name: string, shardCount: number): number {
  if (shardCount <= 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}

/** The keys of the shard that holds schedule `name`'s ledger entry, outbox entries and counters. */
export const keysOfSchedule = (keys: ClockKeys, name: string): ClockKeys => shardKeys(keys, shardOf(name, keys.shardCount));

/** Every shard's keys, in shard order (one entry, the deployment's keys, for a single shard). */
export function allShardKeys(keys: ClockKeys): ClockKeys[] {
  return Array.from({ length: Math.max(1, keys.shardCount) }, (_, shard) => shardKeys(keys, shard));
}

/** Where the leader moves a key of the clock's that holds the wrong type (repair.ts): the same hash tag, so a person can look. */
export const asideOf = (key: string): string => `${key}:corrupt`;
