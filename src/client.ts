/**
 * The programmatic API: create, change, pause, resume and remove schedules at run time, trigger a
 * job now, read status. Usable from any process of the app; running clocks pick changes up within
 * a second.
 */
import { randomBytes } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { buildAdapters } from "./adapters/index.ts";
import type { Adapter } from "./adapters/types.ts";
import { ConfigError } from "./errors.ts";
import type { ClockConfig, Defaults } from "./config/resolve.ts";
import type { ScheduleInput } from "./config/schema.ts";
import { FALLBACK_DEFAULTS, readSnapshot, snapshotOf, type ConfigSnapshot } from "./dynamic/snapshot.ts";
import { leaderPeer, parsePeers } from "./lease/peers.ts";
import { setPaused } from "./dynamic/pauses.ts";
import { checkName, decodeEntry, encodeEntry, validateDefinition, writeChange } from "./dynamic/store.ts";
import { Firer, manualJobId } from "./fire/fire.ts";
import { holderOf } from "./lease/lease.ts";
import { connectRedis, DEFAULT_REDIS_URL, describeRedisError, redactSecrets } from "./redis/connection.ts";
import { clockKeys, type ClockKeys } from "./redis/keys.ts";
import { withScripts } from "./redis/scripts.ts";
import { findNonJson, type Json, type Schedule } from "./schedule/schedule.ts";
import { nextSlotAfter } from "./schedule/slots.ts";
import { describeSchedule } from "./schedule/describe.ts";

export interface ClientOptions {
  /**
   * A Redis URL or an ioredis instance (not closed by `close()`; a BullMQ trigger writes through a
   * duplicate of it). Default: REDIS_URL, then localhost.
   */
  readonly redis?: string | Redis;
  /** The clock's key namespace (the config's `namespace`); default "clock". */
  readonly namespace?: string;
  /** The app's config, when this process has it: defaults, adapters, and the config schedules. */
  readonly config?: ClockConfig;
  /** Adapters of one's own, for triggering schedules that use them. */
  readonly adapters?: Readonly<Record<string, Adapter>>;
}

export type ScheduleSource = "config" | "dynamic";

export interface ScheduleInfo {
  readonly name: string;
  readonly source: ScheduleSource;
  readonly paused: boolean;
  /** Null for a stored entry that cannot be decoded (see `error`). */
  readonly schedule: Schedule | null;
  readonly definition?: Record<string, unknown>;
  readonly error?: string;
}

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
  readonly lastFiredAt: number | null;
  readonly nextAt: number | null;
  readonly adapter: string;
  readonly queue: string;
  readonly error?: string;
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

export interface ClockStatus {
  readonly namespace: string;
  readonly leader: { readonly host: string; readonly pid: number; readonly since: number; readonly ttlMs: number } | null;
  readonly peers: readonly PeerStatus[];
  readonly schedules: readonly ScheduleStatus[];
  readonly fenceRefusals: number;
  readonly invalidEntries: number;
  /** Null when every process runs the leader's config (or the leader's is not known). */
  readonly configMismatch: ConfigMismatchStatus | null;
}

const SNAPSHOT_MAX_AGE_MS = 10_000;

/** A name that belongs to the config file: it can be paused, resumed and triggered, not replaced or removed. */
export class ScheduleClashError extends ConfigError {
  constructor(name: string, action: "replace" | "remove") {
    super([{ path: name, message: `is defined in the config file; config schedules can be paused, resumed and triggered at run time, not ${action}d` }], `cannot ${action} schedule "${name}"`);
    this.name = "ScheduleClashError";
  }
}

export class ScheduleNotFoundError extends ConfigError {
  constructor(name: string) {
    super([{ path: name, message: "no such schedule" }], `schedule "${name}" not found`);
    this.name = "ScheduleNotFoundError";
  }
}

/** A trigger that enqueued nothing because the adapter's enqueue failed (a missing package, its queue down). */
export class TriggerError extends Error {
  readonly schedule: string;

  constructor(schedule: string, cause: Error) {
    super(`trigger of "${schedule}" was not enqueued: ${cause.message}`, { cause });
    this.name = "TriggerError";
    this.schedule = schedule;
  }
}

export class ClockClient {
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #keys: ClockKeys;
  readonly #namespace: string;
  readonly #options: ClientOptions;
  readonly #url: string;
  #connectionError: Error | undefined;
  #snapshot: Promise<ConfigSnapshot | null> | null = null;
  #snapshotAt = 0;

  constructor(options: ClientOptions = {}) {
    this.#options = options;
    this.#namespace = options.namespace ?? options.config?.namespace ?? "clock";
    this.#keys = clockKeys(this.#namespace);
    if (typeof options.redis === "object") {
      this.#redis = options.redis;
      this.#ownsRedis = false;
      this.#url = "";
    } else {
      this.#url = options.redis ?? process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL;
      this.#redis = connectRedis(this.#url, { lazyConnect: false, enableOfflineQueue: true, retryStrategy: (attempt) => (attempt > 3 ? null : 100 * attempt) });
      this.#redis.on("error", (error: Error) => {
        // Surfaced as rejected calls; kept to explain them (a rejected call says only "max retries").
        this.#connectionError = error;
      });
      this.#redis.on("ready", () => {
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
      defaults: snapshot?.defaults ?? FALLBACK_DEFAULTS,
      adapters: { ...snapshot?.adapters, ...this.#options.adapters },
      configSchedules: snapshot?.schedules ?? [],
    };
  }

  readonly schedules = {
    /** Creates or replaces a dynamic schedule; throws ConfigError listing each bad field. */
    set: async (name: string, definition: ScheduleInput): Promise<Schedule> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      checkName(name);
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ScheduleClashError(name, "replace");
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
    list: async (): Promise<ScheduleInfo[]> => {
      const { defaults, adapters, configSchedules } = await this.#defaults();
      const [entries, pausedList] = await Promise.all([this.#redis.hgetall(this.#keys.schedules), this.#redis.smembers(this.#keys.paused)]);
      const paused = new Set(pausedList);
      const configNames = new Set(configSchedules.map((schedule) => schedule.name));
      const infos: ScheduleInfo[] = configSchedules.map((schedule) => ({ name: schedule.name, source: "config", paused: paused.has(schedule.name), schedule }));
      for (const [name, raw] of Object.entries(entries)) {
        if (!configNames.has(name)) infos.push(this.#info(name, raw, paused.has(name), defaults, adapters));
      }
      return infos.sort((a, b) => a.name.localeCompare(b.name));
    },
    /** Removes a dynamic schedule; false when there was none. Config schedules cannot be removed. */
    remove: async (name: string): Promise<boolean> => {
      const { configSchedules } = await this.#defaults();
      if (configSchedules.some((schedule) => schedule.name === name)) throw new ScheduleClashError(name, "remove");
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

  async #requireExists(name: string): Promise<Schedule> {
    const info = await this.schedules.get(name);
    if (info === null) throw new ScheduleNotFoundError(name);
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
    const connect = (overrides: RedisOptions): Redis => (this.#ownsRedis ? connectRedis(this.#url, overrides) : this.#redis.duplicate(overrides));
    const adapters = buildAdapters(new Set([schedule.adapter]), settings, { namespace: this.#namespace, connect });
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
      for (const built of adapters.values()) await built.close?.();
    }
  }

  async status(now = Date.now()): Promise<ClockStatus> {
    const [leaseValue, pttl, peersRaw, ledgerRaw, fenceRefusals, infos] = await Promise.all([
      this.#redis.get(this.#keys.lease),
      this.#redis.pttl(this.#keys.lease),
      this.#redis.hgetall(this.#keys.peers),
      this.#redis.hgetall(this.#keys.ledger),
      this.#redis.hget(this.#keys.stats, "fenceRefusals"),
      this.schedules.list(),
    ]);
    const holder = leaseValue === null ? null : holderOf(leaseValue);
    // Peers heard from recently; a corrupt entry is not worth failing status for.
    const peerMap = parsePeers(peersRaw, now);
    const peers: PeerStatus[] = [...peerMap.values()];
    const leaderConfig = leaderPeer(peerMap, holder)?.[1].config;
    const differing = leaderConfig === undefined ? [] : peers.filter((peer) => peer.config !== undefined && peer.config !== leaderConfig);
    const schedules = infos.map((info): ScheduleStatus => {
      const last = ledgerRaw[info.name];
      const lastFiredAt = last === undefined || !Number.isFinite(Number(last)) ? null : Number(last);
      const schedule = info.schedule;
      if (schedule === null) {
        return { name: info.name, source: info.source, rule: "(invalid)", ruleInWords: "(invalid)", description: null, timezone: "", enabled: false, paused: info.paused, lastFiredAt, nextAt: null, adapter: "", queue: "", error: info.error ?? "invalid" };
      }
      const active = schedule.enabled && !info.paused;
      return {
        name: info.name,
        source: info.source,
        rule: schedule.ruleText,
        ruleInWords: describeSchedule(schedule),
        description: schedule.description ?? null,
        timezone: schedule.timezone,
        enabled: schedule.enabled,
        paused: info.paused,
        lastFiredAt,
        nextAt: active ? nextSlotAfter(schedule, Math.max(now, lastFiredAt ?? now)) : null,
        adapter: schedule.adapter,
        queue: schedule.job.queue,
      };
    });
    return {
      namespace: this.#namespace,
      leader: holder === null ? null : { ...holder, ttlMs: Math.max(0, pttl) },
      peers: peers.sort((a, b) => (a.role === b.role ? a.host.localeCompare(b.host) || a.pid - b.pid : a.role === "leader" ? -1 : 1)),
      schedules,
      fenceRefusals: Number(fenceRefusals ?? 0),
      invalidEntries: infos.filter((info) => info.schedule === null).length,
      configMismatch:
        leaderConfig === undefined || differing.length === 0 ? null : { leader: leaderConfig, peers: differing.map((peer) => ({ host: peer.host, pid: peer.pid, role: peer.role, config: peer.config as string })) },
    };
  }

  /** An error message safe to print: no credentials of the Redis URL. */
  redact(message: string): string {
    return this.#url === "" ? message : redactSecrets(message, this.#url);
  }

  /** A failed call in words fit to print ("cannot reach Redis at 127.0.0.1:7149: connection refused"), never credentials. */
  describeError(error: unknown): string {
    const { host, port } = this.#redis.options;
    return describeRedisError(error, this.#url === "" ? `redis://${host ?? "127.0.0.1"}:${port ?? 6379}` : this.#url, this.#connectionError);
  }

  async close(): Promise<void> {
    if (!this.#ownsRedis) return;
    if (this.#redis.status === "ready") await this.#redis.quit().catch(() => this.#redis.disconnect());
    else this.#redis.disconnect();
  }
}

export function createClient(options: ClientOptions = {}): ClockClient {
  return new ClockClient(options);
}
