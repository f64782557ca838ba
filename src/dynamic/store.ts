/**
 * Dynamic schedules in Redis: one hash field per schedule (a versioned JSON envelope), a set of
 * paused names, a change counter and a change channel. Every entry is decoded on its own, so one
 * corrupt entry is reported and skipped while the rest keep firing.
 */
import type { Redis } from "ioredis";
import { ConfigError, type FieldIssue } from "../errors.ts";
import { parseSchedule, type Defaults } from "../config/resolve.ts";
import { keysOfSchedule, type ClockKeys } from "../redis/keys.ts";
import { deleteShardPauses } from "./shard-pauses.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";
import { SCHEDULE_NAME, type Schedule } from "../schedule/schedule.ts";

/** Format of a stored entry; bump when the envelope changes and keep decoding the old ones. */
export const ENTRY_VERSION = 1;
/** Entries larger than this are refused at write time and skipped at read time. */
export const MAX_ENTRY_BYTES = 64 * 1024;

interface Envelope {
  readonly v: number;
  readonly definition: Record<string, unknown>;
  readonly updatedAt: number;
}

export interface AdapterCheck {
  readonly settings: Readonly<Record<string, unknown>>;
  readonly namespace: string;
}

export type Decoded =
  { readonly ok: true; readonly schedule: Schedule; readonly definition: Record<string, unknown>; readonly updatedAt: number } | { readonly ok: false; readonly reason: string };

export function checkName(name: string): void {
  if (typeof name !== "string" || !SCHEDULE_NAME.test(name)) {
    throw new ConfigError(
      [{ path: "name", message: `invalid schedule name ${JSON.stringify(name)}: use letters, digits, '.', '_', '-' or ':' (at most 200)` }],
      "invalid schedule",
    );
  }
}

/** Validates a definition the way the config file is validated; throws ConfigError with every issue. */
export function validateDefinition(name: string, definition: unknown, defaults: Defaults, adapters?: AdapterCheck): Schedule {
  checkName(name);
  return parseSchedule(name, definition, defaults, adapters);
}

export function encodeEntry(definition: Record<string, unknown>, updatedAt: number): string {
  const encoded = JSON.stringify({ v: ENTRY_VERSION, definition, updatedAt } satisfies Envelope);
  if (Buffer.byteLength(encoded) > MAX_ENTRY_BYTES) {
    throw new ConfigError([{ path: "", message: `definition is ${Buffer.byteLength(encoded)} bytes; the limit is ${MAX_ENTRY_BYTES}` }], "invalid schedule");
  }
  return encoded;
}

/** Decodes one stored entry; never throws. */
export function decodeEntry(name: string, raw: string, defaults: Defaults, adapters?: AdapterCheck): Decoded {
  if (!SCHEDULE_NAME.test(name)) return { ok: false, reason: "invalid schedule name" };
  if (Buffer.byteLength(raw) > MAX_ENTRY_BYTES) return { ok: false, reason: `entry is larger than ${MAX_ENTRY_BYTES} bytes` };
  let envelope: unknown;
  try {
    envelope = JSON.parse(raw);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (envelope === null || typeof envelope !== "object" || Array.isArray(envelope)) return { ok: false, reason: "not an object" };
  const { v, definition, updatedAt } = envelope as Partial<Envelope>;
  if (v !== ENTRY_VERSION) return { ok: false, reason: `unknown entry version ${JSON.stringify(v)} (this clock reads version ${ENTRY_VERSION})` };
  if (definition === null || typeof definition !== "object" || Array.isArray(definition)) return { ok: false, reason: "definition is not an object" };
  try {
    const schedule = parseSchedule(name, definition, defaults, adapters);
    return { ok: true, schedule, definition, updatedAt: typeof updatedAt === "number" ? updatedAt : 0 };
  } catch (error) {
    const issues: readonly FieldIssue[] = error instanceof ConfigError ? error.issues : [{ path: "", message: (error as Error).message }];
    return { ok: false, reason: issues.map((issue) => (issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`)).join("; ") };
  }
}

/**
 * A change, as published on the change channel: `<version> <set|remove|pause|resume> <name>`, or
 * `<version> group <group>` for a write to every member of a group (the sync re-reads everything).
 */
export interface Change {
  readonly version: number;
  readonly kind: "set" | "remove" | "pause" | "resume" | "group";
  readonly name: string;
}

export function parseChange(message: string): Change | null {
  const [version, kind, ...rest] = message.split(" ");
  const name = rest.join(" ");
  if (kind !== "set" && kind !== "remove" && kind !== "pause" && kind !== "resume" && kind !== "group") return null;
  if (!Number.isInteger(Number(version)) || name === "") return null;
  return { version: Number(version), kind, name };
}

/** Bumps the change counter and announces one change, in one MULTI with the write itself. */
export async function writeChange(redis: Redis, keys: ClockKeys, kind: Change["kind"], name: string, write: (multi: ReturnType<Redis["multi"]>) => void): Promise<number> {
  const multi = redis.multi();
  write(multi);
  multi.incr(keys.changes);
  const replies = (await multi.exec()) ?? [];
  for (const [error] of replies) if (error !== null) throw error;
  const version = Number(replies.at(-1)?.[1]);
  await redis.publish(keys.changes, `${version} ${kind} ${name}`);
  return version;
}

/**
 * A dynamic one-shot is done once it fired: the leader removes it (remove-fired-6.lua), only while
 * its stored entry is still `raw` (a replacement written meanwhile stays) and the ledger holds its
 * slot. True when it was removed.
 */
export async function removeFiredOneShot(redis: ScriptedRedis, keys: ClockKeys, name: string, raw: string, slotAt: number): Promise<boolean> {
  if (keys.shardCount > 1) {
    // The ledger is in the shard's slot, the entry in the deployment's: read first (it never goes
    // back), then removed; the shard's pause state after (a crash between: the shard leader's pause
    // reconcile forgets it, its schedule being gone).
    const fired = Number(await redis.hget(keysOfSchedule(keys, name).ledger, name));
    if (!(fired >= slotAt)) return false;
    const version = await redis.clockRemoveFired(keys.schedules, keys.paused, keys.pauses, keys.changes, keys.ledger, keysOfSchedule(keys, name).scheduleIndex, name, raw, "");
    if (version === 0) return false;
    await deleteShardPauses(redis, keys, [name]);
    await redis.publish(keys.changes, `${version} remove ${name}`);
    return true;
  }
  const version = await redis.clockRemoveFired(
    keys.schedules,
    keys.paused,
    keys.pauses,
    keys.changes,
    keysOfSchedule(keys, name).ledger,
    keys.scheduleIndex,
    name,
    raw,
    String(slotAt),
  );
  if (version === 0) return false;
  await redis.publish(keys.changes, `${version} remove ${name}`);
  return true;
}
