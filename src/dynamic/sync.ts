/**
 * Keeps a running clock's planner in step with the dynamic schedules and paused set in Redis: a
 * change notification applies one change (O(1)); a missed notification is caught by polling the
 * change counter (every 10 s, and when the subscriber reconnects) and reconciling everything. Until the paused set and the entries
 * have been read once (`load`), the planner gets no schedule at all: a clock that starts while
 * Redis is unreachable must not plan a schedule that is paused there. The first reconcile after
 * Redis answers does that first read.
 */
import type { Redis } from "ioredis";
import type { Defaults } from "../config/resolve.ts";
import type { ClockEvents } from "../events.ts";
import { keysOfSchedule, shardOf, type ClockKeys } from "../redis/keys.ts";
import { subscribeAlways } from "../redis/subscribe.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { SECOND } from "../schedule/duration.ts";
import { slotsBetween } from "../schedule/slots.ts";
import { parsePauseRecord, resumeFloor } from "./pauses.ts";
import { checkIndex, readIndexed } from "./schedule-index.ts";
import { decodeEntry, parseChange, type AdapterCheck } from "./store.ts";

export interface PlannerTarget {
  upsert(schedule: Schedule, afterAt?: number): void;
  remove(name: string): void;
  /** Re-read the ledger before the next fire (schedules were added after a late first read). */
  invalidate(): void;
}

export interface SyncOptions {
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly keys: ClockKeys;
  readonly configSchedules: readonly Schedule[];
  readonly defaults: Defaults;
  readonly adapterCheck: AdapterCheck;
  /** The adapters (a dynamic schedule may name one the config does not use: it is built before it fires). */
  readonly adapters: { ensure(name: string): void };
  /** Where changes, invalid entries and name clashes are reported. */
  readonly events: ClockEvents;
  readonly now: () => number;
  /**
   * Shards of leadership: only the dynamic schedules of the shards this process leads are decoded
   * and kept (the others cost nothing here); `adopt` loads a shard's when it is taken, `release`
   * drops them when it is lost. Absent (one shard): every schedule is this process's.
   */
  readonly shards?: { readonly count: number; readonly leads: (shard: number) => boolean };
}

/** Entries read per HSCAN page with shards (sync's reads of every entry). */
const SCAN_PAGE = 2000;
/** How long a lost shard's decoded schedules are kept for the case it is taken again. */
const RELEASED_KEEP_MS = 30 * SECOND;
/** Counting the slots a resume skipped walks the calendar: this many at most. */
const SKIPPED_COUNT_CAP = 10_000;

/**
 * What a process keeps of a stored entry, to tell at the next read whether it changed: the entry
 * itself for a one-shot (its removal after the fire compares the stored entry whole), a 53-bit
 * digest for every other. The entries' text was a fifth of a clock's memory at 250,000 held
 * schedules; a digest is a number.
 */
type KeptEntry = string | number;

function keptOf(raw: string, schedule: Schedule | null): KeptEntry {
  return schedule?.rule.kind === "once" ? raw : entryDigest(raw);
}

/** Whether `raw` is the entry `kept` was made from. */
function isKeptOf(kept: KeptEntry, raw: string): boolean {
  return typeof kept === "string" ? kept === raw : kept === entryDigest(raw);
}

/**
 * A 53-bit digest of an entry's text (two 32-bit multiply-xor lanes over its UTF-16 code units,
 * mixed at the end). Not cryptographic: entries come from this deployment's own writers, and a
 * collision (odds 2^-53 for a changed entry) would leave one change to the next write of it.
 */
export function entryDigest(text: string): number {
  let a = 0x9e3779b9;
  let b = 0x85ebca6b;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193);
    b = Math.imul(b ^ code, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) ^ Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b) ^ Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  return (b >>> 11) * 0x100000000 + (a >>> 0);
}

export class DynamicSync {
  readonly #options: SyncOptions;
  /** Config schedules by name: a change is applied without scanning them. */
  readonly #configByName: Map<string, Schedule>;
  /** What is kept of each stored entry read (see KeptEntry), to tell a real change from a re-read. */
  readonly #kept = new Map<string, KeptEntry>();
  /** With shards, the names in #kept by shard: a shard lost is dropped without a walk over every name. */
  readonly #keptByShard = new Map<number, Set<string>>();
  /** Valid dynamic schedules by name, paused ones included (the status page lists them all). */
  readonly #dynamic = new Map<string, Schedule>();
  /** Stored entries that could not be decoded, with the reason. */
  readonly #invalid = new Map<string, string>();
  #paused = new Set<string>();
  #version = -1;
  /** Grows with every change this clock applied (a status page re-sorts its names only then). */
  #applied = 0;
  #planner: PlannerTarget | null = null;
  #reconciling: Promise<void> | null = null;
  /** The paused set and the entries have been read once (start-up, or the first reconcile after it). */
  #loaded = false;
  /** The last change notification could not be applied. */
  #applyFailing = false;
  /** Shards taken whose schedules are still to be loaded (adopt), and the load in flight. */
  readonly #adopting = new Set<number>();
  /** The decoded schedules of shards lost lately, by name, with the entry they came from (see release). */
  readonly #released = new Map<string, { kept: KeptEntry; schedule: Schedule }>();
  #releasedTimer: NodeJS.Timeout | null = null;
  #adoptRun: Promise<void> | null = null;

  constructor(options: SyncOptions) {
    this.#options = options;
    this.#configByName = new Map(options.configSchedules.map((schedule) => [schedule.name, schedule]));
  }

  /** Whether this process keeps schedule `name` (it leads its shard; always, with one shard). */
  #owns(name: string): boolean {
    const shards = this.#options.shards;
    return shards === undefined || shards.leads(shardOf(name, shards.count));
  }

  /**
   * Loads the dynamic schedules of shards just taken (one read of the entries for every shard taken
   * meanwhile), plans them, and has the planner re-read the ledger, so their slots missed while no
   * process led them follow the catch-up policy.
   */
  adopt(shard: number): Promise<void> {
    this.#adopting.add(shard);
    return this.#runAdopt();
  }

  /** Until loaded and started, shards taken wait (start and the late first read run this again). */
  #runAdopt(): Promise<void> {
    this.#adoptRun ??= (async () => {
      // Past this turn first: the finally below must run after #adoptRun is assigned, never within it.
      await Promise.resolve();
      try {
        while (this.#adopting.size > 0 && this.#loaded && this.#planner !== null) {
          const taken = [...this.#adopting];
          this.#adopting.clear();
          const { redis, keys } = this.#options;
          const paused = new Set(await redis.smembers(keys.paused));
          const planner = this.#planner;
          await this.#readEntries((name, raw) => {
            if (this.#kept.has(name) || this.#configByName.has(name) || !this.#owns(name)) return;
            if (paused.has(name)) this.#paused.add(name);
            const schedule = this.#decode(name, raw);
            if (schedule !== null && !paused.has(name)) planner.upsert(schedule);
          }, taken);
          planner.invalidate();
        }
      } finally {
        this.#adoptRun = null;
      }
    })();
    return this.#adoptRun;
  }

  /** A failed load of a shard's schedules: reported, and tried again at the next reconcile (which adopts what is owned and missing). */
  #adoptFailed(error: unknown): void {
    this.#options.events.emit("task:failed", { task: "load a shard's schedules", error: error instanceof Error ? error : new Error(String(error)) });
  }

  /**
   * Drops the dynamic schedules of a shard lost (planned by its new leader). Their decoded forms
   * are kept for RELEASED_KEEP_MS: a shard lost and taken again (a lease that lapsed in a burst) is
   * adopted without decoding its entries again, each unchanged entry reusing its schedule.
   */
  release(shard: number): void {
    const shards = this.#options.shards;
    if (shards === undefined) return;
    this.#adopting.delete(shard);
    this.#applied++;
    // Taken again meanwhile: its schedules stay.
    if (shards.leads(shard)) return;
    for (const name of [...(this.#keptByShard.get(shard) ?? [])]) {
      const schedule = this.#dynamic.get(name);
      const kept = this.#kept.get(name);
      if (schedule !== undefined && kept !== undefined) this.#released.set(name, { kept, schedule });
      this.#forget(name);
      this.#planner?.remove(name);
    }
    if (this.#releasedTimer !== null) clearTimeout(this.#releasedTimer);
    this.#releasedTimer = this.#released.size === 0 ? null : setTimeout(() => this.#dropReleased(), RELEASED_KEEP_MS).unref();
  }

  #dropReleased(): void {
    this.#releasedTimer = null;
    this.#released.clear();
  }

  /**
   * The stored entries this process may keep, to `each`: with one shard, every entry (one HGETALL:
   * it needs them all); with shards, those of `shards` (default: the shards it leads now) through
   * the index (schedule-index.ts), or, while the index is rebuilt elsewhere, every entry by HSCAN in
   * pages, so a process never holds a reply of all of them at once. Callers still filter by owner
   * (a shard may be lost meanwhile) and by name (a name may come twice).
   */
  async #readEntries(each: (name: string, raw: string) => void, shards?: Iterable<number>): Promise<void> {
    const { redis, keys } = this.#options;
    const sharding = this.#options.shards;
    if (sharding === undefined) {
      for (const [name, raw] of Object.entries(await redis.hgetall(keys.schedules))) each(name, raw);
      return;
    }
    if ((await checkIndex(redis, keys)) !== "elsewhere") {
      const led = shards ?? Array.from({ length: sharding.count }, (_, shard) => shard).filter((shard) => sharding.leads(shard));
      await readIndexed(redis, keys, led, each);
      return;
    }
    let cursor = "0";
    do {
      const [next, flat] = await redis.hscan(keys.schedules, cursor, "COUNT", SCAN_PAGE);
      for (let index = 0; index + 1 < flat.length; index += 2) each(flat[index] as string, flat[index + 1] as string);
      cursor = next;
    } while (cursor !== "0");
  }

  #forget(name: string): void {
    if (this.#kept.delete(name) && this.#options.shards !== undefined) this.#keptByShard.get(shardOf(name, this.#options.shards.count))?.delete(name);
    this.#invalid.delete(name);
    this.#dynamic.delete(name);
  }

  get invalidCount(): number {
    return this.#invalid.size;
  }

  get pausedNames(): ReadonlySet<string> {
    return this.#paused;
  }

  /** Every schedule this clock knows, by name: the config's, then valid dynamic ones (paused included). */
  get configSchedules(): ReadonlyMap<string, Schedule> {
    return this.#configByName;
  }

  get dynamicSchedules(): ReadonlyMap<string, Schedule> {
    return this.#dynamic;
  }

  get appliedChanges(): number {
    return this.#applied;
  }

  /** The stored entry a valid dynamic schedule was decoded from (what a one-shot's removal compares against). */
  rawOf(name: string): string | undefined {
    const kept = this.#kept.get(name);
    return this.#dynamic.has(name) && typeof kept === "string" ? kept : undefined;
  }

  /** Whether `raw` is the entry this process last read for `name`. */
  #same(name: string, raw: string | null): boolean {
    const kept = this.#kept.get(name);
    if (kept === undefined || raw === null) return kept === undefined && raw === null;
    return isKeptOf(kept, raw);
  }

  #keep(name: string, raw: string, schedule: Schedule | null): void {
    this.#setKept(name, keptOf(raw, schedule));
  }

  #setKept(name: string, kept: KeptEntry): void {
    const shards = this.#options.shards;
    if (shards !== undefined && !this.#kept.has(name)) {
      const shard = shardOf(name, shards.count);
      let names = this.#keptByShard.get(shard);
      if (names === undefined) this.#keptByShard.set(shard, (names = new Set()));
      names.add(name);
    }
    this.#kept.set(name, kept);
  }

  /** Stored entries skipped as invalid, with the reason. */
  get invalidEntries(): ReadonlyMap<string, string> {
    return this.#invalid;
  }

  /** Whether the paused set and the entries have been read (until then nothing is planned). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** The schedules to plan at start: config ones, then valid dynamic ones, without the paused. */
  async load(): Promise<Schedule[]> {
    const { redis, keys } = this.#options;
    // The counter before the entries: a change made while they are read shows as a newer counter.
    const [version, paused] = await Promise.all([redis.get(keys.changes), redis.smembers(keys.paused)]);
    this.#version = Number(version ?? 0);
    this.#paused = new Set(paused);
    const schedules = this.#options.configSchedules.filter((schedule) => !this.#paused.has(schedule.name));
    await this.#readEntries((name, raw) => {
      // HSCAN may return an entry twice: decoded once.
      if (this.#kept.has(name) || (!this.#configByName.has(name) && !this.#owns(name))) return;
      const schedule = this.#decode(name, raw);
      if (schedule !== null && !this.#paused.has(name)) schedules.push(schedule);
    });
    this.#loaded = true;
    return schedules;
  }

  /**
   * Starts applying changes to the planner, and subscribes to the change channel now and on every
   * reconnect. Rejects when the first SUBSCRIBE fails (Redis unreachable): polling covers the gap.
   */
  async start(planner: PlannerTarget): Promise<void> {
    this.#planner = planner;
    if (this.#adopting.size > 0) void this.#runAdopt().catch((error: unknown) => this.#adoptFailed(error));
    this.#options.subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.#options.keys.changes) return;
      // A notification that cannot be applied (Redis failing, a corrupt key) is reported; the next
      // poll reconciles. Nobody awaits this promise: unreported, it would be an unhandled rejection.
      // Only the first failure of a run of them: a burst of changes during an outage is one line.
      this.#onMessage(message).then(
        () => {
          this.#applyFailing = false;
        },
        (error: unknown) => {
          if (!this.#applyFailing) this.#options.events.emit("task:failed", { task: "apply change", error: error instanceof Error ? error : new Error(String(error)) });
          this.#applyFailing = true;
        },
      );
    });
    await subscribeAlways(this.#options.subscriber, this.#options.keys.changes, (error) => this.#options.events.emit("task:failed", { task: "subscribe", error }));
  }

  /** Reconciles everything when the change counter moved past what this clock has applied. */
  async poll(): Promise<void> {
    const version = Number((await this.#options.redis.get(this.#options.keys.changes)) ?? 0);
    if (version !== this.#version) await this.reconcile();
  }

  reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = null;
    });
    return this.#reconciling;
  }

  #decode(name: string, raw: string): Schedule | null {
    this.#applied++;
    if (this.#configByName.has(name)) {
      this.#options.events.emit("schedule:clash", { name });
      return null;
    }
    const released = this.#released.get(name);
    if (released !== undefined) {
      this.#released.delete(name);
      if (isKeptOf(released.kept, raw)) {
        this.#invalid.delete(name);
        this.#dynamic.set(name, released.schedule);
        this.#setKept(name, released.kept);
        return released.schedule;
      }
    }
    const decoded = decodeEntry(name, raw, this.#options.defaults, this.#options.adapterCheck);
    if (!decoded.ok) {
      if (!this.#same(name, raw) || !this.#invalid.has(name)) this.#options.events.emit("schedule:invalid", { name, reason: decoded.reason });
      this.#invalid.set(name, decoded.reason);
      this.#dynamic.delete(name);
      this.#keep(name, raw, null);
      return null;
    }
    this.#invalid.delete(name);
    this.#dynamic.set(name, decoded.schedule);
    this.#keep(name, raw, decoded.schedule);
    this.#options.adapters.ensure(decoded.schedule.adapter);
    return decoded.schedule;
  }

  async #onMessage(message: string): Promise<void> {
    const change = parseChange(message);
    if (change === null || this.#planner === null) return;
    // A group write changed many schedules in one step: reconciled as a whole.
    if (!this.#loaded || change.version !== this.#version + 1 || change.kind === "group") {
      await this.reconcile();
      return;
    }
    this.#version = change.version;
    const fields = await this.#apply(change.name);
    this.#options.events.emit("schedule:changed", { name: change.name, kind: change.kind, fields: fields ?? {} });
  }

  /**
   * Re-reads one schedule and its paused flag now (after a change this process wrote itself, so its
   * own view has it without waiting for the notification, which applies the same state again).
   */
  async refresh(name: string): Promise<void> {
    if (this.#planner === null) return;
    await this.#apply(name);
  }

  /** Re-reads one schedule and its paused flag, and updates the planner. */
  async #apply(name: string): Promise<Record<string, unknown> | undefined> {
    const { redis, keys } = this.#options;
    const [raw, paused] = await Promise.all([redis.hget(keys.schedules, name), redis.sismember(keys.paused, name)]);
    return await this.#applyState(name, raw, paused === 1);
  }

  async #applyState(name: string, raw: string | null, paused: boolean): Promise<Record<string, unknown> | undefined> {
    const planner = this.#planner;
    if (planner === null) return undefined;
    this.#applied++;
    const wasPaused = this.#paused.has(name);
    if (paused) this.#paused.add(name);
    else this.#paused.delete(name);
    const fromConfig = this.#configByName.get(name);
    let schedule: Schedule | null = fromConfig ?? null;
    if (fromConfig === undefined) {
      if (raw === null || !this.#owns(name)) {
        // Gone, or another shard's (its leader plans it): nothing of it is kept here.
        this.#forget(name);
        planner.remove(name);
        return undefined;
      }
      if (this.#same(name, raw) && !(wasPaused && !paused)) {
        if (paused) planner.remove(name);
        return undefined; // unchanged
      }
      schedule = this.#decode(name, raw);
    }
    if (schedule === null || paused) {
      planner.remove(name);
      return undefined;
    }
    if (!wasPaused) {
      planner.upsert(schedule);
      return undefined;
    }
    // Resumed: pause means skip. Continue from the resume instant stored with the pause (Redis
    // time), never from the ledger: the catch-up policy is for outages, and must not fire a slot
    // of the pause now.
    const { redis, keys } = this.#options;
    const [ledger, record] = await Promise.all([redis.hget(keysOfSchedule(keys, name).ledger, name), redis.hget(keys.pauses, name)]);
    const firedAt = ledger === null || !Number.isFinite(Number(ledger)) ? undefined : Number(ledger);
    const pause = parsePauseRecord(record);
    // A pause without a stamped resume (written by an older version): the resume is now.
    const afterAt = resumeFloor(firedAt, pause?.resumedAt ?? this.#options.now());
    planner.upsert(schedule, afterAt);
    const countFrom = firedAt ?? (pause === null || pause.pausedAt === null ? undefined : pause.pausedAt - 1);
    return { skipped: countFrom === undefined ? 0 : slotsBetween(schedule, countFrom, afterAt, 0, SKIPPED_COUNT_CAP).total };
  }

  /** The first read, late (Redis was unreachable at start): plan everything, then catch up from the ledger. */
  async #loadLate(planner: PlannerTarget): Promise<void> {
    const schedules = await this.load();
    // The planner continues each schedule after its ledger entry: outage slots follow the catch-up policy.
    planner.invalidate();
    for (const schedule of schedules) planner.upsert(schedule);
    this.#options.events.emit("sync:loaded", { schedules: schedules.length, paused: this.#paused.size, invalid: this.#invalid.size });
    if (this.#adopting.size > 0) void this.#runAdopt().catch((error: unknown) => this.#adoptFailed(error));
  }

  async #reconcile(): Promise<void> {
    if (!this.#loaded) {
      if (this.#planner !== null) await this.#loadLate(this.#planner);
      return;
    }
    const { redis, keys } = this.#options;
    const [version, pausedList] = await Promise.all([redis.get(keys.changes), redis.smembers(keys.paused)]);
    const paused = new Set(pausedList);
    const counter = Number(version ?? 0);
    // The entries this process keeps (all of them, with one shard; those of its shards, with more).
    const entries = new Map<string, string>();
    await this.#readEntries((name, raw) => {
      if (this.#configByName.has(name) || this.#kept.has(name) || this.#owns(name)) entries.set(name, raw);
    });
    if (counter < this.#version) {
      // The change counter only grows: Redis lost data (a restart without persistence, a failover
      // to a replica behind) or the key was reset by hand. Whatever went with it is said here.
      const vanished = [...this.#kept.keys()].filter((name) => !entries.has(name));
      const unpaused = [...this.#paused].filter((name) => !paused.has(name));
      this.#options.events.emit("sync:reset", { fromVersion: this.#version, toVersion: counter, vanished, unpaused });
    }
    const names = new Set([...entries.keys(), ...this.#kept.keys(), ...this.#configByName.keys(), ...this.#paused, ...paused]);
    for (const name of names) {
      if (!this.#configByName.has(name) && !this.#kept.has(name) && !this.#owns(name)) {
        // Another shard's, never kept here: only its paused flag is followed.
        if (paused.has(name)) this.#paused.add(name);
        else this.#paused.delete(name);
        continue;
      }
      const raw = this.#configByName.has(name) ? null : (entries.get(name) ?? null);
      const changed = paused.has(name) !== this.#paused.has(name) || !this.#same(name, raw);
      if (changed) await this.#applyState(name, raw, paused.has(name));
    }
    this.#version = counter;
  }
}
