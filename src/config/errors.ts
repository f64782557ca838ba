/** zod's issues as the clock's field issues: dotted paths, messages in words. */
import type { z } from "zod";
import type { FieldIssue } from "../errors.ts";

export function issuesFromZod(error: z.ZodError, prefix: readonly (string | number)[] = []): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path].map(String).join("."),
    message: issue.message,
  }));
}
