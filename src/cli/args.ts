import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad usage: unknown command or flag, missing value. The CLI exits 2 with the message and a hint. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandArgs<T extends Options>(
  command: string,
  argv: string[],
  options: T,
  maxPositionals: number,
): { values: Record<string, string | boolean | undefined> & { [K in keyof T]?: T[K]["type"] extends "string" ? string : boolean }; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
    if (parsed.positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument "${parsed.positionals[maxPositionals]}"`, `clock ${command} --help`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message, `clock ${command} --help`);
  }
}

export function parsePositiveInt(flag: string, value: string | undefined, fallback: number, command: string): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new UsageError(`--${flag} must be a positive whole number, got "${value}"`, `clock ${command} --help`);
  return number;
}
