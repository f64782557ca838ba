/** The `clock` command: thin, it parses flags and calls the public API. */
import { ClockError, type ErrorCode } from "../index.ts";
import { UsageError } from "./args.ts";
import type { Command, Io } from "./command.ts";
import { backfill } from "./commands/backfill.ts";
import { check } from "./commands/check.ts";
import { next } from "./commands/next.ts";
import { start } from "./commands/start.ts";
import { add, list, pause, remove, resume, status, trigger } from "./commands/schedules.ts";
import { importCommand } from "./commands/import.ts";
import { history } from "./commands/history.ts";
import { version } from "./version.ts";

/** Errors of what the user asked (exit 2); any other failure is a runtime one (exit 1). */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set(["invalid", "not-found", "clash"]);

const COMMANDS: readonly Command[] = [start, check, next, status, list, add, remove, pause, resume, trigger, backfill, history, importCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `Usage: clock COMMAND [options]

The clock: enqueues jobs into Redis queues (Sidekiq, Resque, BullMQ) at wall-clock times,
at most once per slot, from the schedules in clock.config.ts.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join("\n")}

Options:
  -h, --help      show help (also: clock COMMAND --help)
  -v, --version   print the version

Environment: REDIS_URL (default redis://127.0.0.1:6379; rediss:// for TLS;
redis+sentinel://host:26379,host:26379/master-name through Sentinel), CLOCK_CONFIG (config path).`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.out(version());
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"`, "clock --help lists the commands");
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(command.usage);
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`clock: ${error.message}\nhint: ${error.hint}`);
      return 2;
    }
    if (error instanceof ClockError && BAD_INPUT.has(error.code)) {
      io.err(`clock: ${error.message}`);
      return 2;
    }
    io.err(`clock: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}
