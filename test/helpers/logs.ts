/** Log lines: the one LogLine type, and a pino destination that keeps every line and lets tests wait for one. */
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/log.ts";

/**
 * One log line as parsed, in this process (LogSink) or from a child's stdout (process.ts): pino's
 * fields as written; a child's line that is not JSON keeps its text in `msg`, with `raw: true`.
 */
export interface LogLine {
  readonly msg: string;
  readonly level?: number;
  /** ISO-8601 (the logger's timestamp). */
  readonly time?: string;
  readonly raw?: true;
  readonly [field: string]: unknown;
}

/** Epoch ms of a line, from its `time`. */
export function timeOf(line: LogLine): number {
  const at = typeof line.time === "string" ? Date.parse(line.time) : Number.NaN;
  if (!Number.isFinite(at)) throw new Error(`log line without a time: ${JSON.stringify(line)}`);
  return at;
}

export class LogSink {
  readonly lines: LogLine[] = [];
  readonly #waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  readonly logger: Logger;

  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        for (const text of chunk.toString().split("\n")) {
          if (text.trim() === "") continue;
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          for (const waiter of [...this.#waiters]) {
            if (waiter.predicate(line)) {
              this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
              waiter.resolve(line);
            }
          }
        }
        callback();
      },
    });
    this.logger = createLogger({ level: "debug", destination: stream });
  }

  /** Resolves with the first line (already seen or still to come) that matches. */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs = 10_000, after = 0): Promise<LogLine> {
    const seen = this.lines.slice(after).find(predicate);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; last: ${JSON.stringify(this.lines.slice(-5))}`)), timeoutMs);
      this.#waiters.push({ predicate, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  fired(schedule: string): LogLine[] {
    return this.lines.filter((line) => line.msg === "fired" && line["schedule"] === schedule);
  }
}
