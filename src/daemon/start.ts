/**
 * `clock start`, as a library call: wiring only. config -> planner -> lease -> fire -> adapters,
 * every component emitting into one event map that observe.ts turns into logs and metrics.
 * Everything is injected so tests can drive time.
 */
import type { RedisOptions } from "ioredis";
import { clusterIssues } from "../adapters/index.ts";
import { AdapterRegistry } from "../adapters/registry.ts";
import type { Adapter } from "../adapters/types.ts";
import { ClockClient } from "../client/client.ts";
import { loadAdapterPackages } from "../config/packages.ts";
import { defaultsOf, type ClockConfig } from "../config/resolve.ts";
import { BackfillRunner } from "../dynamic/backfill.ts";
import { ConfigWatch } from "../dynamic/config-watch.ts";
import { fingerprintConfig } from "../dynamic/fingerprint.ts";
import { expirePauses, readPlannerLedger } from "../dynamic/pauses.ts";
import { nextPauseEnd, PauseEndTimer } from "../dynamic/pause-ends.ts";
import { reconcilePauses } from "../dynamic/shard-pauses.ts";
import { snapshotOf, writeSnapshot } from "../dynamic/snapshot.ts";
import { DynamicSync } from "../dynamic/sync.ts";
import { ClockEvents } from "../events.ts";
import { Firer, type FireReport, type FireRequest, type PreparedFire } from "../fire/fire.ts";
import { ExpectationWatch } from "../history/expect.ts";
import { HistoryRecorder } from "../history/recorder.ts";
import { DEFAULT_HISTORY_SIZE, publishHistorySize } from "../history/store.ts";
import { deploymentSince, drainOutbox, readLedgerOf } from "../fire/ledger.ts";
import { removeFiredOneShot } from "../dynamic/store.ts";
import { nextSlotAfter } from "../schedule/slots.ts";
import { newPeerId, parsePeers, peerLabel, removePeer, writeHeartbeat } from "../lease/peers.ts";
import { DEFAULT_LEASE_RETRY_MS, DEFAULT_LEASE_TTL_MS, RedisLease } from "../lease/redis-lease.ts";
import { ConfigError } from "../errors.ts";
import { withSecrets, type Logger } from "../log.ts";
import { Planner } from "../planner/planner.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { connectRedis, redactRedisUrl, resolveRedisTarget, type RedisTarget } from "../redis/connection.ts";
import { allShardKeys, clockKeys, shardOf, type ClockKeys } from "../redis/keys.ts";
import { ShardBalance, ShardLeadership } from "../lease/shards.ts";
import { FiresInFlight, ShardedPlanner } from "../planner/shards.ts";
import { checkShardCount } from "../dynamic/shards.ts";
import { isWrongType, repairKeys } from "../redis/repair.ts";
import { subscribeAlways } from "../redis/subscribe.ts";
import { MINUTE, ReferenceClock, SECOND, systemClock, type Clock } from "../time.ts";
import { hostname } from "node:os";
import { ClockConnection } from "./connection.ts";
import { WebhookAlerts } from "./alerts.ts";
import { defersStartupWork, FirstFire } from "./first-fire.ts";
import { Liveness } from "./liveness.ts";
import { startDryRun } from "./dry-run.ts";
import { ClockMetrics } from "./metrics.ts";
import { observe } from "./observe.ts";
import { RunningClock } from "./running.ts";
import { Tasks } from "./tasks.ts";
import { FireTraces, loadOpenTelemetry, type OpenTelemetryApi } from "./traces.ts";

export interface StartOptions {
  readonly config: ClockConfig;
  readonly logger: Logger;
  /** A Redis URL (redis://, rediss://, redis+sentinel://). Default: the config's `redis`, then REDIS_URL, then redis://127.0.0.1:6379. */
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
  /**
   * The `@opentelemetry/api` module to emit fire spans through (README "Traces"); default: the one
   * installed, if any. `null`: no spans.
   */
  readonly openTelemetry?: OpenTelemetryApi | null;
}

/** A corrupt key is looked for at most this often (each look is one fenced script of TYPEs). */
const REPAIR_EVERY_MS = 5 * SECOND;
const RECONCILE_MS = MINUTE;
/**
 * The minute's reconcile first waits until no slot is due within this (and no fire is in flight,
 * Planner.quietFor): with shards it reads and compares a quarter of a million entries a process,
 * seconds of CPU that a burst at the same instant would otherwise share.
 */
const RECONCILE_QUIET_MS = 2 * SECOND;
/**
 * The planner's longest sleep while nothing is due. Sleeps end on a monotonic timer, and the
 * planner also wakes 4 s and 1 s before each slot and whenever the offset to Redis time (read
 * every 10 s) changes, so a long sleep costs no precision: it only saves wake-ups (idle CPU).
 */
const PLANNER_TICK_MS = MINUTE;
/**
 * Every 10 s, on one timer: Redis TIME is read (each fire's reply is a reading too: the offset that
 * lets a host whose clock is off decide slots by Redis time, and a local NTP slew, are followed
 * this closely; a step of the local clock is seen at once, time.ts, and read again then), and what
 * notifications may have missed: the change counter, backfill requests, the earliest pause end.
 * Changes, backfills and lease releases are heard at once on their channels.
 */
const SAFETY_POLL_MS = 10 * SECOND;
const CONFIG_CHECK_MS = MINUTE;

/** What cannot run on a Redis Cluster stops start-up, naming the schedule and field (adapters/index.ts clusterIssues). */
function refuseOnCluster(config: ClockConfig, adapters: AdapterRegistry, keys: ClockKeys): void {
  const issues = clusterIssues(config.schedules, adapters.built, keys);
  if (config.durability !== null && config.durability !== undefined) {
    issues.push({
      path: "durability",
      message: "replica-acknowledged fires (WAIT) are not supported on a Redis Cluster yet: remove durability, or use one primary with replicas (Sentinel)",
    });
  }
  if (issues.length > 0) throw new ConfigError(issues, "this config cannot run on a Redis Cluster");
}

export async function startClock(options: StartOptions): Promise<RunningClock> {
  const { config } = options;
  const localClock = options.clock ?? systemClock;
  const shardCount = config.shards ?? 1;
  const keys = clockKeys(config.namespace, shardCount);
  /** Each shard's keys (one entry, the deployment's keys, for one shard). */
  const shardKeyList = allShardKeys(keys);
  const adapterSettings = { ...config.adapters, ...options.adapters };
  // Adapters with a client of their own (BullMQ) connect to the clock's Redis, never to a default.
  let target: RedisTarget | null = null;
  const adapterContext = { namespace: config.namespace, connect: (overrides: RedisOptions) => connectRedis(target ?? resolveRedisTarget(), overrides) };
  const adapters = new AdapterRegistry(adapterSettings, adapterContext, new Set(config.schedules.map((schedule) => schedule.adapter)));
  await loadAdapterPackages(adapters.built, config.schedules);
  if (options.dryRun === true) return startDryRun(config, withSecrets(options.logger, []), options.version, localClock, adapters);
  // A malformed address stops start-up here, naming the setting (REDIS_URL, redis) and never its value.
  target = resolveRedisTarget([options.redisUrl, "redisUrl"], [config.redis, "redis"]);
  const log = withSecrets(options.logger, [target]);
  if (target.kind === "cluster") refuseOnCluster(config, adapters, keys);

  const events = new ClockEvents();
  let readRedisTime = (): void => undefined;
  // Every instant below is Redis's (the fire script's clock), as this host measures it.
  const clock = new ReferenceClock(localClock, {
    onChange: (change) => events.emit("time:offset", change),
    onStep: (stepMs) => {
      events.emit("time:step", { stepMs });
      readRedisTime();
    },
  });
  const metrics = new ClockMetrics();
  const peerId = newPeerId();
  const connection = new ClockConnection(target, events);
  const inWords = (error: unknown): string => connection.inWords(error);
  const { recentFires, replication } = observe(events, log, metrics, { peer: peerLabel(peerId), redis: redactRedisUrl(target), inWords, now: () => clock.now() });
  await connection.connect();
  const { redis, subscriber } = connection;
  // One listener per shard's lease and one for changes: more than Node's default warning count.
  subscriber.setMaxListeners(shardCount + 20);
  // A deployment's shard count cannot change under it (dynamic/shards.ts): refused here, before anything is planned.
  // With Redis unreachable at start, no lease is tried until the count has been checked (below).
  let shardCountChecked = !connection.down;
  if (!connection.down) {
    try {
      await checkShardCount(redis, keys);
    } catch (error) {
      // Refused: nothing is left connected (a library caller's process can still exit).
      await connection.close();
      throw error;
    }
  }
  const tasks = new Tasks(clock, events);

  // With shards, shard 0's leader is the one whose config the others compare theirs with.
  const configWatch = new ConfigWatch({
    redis,
    keys: shardKeyList[0] ?? keys,
    peerId,
    compute: () => fingerprintConfig(config, options.adapters),
    isLeader: () => leadership.leads(0),
    now: () => clock.now(),
    events,
  });
  // A big config's fingerprint and snapshot wait for the first fire (first-fire.ts); a small one's go as they always did.
  const deferred = defersStartupWork(config.schedules.length);
  if (!deferred) configWatch.prepare();
  let planner: ShardedPlanner | null = null;
  /** Per shard, the deployment's first start (ledger.ts): catch-up never reaches before it. */
  const since = shardKeyList.map(() => Number.NEGATIVE_INFINITY);
  let sync: DynamicSync | null = null;
  const ttlMs = options.leaseTtlMs ?? config.lease.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const retryMs = options.leaseRetryMs ?? config.lease.retryMs ?? DEFAULT_LEASE_RETRY_MS;
  const liveness = new Liveness({ events, clock, peerId, isLeader: () => leadership.isLeader(), leaderlessMs: ttlMs + retryMs, inWords });
  // A standby's health says whether a leader's heartbeat still moves: one HGETALL of the peers with
  // each of its lease tries (every retry period), in the same turn on the same connection.
  const leaderWatch = async (): Promise<void> => {
    if (connection.down || leadership.isLeader()) return; // an outage is reported already
    liveness.notePeers(parsePeers(await connection.lease.hgetall(keys.peers), null));
  };
  // The heartbeat (`{ns}:peers`), one per process: with shard 0's lease ticks (every process is a
  // candidate for it), and once before the leases start, so the others count this process at once.
  const heartbeat = async (): Promise<void> => {
    const leader = leadership.isLeader();
    const record = {
      host: hostname(),
      pid: process.pid,
      role: leader ? ("leader" as const) : ("standby" as const),
      seenAt: clock.now(),
      version: options.version ?? "",
      schedules: planner?.size ?? 0,
      invalid: sync?.invalidCount ?? 0,
      ...(shardCount > 1 ? { shards: leadership.led() } : {}),
      ...(leader ? liveness.heartbeat() : {}),
    };
    await writeHeartbeat(connection.lease, keys, peerId, configWatch.fingerprint === null ? record : { ...record, config: configWatch.fingerprint });
  };
  const balance = shardCount > 1 ? new ShardBalance(shardCount) : null;
  const leases = shardKeyList.map(
    (shardKeys, shard) =>
      new RedisLease({
        redis: connection.lease,
        subscriber,
        keys: shardKeys,
        clock,
        ttlMs,
        retryMs,
        events,
        ...(shard === 0
          ? {
              onHeartbeat: () => {
                void heartbeat().catch(() => undefined);
                void tasks.once("leader watch", leaderWatch);
              },
            }
          : {}),
        acquireGate: () => (!shardCountChecked ? null : balance === null ? () => undefined : balance.gate()),
      }),
  );
  balance?.attach(leases);
  const leadership = new ShardLeadership(leases);
  if (shardCount > 1) leases.forEach((lease, shard) => lease.onChange((leading) => events.emit("shard:changed", { shard, leading, shards: shardCount })));
  const leadsShardOf = (name: string): boolean => leadership.leads(shardOf(name, shardCount));
  // Spans only where @opentelemetry/api is installed; otherwise the firer is not even told of its fires.
  const openTelemetry = options.openTelemetry === undefined ? await loadOpenTelemetry() : options.openTelemetry;
  const traces =
    openTelemetry === null
      ? null
      : new FireTraces(openTelemetry, { version: options.version, onError: (error) => events.emit("task:failed", { task: "emit trace spans", error }) });
  const firers = shardKeyList.map(
    (shardKeys, shard) =>
      new Firer({
        redis,
        keys: shardKeys,
        adapters,
        token: () => (leases[shard] as RedisLease).token(),
        now: () => clock.now(),
        onEnqueueError: (outcome, error) => events.emit("fire:outboxed", { outcome, error }),
        durability: config.durability ?? null,
        onUnreplicated: (report) => events.emit("fire:unreplicated", report),
        onReplicated: (batches) => events.emit("fire:replicated", { batches }),
        redisTime: { monotonic: () => clock.monotonic(), sample: (sample) => clock.sample(sample) },
        ...(traces === null ? {} : { onFired: (report: () => FireReport) => traces.emit(report) }),
      }),
  );
  const firerOf = (name: string): Firer => firers[shardOf(name, shardCount)] as Firer;
  const inFlight = shardCount > 1 ? new FiresInFlight() : null;
  planner = new ShardedPlanner(
    shardKeyList.map((shardKeys, shard) => {
      const firer = firers[shard] as Firer;
      return new Planner({
        clock,
        fire: (requests, prepared) => {
          const fire = firer.fire(requests, prepared as PreparedFire | undefined);
          return inFlight === null ? fire : inFlight.track(fire);
        },
        ...(inFlight === null ? {} : { othersReplied: () => inFlight.othersReplied(), turn: () => inFlight.turn() }),
        prepare: (requests, instantAt, previous) => firer.prepare(requests, instantAt, previous as PreparedFire | undefined),
        readLedger: async () => {
          if (since[shard] === Number.NEGATIVE_INFINITY) since[shard] = await deploymentSince(redis, shardKeys);
          return readPlannerLedger(redis, shardKeys, since[shard]);
        },
        leadership: leases[shard] as RedisLease,
        spin: localClock === systemClock,
        tickMs: PLANNER_TICK_MS,
        events,
      });
    }),
  );
  const plannerRef = planner;
  // A sleep armed before the offset to Redis changed is off by the change: armed again at once.
  events.on("time:offset", () => plannerRef.rearm());
  // History is written off the slot's path, after each fire batch (history/recorder.ts).
  const historySize = config.history?.size ?? DEFAULT_HISTORY_SIZE;
  const recorder = historySize > 0 ? new HistoryRecorder({ redis, keys, events, size: historySize, adapters, isLeader: () => leadership.isLeader() }) : null;
  connection.onRestored(() => plannerRef.invalidate());
  // Expectations are judged from the history, so only with history on (the config refuses expect without it).
  const expectations =
    historySize > 0
      ? new ExpectationWatch({
          redis,
          keys,
          events,
          now: () => clock.now(),
          // With shards: each leader judges the schedules of the shards it holds (sync keeps only those dynamic ones).
          schedules: function* () {
            if (sync === null) return;
            for (const schedule of sync.configSchedules.values()) if (shardCount === 1 || leadership.holds(shardOf(schedule.name, shardCount))) yield schedule;
            yield* sync.dynamicSchedules.values();
          },
          ...(shardCount > 1 ? { owns: (name: string) => leadership.holds(shardOf(name, shardCount)) } : {}),
          version: () => sync?.appliedChanges ?? -1,
          plannedAt: (name) => plannerRef.nextAtOf(name),
        })
      : null;
  const alerts = config.alerts === undefined ? null : new WebhookAlerts({ url: config.alerts.webhook, namespace: config.namespace, events });

  // Each shard's outbox is drained by that shard's leader.
  const drainShard = async (shard: number): Promise<void> => {
    if (!leadership.leads(shard)) return;
    try {
      const count = await drainOutbox(redis, shardKeyList[shard] ?? keys, adapters, (entry, reason) => events.emit("outbox:corrupt", { entry, reason }));
      events.emit("outbox:drained", { count });
    } catch (error) {
      events.emit("outbox:failed", { error: error as Error });
    }
  };
  const drain = async (): Promise<void> => {
    for (const shard of leadership.led()) await drainShard(shard);
  };
  // A corrupt key (WRONGTYPE) is moved aside by the leader: when it starts leading, and when a fire
  // or a background task hits one (at most every few seconds). Each shard's keys by its leader,
  // fenced by that shard's lease.
  let repairedAt = Number.NEGATIVE_INFINITY;
  const repair = async (): Promise<void> => {
    if (!leadership.isLeader() || clock.monotonic() - repairedAt < REPAIR_EVERY_MS) return;
    repairedAt = clock.monotonic();
    const repaired = [];
    for (const shard of leadership.led()) repaired.push(...((await repairKeys(redis, shardKeyList[shard] ?? keys, (leases[shard] as RedisLease).token())) ?? []));
    for (const key of repaired) events.emit("redis:repaired", key);
    if (repaired.length > 0) {
      plannerRef.invalidate();
      void tasks.once("reconcile", async () => sync?.reconcile());
    }
  };
  const repairIfWrongType = (error: Error): void => {
    if (isWrongType(error)) void tasks.once("repair", repair);
  };
  events.on("fire:failed", ({ error }) => repairIfWrongType(error));
  events.on("task:failed", ({ error }) => repairIfWrongType(error));
  leadership.onChange((leading) => {
    events.emit("lease:changed", { leading });
    // Before this leader's first fire (the same connection): check-ins of its jobs are recorded from the first.
    if (leading) void tasks.once("publish history size", () => publishHistorySize(redis, keys, historySize));
  });
  leadership.onChange((leading) => {
    if (!leading) expectations?.reset();
  });
  leases.forEach((lease, shard) =>
    lease.onChange((leading) => {
      if (!leading) return;
      void drainShard(shard);
      repairedAt = Number.NEGATIVE_INFINITY;
      void tasks.once("repair", repair);
    }),
  );
  const syncTime = async (): Promise<void> => {
    if (connection.down) return; // the outage is reported already
    const sentMono = clock.monotonic();
    const [seconds, micros] = await redis.clockTime(keys.lease);
    clock.sample({ referenceMs: Number(seconds) * 1000 + Number(micros) / 1000, sentMono, receivedMono: clock.monotonic() });
  };
  readRedisTime = () => void tasks.once("time sync", syncTime);

  sync = new DynamicSync({
    redis,
    subscriber,
    keys,
    configSchedules: config.schedules,
    defaults: defaultsOf(config),
    adapterCheck: { settings: adapterSettings, namespace: config.namespace },
    adapters,
    events,
    now: () => clock.now(),
    // With shards: only the dynamic schedules of the shards this process holds are kept.
    ...(shardCount > 1 ? { shards: { count: shardCount, leads: (shard: number) => leadership.holds(shard) } } : {}),
  });
  const syncRef = sync;
  // With shards, a shard's pause state and the deployment's copy agree again (dynamic/shard-pauses.ts):
  // a change whose second write never happened, or pauses from before the shards kept their own.
  const repairPauses = async (shard: number, only?: readonly string[]): Promise<void> => {
    if (shardCount === 1 || connection.down) return;
    const exists = async (name: string): Promise<boolean> => syncRef.configSchedules.has(name) || (await redis.hexists(keys.schedules, name)) === 1;
    const repair = await reconcilePauses(redis, keys, shard, exists, only);
    if (repair.toShard.length + repair.toDeployment.length + repair.dropped.length > 0) events.emit("pause:repaired", { shard, ...repair });
  };
  const repairAllPauses = async (): Promise<void> => {
    for (let shard = 0; shard < shardCount; shard++) await repairPauses(shard);
  };
  // A pause or resume heard, by its shard's leader: two reads when both sides agree; a pause by an
  // older client (the deployment's set only) reaches the shard's paused set now, not at the minute.
  events.on("schedule:changed", ({ name, kind }) => {
    const shard = shardOf(name, shardCount);
    if (shardCount > 1 && (kind === "pause" || kind === "resume") && leadership.leads(shard)) void tasks.once("repair a shard's pauses", () => repairPauses(shard, [name]));
  });
  if (shardCount > 1) {
    leases.forEach((lease, shard) =>
      lease.onChange((leading) => {
        if (!leading) {
          syncRef.release(shard);
          return;
        }
        void tasks.once("load a shard's schedules", () => syncRef.adopt(shard));
        void tasks.once("repair a shard's pauses", () => repairPauses(shard));
      }),
    );
  }
  // A dynamic one-shot is done once its slot is in the ledger: the leader removes its entry. A clock
  // that dies between the fire and the removal leaves the entry behind; it fires nothing again (the
  // ledger has its slot), and the next leader's sweep (at a takeover, then every minute) removes it.
  const removeOneShot = async (schedule: Schedule, slotAt: number): Promise<void> => {
    const raw = syncRef.rawOf(schedule.name);
    if (raw === undefined || syncRef.dynamicSchedules.get(schedule.name) !== schedule) return;
    if (await removeFiredOneShot(redis, keys, schedule.name, raw, slotAt)) events.emit("schedule:done-removed", { name: schedule.name, slotAt });
  };
  const sweepOneShots = async (): Promise<void> => {
    if (!leadership.isLeader()) return;
    const oneShots = [...syncRef.dynamicSchedules.values()].flatMap((schedule) => {
      if (!leadsShardOf(schedule.name)) return [];
      const slotAt = schedule.rule.kind === "once" ? nextSlotAfter(schedule, Number.NEGATIVE_INFINITY) : null;
      return slotAt === null ? [] : [{ schedule, slotAt }];
    });
    if (oneShots.length === 0) return;
    const fired = await readLedgerOf(
      redis,
      keys,
      oneShots.map(({ schedule }) => schedule.name),
    );
    for (const [index, { schedule, slotAt }] of oneShots.entries()) if ((fired[index] ?? -1) >= slotAt) await removeOneShot(schedule, slotAt);
  };
  events.on("fire:fired", ({ outcome }) => {
    const { schedule, slotAt, manual } = outcome.request;
    if (schedule.rule.kind === "once" && manual === undefined) void tasks.once("remove fired one-shot", () => removeOneShot(schedule, slotAt));
  });
  leadership.onChange((leading) => {
    if (leading) void tasks.once("remove fired one-shots", sweepOneShots);
  });
  metrics.sources = { schedules: () => plannerRef.size, invalidSchedules: () => syncRef.invalidCount };
  // Nothing is planned before the paused set and the entries are read: with Redis unreachable, the
  // planner starts empty and the first reconcile after Redis answers plans everything (sync.ts).
  let schedules: readonly Schedule[] = [];
  await tasks.once("read dynamic schedules", async () => {
    schedules = await syncRef.load();
  });

  log.info(
    {
      version: options.version,
      schedules: schedules.length,
      dynamic: schedules.filter((schedule) => !sync.configSchedules.has(schedule.name)).length,
      invalid: sync.invalidCount,
      enabled: schedules.filter((schedule) => schedule.enabled).length,
      redis: redactRedisUrl(target),
      ...(target.kind === "sentinel" ? { sentinels: target.sentinels.map(({ host, port }) => `${host}:${port}`), master: target.name, primary: connection.primary } : {}),
      ...(config.durability === null || config.durability === undefined ? {} : { durability: config.durability }),
      namespace: config.namespace,
      adapters: [...adapters.built.keys()],
      ...(traces === null ? {} : { traces: true }),
    },
    "clock started",
  );
  // Before planning: a host whose clock is off must not start from its own idea of now.
  await tasks.once("time sync", syncTime);

  planner.start(schedules);
  // With shards: this process is counted before its leases try, so it takes only its share.
  const balanceShards = async (): Promise<void> => {
    if (balance === null || connection.down) return;
    const live = parsePeers(await connection.lease.hgetall(keys.peers), clock.now(), ttlMs).size;
    const released = await balance.note(live);
    if (released.length > 0) events.emit("shard:handed-over", { shards: released, live: balance.live, share: balance.share });
  };
  if (balance !== null && !connection.down) {
    await tasks.once("heartbeat", heartbeat);
    await tasks.once("balance shards", balanceShards);
  }
  // Changes are heard before this process can lead: a pause written the moment it leads is applied
  // (one round trip on the subscriber connection; a leader's own view never misses a change).
  await tasks.once("subscribe", () => syncRef.start(plannerRef));
  // Before any lease: every shard's paused set holds the deployment's pauses (a deployment that ran
  // shards before they kept their own had them only in {ns}:paused), so no fire of this process misses one.
  if (shardCount > 1 && shardCountChecked) await tasks.once("move pauses into the shards", repairAllPauses);
  const firstFire = new FirstFire(events);
  await leadership.start();
  // Off the path to the first fire: clients read it, the planner does not.
  const publishSnapshot = (): Promise<boolean> => tasks.once("publish config snapshot", () => writeSnapshot(redis, keys, snapshotOf(config, clock.now())));
  if (!deferred) void publishSnapshot();
  else {
    void firstFire.passed(leadership.isLeader(), plannerRef, clock).then(async () => {
      configWatch.prepare();
      await publishSnapshot();
      await configWatch.check();
    });
  }
  // Catches entries written around the API (by hand, by an older version) that bumped no counter.
  // Once a minute, on one timer: the reconcile (and each led shard's pauses against the
  // deployment's), and the outbox sweep (an enqueue that failed is retried every second by itself,
  // below; a leader that takes a shard drains it at once).
  tasks.together(RECONCILE_MS, [
    [
      "reconcile",
      async () => {
        await plannerRef.quietFor(RECONCILE_QUIET_MS);
        await syncRef.reconcile();
        await sweepOneShots();
        for (const shard of leadership.led()) await repairPauses(shard);
      },
    ],
    ["outbox drain", drain],
  ]);
  // Backfills asked for by clients (dynamic/backfill.ts): the leader runs them through its fenced firer.
  const backfills = new BackfillRunner({
    redis,
    keys,
    clock,
    isLeader: (name) => (name === undefined ? leadership.isLeader() : leadsShardOf(name)),
    scheduleOf: (name) => syncRef.configSchedules.get(name) ?? syncRef.dynamicSchedules.get(name),
    fire: async (requests) => (requests.length === 0 ? [] : await firerOf((requests[0] as FireRequest).schedule.name).fire(requests)),
    events,
    peer: peerLabel(peerId),
  });
  // Started while Redis was unreachable: the shard count is checked once it answers, before any
  // lease is tried; a count that differs from the deployment's keeps this process from leading.
  let countRefused = false;
  const lateShardCheck = async (): Promise<void> => {
    if (shardCountChecked || connection.down) return;
    try {
      await checkShardCount(redis, keys);
      await repairAllPauses();
      shardCountChecked = true;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      if (!countRefused) events.emit("shard:count-refused", { error });
      countRefused = true;
    }
  };
  tasks.loop("check shard count", SECOND, lateShardCheck, () => !shardCountChecked);
  // An enqueue that failed after its ledger advance waits in the outbox: retried every second
  // until a retry goes through (a queue's node back from a restart), besides the 30 s sweep.
  let outboxWaiting = false;
  const outboxRetry = tasks.loop(
    "outbox retry",
    SECOND,
    async () => {
      if (!leadership.isLeader() || connection.down) return;
      outboxWaiting = false;
      await drain();
    },
    () => outboxWaiting,
  );
  const outboxNeedsRetry = (): void => {
    outboxWaiting = true;
    outboxRetry.wake();
  };
  events.on("fire:outboxed", outboxNeedsRetry);
  events.on("outbox:failed", outboxNeedsRetry);
  // The leader's expectations (bounded reads per round, history/expect.ts), every second while it
  // leads and some schedule has `expect`.
  const judge = tasks.loop(
    "judge expectations",
    SECOND,
    async () => {
      if (connection.down) return;
      await expectations?.tick();
    },
    () => expectations !== null && expectations.busy && leadership.isLeader(),
  );
  leadership.onChange(() => judge.wake());
  // Pauses end by themselves at their `until`: a timer for the earliest end (read again after each
  // expiry and each change heard), not a read every second.
  const pauseEnds = new PauseEndTimer({
    clock,
    active: () => leadership.leads(0) && !connection.down,
    nextEnd: () => nextPauseEnd(redis, keys),
    expire: async () => {
      const expired = await expirePauses(redis, keys);
      for (const pause of expired) events.emit("pause:expired", pause);
      return expired.length;
    },
    run: (name, task) => void tasks.once(name, task),
  });
  // Backfills asked for by clients are heard on their channel; changes on theirs.
  subscriber.on("message", (channel: string) => {
    if (channel === keys.changes) pauseEnds.check();
    else if (channel === keys.backfills) void tasks.once("backfill", () => backfills.poll());
  });
  void tasks.once("subscribe", () => subscribeAlways(subscriber, keys.backfills, (error) => events.emit("task:failed", { task: "subscribe", error })));
  leadership.onChange((leading) => {
    if (!leading) return;
    void tasks.once("backfill", () => backfills.poll());
    pauseEnds.check();
  });
  // What a notification may have missed (a writer that died before its PUBLISH, a subscriber
  // reconnecting), every SAFETY_POLL_MS, in one wake-up: the change counter, the backfill
  // requests, and the earliest pause end.
  tasks.together(SAFETY_POLL_MS, [
    ["time sync", syncTime],
    ["change poll", () => syncRef.poll()],
    ["backfill", () => backfills.poll()],
    ["pause expiry", async () => pauseEnds.check()],
    // A schedule with `expect` added since (the judge sleeps while no schedule has one).
    ["judge expectations", async () => judge.wake()],
  ]);
  subscriber.on("ready", () => void tasks.once("change poll", () => syncRef.poll()));
  // With shards: the share is followed at the lease's retry pace, so a dead process's shards are
  // taken within a TTL (its heartbeat and leases going stale) plus a retry or two.
  if (balance !== null) tasks.every("balance shards", retryMs, balanceShards);
  if (!deferred) void configWatch.check();
  tasks.every("config check", options.configCheckMs ?? CONFIG_CHECK_MS, () => configWatch.check());

  return new RunningClock({
    namespace: config.namespace,
    clock,
    events,
    planner,
    leadership,
    metrics,
    recentFires,
    replication: { durability: config.durability ?? null, tally: replication },
    schedules: config.schedules,
    redis: { connection, keys, sync, configWatch, liveness, client: new ClockClient({ redis, config, adapters: options.adapters ?? {}, actor: `clock@${hostname()}` }) },
    stopSteps: [
      async () => {
        tasks.stop();
        pauseEnds.stop();
      },
      () => backfills.stop(),
      () => plannerRef.stop(),
      async () => recorder?.stop(),
      async () => {
        expectations?.stop();
        alerts?.stop();
      },
      () => leadership.stop(),
      () => removePeer(redis, keys, peerId).catch(() => undefined),
      () => adapters.closeAll(),
      () => connection.close(),
      async () => log.info("clock stopped"),
    ],
  });
}
