/** `clock backfill`: every slot of a past range of one schedule, once, through the leader. */
import type { BackfillRecord } from "../../index.ts";
import { parseCommandArgs, UsageError } from "../args.ts";
import { CLIENT_HELP, CLIENT_OPTIONS, withClient } from "../client-command.ts";
import type { Command } from "../command.ts";

const iso = (at: number): string => new Date(at).toISOString();

function progress(record: BackfillRecord): string {
  const handled = record.fired + record.skipped + record.paused;
  return `backfill ${record.id} of ${record.schedule}: ${record.state}, ${handled}/${record.total} slots handled (fired ${record.fired}, skipped ${record.skipped} already in the ledger, ${record.paused} inside a pause)`;
}

export const backfill: Command = {
  name: "backfill",
  summary: "enqueue every slot of a past range of a schedule, once (through the leader)",
  usage: `Usage: clock backfill NAME --from ISO --to ISO [--rate 10/s] [--dry-run] [--no-wait] [--json]
       clock backfill --status ID | --cancel ID

Enqueues every slot of schedule NAME from --from to --to (both inclusive, ISO-8601 with an offset;
--to not in the future), each with the slot's own job id and "backfill": true in its metadata.
The leader fires them through the same fenced script as the schedule, at most --rate slots a
second (default 10/s). A slot at or before the schedule's newest fired slot is skipped (the
ledger keeps only the newest, so an older one may have fired), and so is one inside a pause: a
backfill run twice enqueues nothing new. Refused when no clock leads. Waits and shows progress
unless --no-wait; the backfill goes on if this command is interrupted (--cancel ID stops it).

Options:
  --from ISO         first instant of the range
  --to ISO           last instant of the range
  --rate RATE        slots per second at most: "10/s", "600/m", "3600/h"
  --dry-run          show what would fire and what would be skipped; write nothing
  --no-wait          print the backfill's id and return at once
  --status ID        show a backfill's progress
  --cancel ID        stop a backfill before its next batch
  --json             print JSON
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(
      "backfill",
      argv,
      {
        ...CLIENT_OPTIONS,
        from: { type: "string" },
        to: { type: "string" },
        rate: { type: "string" },
        "dry-run": { type: "boolean" },
        "no-wait": { type: "boolean" },
        status: { type: "string" },
        cancel: { type: "string" },
        json: { type: "boolean" },
      },
      1,
    );
    const print = (value: unknown, text: string): void => io.out(values.json === true ? JSON.stringify(value, null, 2) : text);
    if (values.cancel !== undefined || values.status !== undefined) {
      if (positionals.length > 0 || (values.cancel !== undefined && values.status !== undefined)) {
        throw new UsageError("--cancel ID and --status ID take no schedule NAME, and not both", "clock backfill --help");
      }
      return await withClient(values, async (client) => {
        if (values.cancel !== undefined) {
          const record = await client.cancelBackfill(values.cancel, { wait: values["no-wait"] !== true });
          print(record, `${record.state === "cancelled" ? "cancelled" : "cancel asked for"}: ${progress(record)}`);
          return 0;
        }
        const record = await client.backfillStatus(values.status as string);
        if (record === null) throw new UsageError(`no backfill ${values.status ?? ""} (a finished one is kept for a week)`, "clock backfill --help");
        print(record, progress(record));
        return 0;
      });
    }
    const [name] = positionals;
    if (name === undefined) throw new UsageError("missing schedule NAME", "clock backfill --help");
    if (values.from === undefined || values.to === undefined) throw new UsageError("missing --from ISO and --to ISO", "clock backfill --help");
    const range = { from: values.from, to: values.to, ...(values.rate === undefined ? {} : { rate: values.rate }) };
    return await withClient(values, async (client) => {
      if (values["dry-run"] === true) {
        const plan = await client.backfill(name, { ...range, dryRun: true });
        print(
          plan,
          [
            `dry run: backfill of ${name} from ${iso(plan.fromAt)} to ${iso(plan.toAt)} at ${plan.ratePerSecond}/s: ${plan.total} slots`,
            `  would fire ${plan.wouldFire}, skip ${plan.skipped} (at or before the newest fired slot), ${plan.paused} inside a pause`,
            ...(plan.firstSlots.length === 0 ? [] : [`  first: ${plan.firstSlots.map(iso).join(", ")}${plan.wouldFire > plan.firstSlots.length ? ", ..." : ""}`]),
          ].join("\n"),
        );
        return 0;
      }
      if (values["no-wait"] === true) {
        const record = await client.backfill(name, range);
        print(record, `backfill ${record.id} of ${name} asked for (${record.total} slots); follow it with: clock backfill --status ${record.id}`);
        return 0;
      }
      const record = await client.backfill(name, {
        ...range,
        wait: true,
        onProgress: (update) => {
          if (values.json !== true) io.err(progress(update));
        },
      });
      print(record, progress(record));
      return record.state === "failed" ? 1 : 0;
    });
  },
};
