import type { Calendar, Rule } from "./slots.ts";

/** A value JSON can carry, and so every queue system can. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** What one fire enqueues: a class name and JSON args, the message a worker in any language reads. */
export interface Job {
  readonly class: string;
  readonly args: readonly Json[];
  readonly queue: string;
  /** Adapter-specific job options (Sidekiq `retry`, BullMQ `attempts`, ...). */
  readonly options: Readonly<Record<string, Json>>;
}

export type CatchUpPolicy = "latest" | "all" | "none";

/** What to do with slots that fell in a gap (restart, failover, outage, forward clock jump). */
export interface CatchUp {
  readonly policy: CatchUpPolicy;
  readonly windowMs: number;
  readonly max: number;
  /** Paced catch-up: at most this many missed slots fired a second (absent: all at once). */
  readonly ratePerSecond?: number;
}

/** A named rule that yields slots in a time zone, plus the job to enqueue at each. */
export interface Schedule extends Calendar {
  readonly name: string;
  readonly rule: Rule;
  /** The rule as the user wrote it, for display: `cron "0 9 * * 1-5"`, `every 3h`, `at 09:00`. */
  readonly ruleText: string;
  readonly timezone: string;
  readonly enabled: boolean;
  readonly adapter: string;
  readonly job: Job;
  readonly catchUp: CatchUp;
  readonly description?: string | undefined;
  /** Stop after this many fires: counted by the fire script in Redis (fire/ledger.ts, `{ns}:runs`). */
  readonly maxRuns?: number | undefined;
  /** A job is stale this long after its slot: stamped as `expiresAt` for workers; catch-up drops slots past it. */
  readonly expireAfterMs?: number | undefined;
  /** Free labels for filtering (`clock list --label team=billing`); nothing fires by them. */
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** A group whose members can be paused, resumed and removed in one atomic write. */
  readonly group?: string | undefined;
}

export const LABEL_KEY = /^[A-Za-z0-9._\/-]{1,100}$/;
export const GROUP_NAME = /^[A-Za-z0-9._:-]{1,200}$/;

export const SCHEDULE_NAME = /^[A-Za-z0-9._:-]{1,200}$/;

/** Where a value is not JSON, the path and the reason; null when it is. */
export function findNonJson(value: unknown, path: (string | number)[] = [], seen = new Set<object>()): { path: (string | number)[]; problem: string } | null {
  switch (typeof value) {
    case "string":
    case "boolean":
      return null;
    case "number":
      return Number.isFinite(value) ? null : { path, problem: `${value} is not a JSON number` };
    case "object": {
      if (value === null) return null;
      if (seen.has(value)) return { path, problem: "circular reference" };
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            if (!(i in value)) return { path: [...path, i], problem: "hole in array" };
            const found = findNonJson(value[i], [...path, i], seen);
            if (found !== null) return found;
          }
          return null;
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
          return { path, problem: `${kind} is not plain JSON (pass a string, number, boolean, null, array or plain object)` };
        }
        for (const [key, item] of Object.entries(value)) {
          // Refused so no consumer that copies keys can have its prototype replaced.
          if (key === "__proto__") return { path: [...path, key], problem: '"__proto__" is not allowed as a key' };
          const found = findNonJson(item, [...path, key], seen);
          if (found !== null) return found;
        }
        return null;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return { path, problem: `${typeof value} is not JSON` };
  }
}
