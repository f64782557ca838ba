/**
 * The one table from the clock's events to what people and machines see: a log line (docs/logs.md
 * lists them), a metric, the recent fires of the status page. Nothing else in the clock logs
 * about these events; components only emit them.
 */
import { EXPECT_STATES, type BackfillReport, type ClockEventMap, type ClockEventName, type ClockEvents } from "../events.ts";
import { describeOutboxField } from "../fire/ledger.ts";
import type { Logger } from "../log.ts";
import { formatSlot } from "../schedule/format.ts";
import { MAX_SCHEDULE_SERIES, OTHER_SCHEDULES, type ClockMetrics } from "./metrics.ts";

export interface RecentFire {
  readonly schedule: string;
  readonly slotAt: number;
  readonly lagMs: number;
  readonly jobId: string;
  readonly catchUp: boolean;
}

/** What a failed background task means for the user, by task name (tasks.ts names them). */
export const TASK_MESSAGES: Readonly<Record<string, string>> = {
  "read dynamic schedules": "could not read schedules and pauses at start; nothing fires until Redis answers",
  "publish config snapshot": "could not publish the config snapshot for clients; will retry at the next start",
  "publish history size": "could not publish the history size: worker check-ins are not recorded until this clock leads again",
  subscribe: "could not subscribe to schedule changes; polling instead",
  "apply change": "could not apply a schedule change notification; the change poll will reconcile",
  "judge expectations": "could not judge schedule expectations (late, failed, missed); will try again in a second",
  "emit trace spans": "could not emit fire spans through @opentelemetry/api; fires go on (reported again after spans succeed once more)",
};

/** A host clock this far from Redis TIME is warned about (it still fires on time by Redis). */
const SKEW_WARN_MS = 500;

/** Fires kept for the status page. */
export const RECENT_FIRES = 200;

/** Fire batches that fewer replicas than `durability.replicas` acknowledged, for status and health. */
export interface ReplicationTally {
  /** Slots fired in unreplicated batches since start. */
  unreplicatedFires: number;
  unreplicatedBatches: number;
  /** When the last one was seen (epoch ms), null if never. */
  lastUnreplicatedAt: number | null;
}

export interface Observed {
  /** The latest fires, newest last. */
  readonly recentFires: RecentFire[];
  readonly replication: ReplicationTally;
}

const backfillFields = (record: BackfillReport) => ({
  backfill: record.id,
  schedule: record.schedule,
  from: new Date(record.fromAt).toISOString(),
  to: new Date(record.toAt).toISOString(),
  rate: record.ratePerSecond,
  total: record.total,
  fired: record.fired,
  skipped: record.skipped,
  paused: record.paused,
  ...(record.error === null ? {} : { error: record.error }),
});

type Table = { readonly [E in ClockEventName]?: (payload: ClockEventMap[E]) => void };

/**
 * Subscribes the log, the metrics and the recent-fires list to every event. `peer` names this
 * process in leadership lines; `redis` is the connection's address without credentials.
 */
export function observe(
  events: ClockEvents,
  log: Logger,
  metrics: ClockMetrics | null,
  context: { peer?: string; redis?: string; inWords?: (error: Error) => string; now?: () => number } = {},
): Observed {
  const recentFires: RecentFire[] = [];
  /** An outbox retry failed and none has gone through since. */
  let outboxFailing = false;
  const replication: ReplicationTally = { unreplicatedFires: 0, unreplicatedBatches: 0, lastUnreplicatedAt: null };
  // Errors from Redis in words ("cannot reach Redis at ...: connection refused"); the logger's err serializer redacts.
  const redisErr = (error: Error) => ({ message: context.inWords?.(error) ?? error.message });
  // The newest success per schedule: check-ins and the expectation watch may report out of order.
  const lastSuccess = new Map<string, number>();
  // Past the per-schedule series cap, no last-success series: "some other schedule succeeded" alerts on nothing.
  const noteSuccess = (schedule: string, atMs: number): void => {
    if (metrics === null || metrics.scheduleLabel(schedule) === OTHER_SCHEDULES || atMs <= (lastSuccess.get(schedule) ?? 0)) return;
    lastSuccess.set(schedule, atMs);
    metrics.lastSuccess.set({ schedule }, atMs / 1000);
  };
  if (metrics !== null) {
    metrics.onSeriesCapped = () =>
      log.warn(
        { max: MAX_SCHEDULE_SERIES },
        `metrics: more than ${MAX_SCHEDULE_SERIES.toLocaleString("en")} schedules fired in this process; the fires of the others are counted under schedule="${OTHER_SCHEDULES}" (per-schedule series would cost memory and slow every scrape)`,
      );
  }
  const table: Table = {
    "fire:fired": ({ outcome, lagMs, catchUp }) => {
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
          ...(outcome.request.backfill === true ? { backfill: true } : {}),
          ...(outcome.previousSlotAt === undefined ? {} : { replaced: formatSlot(outcome.previousSlotAt, schedule.timezone) }),
        },
        "fired",
      );
      metrics?.fires.inc({ schedule: metrics.scheduleLabel(schedule.name), adapter: schedule.adapter });
      // A backfill's lag is the age of the range it was asked for, not the clock's timeliness.
      if (outcome.request.backfill !== true) metrics?.lag.observe(Math.max(0, lagMs) / 1000);
      if (catchUp) metrics?.catchUpFires.inc();
      recentFires.push({ schedule: schedule.name, slotAt, lagMs, jobId: outcome.jobId, catchUp });
      if (recentFires.length > RECENT_FIRES) recentFires.shift();
    },
    "fire:refused": ({ outcome }) => {
      const { schedule, slotAt } = outcome.request;
      const fields = { schedule: schedule.name, slot: formatSlot(slotAt, schedule.timezone), jobId: outcome.jobId };
      if (outcome.status === "fenced") {
        log.warn(fields, "fire refused: this process no longer holds the lease (fenced)");
        metrics?.fenceRefusals.inc();
      } else if (outcome.status === "duplicate") log.debug(fields, "slot already fired; skipped");
      else if (outcome.status === "early") log.debug(fields, "Redis time is before the slot; retrying");
      else if (outcome.status === "paused") log.debug(fields, "schedule paused in Redis; slot skipped");
      else if (outcome.status === "done") log.info({ ...fields, maxRuns: schedule.maxRuns }, "slot refused: the schedule has fired maxRuns times and is done");
      else if (outcome.status === "replaced") log.info(fields, "slot's job replaced by a newer slot of the same schedule before a worker took it (overlap replace)");
    },
    "fire:overlap-skipped": ({ outcome }) => {
      const { schedule, slotAt } = outcome.request;
      metrics?.overlapSkips.inc({ schedule: metrics.scheduleLabel(schedule.name) });
      log.info(
        {
          schedule: schedule.name,
          slot: formatSlot(slotAt, schedule.timezone),
          jobId: outcome.jobId,
          ...(outcome.previousSlotAt === undefined ? {} : { pending: formatSlot(outcome.previousSlotAt, schedule.timezone) }),
          adapter: schedule.adapter,
          queue: schedule.job.queue,
        },
        "slot skipped: the previous slot's job is still pending (overlap skip)",
      );
    },
    "fire:outboxed": ({ outcome, error }) =>
      log.error({ schedule: outcome.request.schedule.name, jobId: outcome.jobId, err: error }, "enqueue failed after the ledger advanced; kept in the outbox for retry"),
    "fire:failed": ({ error, slots, again }) => {
      // The first failure of a run of them is an error; the retries that follow are debug noise.
      if (again) log.debug({ err: redisErr(error), slots }, "fire failed again; retrying");
      else log.error({ err: redisErr(error), slots }, "fire failed; retrying with catch-up");
      metrics?.redisErrors.inc();
    },
    "fire:unreplicated": ({ fires, acknowledged, wanted, again, error }) => {
      replication.unreplicatedFires += fires;
      replication.unreplicatedBatches++;
      replication.lastUnreplicatedAt = (context.now ?? Date.now)();
      metrics?.unreplicatedFires.inc(fires);
      const fields = { fires, acknowledged, wanted, ...(error === undefined ? {} : { err: redisErr(error) }) };
      // The first of a run is a warning; while no replica catches up, each further batch is debug.
      if (again) log.debug(fields, "fire batch again not acknowledged by replicas");
      else log.warn(fields, "fire batch not acknowledged by replicas: a failover now could roll these slots back");
    },
    "fire:replicated": ({ batches }) => log.info({ batches }, "replicas acknowledge fire batches again"),
    "outbox:drained": ({ count }) => {
      outboxFailing = false;
      if (count > 0) log.info({ count }, "outbox enqueues retried");
    },
    "outbox:corrupt": ({ entry, reason }) => log.warn({ entry: describeOutboxField(entry), reason }, "corrupt outbox entry removed"),
    "outbox:failed": ({ error }) => {
      // Retried every second while it fails: said once per run of failures.
      if (outboxFailing) log.debug({ err: redisErr(error) }, "outbox retry failed again");
      else log.warn({ err: redisErr(error) }, "outbox retry failed; will try again");
      outboxFailing = true;
    },
    "planner:skipped": ({ schedule, count, capped, expired = 0 }) => {
      metrics?.skippedSlots.inc(count);
      if (expired > 0) {
        log.warn(
          { schedule: schedule.name, skipped: expired, reason: "expired", expireAfterMs: schedule.expireAfterMs },
          "missed slots skipped: their jobs would arrive after expiresAt (expireAfter)",
        );
      }
      if (count - expired === 0) return;
      log.warn(
        { schedule: schedule.name, skipped: count - expired, policy: schedule.catchUp.policy, capped },
        capped ? "catch-up bound reached; older missed slots skipped" : "missed slots skipped by catch-up policy",
      );
    },
    "planner:ledger-lost": ({ schedules, examples }) =>
      log.error(
        {
          schedules,
          examples: examples.map(({ name, knownAt, ledgerAt }) => ({
            schedule: name,
            firedAt: new Date(knownAt).toISOString(),
            ledger: ledgerAt === null ? null : new Date(ledgerAt).toISOString(),
          })),
        },
        "ledger reset: Redis lost data? the ledger lacks slots this clock fired; where an entry vanished the clock continues after the slots it fired, where one went back the slots after it follow the catch-up policy again (a job that survived may be enqueued twice)",
      ),
    "planner:late-wake": ({ lateMs }) => log.warn({ lateMs: Math.round(lateMs) }, "timer woke late (event loop blocked or process paused)"),
    "planner:clock-jump": ({ jumpMs }) =>
      log.warn(
        { jumpMs: Math.round(jumpMs) },
        jumpMs > 0 ? "wall clock jumped forward; missed slots follow the catch-up policy" : "wall clock jumped backward; no slot fires twice",
      ),
    "lease:changed": ({ leading }) => {
      log.info({ leader: leading, ...(context.peer === undefined ? {} : { peer: context.peer }) }, leading ? "leadership acquired" : "leadership lost");
      metrics?.leader.set(leading ? 1 : 0);
      metrics?.leaseTransitions.inc({ to: leading ? "leader" : "standby" });
    },
    "shard:changed": ({ shard, leading, shards }) => {
      log.info({ shard, shards, ...(context.peer === undefined ? {} : { peer: context.peer }) }, leading ? "shard acquired" : "shard lost");
      metrics?.shardsLed.inc(leading ? 1 : -1);
    },
    "shard:count-refused": ({ error }) =>
      log.error({ reason: error.message }, "shard count differs from the deployment's: this process will not lead (fix shards in the config and restart it)"),
    "shard:handed-over": ({ shards, live, share }) => log.info({ shards, live, share }, "shards handed over (this process led more than its share)"),
    "lease:error": ({ op, error, again }) => {
      // The first of a run is a warning (READONLY and WRONGTYPE say what is wrong in words); repeats are debug.
      if (again) log.debug({ op, err: redisErr(error) }, "lease operation failed again");
      else log.warn({ op, err: redisErr(error) }, "lease operation failed; this process cannot lead while it goes on");
    },
    "lease:recovered": () => log.info("lease operations succeed again"),
    "lease:lapsed": ({ lapsedMs, again }) => {
      const fields = { lapsedMs: Math.round(lapsedMs) };
      if (again) log.debug(fields, "lease renewal came back late again");
      else log.warn(fields, "lease renewal came back after the lease's validity ran out (slow Redis replies); no fires in that gap, due slots fire now");
    },
    "lease:unusable": ({ roundTripMs, validMs, again }) => {
      const fields = { roundTripMs: Math.round(roundTripMs), validMs };
      if (again) log.debug(fields, "lease let go again: Redis replies still slower than the lease's validity");
      else
        log.error(
          fields,
          "lease let go: Redis replies take longer than the lease's validity, so this process cannot fire; a standby may lead (raise lease.ttl to tolerate this latency)",
        );
    },
    "redis:down": ({ error, everConnected }) => {
      metrics?.redisErrors.inc();
      log.error({ err: redisErr(error), redis: context.redis }, everConnected ? "redis connection lost; reconnecting" : "redis unreachable; retrying with backoff");
    },
    "redis:repaired": ({ key, found, aside }) =>
      log.error(
        { key, found, aside },
        "corrupt key moved aside: it held the wrong type, so every command on it failed; the clock starts it afresh (what it held is kept under the aside key)",
      ),
    "redis:restored": () => log.info({ redis: context.redis }, "redis connection restored"),
    "redis:primary-changed": ({ master, from, to }) => log.warn({ master, from, to, redis: context.redis }, "redis primary changed (Sentinel failover); the ledger is read again"),
    "time:offset": ({ offsetMs, previousMs, uncertaintyMs }) => {
      // Reported as skew: this host's clock minus Redis TIME (positive when this host is ahead).
      const skewMs = -offsetMs;
      metrics?.clockSkew.set(skewMs / 1000);
      const fields = { skewMs: Math.round(skewMs), uncertaintyMs: Math.round(uncertaintyMs * 10) / 10 };
      const off = Math.abs(offsetMs) >= SKEW_WARN_MS;
      if (off && (Math.abs(previousMs) < SKEW_WARN_MS || Math.abs(offsetMs - previousMs) >= SKEW_WARN_MS))
        log.warn(fields, "this host's clock differs from Redis TIME; slots are decided and fired by Redis time (check the host's NTP)");
      else if (!off && Math.abs(previousMs) >= SKEW_WARN_MS) log.info(fields, "this host's clock agrees with Redis TIME again");
      else log.debug(fields, "offset to Redis TIME measured again");
    },
    "time:step": ({ stepMs }) => log.warn({ stepMs: Math.round(stepMs) }, "this host's wall clock stepped; slots keep Redis time, which is read again now"),
    "sync:reset": ({ fromVersion, toVersion, vanished, unpaused }) =>
      log.error(
        { fromVersion, toVersion, vanished: vanished.length, unpaused: unpaused.length, examples: [...vanished, ...unpaused].slice(0, 10) },
        vanished.length + unpaused.length > 0
          ? "dynamic schedules reset: Redis lost data? the change counter went backwards; vanished dynamic schedules are removed and lost pauses fire again (re-apply them)"
          : "dynamic schedules reset: Redis lost data? the change counter went backwards",
      ),
    "sync:loaded": ({ schedules, paused, invalid }) =>
      log.info({ schedules, paused, invalid }, "schedules and pauses read from Redis: planning starts, missed slots follow the catch-up policy"),
    "schedule:changed": ({ name, kind, fields }) => log.info({ schedule: name, change: kind, ...fields }, "schedule change applied"),
    "schedule:invalid": ({ name, reason }) => log.warn({ schedule: name, reason }, "invalid dynamic schedule skipped; the others keep firing"),
    "schedule:done-removed": ({ name, slotAt }) => log.info({ schedule: name, slot: new Date(slotAt).toISOString() }, "one-shot schedule fired; its dynamic entry removed"),
    "schedule:clash": ({ name }) => log.warn({ schedule: name }, "dynamic schedule ignored: the config file defines a schedule of that name"),
    "config:mismatch": ({ mismatch }) => {
      const { diff } = mismatch;
      log.error(
        {
          fingerprint: mismatch.fingerprint,
          leaderFingerprint: mismatch.leaderFingerprint,
          leader: `${mismatch.leader.host}/${mismatch.leader.pid}`,
          ...(diff === null
            ? { diff: "unknown (the leader's digests are not in Redis)" }
            : { added: diff.added, removed: diff.removed, changed: diff.changed, counts: diff.counts, settingsDiffer: diff.settingsDiffer }),
        },
        "config differs from the leader's: the leader fires its own schedules, not this clock's (expected for a while during a rolling deploy)",
      );
    },
    "config:matched": ({ fingerprint, leaderFingerprint, reason }) => log.info({ fingerprint, leaderFingerprint }, reason),
    "config:checked": ({ fingerprint, leaderFingerprint }) =>
      log.debug({ fingerprint }, leaderFingerprint === null ? "config check: the leader's config fingerprint is not known" : "config check: matches the leader's"),
    "config:check-failed": ({ error }) => log.debug({ err: redisErr(error) }, "config check failed; will try again"),
    "pause:expired": ({ name, untilAt }) =>
      log.info({ schedule: name, until: new Date(untilAt).toISOString() }, "pause ended at its until; the schedule resumes as if resumed then"),
    "pause:repaired": ({ shard, toShard, toDeployment, dropped }) =>
      log.info(
        { shard, toShard: toShard.length, toDeployment: toDeployment.length, dropped: dropped.length, examples: [...toShard, ...toDeployment, ...dropped].slice(0, 10) },
        "pause state of a shard and the deployment made to agree (pauses moved into the shard, or a pause or resume that stopped halfway completed)",
      ),
    "backfill:started": ({ record, resumed }) => log.info(backfillFields(record), resumed ? "backfill resumed from where the last leader left it" : "backfill started"),
    "backfill:finished": ({ record }) => {
      const fields = backfillFields(record);
      if (record.state === "done") log.info(fields, "backfill done");
      else if (record.state === "cancelled") log.info(fields, "backfill cancelled");
      else log.error(fields, "backfill failed");
    },
    "history:failed": ({ error, records, again }) => {
      metrics?.historyFailures.inc();
      if (again) log.debug({ err: redisErr(error), records }, "fire history write failed again");
      else log.warn({ err: redisErr(error), records }, "fire history write failed; the records are kept in memory and retried (firing goes on)");
    },
    "history:recovered": () => log.info("fire history writes succeed again"),
    "history:dropped": ({ records }) => {
      metrics?.historyDropped.inc(records);
      log.warn({ records }, "fire history records dropped: more waited for Redis than the clock keeps in memory");
    },
    "checkin:recorded": ({ schedule, jobId, state, error }) => {
      metrics?.checkIns.inc({ state });
      if (state === "succeeded") noteSuccess(schedule, (context.now ?? Date.now)());
      if (state === "failed") log.info({ schedule, jobId, error }, "job failed (worker check-in)");
      else log.debug({ schedule, jobId, state }, "worker check-in recorded");
    },
    "checkin:failed": ({ error }) => log.warn({ err: redisErr(error) }, "worker check-in could not be heard or recorded; history may lack some outcomes"),
    "expect:changed": ({ schedule, from, to }) => {
      for (const state of EXPECT_STATES) metrics?.scheduleState.set({ schedule, state }, state === to.state ? 1 : 0);
      // A leader's first look at a schedule that is fine, or as its predecessor left it, is no news.
      if ((from === null && to.state === "ok") || from === to.state) return;
      const fields = {
        schedule,
        state: to.state,
        previous: from,
        ...(to.slotAt === null ? {} : { slot: new Date(to.slotAt).toISOString() }),
        ...(to.jobId === null ? {} : { jobId: to.jobId }),
        reason: to.reason,
        ...(to.error === null ? {} : { error: to.error }),
      };
      if (to.state === "ok") log.info(fields, "schedule back to ok");
      else log.warn(fields, "schedule state changed: its jobs are not doing what its expect says");
    },
    "expect:succeeded": ({ schedule, finishedAt }) => noteSuccess(schedule, finishedAt),
    "expect:removed": ({ schedule }) => {
      for (const state of EXPECT_STATES) metrics?.scheduleState.remove({ schedule, state });
      metrics?.lastSuccess.remove({ schedule });
      lastSuccess.delete(schedule);
    },
    "alert:sent": ({ url, schedule, state, attempt }) => {
      metrics?.alerts.inc({ result: "sent" });
      log.debug({ url, schedule, state, attempt }, "state change posted to the alert webhook");
    },
    "alert:failed": ({ url, schedule, attempt, error, final }) => {
      metrics?.alerts.inc({ result: final ? "given-up" : "failed" });
      if (final) log.error({ url, schedule, attempt, err: error }, "alert webhook post given up after its last attempt; this state change is not delivered");
      else if (attempt === 1) log.warn({ url, schedule, attempt, err: error }, "alert webhook post failed; retrying with backoff (firing goes on)");
      else log.debug({ url, schedule, attempt, err: error }, "alert webhook post failed again");
    },
    "alert:dropped": ({ url, count }) => {
      metrics?.alerts.inc({ result: "dropped" }, count);
      log.warn({ url, count }, "state changes dropped: more waited for the alert webhook than the clock keeps");
    },
    "task:failed": ({ task, error }) => log.warn({ task, err: redisErr(error) }, TASK_MESSAGES[task] ?? "background task failed; will retry"),
    "listener:failed": ({ event, error }) => log.error({ event, err: error }, "an event listener threw (a bug: please report it); the clock goes on"),
  };
  for (const [event, handler] of Object.entries(table) as [ClockEventName, never][]) events.on(event, handler);
  return { recentFires, replication };
}
