/**
 * One timer over all schedules: a min-heap of each schedule's next slot, a sleep until the
 * earliest (never longer than a second, so a wall-clock jump is noticed), and one pipelined fire
 * of everything due. Catch-up applies wherever slots were missed: after a restart, a failover, a
 * Redis outage or a forward clock jump. A backward jump fires nothing twice: the ledger only grows.
 *
 * Over 250 lines on purpose: the timer, the wake-up checks and the handling of each fire's outcome
 * share the heap and the leadership state, and every path through them is one read of this file;
 * what is pure (which slots are due, catch-up) lives in catch-up.ts.
 */
import type { FireOutcome, FireRequest, FireStatus } from "../fire/fire.ts";
import type { ClockEvents } from "../events.ts";
import type { Leadership } from "../lease/lease.ts";
import { SECOND } from "../schedule/duration.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { nextSlotAfter } from "../schedule/slots.ts";
import { nextTurn, type Clock } from "../time.ts";
import { paceOf } from "../config/rate.ts";
import { SlotHeap } from "./heap.ts";
import { ON_TIME_MS, selectDueSlots } from "./catch-up.ts";

export interface PlannerOptions {
  readonly clock: Clock;
  readonly fire: (requests: readonly FireRequest[], prepared?: unknown) => Promise<FireOutcome[]>;
  /**
   * Builds the fire of a burst ahead of its instant (fire.ts `Firer.prepare`), in parts: `previous`
   * is what the last call for the same instant returned, and the result extends it. The last result
   * is handed to `fire` with the requests of every part first. Absent: every fire is built at its instant.
   */
  readonly prepare?: (requests: readonly FireRequest[], instantAt: number, previous?: unknown) => unknown;
  /**
   * The ledger: latest fired slot per schedule name, or the instant before its resume when that is
   * later (a pause's slots are skipped, never caught up: see dynamic/pauses.ts).
   */
  readonly readLedger: () => Promise<Map<string, number>>;
  readonly leadership: Leadership;
  /** Where the planner reports fires, refusals, skips, failures, late wake-ups and clock jumps. */
  readonly events: ClockEvents;
  /** The longest sleep; bounds how late a wall-clock jump is noticed. */
  readonly tickMs?: number;
  /** Busy-wait the last stretch before a slot for sub-millisecond lag (system clock only). */
  readonly spin?: boolean;
  /**
   * Resolves once the process's other fires in flight have their replies (shards: FiresInFlight in
   * planner/shards.ts). A big fire waits for it before it is told, so that the telling (CPU-heavy at
   * thousands of outcomes) does not slow the other shards' fires of the same instant.
   */
  readonly othersReplied?: () => Promise<void>;
  /** A turn for a big burst's synchronous start, among the process's shards (FiresInFlight.turn). */
  readonly turn?: () => Promise<() => void>;
}

interface Entry {
  schedule: Schedule;
  /** The newest slot already handled (fired, or skipped by policy); due slots are after it. */
  afterAt: number;
  /** The newest slot this process knows is in the ledger (it fired it, or read it there): evidence when the ledger loses it. */
  knownAt: number | undefined;
  /** While `paced`, the instant of the next paced batch of missed slots; otherwise the next slot. */
  nextAt: number;
  /** A paced catch-up (`catchUp.rate`) has missed slots left: the next wake fires the next batch of them. */
  paced: boolean;
  heapIndex: number;
}

/** A burst built ahead (Planner.#prepared). */
interface PreparedBurst {
  readonly instantAt: number;
  readonly entries: Entry[];
  readonly names: Set<string>;
  readonly requests: FireRequest[];
  handle: unknown;
}

const LATE_WAKE_WARN_MS = 100;
const JUMP_WARN_MS = SECOND;
/** Wake this long before a slot and busy-wait the rest: timers fire up to a few ms late. */
const SPIN_MS = 3;
const MAX_BACKOFF_MS = 5 * SECOND;
const FENCED_BACKOFF_MS = SECOND;
/** No rule yields two slots closer than this (cron and every both have one-second resolution). */
const MIN_SLOT_GAP_MS = SECOND;
const RESYNC_YIELD_EVERY = 5_000;
/** Outcomes told per turn of the event loop after a big fire (and the size from which it waits for the others, see othersReplied). */
const REPORT_YIELD_EVERY = 1_000;
/** The longest a big fire's telling waits for the other fires in flight. */
const OTHERS_WAIT_MAX_MS = 5 * SECOND;
/** A burst of at least this many slots at one instant is built ahead of it (fewer build in well under a millisecond). */
const PREPARE_MIN = 50;
/** Entries built per part of a prepared burst (then the event loop turns). */
const PREPARE_CHUNK = 5_000;
/** A burst this big is built from BIG_BURST_AHEAD_MS before its instant instead of PREPARE_AHEAD_MS. */
const BIG_BURST = 20_000;
const BIG_BURST_AHEAD_MS = 4 * SECOND;
/** How long before a burst it is built: time for 100,000 payloads; a change within it drops the prepared fire. */
const PREPARE_AHEAD_MS = SECOND;
/** Outcomes after which the ledger holds the slot (fired, found fired, outboxed, or handled by the overlap policy). */
const IN_LEDGER: ReadonlySet<FireStatus> = new Set<FireStatus>(["fired", "duplicate", "outboxed", "skipped", "replaced"]);

/**
 * Where a schedule new to this process starts: now (a brand-new schedule does not back-fill
 * history), except a one-shot that has not fired: its only slot, even if already past, follows the
 * catch-up policy (fires late within the window, else is skipped and logged) once the ledger is read.
 */
function startAfter(schedule: Schedule, now: number): number {
  if (schedule.rule.kind !== "once") return now;
  const onlyAt = nextSlotAfter(schedule, Number.NEGATIVE_INFINITY);
  return onlyAt === null ? now : Math.min(now, onlyAt - 1);
}

export class Planner {
  readonly #options: PlannerOptions;
  readonly #heap = new SlotHeap<Entry>();
  readonly #entries = new Map<string, Entry>();
  readonly #tickMs: number;
  #timer: unknown = null;
  #running = false;
  #firing: Promise<void> | null = null;
  #synced = false;
  #retryAt = 0;
  #backoffMs = 0;
  #lastWall = 0;
  #lastMono = 0;
  #lastWakeAt = 0;
  /** Monotonic: when the armed timer is due, or when the fire in flight began (null: neither). */
  #dueMono: number | null = null;
  /** A fire failed and none has succeeded since: the next failure is the same outage. */
  #failing = false;
  /**
   * The burst at `instantAt`, built ahead (entries as they were then), part by part: `entries` and
   * `requests` are those built so far, in heap order. Null when none is.
   */
  #prepared: PreparedBurst | null = null;
  /** The instant whose burst size was looked at BIG_BURST_AHEAD_MS ahead. */
  #lookedAheadFor = Number.NaN;
  /** The instant last looked at for preparing (so a small one is not counted at every wake). */
  #preparedFor = Number.NaN;

  constructor(options: PlannerOptions) {
    this.#options = options;
    this.#tickMs = options.tickMs ?? SECOND;
  }

  /**
   * Resolves when no slot is due within `windowMs` (and no fire is in flight), so work that blocks
   * the event loop for a while (building a page of status) never lands on a slot. Waits through
   * at most a few slots, then gives way: a schedule firing every few ms must not starve the caller.
   */
  async quietFor(windowMs: number): Promise<void> {
    const { clock } = this.#options;
    for (let waits = 0; waits < 3; waits++) {
      if (this.#firing !== null) {
        await this.#firing;
        continue;
      }
      const nextAt = this.#options.leadership.isLeader() ? this.#heap.peek()?.nextAt : undefined;
      const untilDue = nextAt === undefined ? Number.POSITIVE_INFINITY : nextAt - clock.now();
      if (untilDue > windowMs || untilDue < -windowMs) return;
      // Just past the slot: by then its fire has started (and is awaited above).
      await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.max(0, untilDue) + 1));
    }
  }

  /**
   * How long the planner is behind itself (for health checks): past its timer's due time, or how
   * long the fire in flight has taken. 0 while on time; a stuck fire or a starved event loop grows it.
   */
  get overdueMs(): number {
    return this.#dueMono === null ? 0 : Math.max(0, this.#options.clock.monotonic() - this.#dueMono);
  }

  /** Plans the timer again now (the clock's offset to Redis changed: a sleep armed before is off by that). */
  rearm(): void {
    if (this.#firing === null) this.#wakeSoon();
  }

  /** Last time the loop ran, wall-clock ms (for status). */
  get lastWakeAt(): number {
    return this.#lastWakeAt;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The next planned slot of a schedule (undefined when it is not planned: paused, disabled, past its end). */
  nextAtOf(name: string): number | undefined {
    const entry = this.#entries.get(name);
    if (entry === undefined || entry.heapIndex < 0) return undefined;
    return entry.paced ? (nextSlotAfter(entry.schedule, entry.afterAt) ?? undefined) : entry.nextAt;
  }

  /**
   * Adds or replaces a schedule. A replaced one keeps its position; a new one starts after
   * `afterAt` (its ledger, e.g. on resume) or now (no back-fill).
   */
  upsert(schedule: Schedule, afterAtHint?: number): void {
    this.#dropPrepared(schedule.name);
    const existing = this.#entries.get(schedule.name);
    if (existing !== undefined) this.#heap.remove(existing);
    if (!schedule.enabled) {
      this.#entries.delete(schedule.name);
      this.#arm();
      return;
    }
    const afterAt = existing?.afterAt ?? afterAtHint ?? startAfter(schedule, this.#options.clock.now());
    const entry: Entry = { schedule, afterAt, knownAt: existing?.knownAt, nextAt: 0, paced: false, heapIndex: -1 };
    this.#entries.set(schedule.name, entry);
    this.#plan(entry);
    this.#arm();
  }

  remove(name: string): void {
    this.#dropPrepared(name);
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#heap.remove(entry);
    this.#entries.delete(name);
  }

  start(schedules: readonly Schedule[]): void {
    this.#running = true;
    const now = this.#options.clock.now();
    this.#lastWall = now;
    this.#lastMono = this.#options.clock.monotonic();
    for (const schedule of schedules) {
      if (!schedule.enabled) continue;
      const entry: Entry = { schedule, afterAt: startAfter(schedule, now), knownAt: undefined, nextAt: 0, paced: false, heapIndex: -1 };
      this.#entries.set(schedule.name, entry);
      this.#plan(entry);
    }
    this.#options.leadership.onChange((leader) => {
      this.#synced = false;
      this.#prepared = null;
      if (leader) this.#wakeSoon();
    });
    // Valid again after a late renewal: fire what came due in the gap now, not at the next tick
    // (which, sleeping a whole tick each time, could keep landing in the gaps).
    this.#options.leadership.onValid?.(() => this.#wakeSoon());
    this.#wakeSoon();
  }

  /** Stops planning and waits for an in-flight fire to finish. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#dueMono = null;
    await this.#firing;
  }

  /** Marks the ledger as to be re-read (after a Redis outage: another process may have fired). */
  invalidate(): void {
    this.#synced = false;
  }

  #plan(entry: Entry): void {
    entry.paced = false;
    const next = nextSlotAfter(entry.schedule, entry.afterAt);
    if (next === null) return; // past endAt: nothing more to fire
    entry.nextAt = next;
    this.#heap.push(entry);
  }

  #wakeSoon(): void {
    if (!this.#running) return;
    if (this.#timer !== null) this.#options.clock.clearTimeout(this.#timer);
    if (this.#firing === null) this.#dueMono = this.#options.clock.monotonic();
    this.#timer = this.#options.clock.setTimeout(() => this.#wake(), 0);
  }

  #arm(): void {
    if (!this.#running || this.#firing !== null) return;
    if (this.#timer !== null) this.#options.clock.clearTimeout(this.#timer);
    const { clock } = this.#options;
    const now = clock.now();
    // A standby only watches the time (for jumps) until it leads: nothing to fire.
    const leading = this.#options.leadership.isLeader();
    const target = leading ? Math.max(this.#heap.peek()?.nextAt ?? Number.POSITIVE_INFINITY, this.#retryAt) : Number.POSITIVE_INFINITY;
    const lead = this.#options.spin === true ? SPIN_MS : 0;
    let delay = Math.max(0, Math.min(target - now - lead, this.#tickMs));
    // A wake a second before the next instant (at once if it is nearer), where the burst due then
    // (if any) is built; and one a few seconds before it, where a big burst starts to be built. Not
    // while a retry holds the timer: the instant is not the one it waits for.
    if (leading && this.#options.prepare !== undefined && this.#preparedFor !== target && target === this.#heap.peek()?.nextAt) {
      const aheadMs = this.#lookedAheadFor === target ? PREPARE_AHEAD_MS : BIG_BURST_AHEAD_MS;
      delay = Math.min(delay, Math.max(0, target - now - aheadMs));
    }
    // Lateness is measured against when the timer was asked to fire, never against the target: a
    // target already past when armed (a resume heard after its first slot) is not a late timer.
    const dueMono = clock.monotonic() + delay;
    this.#dueMono = dueMono;
    this.#timer = clock.setTimeout(() => this.#wake(target, dueMono), delay);
  }

  #noticeJump(now: number): void {
    const mono = this.#options.clock.monotonic();
    const jumpMs = now - (this.#lastWall + (mono - this.#lastMono));
    this.#lastWall = now;
    this.#lastMono = mono;
    if (Math.abs(jumpMs) >= JUMP_WARN_MS) this.#options.events.emit("planner:clock-jump", { jumpMs });
  }

  #wake(target?: number, dueMono?: number): void {
    this.#timer = null;
    // One fire at a time: the one in flight re-arms the timer when it ends.
    if (!this.#running || this.#firing !== null) return;
    const { clock } = this.#options;
    const lateMs = dueMono === undefined ? 0 : clock.monotonic() - dueMono;
    if (target !== undefined && this.#options.spin === true && target - clock.now() <= SPIN_MS) {
      // Busy-wait the last few ms: the slot goes out within a fraction of a millisecond.
      const spinUntil = clock.monotonic() + SPIN_MS + 1;
      while (clock.now() < target && clock.monotonic() < spinUntil) {
        // spin
      }
    }
    const now = clock.now();
    this.#lastWakeAt = now;
    this.#noticeJump(now);
    if (lateMs > LATE_WAKE_WARN_MS) this.#options.events.emit("planner:late-wake", { lateMs });
    if (!this.#options.leadership.isLeader() || now < this.#retryAt) {
      this.#arm();
      return;
    }
    const top = this.#heap.peek();
    if (this.#synced && (top === undefined || top.nextAt > now)) {
      if (top !== undefined) this.#lookAhead(top.nextAt, top.nextAt - now);
      this.#arm();
      return;
    }
    this.#dueMono = clock.monotonic();
    this.#firing = this.#fireDue(now).finally(() => {
      this.#firing = null;
      this.#dueMono = null;
      this.#arm();
    });
  }

  /**
   * Re-reads the ledger: every schedule continues after its latest fired slot. Where the ledger
   * lost what this process knows it held (Redis restarted without persistence, a failover to a
   * replica behind, a key deleted or rewound by hand), it is said loudly, and no slot is lost
   * silently: an entry that vanished is replaced by this process's record (the slots since it
   * follow the catch-up policy), one that went back is followed (its slots after it fire again
   * per policy: their jobs went with it).
   */
  async #resync(now: number): Promise<void> {
    const ledger = await this.#options.readLedger();
    let sinceYield = 0;
    const lost: { name: string; knownAt: number; ledgerAt: number | null }[] = [];
    for (const entry of [...this.#entries.values()]) {
      // Yield now and then: a long synchronous pass would starve the lease renewal (and lose the lease).
      if (++sinceYield >= RESYNC_YIELD_EVERY) {
        sinceYield = 0;
        await nextTurn();
        if (this.#entries.get(entry.schedule.name) !== entry) continue;
      }
      const ledgerAt = ledger.get(entry.schedule.name);
      if (entry.knownAt !== undefined && (ledgerAt === undefined || ledgerAt < entry.knownAt))
        lost.push({ name: entry.schedule.name, knownAt: entry.knownAt, ledgerAt: ledgerAt ?? null });
      // Went back (a failover to a replica behind, a restore, a hand edit): the ledger is the truth,
      // since the fire script writes a slot's job with its ledger entry, and a replica that lacks the
      // one lacks the other; the slots after it follow the catch-up policy again. Vanished: no entry
      // to go by, so this process's record stands, and the slots since it follow the policy.
      const firedAt = ledgerAt ?? entry.knownAt;
      entry.knownAt = firedAt;
      // Nothing fired yet: a brand-new schedule, which does not back-fill history. Its planned slot
      // stands if it is still ahead; a planned slot already past (missed while Redis was away)
      // follows the catch-up policy from where it was planned, never silently dropped.
      if (firedAt === undefined && entry.heapIndex >= 0 && entry.nextAt > now) continue;
      const afterAt = firedAt ?? entry.afterAt;
      if (afterAt === entry.afterAt && entry.heapIndex >= 0) continue;
      this.#heap.remove(entry);
      entry.afterAt = afterAt;
      this.#plan(entry);
    }
    this.#synced = true;
    if (lost.length > 0) this.#options.events.emit("planner:ledger-lost", { schedules: lost.length, examples: lost.slice(0, 10) });
    this.#options.events.emit("planner:resynced", { schedules: this.#entries.size });
  }

  async #fireDue(now: number): Promise<void> {
    try {
      if (!this.#synced) await this.#resync(now);
    } catch (error) {
      this.#failed(error as Error, 0, now);
      return;
    }
    // A big burst takes its turn among the shards' planners due at the same instant.
    const turn = this.#options.turn !== undefined && (this.#prepared?.entries.length ?? 0) >= BIG_BURST ? await this.#options.turn() : null;
    try {
      await this.#fireDueNow(now, turn);
    } finally {
      turn?.();
    }
  }

  /** #fireDue's work; `endTurn` (when it holds a turn) is called once the fire's batches are sent. */
  async #fireDueNow(now: number, endTurn: (() => void) | null): Promise<void> {
    const due: Entry[] = [];
    for (let top = this.#heap.peek(); top !== undefined && top.nextAt <= now; top = this.#heap.peek()) {
      due.push(top);
      this.#heap.pop();
    }
    if (due.length === 0) return;
    const requests: FireRequest[] = [];
    const catchUp = new Set<FireRequest>();
    const handled = new Map<Entry, number>();
    // Said once the fire that follows them went out: an attempt that fails is no skip yet.
    const skips = new Map<Entry, { count: number; capped: boolean; expired: number }>();
    /** Entries whose paced catch-up has missed slots left, and when their next batch goes. */
    const paced = new Map<Entry, number>();
    for (const entry of due) {
      if (!entry.paced && now - entry.nextAt < MIN_SLOT_GAP_MS) {
        // The planned slot is the only one due (slots are at least a second apart), and on time:
        // no walk over the calendar on the hot path of a burst.
        handled.set(entry, entry.nextAt);
        requests.push({ schedule: entry.schedule, slotAt: entry.nextAt });
        continue;
      }
      const selection = selectDueSlots(entry.schedule, entry.afterAt, now);
      if (selection.newestAt !== null) handled.set(entry, selection.newestAt);
      if (selection.skipped > 0) skips.set(entry, { count: selection.skipped, capped: selection.capped, expired: selection.expired });
      const isCatchUp = entry.paced || selection.fire.length > 1 || selection.skipped > 0 || (selection.newestAt !== null && now - selection.newestAt > ON_TIME_MS);
      let fire = selection.fire;
      const rate = entry.schedule.catchUp.ratePerSecond;
      if (rate !== undefined && isCatchUp) {
        // Paced: the oldest batch now, the rest in later wakes, never all in one burst. The heap
        // holds the entry at its next batch's instant, so every other schedule's slots keep their
        // own times meanwhile. Its own newer slots wait behind its older ones: the ledger holds a
        // schedule's newest fired slot, so its slots go out in order.
        const pace = paceOf(rate);
        if (fire.length > pace.count) {
          fire = fire.slice(0, pace.count);
          handled.set(entry, fire.at(-1) as number);
          paced.set(entry, now + pace.intervalMs);
        }
      }
      for (const slotAt of fire) {
        const request = { schedule: entry.schedule, slotAt };
        requests.push(request);
        if (isCatchUp) catchUp.add(request);
      }
    }
    const prepared = this.#takePrepared(due, requests);
    let outcomes: FireOutcome[];
    try {
      // The call returns at the fire's first wait (its batches are on their way): the turn ends there.
      const fired = this.#options.fire(prepared?.requests ?? requests, prepared?.handle);
      endTurn?.();
      outcomes = await fired;
    } catch (error) {
      for (const entry of due) this.#heap.push(entry);
      this.#failed(error as Error, requests.length, this.#options.clock.now());
      return;
    }
    if (outcomes.length >= REPORT_YIELD_EVERY && this.#options.othersReplied !== undefined) {
      const { clock } = this.#options;
      let timer: unknown = null;
      await Promise.race([this.#options.othersReplied(), new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, OTHERS_WAIT_MAX_MS)))]);
      clock.clearTimeout(timer);
    }
    const retry = new Set<Entry>();
    /** Schedules whose maxRuns the script says is reached: no more slots to plan. */
    const done = new Set<Entry>();
    let earliestRetryAt = Number.POSITIVE_INFINITY;
    let errors = 0;
    let firstError: Error | undefined;
    const byName = new Map(due.map((entry) => [entry.schedule.name, entry]));
    let sinceYield = 0;
    for (const outcome of outcomes) {
      // A big burst's outcomes are told (log lines, metrics, history) in parts, yielding between
      // them: the socket writes still queued (this shard's or another's fire), the lease renewals
      // and the other shards' fires are not held up behind the telling.
      if (++sinceYield >= REPORT_YIELD_EVERY) {
        sinceYield = 0;
        await nextTurn();
      }
      const entry = byName.get(outcome.request.schedule.name);
      if (entry !== undefined && IN_LEDGER.has(outcome.status) && outcome.request.manual === undefined) {
        entry.knownAt = Math.max(entry.knownAt ?? outcome.request.slotAt, outcome.request.slotAt);
      }
      if (outcome.status === "fired") {
        this.#failing = false;
        this.#options.events.emit("fire:fired", { outcome, lagMs: outcome.redisAt - outcome.request.slotAt, catchUp: catchUp.has(outcome.request) });
        continue;
      }
      if (outcome.status === "skipped") {
        // Handled like a fire: the ledger advanced, the schedule goes on to its next slot.
        this.#options.events.emit("fire:overlap-skipped", { outcome });
        continue;
      }
      this.#options.events.emit("fire:refused", { outcome });
      if (entry === undefined) continue;
      if (outcome.status === "done") {
        done.add(entry);
      } else if (outcome.status === "early") {
        retry.add(entry);
        earliestRetryAt = Math.min(earliestRetryAt, this.#earlyRetryAt(outcome));
      } else if (outcome.status === "error") {
        retry.add(entry);
        errors++;
        firstError ??= outcome.error;
      } else if (outcome.status === "fenced") {
        // Not the leader any more: back off until the lease module notices, not a hot retry loop.
        retry.add(entry);
        this.#synced = false;
        earliestRetryAt = Math.min(earliestRetryAt, this.#options.clock.now() + FENCED_BACKOFF_MS);
      }
    }
    for (const entry of due) {
      // A current entry only: the schedule may have been replaced or removed while the fire ran.
      if (this.#entries.get(entry.schedule.name) !== entry) continue;
      if (retry.has(entry)) {
        this.#heap.push(entry);
        continue;
      }
      entry.afterAt = Math.max(entry.afterAt, handled.get(entry) ?? entry.afterAt);
      const skip = skips.get(entry);
      if (skip !== undefined) this.#options.events.emit("planner:skipped", { schedule: entry.schedule, ...skip });
      if (done.has(entry)) continue; // maxRuns reached: planned again only if the schedule is replaced
      const pacedAt = paced.get(entry);
      if (pacedAt === undefined) this.#plan(entry);
      else {
        entry.paced = true;
        entry.nextAt = pacedAt;
        this.#heap.push(entry);
      }
    }
    // The first error says why (Redis down, a script error); the count says how many slots wait.
    if (errors > 0) this.#failed(firstError ?? new Error("fire script failed"), errors, this.#options.clock.now());
    else {
      this.#backoffMs = 0;
      this.#retryAt = earliestRetryAt === Number.POSITIVE_INFINITY ? 0 : earliestRetryAt;
    }
  }

  /**
   * Builds the burst due at `instantAt` ahead of it, when it is big enough to be worth it: the
   * entries due then, each on time (the planner's fast path), in heap order. They stay in the heap
   * (status and `quietFor` still see them); the fire at the instant uses what was built if every one
   * is still due then, unchanged.
   */
  #prepare(instantAt: number): void {
    if (this.#options.prepare === undefined || this.#preparedFor === instantAt || !this.#options.leadership.isLeader()) return;
    this.#preparedFor = instantAt;
    this.#prepared = null;
    const entries = this.#heap.dueBy(instantAt).filter((entry) => !entry.paced);
    if (entries.length < PREPARE_MIN) return;
    const prepared: PreparedBurst = { instantAt, entries: [], names: new Set(), requests: [], handle: undefined };
    this.#prepared = prepared;
    void this.#buildPrepared(prepared, entries);
  }

  /**
   * Builds a prepared burst PREPARE_CHUNK entries at a time, yielding between parts: the lease
   * renewals, the socket writes and the other shards' fires go on meanwhile. The first part is
   * built at once. Stops when the burst is taken at its instant (what is built by then goes out as
   * built, the rest is built at the instant) or dropped.
   */
  async #buildPrepared(prepared: PreparedBurst, entries: readonly Entry[]): Promise<void> {
    const prepare = this.#options.prepare;
    if (prepare === undefined) return;
    for (let from = 0; from < entries.length; from += PREPARE_CHUNK) {
      if (from > 0) await nextTurn();
      if (this.#prepared !== prepared) return;
      const part = entries.slice(from, from + PREPARE_CHUNK);
      const requests = part.map((entry) => ({ schedule: entry.schedule, slotAt: prepared.instantAt }));
      try {
        prepared.handle = prepare(requests, prepared.instantAt, prepared.handle);
      } catch {
        // Built at the instant instead, where the same error is reported as a fire's.
        this.#prepared = null;
        return;
      }
      for (const entry of part) {
        prepared.entries.push(entry);
        prepared.names.add(entry.schedule.name);
      }
      for (const request of requests) prepared.requests.push(request);
    }
  }

  /**
   * At a wake before the next instant: within PREPARE_AHEAD_MS its burst is built; within
   * BIG_BURST_AHEAD_MS it is counted once, and built from then on when it is big (building
   * hundreds of thousands of slots takes seconds).
   */
  #lookAhead(instantAt: number, untilMs: number): void {
    if (untilMs <= PREPARE_AHEAD_MS) this.#prepare(instantAt);
    else if (untilMs <= BIG_BURST_AHEAD_MS && this.#lookedAheadFor !== instantAt && this.#options.prepare !== undefined) {
      this.#lookedAheadFor = instantAt;
      if (this.#heap.dueBy(instantAt).length >= BIG_BURST) this.#prepare(instantAt);
    }
  }

  /** A change to a schedule of the prepared burst: built again at the instant, whole. */
  #dropPrepared(name: string): void {
    if (this.#prepared?.names.has(name) === true) this.#prepared = null;
  }

  /**
   * The prepared burst for this fire, when it still holds: every entry it was built for is due now
   * with the slot it was built for. Its requests come first; the rest of `requests` follow it.
   */
  #takePrepared(due: readonly Entry[], requests: FireRequest[]): { requests: FireRequest[]; handle: unknown } | null {
    const prepared = this.#prepared;
    this.#prepared = null;
    if (prepared === null || prepared.entries.length === 0) return null;
    const dueSet = new Set(due);
    const current = prepared.entries.every((entry) => dueSet.has(entry) && entry.nextAt === prepared.instantAt && this.#entries.get(entry.schedule.name) === entry);
    if (!current) return null;
    // The same slots, built at the instant in `requests` too: swap in the prepared ones, in front.
    const rest = requests.filter((request) => !(prepared.names.has(request.schedule.name) && request.slotAt === prepared.instantAt));
    if (rest.length !== requests.length - prepared.requests.length) return null;
    return { requests: rest.length === 0 ? prepared.requests : [...prepared.requests, ...rest], handle: prepared.handle };
  }

  /**
   * When to try a slot Redis called early again: when Redis reaches it. Unless the slot was chosen
   * by a clock that disagreed with Redis by more than a slot gap and has been corrected since (a
   * `ReferenceClock` takes the refusal's Redis time as a reading): then the slot was the wrong one
   * to ask for, and the due slots are chosen again at once, by the corrected clock.
   */
  #earlyRetryAt(outcome: FireOutcome): number {
    const now = this.#options.clock.now();
    const aheadMs = outcome.request.slotAt - outcome.redisAt;
    if (aheadMs > MIN_SLOT_GAP_MS && Math.abs(now - outcome.redisAt) < aheadMs / 2) return now + 1;
    return now + Math.max(1, aheadMs);
  }

  #failed(error: Error, slots: number, now: number): void {
    this.#synced = false; // another process may fire while we cannot reach Redis
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs === 0 ? 100 : this.#backoffMs * 2);
    this.#retryAt = now + this.#backoffMs;
    this.#options.events.emit("fire:failed", { error, slots, again: this.#failing });
    this.#failing = true;
  }
}
