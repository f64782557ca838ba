/** Which due slots of a schedule to fire: the on-time one, or the missed ones its policy allows. */
import { SECOND } from "../schedule/duration.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { slotsBetween } from "../schedule/slots.ts";

/** A slot fired at most this late counts as on time, whatever the catch-up policy. */
export const ON_TIME_MS = 5 * SECOND;

const OLD_COUNT_CAP = 10_000;

export interface Selection {
  /** Slots to fire, oldest first. */
  readonly fire: number[];
  /** The newest due slot: once handled, the schedule continues after it. */
  readonly newestAt: number | null;
  /** Due slots not fired (outside the window, over `max`, or policy "none"). */
  readonly skipped: number;
  /** True when policy "all" had more slots in the window than `max`. */
  readonly capped: boolean;
  /** Of the skipped, slots the policy would have fired whose `expireAfter` had passed (counted in `skipped`). */
  readonly expired: number;
}

export function selectDueSlots(schedule: Schedule, afterAt: number, now: number): Selection {
  const { policy, windowMs, max } = schedule.catchUp;
  // Slots older than the window never fire: no need to enumerate them.
  const from = Math.max(afterAt, now - Math.max(windowMs, ON_TIME_MS) - 1);
  const { slots, total: recent } = slotsBetween(schedule, from, now, policy === "all" ? max + 1 : 1);
  // Count (not list) what fell before the window, so the skipped figure is honest; capped for cost.
  // With nothing in the window, the newest of those is where the schedule continues: without it, a
  // schedule whose every due slot is older than the window (a one-shot, a daily rule after days
  // down) would be planned at the same past slot again and again.
  const old = from > afterAt ? slotsBetween(schedule, afterAt, from, slots.length === 0 ? 1 : 0, OLD_COUNT_CAP) : { slots: [], total: 0 };
  const total = recent + old.total;
  const newestAt = slots.at(-1) ?? old.slots.at(-1) ?? null;
  if (newestAt === null) return { fire: [], newestAt: null, skipped: 0, capped: false, expired: 0 };
  const onTime = now - newestAt <= ON_TIME_MS;
  const fresh = (at: number): boolean => schedule.expireAfterMs === undefined || at + schedule.expireAfterMs >= now;
  if (total === 1 && onTime && fresh(newestAt)) return { fire: [newestAt], newestAt, skipped: 0, capped: false, expired: 0 };
  const inWindow = slots.filter((at) => now - at <= windowMs || (at === newestAt && onTime));
  let fire: number[];
  let capped = false;
  if (policy === "all") {
    capped = inWindow.length > max;
    fire = inWindow.slice(-max);
  } else if (policy === "latest") {
    fire = inWindow.slice(-1);
  } else {
    fire = onTime ? [newestAt] : [];
  }
  // A job that would reach its queue after its expiresAt is stale before any worker sees it: dropped, and said so.
  const kept = fire.filter(fresh);
  return { fire: kept, newestAt, skipped: total - kept.length, capped, expired: fire.length - kept.length };
}
