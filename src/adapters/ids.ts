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
