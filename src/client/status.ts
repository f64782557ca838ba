/**
 * Status, assembled the same way by the running clock (from what it holds in memory) and by the
 * client (from Redis): one page of schedules at a time, never a read of every definition. The
 * Redis reads here are O(page) (the ledger of the page's names) or O(processes) (lease, peers).
 */
import type { Redis } from "ioredis";
import { parsePauseRecord } from "../dynamic/pauses.ts";
import { readLedgerOf, readRunsOf } from "../fire/ledger.ts";
import { holderOf } from "../lease/lease.ts";
import { leaderPeer, parsePeers } from "../lease/peers.ts";
import { expectOf } from "../config/expect.ts";
import type { ScheduleState } from "../events.ts";
import { readStates } from "../history/states.ts";
import { allShardKeys, type ClockKeys } from "../redis/keys.ts";
import { describeSchedule } from "../schedule/describe.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { nextSlotAfter } from "../schedule/slots.ts";

export type ScheduleSource = "config" | "dynamic";

export interface ScheduleStatus {
  readonly name: string;
  readonly source: ScheduleSource;
  /** The rule as written: `cron "0 9 * * 1-5"`, `every 3h`, `at 09:00`. */
  readonly rule: string;
  /** The rule in words: "every weekday at 09:00 America/New_York". */
  readonly ruleInWords: string;
  /** The schedule's own `description`, as the user wrote it; null when it has none. */
  readonly description: string | null;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly paused: boolean;
  /** While paused: since when (Redis time; null from an older version), why, and when it ends by itself (null: until resumed). */
  readonly pause?: { readonly since: number | null; readonly reason: string | null; readonly until: number | null };
  readonly lastFiredAt: number | null;
  readonly nextAt: number | null;
  readonly adapter: string;
  readonly queue: string;
  /** No slot is left: a one-shot that fired (or whose slot was missed past catch-up), maxRuns reached, past endAt. */
  readonly done: boolean;
  /** With `maxRuns`: the fires counted so far in Redis, and the limit. */
  readonly runs?: number;
  readonly maxRuns?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly group?: string;
  readonly error?: string;
  /** With `expect`: the bounds, and the state the leader last judged (null until it has). */
  readonly expect?: { readonly startWithinMs: number | null; readonly finishWithinMs: number | null; readonly state: ScheduleState | null };
}

export interface PeerStatus {
  readonly host: string;
  readonly pid: number;
  readonly role: "leader" | "standby";
  readonly seenAt: number;
  readonly version: string;
  /** Its config fingerprint (absent from versions before fingerprints). */
  readonly config?: string;
}

/** Processes whose config differs from the leader's: fine for a while during a rolling deploy. */
export interface ConfigMismatchStatus {
  /** The leader's config fingerprint. */
  readonly leader: string;
  readonly peers: readonly { readonly host: string; readonly pid: number; readonly role: "leader" | "standby"; readonly config: string }[];
}

/** With shards of leadership: who leads one shard (null: nobody, the lease is free). */
export interface ShardStatus {
  readonly shard: number;
  readonly leader: { readonly host: string; readonly pid: number; readonly since: number; readonly ttlMs: number } | null;
}

export interface ClusterStatus {
  /** The lease holder; with shards, shard 0's (the one whose config the others compare with). */
  readonly leader: { readonly host: string; readonly pid: number; readonly since: number; readonly ttlMs: number } | null;
  /** With shards above 1: every shard's leader, in shard order (absent with one shard). */
  readonly shards?: readonly ShardStatus[];
  readonly peers: readonly PeerStatus[];
  readonly fenceRefusals: number;
  /** Null when every process runs the leader's config (or the leader's is not known). */
  readonly configMismatch: ConfigMismatchStatus | null;
  /** Invalid dynamic entries as the leader counts them (null when no leader says). */
  readonly leaderInvalid: number | null;
}

export interface ClockStatus extends Omit<ClusterStatus, "leaderInvalid"> {
  readonly namespace: string;
  /**
   * A running clock's own (its /api/status): `durability` as configured, and the slots it fired in
   * batches that fewer replicas than asked acknowledged, with the last time. Absent from the client's.
   */
  readonly durability?: {
    readonly replicas: number;
    readonly timeoutMs: number;
    readonly unreplicatedFires: number;
    readonly unreplicatedBatches: number;
    readonly lastUnreplicatedAt: number | null;
  };
  /** One page of schedules, by name. */
  readonly schedules: readonly ScheduleStatus[];
  /** Schedules in all (config and dynamic, valid and invalid). */
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly invalidEntries: number;
}

export interface StatusPage {
  readonly offset?: number;
  readonly limit?: number;
  /** Only schedules with all these labels (`{ team: "billing" }`). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Only the members of this group. */
  readonly group?: string;
}

/** Whether a page asks for a filter: then every schedule is looked at (O(schedules)), not just the page's. */
export function hasFilter(page: StatusPage): boolean {
  return page.group !== undefined || (page.labels !== undefined && Object.keys(page.labels).length > 0);
}

/** Whether a schedule passes a page's label and group filter (an invalid entry, with no labels, never does). */
export function matchesFilter(schedule: Schedule | null | undefined, page: StatusPage): boolean {
  if (!hasFilter(page)) return true;
  if (schedule === null || schedule === undefined) return false;
  if (page.group !== undefined && schedule.group !== page.group) return false;
  return Object.entries(page.labels ?? {}).every(([key, value]) => schedule.labels?.[key] === value);
}

/** Schedules per page when none is asked for, and at most. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export function pageBounds(page: StatusPage = {}): { offset: number; limit: number } {
  const offset = Math.max(0, Math.floor(Number(page.offset ?? 0)) || 0);
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(page.limit ?? DEFAULT_PAGE)) || DEFAULT_PAGE));
  return { offset, limit };
}

/** One schedule as status shows it; a stored entry that cannot be decoded has `schedule` null and an `error`. */
export interface StatusRow {
  readonly name: string;
  readonly source: ScheduleSource;
  readonly paused: boolean;
  readonly schedule: Schedule | null;
  readonly error?: string;
}

/** Rules in words, once per schedule object (a page polled every second asks for the same 1,000). */
const inWords = new WeakMap<Schedule, string>();
function ruleInWords(schedule: Schedule): string {
  let words = inWords.get(schedule);
  if (words === undefined) {
    words = describeSchedule(schedule);
    inWords.set(schedule, words);
  }
  return words;
}

/**
 * The rows' statuses: the last fired slot from the ledger (one HMGET for the page), the next slot
 * from `plannedAt` (the running clock's planner) or computed here for just these rows.
 */
export async function statusOfRows(
  redis: Redis,
  keys: ClockKeys,
  rows: readonly StatusRow[],
  now: number,
  plannedAt: (name: string) => number | undefined = () => undefined,
): Promise<ScheduleStatus[]> {
  const pausedNames = rows.filter((row) => row.paused).map((row) => row.name);
  const limited = rows.filter((row) => row.schedule?.maxRuns !== undefined).map((row) => row.name);
  const expecting = rows.filter((row) => row.schedule !== null && expectOf(row.schedule) !== undefined).map((row) => row.name);
  const [fired, pauseRaws, runCounts, stateList] = await Promise.all([
    readLedgerOf(
      redis,
      keys,
      rows.map((row) => row.name),
    ),
    // Only the page's paused rows: usually none, and then no read at all.
    pausedNames.length === 0 ? Promise.resolve([]) : redis.hmget(keys.pauses, ...pausedNames),
    readRunsOf(redis, keys, limited),
    // Only the page's schedules with `expect`: usually none, and then no read at all.
    readStates(redis, keys, expecting),
  ]);
  const runsOf = new Map(limited.map((name, index) => [name, runCounts[index] ?? 0]));
  const states = new Map(expecting.map((name, index) => [name, stateList[index] ?? null]));
  const expectStatus = (schedule: Schedule): Pick<ScheduleStatus, "expect"> => {
    const expect = expectOf(schedule);
    if (expect === undefined) return {};
    return { expect: { startWithinMs: expect.startWithinMs ?? null, finishWithinMs: expect.finishWithinMs ?? null, state: states.get(schedule.name) ?? null } };
  };
  const pauses = new Map(pausedNames.map((name, index) => [name, parsePauseRecord(pauseRaws[index])]));
  const pauseOf = (name: string): Pick<ScheduleStatus, "pause"> => {
    if (!pauses.has(name)) return {};
    const record = pauses.get(name) ?? null;
    return { pause: { since: record?.pausedAt ?? null, reason: record?.reason ?? null, until: record?.until ?? null } };
  };
  return rows.map((row, index): ScheduleStatus => {
    const lastFiredAt = fired[index] ?? null;
    const { schedule } = row;
    if (schedule === null) {
      return {
        name: row.name,
        source: row.source,
        rule: "(invalid)",
        ruleInWords: "(invalid)",
        description: null,
        timezone: "",
        enabled: false,
        paused: row.paused,
        ...pauseOf(row.name),
        lastFiredAt,
        nextAt: null,
        adapter: "",
        queue: "",
        done: false,
        error: row.error ?? "invalid",
      };
    }
    const runs = runsOf.get(row.name);
    const exhausted = runs !== undefined && schedule.maxRuns !== undefined && runs >= schedule.maxRuns;
    const remainingAt = exhausted ? null : nextSlotAfter(schedule, Math.max(now, lastFiredAt ?? now));
    const active = schedule.enabled && !row.paused && !exhausted;
    return {
      name: row.name,
      source: row.source,
      rule: schedule.ruleText,
      ruleInWords: ruleInWords(schedule),
      description: schedule.description ?? null,
      timezone: schedule.timezone,
      enabled: schedule.enabled,
      paused: row.paused,
      ...pauseOf(row.name),
      lastFiredAt,
      nextAt: active ? (plannedAt(row.name) ?? remainingAt) : null,
      adapter: schedule.adapter,
      queue: schedule.job.queue,
      done: schedule.enabled && remainingAt === null,
      ...(runs === undefined ? {} : { runs, maxRuns: schedule.maxRuns as number }),
      ...(schedule.labels === undefined ? {} : { labels: schedule.labels }),
      ...(schedule.group === undefined ? {} : { group: schedule.group }),
      ...expectStatus(schedule),
    };
  });
}

/** Who leads, the processes heard from lately, fence refusals and config mismatches: O(processes). */
export async function readClusterStatus(redis: Redis, keys: ClockKeys, now: number): Promise<ClusterStatus> {
  const shardList = allShardKeys(keys);
  const [leases, peersRaw, refusals] = await Promise.all([
    Promise.all(shardList.map(async (shardKeys) => ({ value: await redis.get(shardKeys.lease), pttl: await redis.pttl(shardKeys.lease) }))),
    redis.hgetall(keys.peers),
    Promise.all(shardList.map((shardKeys) => redis.hget(shardKeys.stats, "fenceRefusals"))),
  ]);
  const leaderOf = ({ value, pttl }: { value: string | null; pttl: number }): ShardStatus["leader"] => {
    const holder = value === null ? null : holderOf(value);
    return holder === null ? null : { ...holder, ttlMs: Math.max(0, pttl) };
  };
  const fenceRefusals = refusals.reduce((sum, value) => sum + (Number.isFinite(Number(value ?? 0)) ? Number(value ?? 0) : 0), 0);
  const { value: leaseValue, pttl } = leases[0] ?? { value: null, pttl: -2 };
  const holder = leaseValue === null ? null : holderOf(leaseValue);
  const peerMap = parsePeers(peersRaw, now);
  const peers: PeerStatus[] = [...peerMap.values()].map(({ host, pid, role, seenAt, version, config }) => ({
    host,
    pid,
    role,
    seenAt,
    version,
    ...(config === undefined ? {} : { config }),
  }));
  const leaderRecord = leaderPeer(peerMap, holder)?.[1];
  const leaderConfig = leaderRecord?.config;
  const differing = leaderConfig === undefined ? [] : peers.filter((peer) => peer.config !== undefined && peer.config !== leaderConfig);
  return {
    leader: holder === null ? null : { ...holder, ttlMs: Math.max(0, pttl) },
    ...(shardList.length > 1 ? { shards: leases.map((lease, shard) => ({ shard, leader: leaderOf(lease) })) } : {}),
    peers: peers.sort((a, b) => (a.role === b.role ? a.host.localeCompare(b.host) || a.pid - b.pid : a.role === "leader" ? -1 : 1)),
    fenceRefusals,
    configMismatch:
      leaderConfig === undefined || differing.length === 0
        ? null
        : { leader: leaderConfig, peers: differing.map((peer) => ({ host: peer.host, pid: peer.pid, role: peer.role, config: peer.config as string })) },
    leaderInvalid: typeof leaderRecord?.invalid === "number" ? leaderRecord.invalid : null,
  };
}

/** Names sorted once per version of the set they come from, so a status poll costs O(page), not a sort. */
export class SortedNames {
  #version = -1;
  #names: string[] = [];

  /** Whether the names sorted for `version` are at hand (no sort needed). */
  fresh(version: number): boolean {
    return version === this.#version;
  }

  get(version: number, names: () => Iterable<string>): readonly string[] {
    if (version !== this.#version) {
      this.#names = [...names()].sort();
      this.#version = version;
    }
    return this.#names;
  }
}
