/**
 * The programmatic API: create, change, pause, resume and remove schedules at run time, trigger a
 * job now, read status. Usable from any process of the app; running clocks pick changes up within
 * a second.
 */
import { randomBytes } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { AdapterRegistry } from "../adapters/registry.ts";
import type { Adapter } from "../adapters/types.ts";
import type { ClockConfig, Defaults } from "../config/resolve.ts";
import type { ScheduleInput } from "../config/schema.ts";
import { parseRate } from "../config/rate.ts";
import { cancelBackfill, isFinished, MAX_BACKFILL_SLOTS, readBackfill, readSlotState, requestBackfill, slotsUpTo, splitSlots, type BackfillRecord } from "../dynamic/backfill.ts";
import { setPaused } from "../dynamic/pauses.ts";
import { deleteShardPauses, setShardGroupPaused } from "../dynamic/shard-pauses.ts";
import { FALLBACK_DEFAULTS, readSnapshot, snapshotOf, type ConfigSnapshot } from "../dynamic/snapshot.ts";
import { checkName, decodeEntry, encodeEntry, validateDefinition, writeChange } from "../dynamic/store.ts";
import { ClashError, ClockError, ConfigError, NoLeaderError, NotFoundError, TriggerError, type FieldIssue } from "../errors.ts";
import { Firer, manualJobId } from "../fire/fire.ts";
import { closeRedis, connectRedis, describeRedisError, redactSecrets, resolveRedisTarget, type RedisTarget, type SentinelSettings } from "../redis/connection.ts";
import { clockKeys, keysOfSchedule, type ClockKeys } from "../redis/keys.ts";
import { readShardCount } from "../dynamic/shards.ts";
import { indexAdd, indexRemove } from "../dynamic/schedule-index.ts";
import { withScripts } from "../redis/scripts.ts";
import { parseInstant } from "../schedule/duration.ts";
import { auditChange, defaultActor, readAudit, type AuditEntry, type AuditTarget, type ChangeAction } from "../history/audit.ts";
import { appendHistory, DEFAULT_HISTORY_SIZE, deleteHistory, readHistory, recordCheckIn, scheduleOfJobId, type CheckInState, type HistoryEntry } from "../history/store.ts";
import { findNonJson, GROUP_NAME, type Json, type Schedule } from "../schedule/schedule.ts";
import { slotsBetween } from "../schedule/slots.ts";
import { hasFilter, matchesFilter, pageBounds, readClusterStatus, statusOfRows, type ClockStatus, type ScheduleSource, type StatusPage, type StatusRow } from "./status.ts";

/** A label and group filter (list, status): a schedule passes when it has every label given and is in the group. */
export type ScheduleFilter = Pick<StatusPage, "labels" | "group">;

/** What a group write did: the members it found (config and dynamic) and how many changed. */
export interface GroupResult {
  readonly group: string;
  readonly members: readonly string[];
  /** Members whose state changed (a paused member is not paused again). */
  readonly changed: number;
  /** For remove: config members, which cannot be removed and were left alone. */
  readonly kept?: readonly string[];
}

export interface ClientOptions {
  /**
   * A Redis URL (redis://, rediss://, redis+sentinel://h1:26379,h2:26379/master), Sentinel
   * settings `{ sentinels: [{ host, port }], name, db?, password?, sentinelPassword? }`, or an
   * ioredis instance (not closed by `close()`; a BullMQ trigger writes through a duplicate of it).
   * Default: the config's `redis`, then REDIS_URL, then localhost.
   */
  readonly redis?: string | SentinelSettings | Redis;
  /** The clock's key namespace (the config's `namespace`); default "clock". */
  readonly namespace?: string;
  /** The app's config, when this process has it: defaults, adapters, and the config schedules. */
  readonly config?: ClockConfig;
  /** Adapters of one's own, for triggering schedules that use them. */
  readonly adapters?: Readonly<Record<string, Adapter>>;
  /** Who makes this client's changes, in the audit (`clock history --changes`); default `user@host`. */
  readonly actor?: string;
}

/** Per call: who makes the change (default: the client's `actor`). */
export interface ChangeOptions {
  readonly actor?: string;
}

export interface ScheduleInfo {
  readonly name: string;
  readonly source: ScheduleSource;
  readonly paused: boolean;
  /** Null for a stored entry that cannot be decoded (see `error`). */
  readonly schedule: Schedule | null;
  readonly definition?: Record<string, unknown>;
  readonly error?: string;
}

/** An instant as the API takes it: ISO-8601 with an offset, epoch ms, or a Date. */
export type InstantInput = string | number | Date;

export interface BackfillOptions {
  /** The range, both ends inclusive; `to` must not be in the future (by Redis time). */
  readonly from: InstantInput;
  readonly to: InstantInput;
  /** At most this many slots a second: "10/s", "600/m", or a number per second. Default "10/s". */
  readonly rate?: string | number;
  /** Report what would fire and what would be skipped, write nothing (no leader needed). */
  readonly dryRun?: boolean;
  /** Resolve when the backfill has finished (done, cancelled or failed), not when it was accepted. */
  readonly wait?: boolean;
  /** While waiting: called with each change of progress. */
  readonly onProgress?: (record: BackfillRecord) => void;
}

/** A dry run's answer: the range's slots split by the backfill rule, as of now. */
export interface BackfillPlan {
  readonly dryRun: true;
  readonly schedule: string;
  readonly fromAt: number;
  readonly toAt: number;
  readonly ratePerSecond: number;
  readonly total: number;
  /** Slots after the ledger's newest fired slot and outside a pause: the backfill's. */
  readonly wouldFire: number;
  readonly skipped: number;
  readonly paused: number;
  /** The first slots that would fire (ten at most). */
  readonly firstSlots: readonly number[];
}

export const DEFAULT_BACKFILL_RATE = "10/s";
/** A leader's heartbeat moves every ~2 s: one older than this is no leader to hand a backfill to. */
const LEADER_FRESH_MS = 10_000;
const BACKFILL_POLL_MS = 250;
/** A pause's reason is a note for people, not a document. */
const MAX_REASON = 500;

const SNAPSHOT_MAX_AGE_MS = 10_000;

const unknownBackfill = (id: string): ClockError =>
  new ClockError("not-found", `backfill ${id} not found`, { issues: [{ path: id, message: "no such backfill (a finished one is kept for a week)" }] });

function instantOf(value: InstantInput | undefined): number | string {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : "invalid Date";
  if (typeof value === "number") return Number.isFinite(value) ? value : `invalid time ${value}`;
  if (typeof value !== "string") return 'expected an ISO-8601 time with an offset (e.g. "2026-01-01T00:00:00Z"), epoch ms or a Date';
  const at = parseInstant(value);
  return typeof at === "number" ? at : at.error;
}

export class ClockClient {
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #keys: ClockKeys;
  /** The keys with the deployment's shard count (dynamic/shards.ts), read once: where each schedule's ledger is. */
  #sharded: Promise<ClockKeys> | null = null;
  readonly #namespace: string;
  readonly #options: ClientOptions;
  /** Null for a given ioredis instance. */
  readonly #target: RedisTarget | null;
  #connectionError: Error | undefined;
  #snapshot: Promise<ConfigSnapshot | null> | null = null;
  #snapshotAt = 0;
  readonly #actor: string;

  constructor(options: ClientOptions = {}) {
    this.#options = options;
    this.#actor = options.actor ?? defaultActor();
    this.#namespace = options.namespace ?? options.config?.namespace ?? "clock";
    this.#keys = clockKeys(this.#namespace);
    if (isRedisInstance(options.redis)) {
      this.#redis = options.redis;
      this.#ownsRedis = false;
      this.#target = null;
    } else {
      this.#target = resolveRedisTarget([options.redis, "redis"], [options.config?.redis, "redis"]);
      let ready = false;
      this.#redis = connectRedis(this.#target, {
        lazyConnect: false,
        enableOfflineQueue: true,
        // Commands fail after two tries (maxRetriesPerRequest 1), the connection keeps reconnecting:
        // a long-lived client outlives a Redis restart or a Sentinel failover.
        retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
        // Until the first connection, few rounds of asking the Sentinels: a CLI call must not wait forever.
        sentinelRetryStrategy: (attempt) => (ready ? Math.min(100 * attempt, 2000) : attempt > 3 ? null : 100 * attempt),
      });
      this.#redis.on("error", (error: Error) => {
        // Surfaced as rejected calls; kept to explain them (a rejected call says only "max retries").
        this.#connectionError = error;
      });
      this.#redis.on("ready", () => {
        ready = true;
        this.#connectionError = undefined;
      });
      this.#ownsRedis = true;
    }
  }

  /** Config schedules and defaults: from the options, else from what a running clock published. */
  async #config(): Promise<ConfigSnapshot | null> {
    if (this.#options.config !== undefined) return snapshotOf(this.#options.config, 0);
    // Re-read now and then: a deploy may change the config schedules under a long-lived client.
    if (this.#snapshot === null || Date.now() - this.#snapshotAt > SNAPSHOT_MAX_AGE_MS) {
      this.#snapshotAt = Date.now();
      this.#snapshot = readSnapshot(this.#redis, this.#keys).catch((error: unknown) => {
        this.#snapshot = null;
        throw error;
      });
    }
    return await this.#snapshot;
  }

  async #defaults(): Promise<{ defaults: Defaults; adapters: Readonly<Record<string, unknown>>; configSchedules: readonly Schedule[] }> {
    const snapshot = await this.#config();
    return {
      // Spread offsets derive from the namespace: this client's, which is the one the snapshot was read from.
      defaults: { ...(snapshot?.defaults ?? FALLBACK_DEFAULTS), namespace: this.#namespace },
      adapters: { ...snapshot?.adapters, ...this.#options.adapters },
      configSchedules: snapshot?.schedules ?? [],
    };
  }

  readonly schedules = {
    /** Creates or replaces a dynamic schedule; throws ConfigError listing each bad field. */
    set: async (name: string, definition: ScheduleInput, options: ChangeOptions = {}): Promise<Schedule> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      checkName(name);
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ClashError(name, "replace");
      const schedule = validateDefinition(name, definition, defaults, { settings: adapters, namespace: this.#namespace });
      const encoded = encodeEntry(definition as Record<string, unknown>, Date.now());
      const sharded = await this.#shardedKeys();
      await writeChange(this.#redis, this.#keys, "set", name, (multi) => {
        multi.hset(this.#keys.schedules, name, encoded);
        indexAdd(multi, sharded, [name]);
        this.#audit(multi, options, "set", name, definition);
      });
      return schedule;
    },
    get: async (name: string): Promise<ScheduleInfo | null> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      const [raw, paused] = await Promise.all([this.#redis.hget(this.#keys.schedules, name), this.#redis.sismember(this.#keys.paused, name)]);
      const fromConfig = configSchedules.find((schedule) => schedule.name === name);
      if (fromConfig !== undefined) return { name, source: "config", paused: paused === 1, schedule: fromConfig };
      if (raw === null) return null;
      return this.#info(name, raw, paused === 1, defaults, adapters);
    },
    list: async (filter: ScheduleFilter = {}): Promise<ScheduleInfo[]> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      const [entries, pausedList] = await Promise.all([this.#redis.hgetall(this.#keys.schedules), this.#redis.smembers(this.#keys.paused)]);
      const paused = new Set(pausedList);
      const configNames = new Set(configSchedules.map((schedule) => schedule.name));
      const infos: ScheduleInfo[] = configSchedules.map((schedule) => ({ name: schedule.name, source: "config", paused: paused.has(schedule.name), schedule }));
      for (const [name, raw] of Object.entries(entries)) {
        if (!configNames.has(name)) infos.push(this.#info(name, raw, paused.has(name), defaults, adapters));
      }
      return infos.filter((info) => matchesFilter(info.schedule, filter)).sort((a, b) => a.name.localeCompare(b.name));
    },
    /** Removes a dynamic schedule; false when there was none. Config schedules cannot be removed. */
    remove: async (name: string, options: ChangeOptions = {}): Promise<boolean> => {
      const { configSchedules } = await this.#defaults();
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ClashError(name, "remove");
      if ((await this.#redis.hexists(this.#keys.schedules, name)) === 0) return false;
      // With shards, the shard's pause state first: a crash before the removal below leaves the schedule with its pause.
      const sharded = await this.#shardedKeys();
      await deleteShardPauses(withScripts(this.#redis), sharded, [name]);
      await writeChange(this.#redis, this.#keys, "remove", name, (multi) => {
        multi.hdel(this.#keys.schedules, name).srem(this.#keys.paused, name).hdel(this.#keys.pauses, name).zrem(this.#keys.pauseEnds, name);
        indexRemove(multi, sharded, [name]);
        // Its history goes with it: a schedule made again under the name starts afresh.
        deleteHistory(multi, this.#keys, name);
        this.#audit(multi, options, "remove", name);
      });
      return true;
    },
    /**
     * Pause means skip: from now (Redis time) no slot fires, not even as catch-up after the resume.
     * `reason` is shown by status; at `until` (an instant in the future by Redis time) the leader
     * resumes it, exactly as a resume sent then. Pausing a paused schedule keeps its start and takes
     * the new reason and until. Throws ConfigError naming the field for a bad one.
     */
    pause: async (name: string, options: ChangeOptions & { reason?: string; until?: InstantInput } = {}): Promise<void> => {
      await this.#requireExists(name);
      const issues: FieldIssue[] = [];
      if (options.reason !== undefined && (typeof options.reason !== "string" || options.reason.length > MAX_REASON)) {
        issues.push({ path: `${name}.reason`, message: `expected text of at most ${MAX_REASON} characters` });
      }
      let untilAt: number | undefined;
      if (options.until !== undefined) {
        const at = instantOf(options.until);
        const [seconds, micros] = await this.#redis.time();
        const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        if (typeof at === "string") issues.push({ path: `${name}.until`, message: at });
        else if (at <= nowMs)
          issues.push({ path: `${name}.until`, message: `is not in the future by Redis time (${new Date(nowMs).toISOString()}): a pause ends after it begins` });
        else untilAt = at;
      }
      if (issues.length > 0) throw new ConfigError(issues, `invalid pause of "${name}"`);
      const { changed } = await setPaused(withScripts(this.#redis), await this.#shardedKeys(), name, true, undefined, {
        ...(options.reason === undefined || options.reason === "" ? {} : { reason: options.reason }),
        ...(untilAt === undefined ? {} : { untilAt }),
      });
      await this.#auditNow(options, "pause", name, { changed });
    },
    /** Continues from now (Redis time): slots inside the pause never fire; the next slot fires normally. */
    resume: async (name: string, options: ChangeOptions = {}): Promise<void> => {
      await this.#requireExists(name);
      const { changed } = await setPaused(withScripts(this.#redis), await this.#shardedKeys(), name, false);
      await this.#auditNow(options, "resume", name, { changed });
    },
  };

  #audit(target: AuditTarget, options: ChangeOptions, action: ChangeAction, schedule: string, detail?: unknown): void {
    auditChange(target, this.#keys, { actor: options.actor ?? this.#actor, action, schedule, ...(detail === undefined ? {} : { detail }) });
  }

  /** After a change that is not a MULTI of ours (a script, a fire): the change stands even if this fails. */
  async #auditNow(options: ChangeOptions, action: ChangeAction, schedule: string, detail?: unknown): Promise<void> {
    const pipeline = this.#redis.pipeline();
    this.#audit(pipeline, options, action, schedule, detail);
    await pipeline.exec();
  }

  /**
   * A whole group at once: pause or resume every member (config and dynamic) in one atomic script
   * (pause-group-4.lua: one Redis instant, one change-counter bump, so no member's slot fires after
   * the write), or remove every dynamic member in one MULTI (config members are kept: the config
   * file owns them). Members are the schedules with that `group` as this client reads them just
   * before the write; a member added concurrently by another process is not included.
   */
  readonly groups = {
    members: async (group: string): Promise<ScheduleInfo[]> => {
      checkGroup(group);
      return await this.schedules.list({ group });
    },
    pause: async (group: string): Promise<GroupResult> => await this.#pauseGroup(group, "pause"),
    resume: async (group: string): Promise<GroupResult> => await this.#pauseGroup(group, "resume"),
    remove: async (group: string): Promise<GroupResult> => {
      const members = await this.groups.members(group);
      const dynamic = members.filter((info) => info.source === "dynamic").map((info) => info.name);
      const kept = members.filter((info) => info.source === "config").map((info) => info.name);
      if (dynamic.length > 0) {
        const sharded = await this.#shardedKeys();
        await deleteShardPauses(withScripts(this.#redis), sharded, dynamic);
        await writeChange(this.#redis, this.#keys, "group", group, (multi) => {
          multi
            .hdel(this.#keys.schedules, ...dynamic)
            .srem(this.#keys.paused, ...dynamic)
            .hdel(this.#keys.pauses, ...dynamic);
          indexRemove(multi, sharded, dynamic);
        });
      }
      return { group, members: members.map((info) => info.name), changed: dynamic.length, kept };
    },
  };

  async #pauseGroup(group: string, action: "pause" | "resume", atMs?: number): Promise<GroupResult> {
    const members = (await this.groups.members(group)).map((info) => info.name);
    if (members.length === 0)
      throw new ClockError("not-found", `group "${group}" has no schedules`, { issues: [{ path: "group", message: `no schedule is in group "${group}"` }] });
    const redis = withScripts(this.#redis);
    const keys = await this.#shardedKeys();
    // With shards: one atomic write per shard first (shard-pauses.ts), then the deployment's copy.
    const sharded = keys.shardCount > 1 ? await setShardGroupPaused(redis, keys, members, action === "pause", atMs) : null;
    // Without: one write for all. With: a resume of members no shard had paused (pauses from before the shards' own state).
    const rest = sharded === null ? members : action === "resume" ? sharded.untouched : [];
    let version = sharded?.version ?? 0;
    let changed = sharded?.changed ?? 0;
    if (sharded === null || rest.length > 0) {
      const [after, count] = await redis.clockPauseGroup(
        this.#keys.paused,
        this.#keys.pauses,
        this.#keys.changes,
        this.#keys.pauseEnds,
        action,
        atMs === undefined ? "" : String(atMs),
        ...rest,
      );
      version = after;
      changed += count;
    }
    await redis.publish(this.#keys.changes, `${version} group ${group}`);
    return { group, members, changed };
  }

  async #requireExists(name: string): Promise<Schedule> {
    const info = await this.schedules.get(name);
    if (info === null) throw new NotFoundError(name);
    if (info.schedule === null) throw new ConfigError([{ path: name, message: `stored entry is invalid: ${info.error ?? "unknown"}` }], `schedule "${name}" is corrupt`);
    return info.schedule;
  }

  #info(name: string, raw: string, paused: boolean, defaults: Defaults, adapters: Readonly<Record<string, unknown>>): ScheduleInfo {
    const decoded = decodeEntry(name, raw, defaults, { settings: adapters, namespace: this.#namespace });
    if (decoded.ok) return { name, source: "dynamic", paused, schedule: decoded.schedule, definition: decoded.definition };
    return { name, source: "dynamic", paused, schedule: null, error: decoded.reason };
  }

  /** Enqueues one job of a schedule now, outside its schedule, with its own job id. */
  async trigger(name: string, options: { args?: readonly Json[] } & ChangeOptions = {}): Promise<{ jobId: string; schedule: string; adapter: string; queue: string }> {
    const schedule = await this.#requireExists(name);
    if (options.args !== undefined) {
      const found = Array.isArray(options.args) ? findNonJson(options.args) : { path: [], problem: "expected an array of JSON values" };
      if (found !== null) throw new ConfigError([{ path: ["args", ...found.path].join("."), message: found.problem }], `invalid trigger of "${name}"`);
    }
    const { adapters: settings } = await this.#defaults();
    // A BullMQ trigger writes where this client does: a duplicate of the given instance, or its URL.
    const connect = (overrides: RedisOptions): Redis => (this.#target !== null ? connectRedis(this.#target, overrides) : this.#redis.duplicate(overrides));
    const adapters = new AdapterRegistry(settings, { namespace: this.#namespace, connect }, [schedule.adapter]);
    const firer = new Firer({ redis: withScripts(this.#redis), keys: keysOfSchedule(await this.#shardedKeys(), name), adapters, token: () => "", now: () => Date.now() });
    const adapter = firer.adapterFor(schedule);
    // Sidekiq-style adapters get a random 24-hex jid, as Sidekiq's own client makes; others a readable id.
    const jobId = adapter.jobIdFor === undefined ? manualJobId(name) : randomBytes(12).toString("hex");
    try {
      const [outcome] = await firer.fire([{ schedule, slotAt: Date.now(), manual: { jobId, ...(options.args === undefined ? {} : { args: options.args }) } }]);
      // The script ran (redisAt is known) but the adapter's own enqueue failed: nothing is queued, nothing kept.
      if (outcome?.status === "error" && outcome.error !== undefined && !Number.isNaN(outcome.redisAt)) throw new TriggerError(name, outcome.error);
      if (outcome?.status !== "fired") throw new Error(`trigger of "${name}" was not enqueued (${outcome?.status ?? "no reply"}): ${outcome?.error?.message ?? ""}`);
      // The job is in its queue: what follows is bookkeeping, and never turns a trigger into a failure.
      const size = await this.#historySize().catch(() => DEFAULT_HISTORY_SIZE);
      const record = { schedule: name, slotAt: outcome.request.slotAt, enqueuedAt: outcome.redisAt, kind: "trigger" as const, jobId };
      await Promise.all([
        appendHistory(this.#redis, this.#keys, [record], size).catch(() => undefined),
        this.#auditNow(options, "trigger", name, { jobId, ...(options.args === undefined ? {} : { args: options.args }) }).catch(() => undefined),
      ]);
      return { jobId, schedule: name, adapter: schedule.adapter, queue: schedule.job.queue };
    } finally {
      await adapters.closeAll();
    }
  }

  async #historySize(): Promise<number> {
    return this.#options.config?.history?.size ?? (await this.#config())?.historySize ?? DEFAULT_HISTORY_SIZE;
  }

  /**
   * A schedule's last fires, newest first (at most `limit`, default 100): slot, job id, enqueued at
   * (Redis time), lag, kind, and what workers reported (started, finished, succeeded or failed).
   */
  async history(name: string, options: { readonly limit?: number } = {}): Promise<HistoryEntry[]> {
    return await readHistory(this.#redis, this.#keys, name, options.limit ?? DEFAULT_HISTORY_SIZE);
  }

  /** The newest dynamic changes (set, remove, pause, resume, trigger), newest first; only `schedule`'s when given. */
  async changes(options: { readonly limit?: number; readonly schedule?: string } = {}): Promise<AuditEntry[]> {
    return await readAudit(this.#redis, this.#keys, { limit: options.limit ?? 100, ...(options.schedule === undefined ? {} : { schedule: options.schedule }) });
  }

  /**
   * A worker's report on one of the clock's jobs, for queue systems the clock cannot hear itself:
   * `started` when it begins, `succeeded` or `failed` (with `error`, a short error class) when it
   * ends; stamped with Redis time. `schedule` is needed unless the job id names it (readable ids
   * `clock-<schedule>-<slot ms>`; Sidekiq-style hex ids do not: pass the payload's `clock.schedule`).
   * False when history is off.
   */
  async checkIn(jobId: string, state: CheckInState, options: { readonly error?: string; readonly schedule?: string } = {}): Promise<boolean> {
    if (state !== "started" && state !== "succeeded" && state !== "failed")
      throw new ConfigError([{ path: "state", message: `expected "started", "succeeded" or "failed", got ${JSON.stringify(state)}` }], "invalid check-in");
    const schedule = options.schedule ?? scheduleOfJobId(jobId);
    if (schedule === null)
      throw new ConfigError([{ path: "schedule", message: `job id "${jobId}" does not name its schedule: pass { schedule } (the payload's clock.schedule)` }], "invalid check-in");
    return await recordCheckIn(this.#redis, this.#keys, schedule, jobId, state, options.error === undefined ? {} : { error: options.error });
  }

  /**
   * Enqueues every slot of a past range of a schedule once, through the leader (fenced, paced by
   * `rate`). Slots at or before the schedule's newest fired slot are skipped (they may have fired),
   * and so are slots inside a pause; a backfill run twice enqueues nothing new. Throws ConfigError
   * for a bad range or rate, NoLeaderError when no clock leads. Resolves with the accepted request
   * (or, with `wait`, the finished one); `dryRun` resolves with the plan and writes nothing.
   */
  backfill(name: string, options: BackfillOptions & { readonly dryRun: true }): Promise<BackfillPlan>;
  backfill(name: string, options: BackfillOptions): Promise<BackfillRecord>;
  async backfill(name: string, options: BackfillOptions): Promise<BackfillRecord | BackfillPlan> {
    const schedule = await this.#requireExists(name);
    const [seconds, micros] = await this.#redis.time();
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const issues: FieldIssue[] = [];
    const fromAt = instantOf(options.from);
    const toAt = instantOf(options.to);
    const rate = parseRate(options.rate ?? DEFAULT_BACKFILL_RATE);
    if (typeof fromAt === "string") issues.push({ path: `${name}.from`, message: fromAt });
    if (typeof toAt === "string") issues.push({ path: `${name}.to`, message: toAt });
    else if (toAt > nowMs)
      issues.push({
        path: `${name}.to`,
        message: `is in the future by Redis time (${new Date(nowMs).toISOString()}): a backfill is for past slots; the slots to come fire on schedule`,
      });
    if (typeof fromAt === "number" && typeof toAt === "number" && fromAt > toAt) issues.push({ path: `${name}.to`, message: "must not be before from" });
    if (typeof rate !== "number") issues.push({ path: `${name}.rate`, message: rate.error });
    let total = 0;
    if (issues.length === 0) {
      total = slotsBetween(schedule, (fromAt as number) - 1, toAt as number, 0, MAX_BACKFILL_SLOTS + 1).total;
      if (total > MAX_BACKFILL_SLOTS) issues.push({ path: `${name}.from`, message: `the range holds more than ${MAX_BACKFILL_SLOTS} slots: backfill it in parts` });
    }
    if (issues.length > 0) throw new ConfigError(issues, `invalid backfill of "${name}"`);
    const range = { schedule: name, fromAt: fromAt as number, toAt: toAt as number, ratePerSecond: rate as number };
    if (options.dryRun === true) {
      const { ledgerAt, pause } = await readSlotState(this.#redis, await this.#shardedKeys(), name);
      const split = splitSlots(slotsUpTo(schedule, range.fromAt - 1, range.toAt, MAX_BACKFILL_SLOTS), ledgerAt, pause);
      return { dryRun: true, ...range, total, wouldFire: split.fire.length, skipped: split.skipped, paused: split.paused, firstSlots: split.fire.slice(0, 10) };
    }
    const cluster = await readClusterStatus(this.#redis, await this.#shardedKeys(), nowMs);
    const leading =
      cluster.leader !== null &&
      cluster.peers.some((peer) => peer.role === "leader" && peer.host === cluster.leader?.host && peer.pid === cluster.leader.pid && nowMs - peer.seenAt <= LEADER_FRESH_MS);
    if (!leading) throw new NoLeaderError(this.#namespace, `backfill of "${name}"`);
    const id = await requestBackfill(this.#redis, this.#keys, { ...range, total, requestedAt: nowMs });
    if (options.wait !== true) return (await this.backfillStatus(id)) as BackfillRecord;
    return await this.#waitForBackfill(id, options.onProgress);
  }

  /** A backfill's request and progress; null when there is none of that id (or it expired, a week after it finished). */
  backfillStatus(id: string): Promise<BackfillRecord | null> {
    return readBackfill(this.#redis, this.#keys, id);
  }

  /** Asks the leader to stop a backfill before its next batch; resolves with its record then. Throws NotFoundError for an unknown id. */
  async cancelBackfill(id: string, options: { wait?: boolean } = {}): Promise<BackfillRecord> {
    if (!(await cancelBackfill(this.#redis, this.#keys, id))) throw unknownBackfill(id);
    if (options.wait === true) return await this.#waitForBackfill(id);
    return (await this.backfillStatus(id)) as BackfillRecord;
  }

  async #waitForBackfill(id: string, onProgress?: (record: BackfillRecord) => void): Promise<BackfillRecord> {
    let last = "";
    for (;;) {
      const record = await this.backfillStatus(id);
      if (record === null) throw unknownBackfill(id);
      const seen = JSON.stringify(record);
      if (seen !== last) onProgress?.(record);
      last = seen;
      if (isFinished(record.state)) return record;
      await new Promise((resolve) => setTimeout(resolve, BACKFILL_POLL_MS));
    }
  }

  /**
   * Who leads, the processes, and one page of schedules by name. Reads the names (not every
   * definition) and decodes only the page's entries, so a large deployment costs O(names) in one
   * HKEYS plus O(page); the invalid count is the leader's own (it decodes every entry anyway).
   */
  #shardedKeys(): Promise<ClockKeys> {
    this.#sharded ??= readShardCount(this.#redis, this.#namespace).then(
      (count) => clockKeys(this.#namespace, count),
      (error: unknown) => {
        this.#sharded = null; // read again next time
        throw error;
      },
    );
    return this.#sharded;
  }

  async status(page: StatusPage = {}, now = Date.now()): Promise<ClockStatus> {
    const { offset, limit } = pageBounds(page);
    const [{ defaults, adapters, configSchedules }, dynamicNames, pausedList, cluster] = await Promise.all([
      this.#defaults(),
      this.#redis.hkeys(this.#keys.schedules),
      this.#redis.smembers(this.#keys.paused),
      this.#shardedKeys().then((keys) => readClusterStatus(this.#redis, keys, now)),
    ]);
    const paused = new Set(pausedList);
    const configByName = new Map(configSchedules.map((schedule) => [schedule.name, schedule]));
    let names = [...new Set([...configByName.keys(), ...dynamicNames])].sort();
    if (hasFilter(page)) {
      // A filter needs every definition (labels and groups live in them): O(schedules), one HGETALL.
      const entries = await this.#redis.hgetall(this.#keys.schedules);
      names = names.filter((name) => matchesFilter(configByName.get(name) ?? this.#info(name, entries[name] ?? "", false, defaults, adapters).schedule, page));
    }
    const pageNames = names.slice(offset, offset + limit);
    const dynamicPage = pageNames.filter((name) => !configByName.has(name));
    const raws = dynamicPage.length === 0 ? [] : await this.#redis.hmget(this.#keys.schedules, ...dynamicPage);
    const rawOf = new Map(dynamicPage.map((name, index) => [name, raws[index] ?? null]));
    const rows: StatusRow[] = pageNames.map((name) => {
      const fromConfig = configByName.get(name);
      if (fromConfig !== undefined) return { name, source: "config", paused: paused.has(name), schedule: fromConfig };
      const info = this.#info(name, rawOf.get(name) ?? "", paused.has(name), defaults, adapters);
      return { name, source: "dynamic", paused: info.paused, schedule: info.schedule, ...(info.error === undefined ? {} : { error: info.error }) };
    });
    const { leaderInvalid, ...clusterFields } = cluster;
    return {
      namespace: this.#namespace,
      ...clusterFields,
      schedules: await statusOfRows(this.#redis, await this.#shardedKeys(), rows, now),
      total: names.length,
      offset,
      limit,
      invalidEntries: leaderInvalid ?? rows.filter((row) => row.schedule === null).length,
    };
  }

  /** An error message safe to print: no credentials of the Redis URL. */
  redact(message: string): string {
    return this.#target === null ? message : redactSecrets(message, this.#target);
  }

  /** A failed call in words fit to print ("cannot reach Redis at 127.0.0.1:7149: connection refused"), never credentials. */
  describeError(error: unknown): string {
    return describeRedisError(error, this.#target ?? targetOfInstance(this.#redis), this.#connectionError);
  }

  async close(): Promise<void> {
    if (this.#ownsRedis) await closeRedis(this.#redis);
  }
}

function checkGroup(group: string): void {
  if (typeof group !== "string" || !GROUP_NAME.test(group)) {
    throw new ConfigError([{ path: "group", message: `invalid group name ${JSON.stringify(group)}: use letters, digits, '.', '_', '-' or ':' (at most 200)` }], "invalid group");
  }
}

function isRedisInstance(value: ClientOptions["redis"]): value is Redis {
  return typeof value === "object" && typeof (value as Partial<Redis>).sendCommand === "function";
}

/** Where a given ioredis instance points, for messages (its password is not in them). */
function targetOfInstance(redis: Redis): RedisTarget {
  const { host, port, sentinels, name, db } = redis.options;
  if (Array.isArray(sentinels) && sentinels.length > 0 && typeof name === "string") {
    return { kind: "sentinel", sentinels: sentinels.map((sentinel) => ({ host: sentinel.host ?? "127.0.0.1", port: sentinel.port ?? 26379 })), name, db: db ?? 0 };
  }
  return { kind: "url", url: `redis://${host ?? "127.0.0.1"}:${port ?? 6379}` };
}

export function createClient(options: ClientOptions = {}): ClockClient {
  return new ClockClient(options);
}
