/** What a command sees of the world: output streams and the time, so tests can drive both. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  now(): number;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Resolves to the exit code. Throws UsageError (exit 2), ConfigError (exit 2) or anything else (exit 1). */
  run(argv: string[], io: Io): Promise<number>;
}
