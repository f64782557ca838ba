/**
 * The clock's errors: one family, each with a code. Messages are for people and are never parsed
 * back into fields; code that must tell errors apart reads `code` (the HTTP server maps codes to
 * statuses in one table, the CLI maps them to exit codes).
 */

export interface FieldIssue {
  /** Dotted path of the field, e.g. `schedules.daily-report.timezone`. */
  readonly path: string;
  readonly message: string;
}

export type ErrorCode =
  /** A config or schedule definition failed validation (see `issues`). */
  | "invalid"
  /** No schedule of that name. */
  | "not-found"
  /** The config file owns that name: it cannot be replaced or removed at run time. */
  | "clash"
  /** Redis could not be reached, refused the login, or failed a command. */
  | "redis"
  /** The fire script refused or failed. */
  | "script"
  /** A trigger enqueued nothing. */
  | "not-enqueued"
  /** What was asked runs through the leader, and no clock process leads (a backfill). */
  | "no-leader";

export class ClockError extends Error {
  readonly code: ErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(code: ErrorCode, message: string, options: { issues?: readonly FieldIssue[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ClockError";
    this.code = code;
    this.issues = options.issues ?? [];
  }
}

export function formatIssue(issue: FieldIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

/** A config or schedule definition that failed validation; carries every issue, not just the first. */
export class ConfigError extends ClockError {
  constructor(issues: readonly FieldIssue[], heading = "invalid config") {
    super("invalid", `${heading}:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join("\n")}`, { issues });
    this.name = "ConfigError";
  }
}

export class NotFoundError extends ClockError {
  readonly schedule: string;

  constructor(schedule: string) {
    super("not-found", `schedule "${schedule}" not found`, { issues: [{ path: schedule, message: "no such schedule" }] });
    this.name = "NotFoundError";
    this.schedule = schedule;
  }
}

/** A name that belongs to the config file: it can be paused, resumed and triggered, not replaced or removed. */
export class ClashError extends ClockError {
  readonly schedule: string;

  constructor(schedule: string, action: "replace" | "remove") {
    const message = `is defined in the config file; config schedules can be paused, resumed and triggered at run time, not ${action}d`;
    super("clash", `cannot ${action} schedule "${schedule}":\n  ${schedule}: ${message}`, { issues: [{ path: schedule, message }] });
    this.name = "ClashError";
    this.schedule = schedule;
  }
}

/** Redis failed, in words ("cannot reach Redis at 127.0.0.1:7149: connection refused"), never with a password. */
export class RedisError extends ClockError {
  constructor(message: string, cause?: unknown) {
    super("redis", message, { cause });
    this.name = "RedisError";
  }
}

export class ScriptError extends ClockError {
  constructor(message: string, cause?: unknown) {
    super("script", message, { cause });
    this.name = "ScriptError";
  }
}

/** A trigger that enqueued nothing because the adapter's enqueue failed (a missing package, its queue down). */
export class TriggerError extends ClockError {
  readonly schedule: string;

  constructor(schedule: string, cause: Error) {
    super("not-enqueued", `trigger of "${schedule}" was not enqueued: ${cause.message}`, { cause });
    this.name = "TriggerError";
    this.schedule = schedule;
  }
}

/** A request the leader must carry out (a backfill), refused because no clock process leads. */
export class NoLeaderError extends ClockError {
  constructor(namespace: string, what: string) {
    super(
      "no-leader",
      `${what} refused: no clock leads namespace "${namespace}" (no lease holder with a live heartbeat); it runs through the leader, so start a clock (clock start) and ask again`,
    );
    this.name = "NoLeaderError";
  }
}
