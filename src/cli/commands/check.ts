import { loadConfig } from "../../index.ts";
import { checkAdapterPackages, cronRuleWarnings, describeModifiers, describeRule, nextSlotAfter, formatSlot, overlapOf } from "../../internal.ts";
import { parseCommandArgs } from "../args.ts";
import { table } from "../output.ts";
import type { Command } from "../command.ts";

/** The overlap policy in words, appended to the rule's ("" for allow, the default). */
const OVERLAP_WORDS = { allow: "", skip: "; skipped while the previous job is pending", replace: "; replaces the previous job while it waits" } as const;

export const check: Command = {
  name: "check",
  summary: "validate the config and show its schedules",
  usage: `Usage: clock check [--config PATH] [--json]

Validates the config and prints every schedule: name, rule, the rule in words, zone, next slot,
adapter/queue. Rules that may not mean what they look like (a 6-field cron rule reads seconds
first) get a warning on stderr. Exits 0 when the config is valid, 2 with every error otherwise.

Options:
  --config PATH   config file (default: CLOCK_CONFIG, then ./clock.config.{ts,mts,js,mjs})
  --json          print the schedules as JSON
  -h, --help      show this help`,
  async run(argv, io) {
    const { values } = parseCommandArgs("check", argv, { config: { type: "string" }, json: { type: "boolean" } }, 0);
    const { path, config } = await loadConfig(values.config);
    await checkAdapterPackages(config);
    const now = io.now();
    const rows = config.schedules.map((schedule) => {
      const next = schedule.enabled ? nextSlotAfter(schedule, now) : null;
      const overlap = overlapOf(schedule);
      const modifiers = describeModifiers(schedule);
      const inWords = describeRule(schedule);
      return {
        schedule: schedule.name,
        rule: schedule.ruleText,
        inWords: (() => {
          const words = modifiers.length === 0 ? inWords : [inWords ?? schedule.ruleText, ...modifiers].join(", ");
          return words === null || overlap === "allow" ? words : `${words}${OVERLAP_WORDS[overlap]}`;
        })(),
        ...(overlap === "allow" ? {} : { overlap }),
        ...(schedule.maxRuns === undefined ? {} : { maxRuns: schedule.maxRuns }),
        ...(schedule.expireAfterMs === undefined ? {} : { expireAfterMs: schedule.expireAfterMs }),
        ...(schedule.group === undefined ? {} : { group: schedule.group }),
        ...(schedule.labels === undefined ? {} : { labels: schedule.labels }),
        timezone: schedule.timezone,
        next: next === null ? null : formatSlot(next, schedule.timezone),
        adapter: schedule.adapter,
        queue: schedule.job.queue,
        enabled: schedule.enabled,
      };
    });
    const warnings = config.schedules.flatMap((schedule) =>
      cronRuleWarnings(schedule).map((message) => ({ schedule: schedule.name, path: `schedules.${schedule.name}.cron`, message })),
    );
    for (const warning of warnings) io.err(`warning: ${warning.path}: ${warning.message}`);
    if (values.json === true) {
      io.out(JSON.stringify({ config: path, valid: true, schedules: rows, warnings }, null, 2));
      return 0;
    }
    io.out(
      table(
        ["SCHEDULE", "RULE", "IN WORDS", "ZONE", "NEXT SLOT", "ADAPTER/QUEUE"],
        rows.map((row) => [
          row.schedule,
          row.rule,
          row.inWords ?? "-",
          row.timezone,
          row.enabled ? (row.next ?? (row.rule.startsWith("once ") ? "(none: done)" : "(none: past endAt)")) : "(disabled)",
          `${row.adapter}/${row.queue}`,
        ]),
      ),
    );
    const warned = warnings.length === 0 ? "" : ` (${warnings.length} warning${warnings.length === 1 ? "" : "s"}, on stderr)`;
    io.out(`\n${path}: ${rows.length} schedule${rows.length === 1 ? "" : "s"}, valid${warned}`);
    return 0;
  },
};
