/**
 * An import as a `clock.config.ts` (the schedules with a comment above each, and what was not
 * carried over in a comment block at the end), as JSON definitions for `clock add --file -`, and
 * as the lines of the list a person reads on stderr.
 */
import type { ImportIssue, ImportResult } from "./result.ts";

const SOURCE_NAMES = { crontab: "crontab", "sidekiq-cron": "sidekiq-cron schedule", "sidekiq-scheduler": "sidekiq-scheduler schedule" } as const;

/** Text for a `//` comment: one line. */
const oneLine = (text: string): string => text.replace(/\r?\n/g, "\\n");

function issueLine(issue: ImportIssue): string {
  return `${issue.where}: ${issue.source === "" ? "" : `${issue.source}\n      `}${issue.reason}`;
}

/** The stderr listing: a count line, then each dropped item and each difference. */
export function renderIssues(result: ImportResult, file: string): string[] {
  const dropped = result.issues.filter((issue) => issue.dropped);
  const differences = result.issues.filter((issue) => !issue.dropped);
  const lines = [
    `clock import: ${result.schedules.length} schedule${result.schedules.length === 1 ? "" : "s"} from ${file}; not carried over: ${dropped.length}; carried over with a difference: ${differences.length}`,
  ];
  if (dropped.length > 0) lines.push("not carried over:", ...dropped.map((issue) => `  ${issueLine(issue)}`));
  if (differences.length > 0) lines.push("carried over with a difference:", ...differences.map((issue) => `  ${issueLine(issue)}`));
  return lines;
}

/** One JSON value as TypeScript source: JSON is valid TS, keys quoted only where they must be. */
function literal(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? "[]" : `[${value.map((item) => literal(item)).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    if (entries.length === 0) return "{}";
    return `{ ${entries.map(([key, item]) => `${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key)}: ${literal(item)}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

export function renderConfig(result: ImportResult, file: string, command: string): string {
  const out: string[] = [];
  out.push(`// Imported by \`${oneLine(command)}\` from the ${SOURCE_NAMES[result.format]} ${oneLine(file)}.`);
  out.push(`// Review it before use: what was not carried over, or was with a difference, is listed at the end.`);
  if (result.format !== "crontab") out.push(`// A class that is an ActiveJob job needs job.options.activeJob: true (sidekiq-cron's active_job: true is carried over).`);
  out.push(`import { defineConfig } from "the-clock";`, "");
  out.push("export default defineConfig({");
  out.push(`  timezone: ${JSON.stringify(result.timezone)},`);
  if (result.adapter !== null) out.push(`  adapter: ${JSON.stringify(result.adapter)},`);
  out.push("  schedules: {");
  for (const schedule of result.schedules) {
    for (const comment of schedule.comments) out.push(`    // ${oneLine(comment)}`);
    const { job, adapter, ...rule } = schedule.definition;
    const fields = Object.entries(rule).map(([key, value]) => `${key}: ${literal(value)}`);
    // The config names the adapter once; a schedule names it only when it differs.
    if (adapter !== undefined && adapter !== result.adapter) fields.push(`adapter: ${JSON.stringify(adapter)}`);
    out.push(`    ${JSON.stringify(schedule.name)}: {`);
    out.push(`      ${fields.join(", ")},`);
    out.push(`      job: ${literal(job)},`);
    out.push("    },");
  }
  out.push("  },");
  out.push("});");
  const dropped = result.issues.filter((issue) => issue.dropped);
  const differences = result.issues.filter((issue) => !issue.dropped);
  for (const [title, issues] of [
    ["Not carried over", dropped],
    ["Carried over with a difference", differences],
  ] as const) {
    if (issues.length === 0) continue;
    out.push("", `// ${title} (${issues.length}):`);
    for (const issue of issues) out.push(`//   ${oneLine(issue.where)}: ${oneLine(issue.source)}`, `//     ${oneLine(issue.reason)}`);
  }
  return `${out.join("\n")}\n`;
}

/** The definitions as `clock add --file -` takes each: { name, ...definition }, in one array. */
export function renderJson(result: ImportResult): string {
  return JSON.stringify(
    result.schedules.map((schedule) => ({ name: schedule.name, ...schedule.definition })),
    null,
    2,
  );
}
