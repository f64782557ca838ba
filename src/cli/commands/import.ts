import { readFileSync } from "node:fs";
import {
  importCrontab,
  importSidekiqCron,
  importSidekiqScheduler,
  isValidZone,
  renderConfig,
  renderIssues,
  renderJson,
  ScheduleFileError,
  type ImportResult,
} from "../../internal.ts";
import { parseCommandArgs, UsageError } from "../args.ts";
import type { Command } from "../command.ts";

const FORMATS = ["crontab", "sidekiq-cron", "sidekiq-scheduler"] as const;
type Format = (typeof FORMATS)[number];

export const importCommand: Command = {
  name: "import",
  summary: "convert a crontab or a sidekiq-cron / sidekiq-scheduler schedule into a config",
  usage: `Usage: clock import crontab FILE [--timezone ZONE] [--json]
       clock import sidekiq-cron FILE.yml [--timezone ZONE] [--json]
       clock import sidekiq-scheduler FILE.yml [--timezone ZONE] [--json]

Prints a clock.config.ts with the same schedules, zones and job classes (FILE - reads standard
input). A crontab is read as cronie reads a user crontab (crontab -l): CRON_TZ sets the zone of
the lines after it, and each command becomes { class: "ShellCommand", args: [command] }, a
placeholder for the job it must become. A sidekiq-cron file is its config/schedule.yml; a
sidekiq-scheduler file is a sidekiq.yml with :scheduler: :schedule: (or :schedule:), or the
schedule hash alone. What cannot be carried over, or only with a difference, is listed on
stderr and at the end of the config, each with its line or name and the reason.

Exits 0 when at least one schedule was converted, 2 when the file cannot be read, is not of
that format, or holds nothing that could be carried over.

Options:
  --timezone ZONE  the zone of rules that name none: the cron host's zone for a crontab
                   (default UTC), the Sidekiq process's for sidekiq-scheduler, Rails'
                   config.time_zone for sidekiq-cron 2 (sidekiq-cron 1.8 reads UTC)
  --json           print one JSON array of { "name", ...definition } instead; each element
                   is what clock add --file - takes
  -h, --help       show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("import", argv, { timezone: { type: "string" }, json: { type: "boolean" } }, 2);
    const [format, file] = positionals;
    if (format === undefined || !(FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(
        format === undefined ? "missing the format (crontab, sidekiq-cron or sidekiq-scheduler)" : `unknown format "${format}" (use crontab, sidekiq-cron or sidekiq-scheduler)`,
        "clock import --help",
      );
    }
    if (file === undefined) throw new UsageError(`missing the ${format} FILE (- for standard input)`, "clock import --help");
    if (values.timezone !== undefined && !isValidZone(values.timezone))
      throw new UsageError(`--timezone: unknown time zone "${values.timezone}"`, 'use an IANA name such as "Europe/Berlin"');
    let text: string;
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (error) {
      io.err(`clock: cannot read ${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
      return 2;
    }
    const shown = file === "-" ? "standard input" : file;
    const options = { timezone: values.timezone, now: io.now() };
    let result: ImportResult;
    try {
      result = await convert(format as Format, text, shown, options);
    } catch (error) {
      if (!(error instanceof ScheduleFileError)) throw error;
      io.err(`clock: ${error.message}`);
      return 2;
    }
    for (const line of renderIssues(result, shown)) io.err(line);
    if (result.schedules.length === 0) {
      io.err(`clock: nothing in ${shown} could be carried over (the reasons are above)`);
      return 2;
    }
    const command = ["clock import", format, file, ...(values.timezone === undefined ? [] : ["--timezone", values.timezone])].join(" ");
    io.out(values.json === true ? renderJson(result) : renderConfig(result, shown, command).trimEnd());
    return 0;
  },
};

async function convert(format: Format, text: string, file: string, options: { timezone: string | undefined; now: number }): Promise<ImportResult> {
  switch (format) {
    case "crontab":
      return importCrontab(text, options);
    case "sidekiq-cron":
      return await importSidekiqCron(text, file, options);
    case "sidekiq-scheduler":
      return await importSidekiqScheduler(text, file, options);
  }
}
