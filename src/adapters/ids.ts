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

/** W3C trace-context version and flags (sampled): `00-<trace id>-<span id>-01`. */
const TRACEPARENT_VERSION = "00";
const TRACE_FLAGS = "01";

/**
 * A `traceparent` from a sha256 hex digest: the trace id its first 32 hex digits, the span id the
 * next 16 (one digest gives both: they are independent bits of it). W3C forbids an all-zero id;
 * one (a 2^-128 chance) ends in `1` instead, so every derived id is valid.
 */
export function traceparentOf(digest: string): string {
  const valid = (id: string): string => (/^0+$/.test(id) ? `${id.slice(0, -1)}1` : id);
  return `${TRACEPARENT_VERSION}-${valid(digest.slice(0, 32))}-${valid(digest.slice(32, 48))}-${TRACE_FLAGS}`;
}

/**
 * The W3C `traceparent` a job carries, the same in every process for the same fire, so a re-fire
 * after a crash or a failover carries the same trace: sha256 of `traceparent\0<namespace>\0<schedule>\0<slot ms>`
 * for a slot; of `traceparent\0<namespace>\0<job id>` for a manual trigger or a backfill (whose
 * job id is unique to it). README "Traces" documents it for workers that compute it too.
 */
export function traceparentFor(
  namespace: string,
  enqueue: { readonly schedule: string; readonly slotAt: number; readonly jobId: string; readonly manual?: boolean; readonly backfill?: boolean },
): string {
  const input =
    enqueue.manual === true || enqueue.backfill === true ? `traceparent\0${namespace}\0${enqueue.jobId}` : `traceparent\0${namespace}\0${enqueue.schedule}\0${enqueue.slotAt}`;
  return traceparentOf(createHash("sha256").update(input).digest("hex"));
}

/** `{ traceparent }` for a payload or clock metadata, when the enqueue has one (the firer always sets it). */
export function traceField(enqueue: { readonly traceparent?: string }): { traceparent?: string } {
  return enqueue.traceparent === undefined ? {} : { traceparent: enqueue.traceparent };
}
