/** Prometheus metrics of one clock process, on a registry of its own (tests run several clocks). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Per-schedule series are kept for this many schedules per process; the fires of any other are
 * counted under `schedule="_other"`. Each series costs ~300 B of heap and a line of every scrape:
 * 250,000 of them (a process's share of a million dynamic schedules) held 73 MB and made a scrape
 * block the event loop for 3.3 s (measured with prom-client 15 on this machine).
 */
export const MAX_SCHEDULE_SERIES = 10_000;
/** The `schedule` label of fires past MAX_SCHEDULE_SERIES distinct schedules. */
export const OTHER_SCHEDULES = "_other";

export class ClockMetrics {
  readonly registry = new Registry();
  readonly #labelled = new Set<string>();
  /** Called once, when a schedule is first counted under OTHER_SCHEDULES. */
  onSeriesCapped: () => void = () => undefined;
  readonly fires = new Counter({
    name: "clock_fires_total",
    help: "Jobs enqueued for slots, by schedule and adapter.",
    labelNames: ["schedule", "adapter"],
    registers: [this.registry],
  });
  readonly catchUpFires = new Counter({ name: "clock_catch_up_fires_total", help: "Fires of slots that were missed and caught up late.", registers: [this.registry] });
  readonly skippedSlots = new Counter({
    name: "clock_skipped_slots_total",
    help: "Missed slots not fired (outside the window, over max, or policy none).",
    registers: [this.registry],
  });
  readonly overlapSkips = new Counter({
    name: "clock_overlap_skips_total",
    help: "Slots not enqueued because the previous slot's job of the schedule was still pending (overlap skip), by schedule.",
    labelNames: ["schedule"],
    registers: [this.registry],
  });
  readonly lag = new Histogram({
    name: "clock_fire_lag_seconds",
    help: "Time from a slot's instant to its job being in Redis (Redis time inside the write).",
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly fenceRefusals = new Counter({ name: "clock_fence_refusals_total", help: "Fires refused because this process no longer held the lease.", registers: [this.registry] });
  readonly clockSkew = new Gauge({
    name: "clock_host_clock_skew_seconds",
    help: "This host's wall clock minus Redis TIME, as last measured (slots are decided by Redis time; 0 within measurement error).",
    registers: [this.registry],
  });
  readonly leader = new Gauge({ name: "clock_leader", help: "1 while this process holds the lease.", registers: [this.registry] });
  readonly shardsLed = new Gauge({ name: "clock_shards_led", help: "Shards of leadership this process leads (with shards above 1).", registers: [this.registry] });
  readonly leaseTransitions = new Counter({
    name: "clock_lease_transitions_total",
    help: "Leadership gained or lost, by direction.",
    labelNames: ["to"],
    registers: [this.registry],
  });
  readonly unreplicatedFires = new Counter({
    name: "clock_unreplicated_fires_total",
    help: "Fires in batches that fewer replicas than durability.replicas acknowledged (WAIT timed out or failed).",
    registers: [this.registry],
  });
  readonly checkIns = new Counter({
    name: "clock_check_ins_total",
    help: "Worker check-ins the leader heard from the queue system's events (BullMQ) and recorded, by state (started, succeeded, failed).",
    labelNames: ["state"],
    registers: [this.registry],
  });
  readonly historyFailures = new Counter({
    name: "clock_history_write_failures_total",
    help: "Failed writes of fire records to the history (retried; records past the in-memory bound are dropped).",
    registers: [this.registry],
  });
  readonly historyDropped = new Counter({
    name: "clock_history_dropped_total",
    help: "Fire records never written to the history: more waited for Redis than the clock keeps in memory.",
    registers: [this.registry],
  });
  readonly scheduleState = new Gauge({
    name: "clock_schedule_state",
    help: "1 for the state a schedule with expect is in (ok, late, failed, missed), 0 for the others; only schedules with expect have series.",
    labelNames: ["schedule", "state"],
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: "clock_schedule_last_success_timestamp_seconds",
    help: "When a job of the schedule last finished successfully (as checked in), Unix seconds; only schedules with expect or whose check-ins the leader hears (BullMQ).",
    labelNames: ["schedule"],
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: "clock_alerts_total",
    help: "Webhook posts of state changes, by result (sent, failed: one attempt failed, given-up, dropped: over the queue's bound).",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({ name: "clock_redis_errors_total", help: "Redis connection errors and failed fire writes.", registers: [this.registry] });
  /** Where the gauges read at scrape time; set by the running clock. */
  sources = { schedules: () => 0, invalidSchedules: () => 0 };
  readonly schedules: Gauge = new Gauge({
    name: "clock_schedules",
    help: "Schedules being planned (enabled, not paused).",
    registers: [this.registry],
    collect: (): void => this.schedules.set(this.sources.schedules()),
  });
  readonly invalidSchedules: Gauge = new Gauge({
    name: "clock_invalid_schedules",
    help: "Dynamic schedules in Redis skipped as invalid.",
    registers: [this.registry],
    collect: (): void => this.invalidSchedules.set(this.sources.invalidSchedules()),
  });

  /** The `schedule` label for `name`: itself for the first MAX_SCHEDULE_SERIES schedules seen, then OTHER_SCHEDULES. */
  scheduleLabel(name: string): string {
    if (this.#labelled.has(name)) return name;
    if (this.#labelled.size < MAX_SCHEDULE_SERIES) {
      this.#labelled.add(name);
      return name;
    }
    if (this.#labelled.size === MAX_SCHEDULE_SERIES) {
      // Marks the overflow (the set never grows past MAX + 1), so the callback runs once.
      this.#labelled.add(OTHER_SCHEDULES);
      this.onSeriesCapped();
    }
    return OTHER_SCHEDULES;
  }

  constructor() {
    // prom-client's event-loop monitor wakes the loop at its precision (default every 10 ms): here
    // every 10 s, so an idle clock sleeps. The lag that matters is measured where it matters: each
    // fire's lag behind its slot (clock_fire_lag_seconds) and the planner's late wakes (logged).
    collectDefaultMetrics({ register: this.registry, prefix: "clock_process_", eventLoopMonitoringPrecision: 10_000 });
  }
}
