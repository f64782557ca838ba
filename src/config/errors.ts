import type { z } from "zod";

export interface FieldIssue {
  /** Dotted path of the field, e.g. `schedules.daily-report.timezone`. */
  readonly path: string;
  readonly message: string;
}

/** A config or schedule definition that failed validation; carries every issue, not just the first. */
export class ConfigError extends Error {
  readonly issues: readonly FieldIssue[];

  constructor(issues: readonly FieldIssue[], heading = "invalid config") {
    super(`${heading}:\n${issues.map((issue) => `  ${formatIssue(issue)}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

export function formatIssue(issue: FieldIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

export function issuesFromZod(error: z.ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join("."),
    message: issue.message,
  }));
}
