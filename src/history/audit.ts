/**
 * The audit of dynamic changes, and its layout (this module alone reads and writes it):
 * `{ns}:audit`, a stream capped near AUDIT_MAX entries (`XADD ... MAXLEN ~`), one entry per set,
 * remove, pause, resume or trigger made through the client (the CLI, the status page, your code):
 * fields `actor` (who: the client's `actor`, CLI `--actor`, `http` for the page), `action`,
 * `schedule`, `detail` (JSON: the definition of a set, the job id and args of a trigger). The entry's
 * id is Redis time (`<ms>-<seq>`): when. Written in the MULTI of the change itself where the change
 * is a MULTI (set, remove), right after it otherwise (pause and resume are a script, trigger a fire).
 */
import type { Redis } from "ioredis";
import { hostname, userInfo } from "node:os";
import type { ClockKeys } from "../redis/keys.ts";

/** Entries kept, about (MAXLEN ~ trims whole stream nodes: a few dozen more at most). */
export const AUDIT_MAX = 10_000;
/** A definition bigger than this is recorded cut (a dynamic entry may be 64 KiB). */
const MAX_DETAIL_CHARS = 4096;

export type ChangeAction = "set" | "remove" | "pause" | "resume" | "trigger" | "backfill";

export interface AuditEntry {
  /** The stream entry id: `<Redis ms>-<seq>`. */
  readonly id: string;
  /** Redis time of the change, epoch ms. */
  readonly at: number;
  readonly actor: string;
  readonly action: ChangeAction;
  readonly schedule: string;
  readonly detail: unknown;
}

/** Who a client acts as unless told: `user@host` of this process. */
export function defaultActor(): string {
  let user = process.env["USER"] ?? "";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's uid): the environment's, or none
  }
  return `${user === "" ? "unknown" : user}@${hostname()}`;
}

function detailText(detail: unknown): string {
  if (detail === undefined) return "";
  const text = JSON.stringify(detail);
  return text.length > MAX_DETAIL_CHARS ? JSON.stringify({ truncated: text.slice(0, MAX_DETAIL_CHARS) }) : text;
}

/** Where an audit entry is written: a MULTI, a pipeline or the connection itself. */
export interface AuditTarget {
  xadd(key: string, ...args: (string | number)[]): unknown;
}

/** The XADD of one change, on a MULTI or a pipeline (or the connection itself). */
export function auditChange(
  target: AuditTarget,
  keys: ClockKeys,
  change: { readonly actor: string; readonly action: ChangeAction; readonly schedule: string; readonly detail?: unknown },
): void {
  target.xadd(keys.audit, "MAXLEN", "~", AUDIT_MAX, "*", "actor", change.actor, "action", change.action, "schedule", change.schedule, "detail", detailText(change.detail));
}

/** The newest `limit` changes, newest first; only `schedule`'s when given (read back through at most the whole capped stream). */
export async function readAudit(redis: Redis, keys: ClockKeys, options: { readonly limit: number; readonly schedule?: string }): Promise<AuditEntry[]> {
  const found: AuditEntry[] = [];
  const page = options.schedule === undefined ? options.limit : 500;
  let end = "+";
  for (let first = true; ; first = false) {
    // Each page after the first starts at the last id seen, read again and skipped ("(id" needs Redis 6.2).
    const entries = await redis.xrevrange(keys.audit, end, "-", "COUNT", first ? page : page + 1);
    if (!first) entries.shift();
    for (const [id, fields] of entries) {
      const entry = decodeEntry(id, fields);
      if (entry !== null && (options.schedule === undefined || entry.schedule === options.schedule)) found.push(entry);
      if (found.length >= options.limit) return found;
    }
    const last = entries.at(-1);
    if (entries.length < page || last === undefined) return found;
    end = last[0];
  }
}

function decodeEntry(id: string, fields: string[]): AuditEntry | null {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i] ?? "", fields[i + 1] ?? "");
  const action = values.get("action") as ChangeAction | undefined;
  if (action === undefined) return null;
  let detail: unknown = null;
  const raw = values.get("detail") ?? "";
  if (raw !== "") {
    try {
      detail = JSON.parse(raw);
    } catch {
      detail = raw;
    }
  }
  return { id, at: Number(id.split("-")[0]), actor: values.get("actor") ?? "", action, schedule: values.get("schedule") ?? "", detail };
}
