/**
 * Lines a child process wrote, as they arrive: parsed (process.ts reads them), kept in order and
 * awaitable from any position, for one process or merged from several (a fleet).
 */
import { EventEmitter } from "node:events";
import type { LogLine } from "./logs.ts";
import type { LoggedProcess } from "./process.ts";

const DEFAULT_WAIT_MS = 15_000;

/** A child's stdout line: a JSON object as is (msg "" if it has none); anything else as `{ msg: text, raw: true }`. */
export function parseLogLine(text: string): LogLine {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return typeof (value as { msg?: unknown }).msg === "string" ? (value as LogLine) : { ...value, msg: "" };
    }
  } catch {
    // not JSON: kept as text below
  }
  return { msg: text, raw: true };
}

export interface Heard {
  readonly proc: LoggedProcess;
  readonly line: LogLine;
  /** The line as it was read. */
  readonly text: string;
  /** When the line arrived, by the spawner's clock (`now`, Date.now() by default). */
  readonly receivedAt: number;
  /** Position in the log it was heard in: `from: index + 1` waits for what comes after it. */
  readonly index: number;
}

/** Checked once per line, after the line is in the log (so it may also count what came before). */
export type LinePredicate = (line: LogLine, heard: Heard) => boolean;

export interface WaitOptions {
  /** The first position in the log to look at (default 0: lines already read count). */
  readonly from?: number;
  readonly timeoutMs?: number;
  /** What is awaited, for the error. */
  readonly what?: string;
}

/** An append-only list of lines (of one process, or merged from several) that can be awaited from any position. */
export class LineLog {
  readonly entries: Heard[] = [];
  readonly #events = new EventEmitter<{ heard: [Heard]; closed: [string] }>();
  #closed: string | null = null;

  get length(): number {
    return this.entries.length;
  }

  push(entry: Omit<Heard, "index">): Heard {
    const heard: Heard = { ...entry, index: this.entries.length };
    this.entries.push(heard);
    this.#events.emit("heard", heard);
    return heard;
  }

  /** No more lines will come (the only writer is gone): pending and later waits reject. */
  close(reason: string): void {
    this.#closed = reason;
    this.#events.emit("closed", reason);
  }

  /** The first entry at or after `from` that matches, already heard or yet to come. */
  waitFor(predicate: LinePredicate, options: WaitOptions & { diagnostics?: () => string } = {}): Promise<Heard> {
    const { from = 0, timeoutMs = DEFAULT_WAIT_MS, what = "a matching line" } = options;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#events.off("heard", onHeard);
        this.#events.off("closed", onClosed);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`waiting for ${what}: ${why}${options.diagnostics === undefined ? "" : `\n${options.diagnostics()}`}`));
      };
      const check = (heard: Heard): boolean => {
        let matched: boolean;
        try {
          matched = predicate(heard.line, heard);
        } catch (error) {
          done();
          reject(error instanceof Error ? error : new Error(String(error)));
          return true;
        }
        if (matched) {
          done();
          resolve(heard);
        }
        return matched;
      };
      const onHeard = (heard: Heard): void => void (heard.index >= from && check(heard));
      const onClosed = (reason: string): void => fail(reason);
      for (let i = from; i < this.entries.length; i++) {
        const entry = this.entries[i];
        if (entry !== undefined && check(entry)) return;
      }
      if (this.#closed !== null) return fail(this.#closed);
      timer = setTimeout(() => fail(`not seen within ${timeoutMs} ms`), timeoutMs);
      this.#events.on("heard", onHeard);
      this.#events.on("closed", onClosed);
    });
  }
}
