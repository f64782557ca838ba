import { createHash } from "node:crypto";

/** Sidekiq-style jid (24 hex chars), derived from the slot so a retried fire gets the same id. */
export function hexJobId(namespace: string, schedule: string, slotAt: number): string {
  return createHash("sha256").update(`${namespace}\0${schedule}\0${slotAt}`).digest("hex").slice(0, 24);
}

/** The id a slot's job gets from an adapter: its own scheme, else the readable one below. */
export function slotJobId(adapter: { jobIdFor?(schedule: string, slotAt: number): string }, schedule: string, slotAt: number): string {
  return adapter.jobIdFor?.(schedule, slotAt) ?? readableJobId(schedule, slotAt);
}

/**
 * Readable job id `clock-<schedule>-<slot ms>`. BullMQ refuses ':' in custom ids, so ':' (legal in
 * schedule names) is written as '%3A'; '%' is not legal in names, so the mapping stays one-to-one.
 */
export function readableJobId(schedule: string, slotAt: number): string {
  return `clock-${schedule.replaceAll(":", "%3A")}-${slotAt}`;
}

/**
 * The clock metadata a job carries for workers (Sidekiq's `clock`, Resque's, Celery's header, RQ's
 * `meta.clock`): schedule and slot, `manual` for a trigger, `expiresAt` with `expireAfter`. Fields
 * only when set, so a job of a plain schedule is byte for byte what it always was.
 */
export function clockMetadata(enqueue: {
  readonly schedule: string;
  readonly slotAt: number;
  readonly manual?: boolean;
  readonly backfill?: boolean;
  readonly expiresAt?: number;
}): {
  schedule: string;
  slot: string;
  slotAt: number;
  manual?: true;
  backfill?: true;
  expiresAt?: number;
} {
  return {
    schedule: enqueue.schedule,
    slot: new Date(enqueue.slotAt).toISOString(),
    slotAt: enqueue.slotAt,
    ...(enqueue.manual === true ? { manual: true as const } : {}),
    ...(enqueue.backfill === true ? { backfill: true as const } : {}),
    ...(enqueue.expiresAt === undefined ? {} : { expiresAt: enqueue.expiresAt }),
  };
}
