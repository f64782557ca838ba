import { loadConfig } from "../../index.ts";
import { nextSlots, formatSlot, parseInstant } from "../../internal.ts";
import { parseCommandArgs, parsePositiveInt, UsageError } from "../args.ts";
import { table } from "../output.ts";
import type { Command } from "../command.ts";

export const next: Command = {
  name: "next",
  summary: "show the next slots of one or all schedules",
  usage: `Usage: clock next [NAME] [--count N] [--from ISO-8601] [--json] [--config PATH]

Prints the next N slots of schedule NAME, or of every enabled schedule, after --from
(default: now), merged in time order. Slots are computed, not read from Redis: a schedule with
maxRuns shows at most maxRuns slots (how many it has left is counted in Redis: clock status).

Options:
  --count N        slots per schedule (default 5)
  --from TIME      ISO-8601 instant to start after, e.g. 2026-03-08T00:00:00Z
  --json           one JSON array of {"schedule", "at", "epochMs"}, ordered by time
  --config PATH    config file (default: CLOCK_CONFIG, then ./clock.config.{ts,mts,js,mjs})
  -h, --help       show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      "next",
      argv,
      { count: { type: "string", short: "n" }, from: { type: "string" }, json: { type: "boolean" }, config: { type: "string" } },
      1,
    );
    const count = parsePositiveInt("count", values.count, 5, "next");
    let fromAt = io.now();
    if (values.from !== undefined) {
      const parsed = parseInstant(values.from);
      if (typeof parsed !== "number") throw new UsageError(`--from: ${parsed.error}`, "clock next --help");
      fromAt = parsed;
    }
    const { config } = await loadConfig(values.config);
    const [name] = positionals;
    let schedules = config.schedules.filter((schedule) => schedule.enabled);
    if (name !== undefined) {
      const named = config.schedules.find((schedule) => schedule.name === name);
      if (named === undefined) {
        throw new UsageError(`no schedule named "${name}"`, `known: ${config.schedules.map((schedule) => schedule.name).join(", ")}`);
      }
      schedules = [named];
    }
    const slots = schedules
      .flatMap((schedule) =>
        nextSlots(schedule, fromAt, Math.min(count, schedule.maxRuns ?? count)).map((epochMs) => ({
          schedule: schedule.name,
          at: formatSlot(epochMs, schedule.timezone),
          epochMs,
        })),
      )
      .sort((a, b) => a.epochMs - b.epochMs || a.schedule.localeCompare(b.schedule));
    if (values.json === true) {
      io.out(JSON.stringify(slots, null, 2));
    } else {
      io.out(
        table(
          ["SLOT", "SCHEDULE", "UTC"],
          slots.map((slot) => [slot.at, slot.schedule, new Date(slot.epochMs).toISOString()]),
        ),
      );
    }
    return 0;
  },
};
