/**
 * Per-schedule series are bounded: past MAX_SCHEDULE_SERIES schedules in one process, fires are
 * counted under schedule="_other" (said once in the log), so a shard of a million schedules does not
 * hold a series per schedule nor make every scrape print one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockMetrics, MAX_SCHEDULE_SERIES, OTHER_SCHEDULES } from "../src/daemon/metrics.ts";
import { observe } from "../src/daemon/observe.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome } from "../src/fire/fire.ts";
import { LogSink } from "./helpers/logs.ts";

const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };

test(`fires of more than ${MAX_SCHEDULE_SERIES} schedules: the first keep their series, the rest count under "${OTHER_SCHEDULES}", said once`, async () => {
  const events = new ClockEvents();
  const sink = new LogSink();
  const metrics = new ClockMetrics();
  observe(events, sink.logger, metrics);
  const extra = 25;
  for (let i = 0; i < MAX_SCHEDULE_SERIES + extra; i++) {
    const schedule = parseSchedule(`tenant-${i}`, { every: "1h", job: { class: "Sync", queue: "q" } }, defaults);
    const outcome: FireOutcome = { request: { schedule, slotAt: 3_600_000 }, status: "fired", jobId: `clock-tenant-${i}-3600000`, redisAt: 3_600_001 };
    events.emit("fire:fired", { outcome, lagMs: 1, catchUp: false });
  }
  // tenant-0 fires again: still its own series.
  const again = parseSchedule("tenant-0", { every: "1h", job: { class: "Sync", queue: "q" } }, defaults);
  events.emit("fire:fired", { outcome: { request: { schedule: again, slotAt: 7_200_000 }, status: "fired", jobId: "j", redisAt: 7_200_001 }, lagMs: 1, catchUp: false });
  const text = await metrics.registry.metrics();
  const series = text.split("\n").filter((line) => line.startsWith("clock_fires_total{"));
  assert.equal(series.length, MAX_SCHEDULE_SERIES + 1, "one series per schedule up to the cap, plus _other");
  assert.ok(series.includes(`clock_fires_total{schedule="${OTHER_SCHEDULES}",adapter="list"} ${extra}`), "the rest, counted together");
  assert.ok(series.includes('clock_fires_total{schedule="tenant-0",adapter="list"} 2'));
  const warnings = sink.lines.filter((line) => typeof line.msg === "string" && line.msg.startsWith("metrics: more than"));
  assert.equal(warnings.length, 1, "said once");
});
