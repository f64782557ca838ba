/** `clock start --dry-run`: no Redis; every fire is logged with the writes it would make, at the right times. */
import { AdapterRegistry } from "../adapters/registry.ts";
import { ClockEvents } from "../events.ts";
import { MemoryFirer } from "../fire/memory.ts";
import { AlwaysLeader } from "../lease/lease.ts";
import { Planner } from "../planner/planner.ts";
import { systemClock, type Clock } from "../time.ts";
import { ClockMetrics } from "./metrics.ts";
import { observe } from "./observe.ts";
import { RunningClock } from "./running.ts";
import type { ClockConfig } from "../config/resolve.ts";
import type { Logger } from "../log.ts";

export async function startDryRun(config: ClockConfig, log: Logger, version: string | undefined, clock: Clock, adapters: AdapterRegistry): Promise<RunningClock> {
  const events = new ClockEvents();
  const metrics = new ClockMetrics();
  const { recentFires } = observe(events, log, metrics);
  const leadership = new AlwaysLeader();
  const firer = new MemoryFirer(
    adapters,
    () => clock.now(),
    (fire) => log.info({ schedule: fire.schedule, jobId: fire.jobId, writes: fire.writes }, "dry run: would enqueue"),
  );
  const planner = new Planner({ clock, fire: (requests) => firer.fire(requests), readLedger: async () => new Map(firer.ledger), leadership, spin: clock === systemClock, events });
  leadership.onChange((leading) => events.emit("lease:changed", { leading }));
  metrics.sources = { schedules: () => planner.size, invalidSchedules: () => 0 };
  log.info({ version, schedules: config.schedules.length, dryRun: true }, "clock started (dry run: nothing is written to Redis)");
  planner.start(config.schedules);
  await leadership.start();
  return new RunningClock({
    namespace: config.namespace,
    clock,
    events,
    planner,
    leadership,
    metrics,
    recentFires,
    schedules: config.schedules,
    redis: null,
    stopSteps: [
      () => planner.stop(),
      () => leadership.stop(),
      async () => {
        await adapters.closeAll();
        log.info("clock stopped");
      },
    ],
  });
}
