/** `clock history NAME`: a schedule's last fires and their outcomes; `--changes`: the audit of dynamic changes. */
import type { AuditEntry, HistoryEntry } from "../../index.ts";
import { formatSlot } from "../../internal.ts";
import { parseCommandArgs, parsePositiveInt, UsageError } from "../args.ts";
import { CLIENT_HELP, CLIENT_OPTIONS, withClient } from "../client-command.ts";
import type { Command } from "../command.ts";
import { table } from "../output.ts";

const DEFAULT_LIMIT = 100;

const at = (ms: number | null): string => (ms === null ? "-" : new Date(ms).toISOString());

function outcomeText(entry: HistoryEntry): string {
  if (entry.kind === "skipped") return "not enqueued";
  if (entry.result === null) return "unknown";
  if (entry.result === "failed") return `failed${entry.error === null ? "" : ` (${entry.error})`}`;
  if (entry.result === "started") return "running";
  return entry.result;
}

const took = (entry: HistoryEntry): string => (entry.startedAt === null || entry.finishedAt === null ? "-" : `${entry.finishedAt - entry.startedAt} ms`);

export const history: Command = {
  name: "history",
  summary: "a schedule's last fires and their outcomes, or (--changes) who changed what",
  usage: `Usage: clock history NAME [--json] [--limit N] [--config PATH] [--namespace NAME]
       clock history --changes [NAME] [--json] [--limit N]

Shows schedule NAME's last fires, newest first: slot, job id, when the job reached Redis (Redis
time) and its lag, the kind (on-time, catch-up, trigger, skipped by overlap), and what workers
reported (started, succeeded, failed with the error class; BullMQ's own events, the Sidekiq
middleware, or client.checkIn). With --changes: the dynamic changes (set, remove, pause, resume,
trigger) with who made them and when, newest first; NAME narrows them to one schedule.

Options:
  --changes          the audit of changes instead of a schedule's fires
  --json             print JSON
  --limit N          entries (default ${DEFAULT_LIMIT})
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("history", argv, { ...CLIENT_OPTIONS, json: { type: "boolean" }, limit: { type: "string" }, changes: { type: "boolean" } }, 1);
    const limit = parsePositiveInt("limit", values.limit, DEFAULT_LIMIT, "history");
    const [name] = positionals;
    if (values.changes === true) {
      return await withClient(values, async (client) => {
        const entries: AuditEntry[] = await client.changes({ limit, ...(name === undefined ? {} : { schedule: name }) });
        if (values.json === true) io.out(JSON.stringify(entries, null, 2));
        else if (entries.length === 0) io.out("no changes recorded");
        else
          io.out(
            table(
              ["WHEN", "ACTOR", "ACTION", "SCHEDULE", "DETAIL"],
              entries.map((e) => [at(e.at), e.actor, e.action, e.schedule, e.detail === null ? "" : JSON.stringify(e.detail).slice(0, 80)]),
            ),
          );
        return 0;
      });
    }
    if (name === undefined) throw new UsageError("missing schedule NAME (or --changes)", "clock history --help");
    return await withClient(values, async (client) => {
      const entries = await client.history(name, { limit });
      if (values.json === true) {
        io.out(JSON.stringify(entries, null, 2));
        return 0;
      }
      if (entries.length === 0) {
        io.out(`no history for "${name}" (nothing fired yet, history off, or no such schedule)`);
        return 0;
      }
      io.out(
        table(
          ["SLOT", "KIND", "LAG", "OUTCOME", "STARTED", "TOOK", "JOB ID"],
          entries.map((e) => [formatSlot(e.slotAt, "UTC"), e.kind, `${e.lagMs.toFixed(1)} ms`, outcomeText(e), at(e.startedAt), took(e), e.jobId]),
        ),
      );
      return 0;
    });
  },
};
