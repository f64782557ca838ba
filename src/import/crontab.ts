/**
 * A user crontab (what `crontab -l` prints) read as cronie reads it, checked against cronie's
 * source (src/entry.c load_entry/get_range, src/env.c load_env, src/cron.c find_jobs,
 * src/do_command.c):
 * - `#` comments and blank lines; `NAME=value` environment lines (quotes optional) apply to the
 *   lines after them. `CRON_TZ=Zone` sets the zone the following lines' times are read in; `TZ=`
 *   only sets the commands' environment (find_jobs reads CRON_TZ alone), so it is listed, not used.
 * - Entries: five fields and a command, or `@yearly` `@annually` `@monthly` `@weekly` `@daily`
 *   `@midnight` `@hourly` (lower case, as cronie compares them) and a command. `@reboot` has no
 *   wall-clock time: listed. A leading `-` (no syslog line) is dropped.
 * - Fields: `*`, `*\/S`, `N`, `N-M`, `N-M/S`, lists, 3-letter month and weekday names in any case,
 *   weekday 7 = Sunday. cronie refuses everything else (`N/S`, `?`, `L`, `W`, `#`): listed. A
 *   backwards range sets no value (`N-0` reads as `N-7`); `~` picks a random value at load: listed.
 * - The command runs to the end of the line; its first unescaped `%` ends it, the rest is its
 *   standard input with further `%` as newlines, and `\%` is a `%`.
 * Each command becomes `{ class: "ShellCommand", args: [command] }`: it must become a real job.
 */
import { isValidZone } from "../schedule/slots.ts";
import { CRONIE_CRON_TZ, CRONIE_HOST, NO_DST } from "./dst.ts";
import { commandName } from "./names.ts";
import { ImportBuilder, excerpt, type ImportResult } from "./result.ts";

/** The job class every crontab command is imported as: a placeholder for the job it must become. */
export const SHELL_COMMAND_CLASS = "ShellCommand";

export interface CrontabOptions {
  /** The zone of lines without CRON_TZ: the cron host's zone. Default UTC. */
  readonly timezone?: string | undefined;
  /** Now, for the DST look-ahead. */
  readonly now: number;
}

const ALIASES = new Set(["yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly"]);
const MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

interface FieldSpec {
  readonly name: string;
  readonly low: number;
  readonly high: number;
  readonly names?: readonly string[];
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: "minute", low: 0, high: 59 },
  { name: "hour", low: 0, high: 23 },
  { name: "day of month", low: 1, high: 31 },
  { name: "month", low: 1, high: 12, names: MONTH_NAMES, namesFrom: 1 },
  { name: "day of week", low: 0, high: 7, names: DAY_NAMES, namesFrom: 0 },
];

/** Why a field cannot be carried: cronie refuses it, or means something the clock cannot say. */
class FieldProblem extends Error {}

/** cronie's get_number: a whole alphanumeric word, a number (strtol) or a name (strcasecmp). */
function readNumber(field: FieldSpec, word: string, text: string): number {
  if (!/^[A-Za-z0-9]+$/.test(word)) throw new FieldProblem(`${field.name} "${text}": cronie refuses "${word}"`);
  if (/^\d+$/.test(word)) {
    const value = Number(word);
    if (value < field.low || value > field.high) throw new FieldProblem(`${field.name} "${text}": ${value} is outside ${field.low}-${field.high} (cronie refuses the line)`);
    return value;
  }
  const index = field.names?.indexOf(word.toLowerCase()) ?? -1;
  if (index < 0) throw new FieldProblem(`${field.name} "${text}": cronie refuses "${word}" (numbers${field.names === undefined ? "" : " and 3-letter names"} only)`);
  return index + (field.namesFrom ?? 0);
}

/**
 * One field in the clock's syntax. cronie's syntax is a subset of the clock's, so the text is kept,
 * except where cronie reads a range its own way (`N-0`, backwards ranges).
 */
function convertField(field: FieldSpec, text: string): { text: string; notes: string[] } {
  const items: string[] = [];
  const notes: string[] = [];
  for (const item of text.split(",")) {
    if (item.includes("~"))
      throw new FieldProblem(`${field.name} "${text}": "~" makes cronie pick a random value when it loads the crontab; the clock's slots are fixed: write the value you want`);
    const match = /^(?:(\*)|([^-/]+)(?:-([^-/]+))?)(?:\/(.*))?$/.exec(item);
    if (item === "" || match === null) throw new FieldProblem(`${field.name} "${text}": cronie refuses "${item}"`);
    const [, star, first, second, step] = match;
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) === 0))
      throw new FieldProblem(`${field.name} "${text}": step "${step}" must be a whole number of at least 1 (cronie refuses the line)`);
    if (star !== undefined) {
      items.push(item);
      continue;
    }
    const low = readNumber(field, first ?? "", text);
    if (second === undefined) {
      // cronie accepts a step only after * or a range: `5/15` is refused.
      if (step !== undefined)
        throw new FieldProblem(`${field.name} "${text}": cronie refuses "${item}" (a step needs * or a range before it: write ${first}-${field.high}/${step})`);
      items.push(item);
      continue;
    }
    const written = readNumber(field, second, text);
    // get_range: `5-0` is `5-7` (made for weekdays; cronie applies it to every field).
    const high = low > written && written === 0 ? 7 : written;
    if (low > high) {
      notes.push(`${field.name} "${text}": cronie reads the backwards range ${item} as no value at all`);
      continue;
    }
    items.push(high === written ? item : `${first}-${high}${step === undefined ? "" : `/${step}`}`);
  }
  if (items.length === 0) throw new FieldProblem(`${notes.join("; ")}: the line never runs`);
  return { text: items.join(","), notes };
}

/** An environment line as cronie's load_env reads it, or null when the line is not one. */
function readEnv(line: string): { name: string; value: string } | null {
  const match = /^\s*(?:"([^"=]*)"|'([^'=]*)'|([^\s="']+))\s*=\s*(?:"([^"]*)"|'([^']*)'|([^"'].*?|))\s*$/.exec(line);
  if (match === null) return null;
  const [, dq, sq, bare = "", vdq, vsq, vbare = ""] = match;
  return { name: dq ?? sq ?? bare, value: vdq ?? vsq ?? vbare };
}

/** do_command.c: the command before the first unescaped `%`, and the standard input after it. */
export function splitPercent(raw: string): { command: string; stdin: string | null } {
  let command = "";
  let index = 0;
  let escaped = false;
  for (; index < raw.length; index++) {
    const ch = raw[index] ?? "";
    if (escaped) {
      command += ch === "%" ? "%" : `\\${ch}`;
      escaped = false;
      continue;
    }
    if (ch === "\\") {
      escaped = true;
      continue;
    }
    if (ch === "%") break;
    command += ch;
  }
  if (escaped) command += "\\";
  if (index >= raw.length) return { command, stdin: null };
  let stdin = "";
  escaped = false;
  for (const ch of raw.slice(index + 1)) {
    if (escaped) {
      stdin += ch === "%" ? "%" : `\\${ch}`;
      escaped = false;
    } else if (ch === "\\") escaped = true;
    else stdin += ch === "%" ? "\n" : ch;
  }
  if (escaped) stdin += "\\";
  if (!stdin.endsWith("\n")) stdin += "\n"; // cronie ends the input with a newline
  return { command, stdin };
}

/** What a cron line is, before it becomes a schedule. */
type Entry = { kind: "cron"; expression: string; command: string; notes: string[] } | { kind: "problem"; reason: string };

function readEntry(line: string): Entry {
  let rest = line.replace(/^[ \t]+/, "");
  if (rest.startsWith("-")) rest = rest.slice(1); // no syslog line for it: nothing the clock does
  let expression: string;
  const notes: string[] = [];
  if (rest.startsWith("@")) {
    const word = /^@(\S*)/.exec(rest)?.[1] ?? "";
    if (word === "reboot")
      return { kind: "problem", reason: "@reboot runs the command once when cron starts, not at a wall-clock time: run it from your deploy or your process manager instead" };
    if (!ALIASES.has(word))
      return { kind: "problem", reason: `cronie refuses "@${word}" (it knows @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly, in lower case)` };
    expression = `@${word}`;
    rest = rest.slice(word.length + 1);
  } else {
    const fields: string[] = [];
    for (const field of FIELDS) {
      const match = /^([^ \t]+)[ \t]*/.exec(rest);
      if (match === null || match[1] === undefined)
        return { kind: "problem", reason: `cronie refuses the line: no ${field.name} field (a crontab line is five time fields and a command)` };
      try {
        const converted = convertField(field, match[1]);
        fields.push(converted.text);
        notes.push(...converted.notes);
      } catch (error) {
        if (error instanceof FieldProblem) return { kind: "problem", reason: error.message };
        throw error;
      }
      rest = rest.slice(match[0].length);
    }
    expression = fields.join(" ");
  }
  rest = rest.replace(/^[ \t]+/, "");
  // cronie: "check for premature EOL and catch a common typo" (a sixth time field).
  if (rest === "") return { kind: "problem", reason: "cronie refuses the line: no command" };
  if (rest.startsWith("*")) return { kind: "problem", reason: "cronie refuses the line: the command starts with * (a sixth time field? crontab has no seconds)" };
  if (/^-n[ \t]/.test(rest)) {
    rest = rest.slice(2).replace(/^[ \t]+/, "");
    notes.push("cronie's -n option (mail the output only when the command fails) is not carried over");
  } else if (rest.startsWith("-")) return { kind: "problem", reason: "cronie refuses the line: the command starts with an unknown option (cronie knows only -n)" };
  return { kind: "cron", expression, command: rest.replace(/[ \t\r]+$/, ""), notes };
}

/** Converts a crontab; never throws for bad content (each bad line is listed with its reason). */
export function importCrontab(text: string, options: CrontabOptions): ImportResult {
  const hostZone = options.timezone ?? "UTC";
  const builder = new ImportBuilder(options.now);
  const env = new Map<string, string>();
  let withoutCronTz = 0;
  let mailto: string | null = null;
  const lines = text.split("\n");
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, "");
    const where = `line ${index + 1}`;
    if (/^\s*(#|$)/.test(line)) return;
    const assignment = readEnv(line);
    if (assignment !== null) {
      env.set(assignment.name, assignment.value);
      if (assignment.name === "TZ") {
        builder.differ(
          where,
          line,
          `TZ only sets the commands' environment: cronie reads the times of the lines after it in CRON_TZ or the cron host's zone, not in TZ; to read them in ${assignment.value === "" ? "a zone" : assignment.value}, write CRON_TZ=${assignment.value || "Zone"} (or pass --timezone for lines without CRON_TZ)`,
        );
      }
      if (assignment.name === "MAILTO") mailto = assignment.value;
      return;
    }
    const entry = readEntry(line);
    if (entry.kind === "problem") {
      builder.drop(where, line, entry.reason);
      return;
    }
    const cronTz = env.get("CRON_TZ");
    const zone = cronTz === undefined || cronTz === "" ? hostZone : cronTz;
    if (!isValidZone(zone)) {
      builder.drop(where, line, `CRON_TZ=${zone} is not a known time zone (cronie's C library would quietly use UTC): fix CRON_TZ`);
      return;
    }
    for (const note of entry.notes) builder.differ(where, line, note);
    const { command, stdin } = splitPercent(entry.command);
    const comments = [
      `crontab ${where}: ${excerpt(line)}`,
      `The shell command must become a job: ${SHELL_COMMAND_CLASS} is a placeholder; write the job that does what the command did and name its class here.`,
    ];
    if (stdin !== null) {
      comments.push(`cron passed this on standard input (from % in the line): ${JSON.stringify(stdin)}`);
      builder.differ(
        where,
        line,
        `% in the command: cron runs ${JSON.stringify(command)} with ${JSON.stringify(stdin)} on standard input (each further % a newline); the job's args carry only the command, the input must become part of the job`,
      );
    }
    const environment = [...env].filter(([name]) => name !== "CRON_TZ" && name !== "TZ").map(([name, value]) => `${name}=${value}`);
    if (environment.length > 0) comments.push(`cron ran it with ${environment.join(" ")} in its environment.`);
    const delay = env.get("RANDOM_DELAY");
    if (delay !== undefined && delay !== "0")
      builder.differ(where, line, `RANDOM_DELAY=${delay}: cronie starts each run up to ${delay} minutes late (a random delay); the clock fires on time`);
    const dst = cronTz === undefined || cronTz === "" ? (options.timezone === undefined ? NO_DST : CRONIE_HOST) : CRONIE_CRON_TZ;
    const added = builder.add(where, line, commandName(command), { cron: entry.expression, timezone: zone, job: { class: SHELL_COMMAND_CLASS, args: [command] } }, comments, dst);
    if (added !== null && (cronTz === undefined || cronTz === "")) withoutCronTz++;
  });
  if (withoutCronTz > 0 && options.timezone === undefined) {
    builder.differ(
      "lines without CRON_TZ",
      `${withoutCronTz} line${withoutCronTz === 1 ? "" : "s"}`,
      "cron read their times in the cron host's zone, which the file does not say: imported as UTC (pass --timezone ZONE for the host's zone)",
    );
  }
  if (mailto !== null && mailto !== "") {
    builder.differ("MAILTO", `MAILTO=${mailto}`, "cron mails each command's output; the clock enqueues jobs and sends no mail: the job must report what matters");
  }
  return builder.result("crontab", hostZone, null);
}
