/**
 * A running clock, built whole by start.ts or dry-run.ts: its events, status and health from what
 * it holds in memory (the HTTP server reads only this), the actions of the status page, and stop.
 */
import type { ClockClient, GroupResult } from "../client/client.ts";
import { hasFilter, matchesFilter, pageBounds, readClusterStatus, SortedNames, statusOfRows, type ClockStatus, type StatusPage, type StatusRow } from "../client/status.ts";
import type { ConfigWatch } from "../dynamic/config-watch.ts";
import type { DynamicSync } from "../dynamic/sync.ts";
import { ClockError } from "../errors.ts";
import type { HistoryEntry } from "../history/store.ts";
import type { ClockEvents } from "../events.ts";
import type { Leadership } from "../lease/lease.ts";
import type { Planner } from "../planner/planner.ts";

/** What the running clock reads of its planner: one Planner (a dry run), or the planners of its shards (planner/shards.ts). */
export type PlannerView = Pick<Planner, "size" | "lastWakeAt" | "overdueMs" | "nextAtOf" | "quietFor" | "stop" | "upsert" | "remove" | "invalidate">;
import type { ClockKeys } from "../redis/keys.ts";
import type { Json, Schedule } from "../schedule/schedule.ts";
import { SECOND, type Clock } from "../time.ts";
import type { ClockConnection } from "./connection.ts";
import type { Liveness } from "./liveness.ts";
import type { ClockMetrics } from "./metrics.ts";
import type { RecentFire, ReplicationTally } from "./observe.ts";

/** No slot this close while a status page is built (5-15 ms from here to the last byte, Redis round trips included), or all names re-sorted. */
const QUIET_MS = 100;
const QUIET_AFTER_CHANGE_MS = 300;

/** The planner this long past its own timer (or in one fire) is stuck: a blocked event loop or a fire that never ends. */
const STALL_MS = 5 * SECOND;

export interface Health {
  readonly healthy: boolean;
  readonly body: Readonly<Record<string, unknown>>;
}

/** The parts of a clock that talks to Redis (absent in a dry run). */
export interface RedisParts {
  readonly connection: ClockConnection;
  readonly keys: ClockKeys;
  readonly sync: DynamicSync;
  readonly configWatch: ConfigWatch;
  /** Whether some process leads and fires: the lease's errors, this clock's fires, the leader's heartbeat. */
  readonly liveness: Liveness;
  /** Pause, resume and trigger through the clock's own connection. */
  readonly client: ClockClient;
}

/** `durability` as a running clock reports it: the setting, and what no replica confirmed. */
export interface DurabilityStatus {
  readonly replicas: number;
  readonly timeoutMs: number;
  /** Slots fired in batches fewer replicas than asked acknowledged, since this process started. */
  readonly unreplicatedFires: number;
  readonly unreplicatedBatches: number;
  readonly lastUnreplicatedAt: number | null;
}

export interface RunningParts {
  readonly namespace: string;
  readonly clock: Clock;
  readonly events: ClockEvents;
  readonly planner: PlannerView;
  readonly leadership: Leadership;
  readonly metrics: ClockMetrics;
  readonly recentFires: readonly RecentFire[];
  /** The config's `durability` (null: off) and the tally of unreplicated batches (absent in a dry run). */
  readonly replication?: { readonly durability: { readonly replicas: number; readonly timeoutMs: number } | null; readonly tally: Readonly<ReplicationTally> };
  /** The schedules a dry run plans (a clock with Redis lists its sync's). */
  readonly schedules: readonly Schedule[];
  readonly redis: RedisParts | null;
  /** Run in order by stop(). */
  readonly stopSteps: readonly (() => Promise<void>)[];
}

export class RunningClock {
  /** Every component's events: subscribe to fires, refusals, leadership, Redis state, ... */
  readonly events: ClockEvents;
  readonly metrics: ClockMetrics;
  readonly planner: PlannerView;
  readonly leadership: Leadership;
  readonly #parts: RunningParts;
  readonly #names = new SortedNames();
  readonly #extraStops: (() => Promise<void>)[] = [];
  #stopped: Promise<void> | null = null;

  constructor(parts: RunningParts) {
    this.#parts = parts;
    this.events = parts.events;
    this.metrics = parts.metrics;
    this.planner = parts.planner;
    this.leadership = parts.leadership;
  }

  /** The latest fires, newest last. */
  get recentFires(): readonly RecentFire[] {
    return this.#parts.recentFires;
  }

  /** Null unless `durability` is configured. */
  get durability(): DurabilityStatus | null {
    const replication = this.#parts.replication;
    if (replication === undefined || replication.durability === null) return null;
    return { ...replication.durability, ...replication.tally };
  }

  get dryRun(): boolean {
    return this.#parts.redis === null;
  }

  /** Runs `step` after the clock's own stop steps (the HTTP server closes this way). */
  onStop(step: () => Promise<void>): void {
    this.#extraStops.push(step);
  }

  /** Whether Redis answers (true in a dry run). */
  async ping(): Promise<boolean> {
    return (await this.#parts.redis?.connection.ping()) ?? true;
  }

  /**
   * One page of schedules by name, from memory: the names this clock knows (sorted once per
   * change), the planner's next slots, and one HMGET of the page's ledger entries; plus who leads.
   */
  async status(page: StatusPage = {}): Promise<ClockStatus> {
    const { offset, limit } = pageBounds(page);
    const now = this.#parts.clock.now();
    const redis = this.#parts.redis;
    if (redis === null) return this.#dryRunStatus(offset, limit, page);
    const { sync } = redis;
    // Building a page blocks the loop for a few ms (sorting every name after a change, longer): not next to a slot.
    await this.planner.quietFor(this.#names.fresh(sync.appliedChanges) ? QUIET_MS : QUIET_AFTER_CHANGE_MS);
    const allNames = this.#names.get(sync.appliedChanges, () => new Set([...sync.configSchedules.keys(), ...sync.dynamicSchedules.keys(), ...sync.invalidEntries.keys()]));
    // A label or group filter looks at every schedule this clock holds (memory only, no Redis read).
    const names = hasFilter(page) ? allNames.filter((name) => matchesFilter(sync.configSchedules.get(name) ?? sync.dynamicSchedules.get(name), page)) : allNames;
    const rows: StatusRow[] = names.slice(offset, offset + limit).map((name) => {
      const paused = sync.pausedNames.has(name);
      const fromConfig = sync.configSchedules.get(name);
      if (fromConfig !== undefined) return { name, source: "config", paused, schedule: fromConfig };
      const error = sync.invalidEntries.get(name);
      return { name, source: "dynamic", paused, schedule: sync.dynamicSchedules.get(name) ?? null, ...(error === undefined ? {} : { error }) };
    });
    const [cluster, schedules] = await Promise.all([
      readClusterStatus(redis.connection.redis, redis.keys, now),
      statusOfRows(redis.connection.redis, redis.keys, rows, now, (name) => this.planner.nextAtOf(name)),
    ]);
    const { leaderInvalid: _leaderInvalid, ...clusterFields } = cluster;
    const durability = this.durability;
    return {
      namespace: this.#parts.namespace,
      ...clusterFields,
      schedules,
      total: names.length,
      offset,
      limit,
      invalidEntries: sync.invalidCount,
      ...(durability === null ? {} : { durability }),
    };
  }

  #dryRunStatus(offset: number, limit: number, page: StatusPage): ClockStatus {
    const sorted = this.#parts.schedules.filter((schedule) => matchesFilter(schedule, page)).sort((a, b) => a.name.localeCompare(b.name));
    const schedules = sorted.slice(offset, offset + limit).map((schedule) => ({
      name: schedule.name,
      source: "config" as const,
      rule: schedule.ruleText,
      ruleInWords: schedule.ruleText,
      description: schedule.description ?? null,
      timezone: schedule.timezone,
      enabled: schedule.enabled,
      paused: false,
      lastFiredAt: null,
      nextAt: this.planner.nextAtOf(schedule.name) ?? null,
      adapter: schedule.adapter,
      queue: schedule.job.queue,
      done: schedule.enabled && this.planner.nextAtOf(schedule.name) === undefined,
    }));
    return { namespace: this.#parts.namespace, leader: null, peers: [], fenceRefusals: 0, configMismatch: null, schedules, total: sorted.length, offset, limit, invalidEntries: 0 };
  }

  /**
   * Healthy while Redis answers, the planner runs, and some process leads and fires: this one (its
   * fires not failing for longer than TTL + retry), or a leader whose heartbeat still moves; the
   * lease's own errors (READONLY, WRONGTYPE) count. A config mismatch is a warning only (a rolling
   * deploy has one).
   */
  async health(): Promise<Health> {
    const redis = await this.ping();
    const sinceWakeMs = this.#parts.clock.now() - this.planner.lastWakeAt;
    const overdueMs = this.planner.overdueMs;
    const reasons: string[] = [];
    if (!redis) reasons.push("redis does not answer");
    if (overdueMs > STALL_MS) reasons.push(`planner is ${Math.round(overdueMs)} ms behind its timer (a fire that does not end, or a blocked event loop)`);
    // With Redis down, that is the reason: the lease and the fires fail because of it.
    const liveness = this.#parts.redis?.liveness.report() ?? null;
    if (redis && liveness !== null) reasons.push(...liveness.reasons);
    // A config that differs from the leader's is a warning, not unhealthy: a rolling deploy runs two
    // configs for a while, and a failing probe would restart this pod (fixing nothing) or keep it
    // from becoming ready, so the deploy that ends the mismatch would never finish.
    const watch = this.#parts.redis?.configWatch ?? null;
    const configMismatch = watch?.mismatch ?? null;
    const warnings =
      configMismatch === null
        ? []
        : [
            `config differs from the leader's (${configMismatch.fingerprint} here, ${configMismatch.leaderFingerprint} on ${configMismatch.leader.host}/${configMismatch.leader.pid})`,
          ];
    return {
      healthy: reasons.length === 0,
      body: {
        status: reasons.length === 0 ? "ok" : "unhealthy",
        role: this.leadership.isLeader() ? "leader" : "standby",
        redis,
        plannerLastRunMsAgo: Math.round(sinceWakeMs),
        ...liveness?.fields,
        reasons,
        configFingerprint: watch?.fingerprint ?? null,
        configMismatch,
        warnings,
        // Unreplicated fires are a warning: replicas lagging is no reason to restart the clock.
        ...(this.durability === null ? {} : { durability: this.durability }),
      },
    };
  }

  #client(): ClockClient {
    const client = this.#parts.redis?.client;
    if (client === undefined) throw new ClockError("redis", "no Redis in a dry run");
    return client;
  }

  /**
   * Pauses a schedule (`reason` for status, `until` when the leader resumes it by itself); `actor`:
   * who, in the audit of changes. Resolved once this process's own view (status, planner) has it,
   * not only Redis: a status read right after shows it paused.
   */
  async pause(name: string, options: { reason?: string; until?: string | number | Date; actor?: string } = {}): Promise<void> {
    await this.#client().schedules.pause(name, options);
    await this.#parts.redis?.sync.refresh(name);
  }

  /** Resumes a schedule; like `pause`, resolved once this process's own view (status, planner) has it. */
  async resume(name: string, options: { actor?: string } = {}): Promise<void> {
    await this.#client().schedules.resume(name, options);
    await this.#parts.redis?.sync.refresh(name);
  }

  /** The schedule's last fires with their outcomes, newest first (empty in a dry run). */
  async history(name: string, options: { limit?: number } = {}): Promise<HistoryEntry[]> {
    if (this.#parts.redis === null) return [];
    return await this.#client().history(name, options);
  }

  /** Pauses every member of a group in one atomic write (see ClockClient.groups). */
  pauseGroup(group: string): Promise<GroupResult> {
    return this.#client().groups.pause(group);
  }

  resumeGroup(group: string): Promise<GroupResult> {
    return this.#client().groups.resume(group);
  }

  trigger(name: string, options: { args?: readonly Json[]; actor?: string } = {}): Promise<{ jobId: string; schedule: string; adapter: string; queue: string }> {
    return this.#client().trigger(name, options);
  }

  /** Stops planning, lets an in-flight fire finish, hands the lease over, closes Redis. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const step of [...this.#parts.stopSteps, ...this.#extraStops]) await step();
    })();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
