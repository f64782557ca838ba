/**
 * Logging: pino JSON lines on stdout (readable lines on a terminal). Errors go under `err` and
 * pass one serializer that takes every credential it knows out of the message, so no call site has
 * to remember to redact: the daemon makes a child logger that knows its Redis URL.
 */
import { pino, type Logger, type LevelWithSilent } from "pino";
import pretty from "pino-pretty";
import { redactSecrets, type RedisTarget } from "./redis/connection.ts";

export type { Logger };

/** `err` as a log line carries it: its name, code and message, with every secret URL's credentials out. */
export function errorSerializer(secretUrls: readonly (string | RedisTarget)[]): (value: unknown) => unknown {
  const redact = (text: string): string => secretUrls.reduce<string>((out, url) => (url === "" ? out : redactSecrets(out, url)), text);
  return (value) => {
    if (value instanceof Error) {
      const code = (value as { code?: unknown }).code;
      return { type: value.name, message: redact(value.message), ...(typeof code === "string" ? { code } : {}) };
    }
    if (value !== null && typeof value === "object" && typeof (value as { message?: unknown }).message === "string") {
      return { ...(value as object), message: redact((value as { message: string }).message) };
    }
    return typeof value === "string" ? redact(value) : value;
  };
}

/** A child logger whose `err` serializer also redacts these URLs' (or targets') credentials. */
export function withSecrets(logger: Logger, secretUrls: readonly (string | RedisTarget)[]): Logger {
  const known = [process.env["REDIS_URL"] ?? "", ...secretUrls];
  return logger.child({}, { serializers: { err: errorSerializer(known) } });
}

/** JSON lines on stdout; human-readable lines when `pretty` (a terminal, or --pretty). */
export function createLogger(options: { level?: LevelWithSilent; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? "info";
  const base = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: errorSerializer([process.env["REDIS_URL"] ?? ""]) },
  };
  if (options.pretty === true) {
    return pino(
      base,
      pretty({ colorize: process.stdout.isTTY === true, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", destination: options.destination ?? 1 }),
    );
  }
  // Asynchronous writes: a burst's thousands of "fired" lines, or a slow reader of stdout (a log
  // shipper, a full pipe), never hold up the event loop, and with it the fires still going out and
  // the lease renewals. What is buffered is written out at exit (pino flushes it); a SIGKILL can lose
  // the lines of the last moment.
  return pino(base, options.destination ?? pino.destination({ dest: 1, sync: false }));
}
