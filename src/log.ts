import { pino, type Logger, type LevelWithSilent } from "pino";
import pretty from "pino-pretty";

export type { Logger };

/** JSON lines on stdout; human-readable lines when `pretty` (a terminal, or --pretty). */
export function createLogger(options: { level?: LevelWithSilent; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? "info";
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (options.pretty === true) {
    return pino(base, pretty({ colorize: process.stdout.isTTY === true, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", destination: options.destination ?? 1 }));
  }
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
