/** The commands over the programmatic API: list, add, remove, pause, resume, trigger, status. */
import { readFileSync } from "node:fs";
import { ConfigError, type ClockStatus, type Json, type ScheduleDefinition } from "../../index.ts";
import { cronRuleWarnings, formatSlot } from "../../internal.ts";
import { parseCommandArgs, parsePositiveInt, UsageError } from "../args.ts";
import { CLIENT_HELP, CLIENT_OPTIONS, withClient } from "../client-command.ts";
import type { Command } from "../command.ts";
import { table } from "../output.ts";

/** Schedules per status page at most (the client's bound). */
const MAX_STATUS_PAGE = 1000;

function requireName(command: string, positionals: string[]): string {
  const [name] = positionals;
  if (name === undefined) throw new UsageError("missing schedule NAME", `clock ${command} --help`);
  return name;
}

/** `--label team=billing[,env=prod]` and `--group NAME` as a filter. */
const FILTER_OPTIONS = { label: { type: "string" }, group: { type: "string" } } as const;
const FILTER_HELP = `  --label K=V[,K=V]  only schedules with these labels
  --group NAME       only the members of this group`;

function filterOf(command: string, values: { label?: string | boolean | undefined; group?: string | boolean | undefined }): { labels?: Record<string, string>; group?: string } {
  const labels: Record<string, string> = {};
  if (typeof values.label === "string") {
    for (const pair of values.label.split(",")) {
      const at = pair.indexOf("=");
      if (at <= 0) throw new UsageError(`--label: expected KEY=VALUE, got "${pair}"`, `clock ${command} --help`);
      labels[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return { ...(Object.keys(labels).length === 0 ? {} : { labels }), ...(typeof values.group === "string" ? { group: values.group } : {}) };
}

function stateOf(s: ClockStatus["schedules"][number]): string {
  if (s.error !== undefined) return "invalid";
  if (s.paused) return pausedText(s);
  if (!s.enabled) return "disabled";
  if (s.done) return s.maxRuns === undefined ? "done" : `done (${s.runs ?? 0}/${s.maxRuns} runs)`;
  return s.maxRuns === undefined ? "active" : `active (${s.runs ?? 0}/${s.maxRuns} runs)`;
}

function slotText(at: number | null, timezone: string): string {
  if (at === null) return "-";
  return timezone === "" ? new Date(at).toISOString() : formatSlot(at, timezone);
}

/** "paused", with its end and reason when it has them: "paused until 2026-12-01T00:00:00.000Z (migration)". */
function pausedText(schedule: ClockStatus["schedules"][number]): string {
  const until = schedule.pause?.until ?? null;
  const reason = schedule.pause?.reason ?? null;
  return `paused${until === null ? "" : ` until ${new Date(until).toISOString()}`}${reason === null ? "" : ` (${reason})`}`;
}

export const list: Command = {
  name: "list",
  summary: "list config and dynamic schedules (from Redis)",
  usage: `Usage: clock list [--json] [--label K=V] [--group NAME] [--config PATH] [--namespace NAME]

Lists every schedule: those of the config file and the dynamic ones stored in Redis, with their
source, rule, paused state and next slot. Invalid stored entries are listed with their error.

Options:
  --json             print JSON
${FILTER_HELP}
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values } = parseCommandArgs("list", argv, { ...CLIENT_OPTIONS, ...FILTER_OPTIONS, json: { type: "boolean" } }, 0);
    const filter = filterOf("list", values);
    return await withClient(values, async (client) => {
      // Every schedule, a page at a time (a page costs O(page) in Redis; the names one HKEYS).
      const rows: ClockStatus["schedules"][number][] = [];
      for (let offset = 0, total = 1; offset < total; offset += MAX_STATUS_PAGE) {
        const page = await client.status({ offset, limit: MAX_STATUS_PAGE, ...filter }, io.now());
        rows.push(...page.schedules);
        total = page.total;
      }
      const status = { schedules: rows };
      if (values.json === true) {
        io.out(JSON.stringify(status.schedules, null, 2));
        return 0;
      }
      io.out(
        table(
          ["SCHEDULE", "SOURCE", "RULE", "ZONE", "STATE", "NEXT SLOT", "ADAPTER/QUEUE"],
          status.schedules.map((s) => [
            s.name,
            s.source,
            s.rule,
            s.timezone,
            s.error !== undefined ? `invalid: ${s.error.length > 60 ? `${s.error.slice(0, 57)}...` : s.error}` : stateOf(s),
            slotText(s.nextAt, s.timezone),
            s.adapter === "" ? "-" : `${s.adapter}/${s.queue}`,
          ]),
        ),
      );
      return 0;
    });
  },
};

export const add: Command = {
  name: "add",
  summary: "create or replace a dynamic schedule from JSON",
  usage: `Usage: clock add --file DEF.json [--config PATH] [--namespace NAME]

Creates or replaces a dynamic schedule. DEF.json (or - for standard input) is
{ "name": "...", ...the same fields as a config schedule }, for example
  { "name": "report-42", "cron": "0 9 * * 1-5", "timezone": "Europe/Paris",
    "job": { "class": "ReportJob", "args": [42], "queue": "reports" } }
Running clocks pick it up within a second. Exits 2 with every bad field.

Options:
  --file PATH        the definition (- for standard input)
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values } = parseCommandArgs("add", argv, { ...CLIENT_OPTIONS, file: { type: "string", short: "f" } }, 0);
    if (values.file === undefined) throw new UsageError("missing --file DEF.json (or --file - for standard input)", "clock add --help");
    let definition: unknown;
    try {
      definition = JSON.parse(readFileSync(values.file === "-" ? 0 : values.file, "utf8"));
    } catch (error) {
      throw new ConfigError([{ path: "", message: `${values.file}: ${(error as Error).message}` }], "cannot read the definition");
    }
    if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
      throw new ConfigError([{ path: "", message: 'expected a JSON object { "name": ..., ... }' }], "invalid schedule");
    }
    const { name, ...rest } = definition as Record<string, unknown>;
    if (typeof name !== "string") throw new ConfigError([{ path: "name", message: "expected the schedule name (a string)" }], "invalid schedule");
    return await withClient(values, async (client) => {
      const schedule = await client.schedules.set(name, rest as ScheduleDefinition);
      io.out(`saved schedule "${name}": ${schedule.ruleText} (${schedule.timezone}) -> ${schedule.adapter}/${schedule.job.queue}`);
      for (const warning of cronRuleWarnings(schedule)) io.err(`warning: ${name}.cron: ${warning}`);
      return 0;
    });
  },
};

function simple(name: "remove" | "pause" | "resume", summary: string, detail: string): Command {
  const pauseHelp =
    name === "pause"
      ? `  --reason TEXT      why (shown by clock status and the status page)\n  --until ISO        the pause ends by itself then (the leader resumes it, by Redis time)\n`
      : "";
  return {
    name,
    summary,
    usage: `Usage: clock ${name} NAME${name === "pause" ? " [--reason TEXT] [--until ISO]" : ""} [--config PATH] [--namespace NAME]
       clock ${name} --group GROUP [--config PATH] [--namespace NAME]

${detail}
With --group, every member of GROUP at once, in one atomic write.

Options:
  --group GROUP      the whole group (config members are kept by remove)
${pauseHelp}${CLIENT_HELP}
  -h, --help         show this help`,
    async run(argv, io) {
      const { values, positionals } = parseCommandArgs(
        name,
        argv,
        name === "pause"
          ? { ...CLIENT_OPTIONS, group: { type: "string" }, reason: { type: "string" }, until: { type: "string" } }
          : { ...CLIENT_OPTIONS, group: { type: "string" } },
        1,
      );
      if (typeof values.group === "string") {
        const group = values.group;
        if (positionals.length > 0) throw new UsageError("give a schedule NAME or --group, not both", `clock ${name} --help`);
        return await withClient(values, async (client) => {
          const result = await client.groups[name](group);
          const done = name === "remove" ? "removed" : name === "pause" ? "paused" : "resumed";
          io.out(
            `${done} group "${group}": ${result.changed} of ${result.members.length} schedule(s) changed${result.kept !== undefined && result.kept.length > 0 ? `; config schedules kept: ${result.kept.join(", ")}` : ""}`,
          );
          return 0;
        });
      }
      const scheduleName = requireName(name, positionals);
      return await withClient(values, async (client) => {
        if (name === "remove") {
          if (!(await client.schedules.remove(scheduleName)))
            throw new ConfigError([{ path: scheduleName, message: "no such dynamic schedule" }], `schedule "${scheduleName}" not found`);
          io.out(`removed schedule "${scheduleName}"`);
        } else if (name === "pause") {
          const reason = typeof values["reason"] === "string" ? values["reason"] : undefined;
          const until = typeof values["until"] === "string" ? values["until"] : undefined;
          await client.schedules.pause(scheduleName, { ...(reason === undefined ? {} : { reason }), ...(until === undefined ? {} : { until }) });
          io.out(`paused schedule "${scheduleName}"${until === undefined ? "" : ` until ${new Date(until).toISOString()}`}${reason === undefined ? "" : ` (${reason})`}`);
        } else {
          await client.schedules.resume(scheduleName);
          io.out(`resumed schedule "${scheduleName}"`);
        }
        return 0;
      });
    },
  };
}

export const remove = simple("remove", "remove a dynamic schedule", "Removes a dynamic schedule; running clocks stop it within a second. Config schedules cannot be removed.");
export const pause = simple(
  "pause",
  "pause a schedule (config or dynamic)",
  "Pauses a schedule: it fires nothing until resumed (or, with --until, until then: the leader\nresumes it at that instant, and no slot of the pause fires). Works for config schedules too.",
);
export const resume = simple(
  "resume",
  "resume a paused schedule",
  "Resumes a paused schedule from now: slots inside the pause never fire (pause means skip, catch-up\nis for outages); the next slot fires normally.",
);

export const trigger: Command = {
  name: "trigger",
  summary: "enqueue a schedule's job now, outside its schedule",
  usage: `Usage: clock trigger NAME [--args JSON] [--config PATH] [--namespace NAME]

Enqueues one job of schedule NAME now, with its own job id; the schedule's ledger is untouched.

Options:
  --args JSON        replace the job's args, e.g. '[42, {"full": true}]'
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("trigger", argv, { ...CLIENT_OPTIONS, args: { type: "string" } }, 1);
    const scheduleName = requireName("trigger", positionals);
    let args: Json[] | undefined;
    if (values.args !== undefined) {
      try {
        args = JSON.parse(values.args) as Json[];
      } catch (error) {
        throw new ConfigError([{ path: "args", message: `not JSON: ${(error as Error).message}` }], "invalid --args");
      }
      if (!Array.isArray(args)) throw new ConfigError([{ path: "args", message: "expected a JSON array" }], "invalid --args");
    }
    return await withClient(values, async (client) => {
      const result = await client.trigger(scheduleName, args === undefined ? {} : { args });
      io.out(`enqueued ${scheduleName} -> ${result.adapter}/${result.queue} (job id ${result.jobId})`);
      return 0;
    });
  },
};

export const status: Command = {
  name: "status",
  summary: "who leads, the standbys, and each schedule's last and next slot",
  usage: `Usage: clock status [--json] [--limit N] [--offset N] [--label K=V] [--group NAME] [--config PATH] [--namespace NAME]

Shows one page of schedules by name (100 unless --limit says otherwise, at most 1000) and the
total, so a deployment of any size answers at once; --offset pages on.

Options:
  --json             print JSON
  --limit N          schedules per page (default 100, at most 1000)
  --offset N         skip the first N schedules (by name)
${FILTER_HELP}
${CLIENT_HELP}
  -h, --help         show this help`,
  async run(argv, io) {
    const { values } = parseCommandArgs(
      "status",
      argv,
      { ...CLIENT_OPTIONS, ...FILTER_OPTIONS, json: { type: "boolean" }, limit: { type: "string" }, offset: { type: "string" } },
      0,
    );
    const filter = filterOf("status", values);
    const limit = parsePositiveInt("limit", values.limit, 100, "status");
    const offset = values.offset === undefined || values.offset === "0" ? 0 : parsePositiveInt("offset", values.offset, 0, "status");
    return await withClient(values, async (client) => {
      const now = io.now();
      const s = await client.status({ offset, limit, ...filter }, now);
      if (values.json === true) {
        io.out(JSON.stringify(s, null, 2));
        return 0;
      }
      const leader =
        s.leader === null
          ? "none (no clock holds the lease)"
          : `${s.leader.host} pid ${s.leader.pid}, since ${new Date(s.leader.since).toISOString()}, lease ${(s.leader.ttlMs / 1000).toFixed(1)} s left`;
      io.out(`namespace: ${s.namespace}\nleader:    ${leader}`);
      io.out(`processes: ${s.peers.length === 0 ? "none seen" : s.peers.map((p) => `${p.host}/${p.pid} (${p.role})`).join(", ")}`);
      if (s.shards !== undefined) {
        // Shards of leadership: which process leads which shards, then any shard nobody leads.
        const byLeader = new Map<string, number[]>();
        for (const { shard, leader } of s.shards) {
          const who = leader === null ? "nobody" : `${leader.host}/${leader.pid}`;
          byLeader.set(who, [...(byLeader.get(who) ?? []), shard]);
        }
        const lines = [...byLeader].sort(([a], [b]) => (a === "nobody" ? 1 : b === "nobody" ? -1 : a.localeCompare(b))).map(([who, shards]) => `${who}: ${shards.join(" ")}`);
        io.out(`shards:    ${s.shards.length}; ${lines.join("; ")}`);
      }
      if (s.fenceRefusals > 0) io.out(`fenced:    ${s.fenceRefusals} fire(s) refused to processes that had lost the lease`);
      if (s.configMismatch !== null) {
        const others = s.configMismatch.peers.map((p) => `${p.host}/${p.pid} (${p.role}) runs ${p.config}`).join(", ");
        io.out(`config:    DIFFERS from the leader's ${s.configMismatch.leader}: ${others}; only the leader's schedules fire (fine for a while during a rolling deploy)`);
      }
      const shown = s.schedules.length === 0 ? "none" : `${s.offset + 1}-${s.offset + s.schedules.length}`;
      io.out(
        `schedules: ${s.total} in all${s.invalidEntries > 0 ? `, ${s.invalidEntries} invalid` : ""}; showing ${shown}${s.offset + s.schedules.length < s.total ? ` (--offset ${s.offset + s.schedules.length} for more)` : ""}`,
      );
      io.out("");
      // The EXPECT column only when a schedule of the page has `expect`: ok, late, failed or missed, and why.
      const expecting = s.schedules.some((x) => x.expect !== undefined);
      const expectText = (x: (typeof s.schedules)[number]): string =>
        x.expect === undefined ? "-" : x.expect.state === null ? "not judged yet" : `${x.expect.state.state}${x.expect.state.state === "ok" ? "" : `: ${x.expect.state.reason}`}`;
      io.out(
        table(
          ["SCHEDULE", "SOURCE", "STATE", "LAST FIRED", "NEXT SLOT", ...(expecting ? ["EXPECT"] : [])],
          s.schedules.map((x) => [x.name, x.source, stateOf(x), slotText(x.lastFiredAt, x.timezone), slotText(x.nextAt, x.timezone), ...(expecting ? [expectText(x)] : [])]),
        ),
      );
      return 0;
    });
  },
};
