/**
 * `clock start`, as a library call: wires config -> planner -> lease -> fire -> adapters, logs one
 * line per fire, and stops cleanly. Everything below is injected so tests can drive time.
 */
import { EventEmitter } from "node:events";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { RedisOptions } from "ioredis";
import { buildAdapters, slotJobId } from "./adapters/index.ts";
import type { Adapter, Write } from "./adapters/types.ts";
import { loadAdapterPackages } from "./config/packages.ts";
import type { ClockConfig } from "./config/resolve.ts";
import { Firer, type FireOutcome, type FireRequest } from "./fire/fire.ts";
import { AlwaysLeader, type Leadership } from "./lease/lease.ts";
import { RedisLease } from "./lease/redis-lease.ts";
import type { Logger } from "./log.ts";
import { Planner } from "./planner/planner.ts";
import { connectRedis, DEFAULT_REDIS_URL, describeRedisError, redactRedisUrl, redactSecrets } from "./redis/connection.ts";
import { clockKeys } from "./redis/keys.ts";
import { withScripts } from "./redis/scripts.ts";
import { MINUTE, SECOND } from "./schedule/duration.ts";
import { formatSlot } from "./schedule/format.ts";
import type { Schedule } from "./schedule/schedule.ts";
import { systemClock, type Clock } from "./time.ts";
import { DynamicSync } from "./dynamic/sync.ts";
import { ClockMetrics } from "./metrics.ts";
import { ClockClient } from "./client.ts";
import { snapshotOf, writeSnapshot } from "./dynamic/snapshot.ts";
import { readPlannerLedger } from "./dynamic/pauses.ts";
import { ConfigWatch } from "./dynamic/config-watch.ts";
import { fingerprintConfig } from "./dynamic/fingerprint.ts";

export interface StartOptions {
  readonly config: ClockConfig;
  readonly logger: Logger;
  /** Default: REDIS_URL, then redis://127.0.0.1:6379. */
  readonly redisUrl?: string;
  /** No Redis: log what would be enqueued, at the right times. */
  readonly dryRun?: boolean;
  readonly clock?: Clock;
  /** Adapters of one's own, by name (also possible as objects in the config's `adapters`). */
  readonly adapters?: Readonly<Record<string, Adapter>>;
  readonly leaseTtlMs?: number;
  readonly leaseRetryMs?: number;
  readonly version?: string;
  /** How often a clock that does not lead compares its config with the leader's; default a minute. */
  readonly configCheckMs?: number;
}

export interface ClockEvents {
  fired: [outcome: FireOutcome, lagMs: number];
  refused: [outcome: FireOutcome];
  leader: [leading: boolean];
  ready: [];
}

/** Warn when local time and Redis TIME differ by more than this. */
const SKEW_WARN_MS = 500;
const SKEW_CHECK_MS = MINUTE;
const OUTBOX_DRAIN_MS = 30 * SECOND;
const RECONCILE_MS = MINUTE;
const CONFIG_CHECK_MS = MINUTE;

export interface RecentFire {
  readonly schedule: string;
  readonly slotAt: number;
  readonly lagMs: number;
  readonly jobId: string;
  readonly catchUp: boolean;
}

const RECENT_FIRES = 200;

export class RunningClock extends EventEmitter<ClockEvents> {
  readonly #stops: (() => Promise<void>)[] = [];
  readonly planner: Planner;
  readonly leadership: Leadership;
  /** Dynamic schedules (null in a dry run). */
  sync: DynamicSync | null = null;
  /** Reads status and acts on schedules through Redis (null in a dry run). */
  client: ClockClient | null = null;
  /** This clock's config against the leader's (null in a dry run). */
  configWatch: ConfigWatch | null = null;
  readonly metrics: ClockMetrics;
  /** The latest fires, newest last, for the status page. */
  readonly recentFires: RecentFire[] = [];
  /** Answers whether Redis responds (true in a dry run). */
  ping: () => Promise<boolean> = async () => true;
  #stopped: Promise<void> | null = null;

  constructor(planner: Planner, leadership: Leadership, metrics = new ClockMetrics()) {
    super();
    this.planner = planner;
    this.leadership = leadership;
    this.metrics = metrics;
  }

  onStop(step: () => Promise<void>): void {
    this.#stops.push(step);
  }

  /** Stops planning, lets an in-flight fire finish, hands the lease over, closes Redis. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      for (const step of this.#stops) await step();
    })();
    return this.#stopped;
  }
}

function describeWrites(writes: readonly Write[]): string[] {
  return writes.map((write) => `${write.command} ${write.key} ${write.args.join(" ")}`);
}

export async function startClock(options: StartOptions): Promise<RunningClock> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const redisUrl = options.redisUrl ?? process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL;
  const keys = clockKeys(config.namespace);
  const used = new Set(config.schedules.map((schedule) => schedule.adapter));
  const adapterSettings = { ...config.adapters, ...options.adapters };
  // Adapters with a client of their own (BullMQ) connect to the clock's Redis, never to a default.
  const adapterContext = { namespace: config.namespace, connect: (overrides: RedisOptions) => connectRedis(redisUrl, overrides) };
  const adapters = buildAdapters(used, adapterSettings, adapterContext);
  await loadAdapterPackages(adapters, config.schedules);
  const log = logger;
  const peerId = `${hostname()}|${process.pid}|${randomBytes(3).toString("hex")}`;

  if (options.dryRun === true) return startDryRun(options, clock, adapters);

  const redis = withScripts(connectRedis(redisUrl));
  const subscriber = connectRedis(redisUrl, { enableOfflineQueue: true });
  let redisDown = false;
  let everConnected = false;
  // The connection's last error explains a failed command, which ioredis words only as "max retries".
  let connectionError: Error | undefined;
  const inWords = (error: unknown): string => describeRedisError(error, redisUrl, connectionError);
  // Errors can come before the running clock exists (an unreachable Redis at start).
  const metrics = new ClockMetrics();
  redis.on("error", (error: Error) => {
    metrics.redisErrors.inc();
    connectionError = error;
    if (redisDown) return;
    redisDown = true;
    const fields = { err: { message: inWords(error) }, redis: redactRedisUrl(redisUrl) };
    log.error(fields, everConnected ? "redis connection lost; reconnecting" : "redis unreachable; retrying with backoff");
  });
  redis.on("ready", () => {
    everConnected = true;
    connectionError = undefined;
  });
  subscriber.on("error", () => {
    // reported through the main connection
  });

  // Unreachable at start is logged by the error handler; the connection keeps retrying on its own.
  await redis.connect().catch(() => undefined);
  await subscriber.connect().catch(() => undefined);

  const configWatch = new ConfigWatch({
    redis,
    keys,
    peerId,
    compute: () => fingerprintConfig(config, options.adapters),
    isLeader: () => leadership.isLeader(),
    now: () => clock.now(),
    log,
    redact: (message) => redactSecrets(message, redisUrl),
  });
  configWatch.prepare();
  const leadership = new RedisLease({
    redis,
    subscriber,
    keys,
    clock,
    ttlMs: options.leaseTtlMs ?? config.lease.ttlMs,
    retryMs: options.leaseRetryMs ?? config.lease.retryMs,
    onHeartbeat: (leader) => {
      void redis
        .hset(keys.peers, peerId, JSON.stringify({ host: hostname(), pid: process.pid, role: leader ? "leader" : "standby", seenAt: clock.now(), version: options.version ?? "", config: configWatch.fingerprint ?? undefined }))
        .catch(() => undefined);
    },
  });
  const firer = new Firer({
    redis,
    keys,
    adapters,
    token: () => leadership.token(),
    now: () => clock.now(),
    onEnqueueError: (outcome, error) =>
      log.error({ schedule: outcome.request.schedule.name, jobId: outcome.jobId, err: { message: redactSecrets(error.message, redisUrl) } }, "enqueue failed after the ledger advanced; kept in the outbox for retry"),
  });
  const planner = new Planner({
    clock,
    fire: (requests) => firer.fire(requests),
    readLedger: () => readPlannerLedger(redis, keys),
    leadership,
    spin: clock === systemClock,
    events: plannerEvents(log, () => running, inWords),
  });
  const running: RunningClock = new RunningClock(planner, leadership, metrics);
  running.configWatch = configWatch;

  redis.on("ready", () => {
    if (!redisDown) return;
    redisDown = false;
    log.info({ redis: redactRedisUrl(redisUrl) }, "redis connection restored");
    planner.invalidate();
  });

  const drainOutbox = async (): Promise<void> => {
    if (!leadership.isLeader()) return;
    try {
      const count = await firer.drainOutbox((field, reason) => log.warn({ entry: field.replace("\0", "@"), reason }, "corrupt outbox entry removed"));
      if (count > 0) log.info({ count }, "outbox enqueues retried");
    } catch (error) {
      log.warn({ err: { message: inWords(error) } }, "outbox retry failed; will try again");
    }
  };
  leadership.onChange((leading) => {
    log.info({ leader: leading, peer: peerId.split("|").slice(0, 2).join("|") }, leading ? "leadership acquired" : "leadership lost");
    running.metrics.leader.set(leading ? 1 : 0);
    running.metrics.leaseTransitions.inc({ to: leading ? "leader" : "standby" });
    running.emit("leader", leading);
    if (leading) void drainOutbox();
  });

  const checkSkew = async (): Promise<void> => {
    try {
      const before = clock.now();
      const [seconds, micros] = await redis.time();
      const after = clock.now();
      const redisAt = Number(seconds) * 1000 + Number(micros) / 1000;
      const skewMs = (before + after) / 2 - redisAt;
      if (Math.abs(skewMs) > SKEW_WARN_MS) log.warn({ skewMs: Math.round(skewMs) }, "local clock differs from Redis TIME; slots are never fired before their instant by Redis time");
    } catch {
      // Redis down: the connection error is logged already
    }
  };

  // Background tasks, each re-armed after it finishes; none re-arms once stopping began.
  const timers = new Set<unknown>();
  let stopping = false;
  const every = (ms: number, task: () => Promise<void>): void => {
    const loop = (): void => {
      if (stopping) return;
      const timer = clock.setTimeout(() => {
        timers.delete(timer);
        void task().finally(loop);
      }, ms);
      timers.add(timer);
    };
    loop();
  };

  const sync = new DynamicSync({
    redis,
    subscriber,
    keys,
    configSchedules: config.schedules,
    defaults: { timezone: config.timezone, adapter: config.adapter, catchUp: config.catchUp },
    adapterCheck: { settings: adapterSettings, namespace: config.namespace },
    ensureAdapter: (name) => {
      if (!adapters.has(name)) {
        for (const [built, adapter] of buildAdapters(new Set([name]), adapterSettings, adapterContext)) adapters.set(built, adapter);
      }
    },
    onInvalid: (name, reason) => log.warn({ schedule: name, reason }, "invalid dynamic schedule skipped; the others keep firing"),
    onClash: (name) => log.warn({ schedule: name }, "dynamic schedule ignored: the config file defines a schedule of that name"),
    onChange: (kind, name, fields) => log.info({ schedule: name, change: kind, ...fields }, "schedule change applied"),
    now: () => clock.now(),
  });
  running.sync = sync;
  running.client = new ClockClient({ redis, config, adapters: options.adapters ?? {} });
  running.ping = async () => {
    try {
      return (await Promise.race([redis.ping(), new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), SECOND).unref())])) === "PONG";
    } catch {
      return false;
    }
  };
  running.metrics.sources = { schedules: () => planner.size, invalidSchedules: () => sync.invalidCount };
  let schedules: readonly Schedule[] = config.schedules;
  try {
    schedules = await sync.load();
  } catch (error) {
    log.warn({ err: { message: inWords(error) } }, "could not read dynamic schedules at start; will reconcile when Redis answers");
  }

  log.info(
    {
      version: options.version,
      schedules: schedules.length,
      dynamic: schedules.length - config.schedules.filter((schedule) => !sync.pausedNames.has(schedule.name)).length,
      invalid: sync.invalidCount,
      enabled: schedules.filter((schedule) => schedule.enabled).length,
      redis: redactRedisUrl(redisUrl),
      namespace: config.namespace,
      adapters: [...adapters.keys()],
    },
    "clock started",
  );
  await checkSkew();
  planner.start(schedules);
  await leadership.start();
  // Off the path to the first fire: clients read it, the planner does not.
  writeSnapshot(redis, keys, snapshotOf(config, clock.now())).catch((error: unknown) =>
    log.warn({ err: { message: inWords(error) } }, "could not publish the config snapshot for clients; will retry at the next start"),
  );
  await sync.start(planner).catch((error: unknown) => log.warn({ err: { message: inWords(error) } }, "could not subscribe to schedule changes; polling instead"));
  every(SECOND, () => sync.poll().catch(() => undefined));
  // Catches entries written around the API (by hand, by an older version) that bumped no counter.
  every(RECONCILE_MS, () => sync.reconcile().catch(() => undefined));
  every(SKEW_CHECK_MS, checkSkew);
  every(OUTBOX_DRAIN_MS, drainOutbox);
  void configWatch.check();
  every(options.configCheckMs ?? CONFIG_CHECK_MS, () => configWatch.check());

  running.onStop(async () => {
    stopping = true;
    for (const timer of timers) clock.clearTimeout(timer);
    await planner.stop();
    await leadership.stop();
    await redis.hdel(keys.peers, peerId).catch(() => undefined);
    for (const adapter of adapters.values()) await adapter.close?.().catch(() => undefined);
    for (const connection of [redis, subscriber]) {
      // QUIT only on a live connection: on a reconnecting one it would wait for Redis to come back.
      if (connection.status === "ready") await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    }
    log.info("clock stopped");
  });
  running.emit("ready");
  return running;
}

/** `inWords` turns a fire's Redis error into words (the dry run has no Redis: its message as is). */
function plannerEvents(log: Logger, clock: () => RunningClock, inWords: (error: Error) => string = (error) => error.message) {
  let failing = false;
  const fireLine = (outcome: FireOutcome, lagMs: number, catchUp: boolean) => {
    const { schedule, slotAt } = outcome.request;
    log.info(
      {
        schedule: schedule.name,
        slot: formatSlot(slotAt, schedule.timezone),
        lagMs: Math.round(lagMs * 1000) / 1000,
        jobId: outcome.jobId,
        adapter: schedule.adapter,
        queue: schedule.job.queue,
        class: schedule.job.class,
        ...(catchUp ? { catchUp: true } : {}),
      },
      "fired",
    );
  };
  return {
    fired(outcome: FireOutcome, lagMs: number, catchUp: boolean) {
      failing = false;
      fireLine(outcome, lagMs, catchUp);
      const running = clock();
      const { schedule, slotAt } = outcome.request;
      running.metrics.fires.inc({ schedule: schedule.name, adapter: schedule.adapter });
      running.metrics.lag.observe(Math.max(0, lagMs) / 1000);
      if (catchUp) running.metrics.catchUpFires.inc();
      running.recentFires.push({ schedule: schedule.name, slotAt, lagMs, jobId: outcome.jobId, catchUp });
      if (running.recentFires.length > RECENT_FIRES) running.recentFires.shift();
      running.emit("fired", outcome, lagMs);
    },
    refused(outcome: FireOutcome) {
      const { schedule, slotAt } = outcome.request;
      const fields = { schedule: schedule.name, slot: formatSlot(slotAt, schedule.timezone), jobId: outcome.jobId };
      if (outcome.status === "fenced") {
        log.warn(fields, "fire refused: this process no longer holds the lease (fenced)");
        clock().metrics.fenceRefusals.inc();
      }
      else if (outcome.status === "duplicate") log.debug(fields, "slot already fired; skipped");
      else if (outcome.status === "early") log.debug(fields, "Redis time is before the slot; retrying");
      else if (outcome.status === "paused") log.debug(fields, "schedule paused in Redis; slot skipped");
      clock().emit("refused", outcome);
    },
    skipped(schedule: Schedule, count: number, capped: boolean) {
      clock().metrics.skippedSlots.inc(count);
      log.warn({ schedule: schedule.name, skipped: count, policy: schedule.catchUp.policy, capped }, capped ? "catch-up bound reached; older missed slots skipped" : "missed slots skipped by catch-up policy");
    },
    fireFailed(error: Error, slots: number) {
      // The first failure of a run of them is an error; the retries that follow are debug noise.
      if (failing) log.debug({ err: { message: inWords(error) }, slots }, "fire failed again; retrying");
      else log.error({ err: { message: inWords(error) }, slots }, "fire failed; retrying with catch-up");
      failing = true;
      clock().metrics.redisErrors.inc();
    },
    lateWake(lateMs: number) {
      log.warn({ lateMs: Math.round(lateMs) }, "timer woke late (event loop blocked or process paused)");
    },
    clockJump(jumpMs: number) {
      log.warn({ jumpMs: Math.round(jumpMs) }, jumpMs > 0 ? "wall clock jumped forward; missed slots follow the catch-up policy" : "wall clock jumped backward; no slot fires twice");
    },
  };
}

/** Dry run: no Redis; every fire is logged with the writes it would make. */
async function startDryRun(options: StartOptions, clock: Clock, adapters: ReadonlyMap<string, Adapter>): Promise<RunningClock> {
  const { config, logger: log } = options;
  const leadership = new AlwaysLeader();
  const ledger = new Map<string, number>();
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> => {
    const now = clock.now();
    return requests.map((request) => {
      const adapter = adapters.get(request.schedule.adapter) as Adapter;
      const jobId = slotJobId(adapter, request.schedule.name, request.slotAt);
      const last = ledger.get(request.schedule.name);
      if (last !== undefined && last >= request.slotAt) return { request, status: "duplicate", jobId, redisAt: now };
      ledger.set(request.schedule.name, request.slotAt);
      const writes = adapter.writes?.({ schedule: request.schedule.name, slotAt: request.slotAt, jobId, job: request.schedule.job, enqueuedAt: now }) ?? [];
      log.info({ schedule: request.schedule.name, jobId, writes: writes.length > 0 ? describeWrites(writes) : [`${adapter.name}.enqueue(${request.schedule.job.class})`] }, "dry run: would enqueue");
      return { request, status: "fired", jobId, redisAt: now };
    });
  };
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(ledger), leadership, spin: clock === systemClock, events: plannerEvents(log, () => running) });
  const running: RunningClock = new RunningClock(planner, leadership);
  log.info({ version: options.version, schedules: config.schedules.length, dryRun: true }, "clock started (dry run: nothing is written to Redis)");
  planner.start(config.schedules);
  await leadership.start();
  running.onStop(async () => {
    await planner.stop();
    await leadership.stop();
    log.info("clock stopped");
  });
  running.emit("ready");
  return running;
}
