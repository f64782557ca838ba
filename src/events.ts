/**
 * One typed event map for every component of a running clock. Components emit; logging, metrics,
 * the status page's live feed and tests subscribe (daemon/observe.ts is the table from each event
 * to its log line and metric). `emit` never lets a listener's exception reach the emitter: a timer
 * loop that fires slots must not be stopped by a subscriber's bug.
 */
import type { FireOutcome } from "./fire/fire.ts";
import type { Schedule } from "./schedule/schedule.ts";
import type { OffsetChange } from "./time.ts";

/** How a config differs from another's (by schedule digests): the config check's finding. */
export interface ConfigDiff {
  /** Config schedules only this clock has (relative to the other config), at most `cap` names. */
  readonly added: readonly string[];
  /** Config schedules only the other config has. */
  readonly removed: readonly string[];
  /** Same name, different schedule. */
  readonly changed: readonly string[];
  readonly counts: { readonly added: number; readonly removed: number; readonly changed: number };
  readonly settingsDiffer: boolean;
}

/** This clock's config differs from the leader's: only the leader's config schedules fire. */
export interface ConfigMismatch {
  /** This clock's config fingerprint. */
  readonly fingerprint: string;
  readonly leaderFingerprint: string;
  readonly leader: { readonly host: string; readonly pid: number };
  /** Config schedules relative to the leader's (null when the leader's digests are not in Redis). */
  readonly diff: ConfigDiff | null;
  /** First seen, epoch ms. */
  readonly since: number;
}

/** A backfill as its log lines show it (dynamic/backfill.ts keeps the whole record). */
export interface BackfillReport {
  readonly id: string;
  readonly schedule: string;
  readonly fromAt: number;
  readonly toAt: number;
  readonly ratePerSecond: number;
  readonly state: "pending" | "running" | "done" | "cancelled" | "failed";
  readonly total: number;
  readonly fired: number;
  readonly skipped: number;
  readonly paused: number;
  readonly error: string | null;
}

/** A schedule's state as the leader judges its expectations (history/expect.ts). */
export const EXPECT_STATES = ["ok", "late", "failed", "missed"] as const;
export type ExpectState = (typeof EXPECT_STATES)[number];

/** A schedule's state, about its newest slot (history/states.ts keeps it in Redis). */
export interface ScheduleState {
  readonly state: ExpectState;
  /** When the schedule entered this state (Redis time, epoch ms). */
  readonly since: number;
  /** The slot the state is about (null: no slot yet). */
  readonly slotAt: number | null;
  readonly jobId: string | null;
  /** In words: "not started within 2s of its slot", "failed: TypeError", "2 missed slots skipped by the catch-up policy". */
  readonly reason: string;
  /** A failed job's error class. */
  readonly error: string | null;
  /** When a job of the schedule last finished successfully (as checked in), null if never seen. */
  readonly lastSuccessAt: number | null;
}

/** What the lease was doing when Redis refused or failed. */
export type LeaseOp = "acquire" | "renew" | "release" | "subscribe";

export interface ClockEventMap {
  /** A slot's job is in its queue. `lagMs`: Redis time inside the write minus the slot. */
  "fire:fired": { readonly outcome: FireOutcome; readonly lagMs: number; readonly catchUp: boolean };
  /** The script refused a slot (fenced, duplicate, early, paused), a newer slot replaced its job (overlap), or the enqueue was outboxed. */
  "fire:refused": { readonly outcome: FireOutcome };
  /** Overlap skip: the previous slot's job (`outcome.previousSlotAt`) was still pending, so this slot enqueued nothing; the ledger advanced. */
  "fire:overlap-skipped": { readonly outcome: FireOutcome };
  /** A fire batch failed (Redis down, script error); `again` while the failure continues. */
  "fire:failed": { readonly error: Error; readonly slots: number; readonly again: boolean };
  /**
   * `durability`: the WAIT after a fire batch heard fewer replicas than asked (`acknowledged` null:
   * WAIT itself failed). `fires` slots were written that a failover could roll back. `again` while
   * it continues.
   */
  "fire:unreplicated": { readonly fires: number; readonly acknowledged: number | null; readonly wanted: number; readonly again: boolean; readonly error?: Error };
  /** Replicas acknowledge fire batches again, after `batches` that none (or too few) did. */
  "fire:replicated": { readonly batches: number };
  /** The ledger advanced but the adapter's enqueue failed: the job waits in the outbox. */
  "fire:outboxed": { readonly outcome: FireOutcome; readonly error: Error };
  "outbox:drained": { readonly count: number };
  "outbox:corrupt": { readonly entry: string; readonly reason: string };
  "outbox:failed": { readonly error: Error };
  /** Missed slots not fired (outside the window, over `max`, policy `none`). */
  /** `expired`: of `count`, slots dropped because their `expireAfter` had passed. */
  "planner:skipped": { readonly schedule: Schedule; readonly count: number; readonly capped: boolean; readonly expired?: number };
  "planner:late-wake": { readonly lateMs: number };
  "planner:clock-jump": { readonly jumpMs: number };
  "planner:resynced": { readonly schedules: number };
  /**
   * The ledger lacks, or holds an older slot than, what this process knows it fired (Redis lost
   * data, a failover to a replica behind, a key deleted or rewound by hand): `examples` are the
   * first ten, `ledgerAt` null where the entry is gone.
   */
  "planner:ledger-lost": { readonly schedules: number; readonly examples: readonly { readonly name: string; readonly knownAt: number; readonly ledgerAt: number | null }[] };
  "lease:changed": { readonly leading: boolean };
  /** With shards of leadership: this process took or lost the lease of `shard` (of `shards`). */
  "shard:changed": { readonly shard: number; readonly leading: boolean; readonly shards: number };
  /** Started while Redis was unreachable, then found the deployment runs with another shard count: this process does not lead. */
  "shard:count-refused": { readonly error: Error };
  /** With shards: this process led more than its share (`share` of them, `live` processes) and handed `shards` over. */
  "shard:handed-over": { readonly shards: readonly number[]; readonly live: number; readonly share: number };
  /** A lease operation failed (Redis down, READONLY, WRONGTYPE: a corrupt lease key); `again` while it goes on. */
  "lease:error": { readonly op: LeaseOp; readonly error: Error; readonly again: boolean };
  /** A lease operation succeeded after failures. */
  "lease:recovered": Record<string, never>;
  /** The leader held its lease all along but was past its validity for `lapsedMs` (a late renewal); valid again now. */
  "lease:lapsed": { readonly lapsedMs: number; readonly again: boolean };
  /** A lease write came back after the validity it grants (round trip over ttl - margin): the lease was let go. */
  "lease:unusable": { readonly roundTripMs: number; readonly validMs: number; readonly again: boolean };
  "redis:down": { readonly error: Error; readonly everConnected: boolean };
  "redis:restored": Record<string, never>;
  /** A key of the clock's held the wrong type (a hand edit, a stray write): moved to `aside`, started afresh (redis/repair.ts). */
  "redis:repaired": { readonly key: string; readonly found: string; readonly aside: string };
  /** Through Sentinel: the clock's connection now reaches another primary (a failover). */
  "redis:primary-changed": { readonly master: string; readonly from: string; readonly to: string };
  /** The measured offset between this host's clock and Redis TIME changed (time.ts ReferenceClock). */
  "time:offset": OffsetChange;
  /** This host's wall clock stepped by `stepMs` against its monotonic clock; slots keep Redis time. */
  "time:step": { readonly stepMs: number };
  /** The paused set and the entries were first read after start-up (Redis was unreachable then): planning begins. */
  "sync:loaded": { readonly schedules: number; readonly paused: number; readonly invalid: number };
  /**
   * The dynamic-schedule change counter went backwards (Redis lost data, or a hand reset): the
   * dynamic schedules and pauses that went with it (`vanished` removed, `unpaused` firing again).
   */
  "sync:reset": { readonly fromVersion: number; readonly toVersion: number; readonly vanished: readonly string[]; readonly unpaused: readonly string[] };
  "schedule:changed": { readonly name: string; readonly kind: string; readonly fields: Readonly<Record<string, unknown>> };
  "schedule:invalid": { readonly name: string; readonly reason: string };
  "schedule:clash": { readonly name: string };
  /** A dynamic one-shot fired, and the leader removed its entry. */
  "schedule:done-removed": { readonly name: string; readonly slotAt: number };
  /** This clock's config differs from the leader's (every check while it does). */
  "config:mismatch": { readonly mismatch: ConfigMismatch };
  /** A mismatch ended: this clock leads now, or its config matches the leader's again. */
  "config:matched": { readonly fingerprint: string | null; readonly leaderFingerprint: string; readonly reason: string };
  /** A check found nothing to report (`leaderFingerprint` null: the leader's is not known). */
  "config:checked": { readonly fingerprint: string; readonly leaderFingerprint: string | null };
  "config:check-failed": { readonly error: Error };
  /** The leader ended a pause at its `until` (Redis time): a resume stamped at that instant. */
  "pause:expired": { readonly name: string; readonly untilAt: number };
  /** With shards: a shard's pause state and the deployment's copy made to agree (dynamic/shard-pauses.ts), names per direction. */
  "pause:repaired": { readonly shard: number; readonly toShard: readonly string[]; readonly toDeployment: readonly string[]; readonly dropped: readonly string[] };
  /** The leader began (or, `resumed`, went on with) a backfill. */
  "backfill:started": { readonly record: BackfillReport; readonly resumed: boolean };
  /** A backfill ended: done, cancelled or failed, with its counts. */
  "backfill:finished": { readonly record: BackfillReport };
  /** Fire records could not be written to the history (history/recorder.ts); they wait for a retry. `again` while it goes on. */
  "history:failed": { readonly error: Error; readonly records: number; readonly again: boolean };
  /** History writes succeed again. */
  "history:recovered": Record<string, never>;
  /** Fire records given up: more waited for Redis than the recorder keeps in memory. */
  "history:dropped": { readonly records: number };
  /** A worker's check-in heard by the leader (BullMQ's events) was recorded in the schedule's history. */
  "checkin:recorded": { readonly schedule: string; readonly jobId: string; readonly state: "started" | "succeeded" | "failed"; readonly error: string | null };
  /** Listening for check-ins, or recording one, failed. */
  "checkin:failed": { readonly error: Error };
  /**
   * A schedule with `expect` changed state (`from` null: first judged, with no state kept). A
   * leader's first judgement that agrees with the state kept in Redis comes with `from` equal to the
   * state: no change, reported for the metrics only.
   */
  "expect:changed": { readonly schedule: string; readonly from: ExpectState | null; readonly to: ScheduleState };
  /** A job of a schedule with `expect` finished successfully (as checked in), at `finishedAt`. */
  "expect:succeeded": { readonly schedule: string; readonly finishedAt: number };
  /** A schedule is no longer judged (removed, or its `expect` is gone). */
  "expect:removed": { readonly schedule: string };
  /** A webhook post of a state change failed; `final` when it is given up after its last attempt. `url` without credentials. */
  "alert:failed": { readonly url: string; readonly schedule: string; readonly attempt: number; readonly error: Error; readonly final: boolean };
  /** A state change was posted to the webhook. */
  "alert:sent": { readonly url: string; readonly schedule: string; readonly state: ExpectState; readonly attempt: number };
  /** State changes not posted: more waited than the alert queue holds (the oldest go). */
  "alert:dropped": { readonly url: string; readonly count: number };
  /** A background task (poll, reconcile, time sync, outbox drain) failed; the first of a run only. */
  "task:failed": { readonly task: string; readonly error: Error };
  /** A listener threw; reported here rather than thrown into the emitter. */
  "listener:failed": { readonly event: string; readonly error: Error };
}

export type ClockEventName = keyof ClockEventMap;
type Listener<E extends ClockEventName> = (payload: ClockEventMap[E]) => void;

export class ClockEvents {
  readonly #listeners = new Map<ClockEventName, Set<Listener<never>>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends ClockEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Resolves with the first event that matches (already past ones do not count). */
  next<E extends ClockEventName>(event: E, matches: (payload: ClockEventMap[E]) => boolean = () => true, timeoutMs = 30_000): Promise<ClockEventMap[E]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(event, (payload) => {
        if (!matches(payload)) return;
        clearTimeout(timer);
        off();
        resolve(payload);
      });
    });
  }

  /** Calls each listener; one that throws is reported as "listener:failed", never rethrown. */
  emit<E extends ClockEventName>(event: E, payload: ClockEventMap[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        if (event === "listener:failed") continue; // never recurse
        this.emit("listener:failed", { event, error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
  }
}
