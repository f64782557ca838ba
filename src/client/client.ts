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
import { setPaused } from "../dynamic/pauses.ts";
import { FALLBACK_DEFAULTS, readSnapshot, snapshotOf, type ConfigSnapshot } from "../dynamic/snapshot.ts";
import { checkName, decodeEntry, encodeEntry, validateDefinition, writeChange } from "../dynamic/store.ts";
import { ClashError, ClockError, ConfigError, NotFoundError, TriggerError } from "../errors.ts";
import { Firer, manualJobId } from "../fire/fire.ts";
import { closeRedis, connectRedis, describeRedisError, redactSecrets, resolveRedisTarget, type RedisTarget, type SentinelSettings } from "../redis/connection.ts";
import { clockKeys, type ClockKeys } from "../redis/keys.ts";
import { withScripts } from "../redis/scripts.ts";
import { findNonJson, GROUP_NAME, type Json, type Schedule } from "../schedule/schedule.ts";
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

const SNAPSHOT_MAX_AGE_MS = 10_000;

export class ClockClient {
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #keys: ClockKeys;
  readonly #namespace: string;
  readonly #options: ClientOptions;
  /** Null for a given ioredis instance. */
  readonly #target: RedisTarget | null;
  #connectionError: Error | undefined;
  #snapshot: Promise<ConfigSnapshot | null> | null = null;
  #snapshotAt = 0;

  constructor(options: ClientOptions = {}) {
    this.#options = options;
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
    set: async (name: string, definition: ScheduleInput): Promise<Schedule> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      checkName(name);
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ClashError(name, "replace");
      const schedule = validateDefinition(name, definition, defaults, { settings: adapters, namespace: this.#namespace });
      const encoded = encodeEntry(definition as Record<string, unknown>, Date.now());
      await writeChange(this.#redis, this.#keys, "set", name, (multi) => multi.hset(this.#keys.schedules, name, encoded));
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
    remove: async (name: string): Promise<boolean> => {
      const { configSchedules } = await this.#defaults();
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ClashError(name, "remove");
      if ((await this.#redis.hexists(this.#keys.schedules, name)) === 0) return false;
      await writeChange(this.#redis, this.#keys, "remove", name, (multi) => multi.hdel(this.#keys.schedules, name).srem(this.#keys.paused, name).hdel(this.#keys.pauses, name));
      return true;
    },
    /** Pause means skip: from now (Redis time) no slot fires, not even as catch-up after the resume. */
    pause: async (name: string): Promise<void> => {
      await this.#requireExists(name);
      await setPaused(withScripts(this.#redis), this.#keys, name, true);
    },
    /** Continues from now (Redis time): slots inside the pause never fire; the next slot fires normally. */
    resume: async (name: string): Promise<void> => {
      await this.#requireExists(name);
      await setPaused(withScripts(this.#redis), this.#keys, name, false);
    },
  };

  /**
   * A whole group at once: pause or resume every member (config and dynamic) in one atomic script
   * (pause-group-3.lua: one Redis instant, one change-counter bump, so no member's slot fires after
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
        await writeChange(this.#redis, this.#keys, "group", group, (multi) =>
          multi
            .hdel(this.#keys.schedules, ...dynamic)
            .srem(this.#keys.paused, ...dynamic)
            .hdel(this.#keys.pauses, ...dynamic),
        );
      }
      return { group, members: members.map((info) => info.name), changed: dynamic.length, kept };
    },
  };

  async #pauseGroup(group: string, action: "pause" | "resume", atMs?: number): Promise<GroupResult> {
    const members = (await this.groups.members(group)).map((info) => info.name);
    if (members.length === 0)
      throw new ClockError("not-found", `group "${group}" has no schedules`, { issues: [{ path: "group", message: `no schedule is in group "${group}"` }] });
    const redis = withScripts(this.#redis);
    const [version, changed] = await redis.clockPauseGroup(this.#keys.paused, this.#keys.pauses, this.#keys.changes, action, atMs === undefined ? "" : String(atMs), ...members);
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
  async trigger(name: string, options: { args?: readonly Json[] } = {}): Promise<{ jobId: string; schedule: string; adapter: string; queue: string }> {
    const schedule = await this.#requireExists(name);
    if (options.args !== undefined) {
      const found = Array.isArray(options.args) ? findNonJson(options.args) : { path: [], problem: "expected an array of JSON values" };
      if (found !== null) throw new ConfigError([{ path: ["args", ...found.path].join("."), message: found.problem }], `invalid trigger of "${name}"`);
    }
    const { adapters: settings } = await this.#defaults();
    // A BullMQ trigger writes where this client does: a duplicate of the given instance, or its URL.
    const connect = (overrides: RedisOptions): Redis => (this.#target !== null ? connectRedis(this.#target, overrides) : this.#redis.duplicate(overrides));
    const adapters = new AdapterRegistry(settings, { namespace: this.#namespace, connect }, [schedule.adapter]);
    const firer = new Firer({ redis: withScripts(this.#redis), keys: this.#keys, adapters, token: () => "", now: () => Date.now() });
    const adapter = firer.adapterFor(schedule);
    // Sidekiq-style adapters get a random 24-hex jid, as Sidekiq's own client makes; others a readable id.
    const jobId = adapter.jobIdFor === undefined ? manualJobId(name) : randomBytes(12).toString("hex");
    try {
      const [outcome] = await firer.fire([{ schedule, slotAt: Date.now(), manual: { jobId, ...(options.args === undefined ? {} : { args: options.args }) } }]);
      // The script ran (redisAt is known) but the adapter's own enqueue failed: nothing is queued, nothing kept.
      if (outcome?.status === "error" && outcome.error !== undefined && !Number.isNaN(outcome.redisAt)) throw new TriggerError(name, outcome.error);
      if (outcome?.status !== "fired") throw new Error(`trigger of "${name}" was not enqueued (${outcome?.status ?? "no reply"}): ${outcome?.error?.message ?? ""}`);
      return { jobId, schedule: name, adapter: schedule.adapter, queue: schedule.job.queue };
    } finally {
      await adapters.closeAll();
    }
  }

  /**
   * Who leads, the processes, and one page of schedules by name. Reads the names (not every
   * definition) and decodes only the page's entries, so a large deployment costs O(names) in one
   * HKEYS plus O(page); the invalid count is the leader's own (it decodes every entry anyway).
   */
  async status(page: StatusPage = {}, now = Date.now()): Promise<ClockStatus> {
    const { offset, limit } = pageBounds(page);
    const [{ defaults, adapters, configSchedules }, dynamicNames, pausedList, cluster] = await Promise.all([
      this.#defaults(),
      this.#redis.hkeys(this.#keys.schedules),
      this.#redis.smembers(this.#keys.paused),
      readClusterStatus(this.#redis, this.#keys, now),
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
      schedules: await statusOfRows(this.#redis, this.#keys, rows, now),
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
