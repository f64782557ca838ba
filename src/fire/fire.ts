/**
 * Fires slots: one atomic script per batch checks the lease (fencing) and the ledger, advances the
 * ledger and pushes the job. The batches of a burst are written back to back without waiting
 * for replies (pipelined), each as soon as it is built; with `durability`, a WAIT follows them on
 * the same connection, so one round trip tells whether replicas have the ledger advance too.
 */
import { randomBytes } from "node:crypto";
import { overlapOf, type Adapter, type Enqueue, type Write } from "../adapters/types.ts";
import { overlapProblem } from "../adapters/index.ts";
import { readableJobId, slotJobId, traceparentFor } from "../adapters/ids.ts";
import type { ClockKeys } from "../redis/keys.ts";
import { clearOutboxEntry, drainOutbox, encodeOutboxMessage, type AdapterLookup } from "./ledger.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";
import type { Job, Schedule } from "../schedule/schedule.ts";
import { nextTurn, type TimeSample } from "../time.ts";

export interface FireRequest {
  readonly schedule: Schedule;
  readonly slotAt: number;
  /** A manual trigger: not checked against or recorded in the ledger. */
  readonly manual?: { readonly jobId: string; readonly args?: readonly Job["args"][number][] };
  /**
   * A backfill's slot (dynamic/backfill.ts): the slot's own job id, ledger-checked and recorded as a
   * scheduled slot (so the ledger never goes back and no slot fires twice), marked `backfill` in the
   * payload; no overlap check (a backfill enqueues a past range on purpose).
   */
  readonly backfill?: true;
}

/**
 * `fired`: the job is in its queue. `outboxed`: the ledger advanced but the adapter's enqueue
 * failed; the job waits in the outbox, whose drain retries it (so a slot is not fired again).
 * `paused`: the schedule was paused when the write reached Redis; the slot is skipped, not retried.
 * `skipped` (overlap skip): the previous slot's job was still pending; the ledger advanced, nothing
 * was enqueued. `replaced` (overlap replace): a newer slot of the same fire replaced this one's job
 * before any worker could take it (the ledger advanced). `done`: the schedule has fired `maxRuns`
 * times (counted by the script); the slot is refused and the schedule has no more slots.
 */
export type FireStatus = "fired" | "outboxed" | "duplicate" | "fenced" | "early" | "paused" | "skipped" | "replaced" | "done" | "error";

export interface FireOutcome {
  readonly request: FireRequest;
  readonly status: FireStatus;
  readonly jobId: string;
  /** Redis time during the write, epoch ms with sub-ms precision. */
  readonly redisAt: number;
  /** Overlap: the previous slot whose job was still pending, so this one was `skipped`, or whose waiting job this one replaced (`fired`). */
  readonly previousSlotAt?: number;
  readonly error?: Error;
}

const STATUS: Readonly<Record<number, FireStatus>> = { 1: "fired", 0: "duplicate", [-1]: "fenced", [-2]: "early", [-3]: "paused", [-4]: "done", 2: "skipped", 3: "fired" };

/** The fire script's entry mode: scheduled (by overlap policy) or manual. */
const MODE = { allow: "s", skip: "k", replace: "r" } as const;

/** Entries per script call: big enough to amortise a round trip, small enough not to block Redis long. */
export const BATCH_SIZE = 500;
/** Script calls sent per turn of the event loop in a big fire. */
const YIELD_EVERY_BATCHES = 10;

/** Opt-in (config `durability`): after each fire batch, WAIT until this many replicas have it, at most `timeoutMs`. */
export interface Durability {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** What the WAIT after a fire batch heard: `acknowledged` null when WAIT itself failed. */
export interface Replication {
  /** Slots whose ledger advanced in this batch (what a failover to a replica without them could roll back). */
  readonly fires: number;
  readonly acknowledged: number | null;
  readonly wanted: number;
  /** The previous batch was unreplicated too. */
  readonly again: boolean;
  readonly error?: Error;
}

/** One fire as its traces tell it (daemon/traces.ts): when it began, and per script call its reply and its slots. */
export interface FireReport {
  /** When the fire began (its enqueues' `enqueuedAt`, the firer's clock), epoch ms. */
  readonly startedAt: number;
  readonly batches: readonly {
    /** When the script's reply (or its failure) came. */
    readonly repliedAt: number;
    /** `settledAt`: when the slot's outcome was known (the reply, or an enqueue-style adapter's add after it). */
    readonly slots: readonly { readonly outcome: FireOutcome; readonly enqueue: Enqueue; readonly settledAt: number }[];
  }[];
}

/** One slot as the fire script reads it (fire.lua's header: the keys of the JSON entries). */
interface ScriptEntry {
  /** Mode: "s" scheduled, "k" / "r" scheduled with overlap skip / replace, "m" manual. */
  m: string;
  n: string;
  /** The slot, epoch ms, as text (the ledger keeps it as written). */
  t: string;
  /** [command, key index, ...args] */
  w: (string | number)[][];
  /** Outbox message. */
  o?: string;
  /** maxRuns and the runs key's index. */
  l?: number;
  r?: number;
  /** Overlap: the pushed key's index, this job's mark, the checks [kind, key index]. */
  p?: number;
  k?: string;
  c?: [string, number][];
}

/** One script call, built: its requests, what each enqueues, and the script's keys and arguments. */
interface BuiltBatch {
  readonly requests: readonly FireRequest[];
  readonly enqueues: Enqueue[];
  readonly adapters: Adapter[];
  readonly keys: string[];
  readonly args: string[];
}

/** A fire built ahead of its instant (Firer.prepare): handed back to `fire` with the same requests. */
export interface PreparedFire {
  readonly requests: FireRequest[];
  readonly batches: BuiltBatch[];
}

export interface FirerOptions {
  readonly redis: ScriptedRedis;
  readonly keys: ClockKeys;
  /** The adapters by name (the daemon's registry, or a Map in tests). */
  readonly adapters: AdapterLookup;
  /** The lease token to fence with; "" to skip fencing. */
  readonly token: () => string;
  readonly now: () => number;
  readonly batchSize?: number;
  /** Called when an enqueue-style adapter fails after the ledger advanced (the outbox keeps the job; not for manual triggers). */
  readonly onEnqueueError?: (outcome: FireOutcome, error: Error) => void;
  readonly durability?: Durability | null;
  /** A batch with fires that fewer replicas than `durability.replicas` acknowledged. */
  readonly onUnreplicated?: (report: Replication) => void;
  /** Replicas acknowledge again, after `batches` unreplicated ones. */
  readonly onReplicated?: (batches: number) => void;
  /** Each fire's first reply is a reading of Redis time (the script's clock), bracketed by this monotonic clock. */
  readonly redisTime?: { readonly monotonic: () => number; readonly sample: (sample: TimeSample) => void };
  /**
   * Told of each fire once every outcome is known, before `fire` resolves (traces), with a function
   * that builds its report (so a listener that defers it costs the fire nothing more). Without it
   * nothing is timed for it; with it, one reading of `now` per script reply and per add.
   */
  readonly onFired?: (report: () => FireReport) => void;
}

export function manualJobId(schedule: string): string {
  return `${readableJobId(schedule, Date.now())}-manual-${randomBytes(4).toString("hex")}`;
}

export class Firer {
  readonly #options: FirerOptions;
  /** Unreplicated batches in a row (durability). */
  #unreplicatedRun = 0;

  constructor(options: FirerOptions) {
    this.#options = options;
  }

  adapterFor(schedule: Schedule): Adapter {
    const adapter = this.#options.adapters.get(schedule.adapter);
    if (adapter === undefined) throw new Error(`schedules.${schedule.name}.adapter: adapter "${schedule.adapter}" is not configured`);
    return adapter;
  }

  jobIdFor(request: FireRequest, adapter = this.adapterFor(request.schedule)): string {
    return request.manual?.jobId ?? slotJobId(adapter, request.schedule.name, request.slotAt);
  }

  /**
   * Builds the fire of `requests` ahead of their instant (payloads, job ids, script arguments,
   * batches): all that does not depend on the moment of firing, so that at the instant only the
   * script calls go out. `enqueuedAt` is the instant they are meant for. The lease token is put in
   * at the instant; the fence, ledger and never-early checks stay in the script. Throws as `fire`
   * would (a schedule whose adapter cannot do what it asks). With `into` (built for the same
   * instant), the requests are added to it, in parts of whole batches.
   */
  prepare(requests: readonly FireRequest[], enqueuedAt: number, into?: PreparedFire): PreparedFire {
    const size = this.#options.batchSize ?? BATCH_SIZE;
    const batches: BuiltBatch[] = [];
    for (let start = 0; start < requests.length; start += size) batches.push(this.#build(requests.slice(start, start + size), enqueuedAt));
    if (into === undefined) return { requests: [...requests], batches };
    for (const request of requests) into.requests.push(request);
    for (const batch of batches) into.batches.push(batch);
    return into;
  }

  /** Fires `requests`; with `prepared` (from `prepare` of requests it begins with) those are not built again. */
  async fire(requests: readonly FireRequest[], prepared?: PreparedFire): Promise<FireOutcome[]> {
    if (requests.length === 0) return [];
    const { redis } = this.#options;
    const size = this.#options.batchSize ?? BATCH_SIZE;
    const token = this.#options.token();
    // What was built ahead is used when `requests` begins with its requests (the same objects).
    const usable = prepared !== undefined && prepared.requests.length <= requests.length && prepared.requests.every((request, i) => requests[i] === request);
    const ready = usable ? prepared.batches : [];
    const rest = usable ? requests.slice(prepared.requests.length) : requests;
    const enqueuedAt = this.#options.now();
    // Each batch's script is sent as soon as it is built: Redis runs batch 1 while batch 2 is built.
    const batches: (BuiltBatch & { reply: Promise<[Error | null, unknown]> })[] = [];
    let replied = 0;
    const timing = this.#options.redisTime;
    const { onFired } = this.#options;
    const now = (): number => this.#options.now();
    const repliedAt: number[] = [];
    const count = ready.length + Math.ceil(rest.length / size);
    for (let b = 0; b < count; b++) {
      // A big fire lets the event loop turn now and then: the scripts sent so far leave the socket
      // (what the kernel's buffer does not take waits for a turn), and the lease renewals run.
      if (b > 0 && b % YIELD_EVERY_BATCHES === 0) await nextTurn();
      const r = b - ready.length;
      const built = ready[b] ?? this.#build(rest.slice(r * size, (r + 1) * size), enqueuedAt);
      built.args[0] = token;
      const first = b === 0;
      const sentMono = first ? (timing?.monotonic() ?? 0) : 0;
      const reply = redis
        .clockFire(built.keys.length, ...built.keys, ...built.args)
        .then(
          (value): [Error | null, unknown] => {
            // The first batch only: the later ones wait behind it, so their round trips say less.
            if (first && timing !== undefined && Array.isArray(value) && typeof value[0] === "number") {
              timing.sample({ referenceMs: value[0] / 1000, sentMono, receivedMono: timing.monotonic() });
            }
            return [null, value];
          },
          (error: unknown): [Error | null, unknown] => [error as Error, null],
        )
        .finally(() => {
          replied++;
          if (onFired !== undefined) repliedAt[b] = now();
        });
      batches.push({ ...built, reply });
    }
    const durability = this.#options.durability ?? null;
    const allReplies = (): Promise<unknown> => Promise.all(batches.map((batch) => batch.reply));
    const waited = durability === null ? null : this.#waitForReplicas(durability, () => replied === batches.length, allReplies);
    const replies = await Promise.all(batches.map((batch) => batch.reply));
    if (waited !== null) this.#reportReplication(await waited, replies);
    const outcomes: FireOutcome[] = [];
    /** Per outcome index: the adapter, the enqueue and the mark of a job to withdraw first (overlap replace). */
    const pushed: { adapter: Adapter; enqueue: Enqueue; withdraw: string }[] = [];
    const followUps: Promise<void>[] = [];
    const settledAt: number[] = [];
    const settle = (index: number, adapter: Adapter, enqueue: Enqueue, outcome: FireOutcome, withdraw: string): Promise<void> =>
      this.#enqueueAfter(adapter, enqueue, withdraw).then((error) => {
        if (onFired !== undefined) settledAt[index] = now();
        if (error === null) return;
        const failed: FireOutcome = { ...outcome, status: outcome.request.manual === undefined ? "outboxed" : "error", error };
        outcomes[index] = failed;
        if (outcome.request.manual === undefined) this.#options.onEnqueueError?.(failed, error);
      });
    batches.forEach((batch, b) => {
      const [error, reply] = replies[b] ?? [new Error("no reply"), null];
      const statuses = error === null && Array.isArray(reply) ? (reply as number[]) : null;
      const redisAt = statuses === null ? Number.NaN : (statuses[0] ?? 0) / 1000;
      // After the statuses, a triple per overlap skip or replace: entry (1-based), previous slot, mark to withdraw.
      const overlaps = new Map<number, { previousSlotAt: number; withdraw: string }>();
      const tail = (statuses ?? []) as unknown[];
      for (let at = batch.requests.length + 1; at + 2 < tail.length; at += 3) {
        overlaps.set(Number(tail[at]), { previousSlotAt: Number(tail[at + 1]), withdraw: String(tail[at + 2]) });
      }
      batch.requests.forEach((request, i) => {
        const enqueue = batch.enqueues[i] as Enqueue;
        const status = statuses === null ? "error" : (STATUS[statuses[i + 1] ?? 99] ?? "error");
        const overlap = overlaps.get(i + 1);
        const outcome: FireOutcome = {
          request,
          status,
          jobId: enqueue.jobId,
          redisAt,
          ...(overlap === undefined ? {} : { previousSlotAt: overlap.previousSlotAt }),
          ...(statuses === null ? { error: error ?? new Error("unexpected reply from the fire script") } : {}),
        };
        pushed[outcomes.push(outcome) - 1] = { adapter: batch.adapters[i] as Adapter, enqueue, withdraw: overlap?.withdraw ?? "" };
      });
    });
    // A replace whose previous slot fired in this same call: that job was withdrawn before any worker
    // could take it (an outbox adapter's add has not even run): the slot is "replaced", not "fired".
    const firedAt = new Map<string, number>();
    outcomes.forEach((outcome, index) => {
      if (outcome.status === "fired" && outcome.request.manual === undefined) firedAt.set(`${outcome.request.schedule.name}\0${outcome.request.slotAt}`, index);
    });
    for (const outcome of outcomes) {
      if (outcome.status !== "fired" || outcome.previousSlotAt === undefined) continue;
      const replaced = firedAt.get(`${outcome.request.schedule.name}\0${outcome.previousSlotAt}`);
      if (replaced !== undefined) outcomes[replaced] = { ...(outcomes[replaced] as FireOutcome), status: "replaced" };
    }
    outcomes.forEach((outcome, index) => {
      const { adapter, enqueue, withdraw } = pushed[index] as (typeof pushed)[number];
      if (outcome.status === "fired" && adapter.enqueue !== undefined) followUps.push(settle(index, adapter, enqueue, outcome, withdraw));
    });
    await Promise.all(followUps);
    if (onFired !== undefined) onFired(() => this.#report(enqueuedAt, batches, outcomes, pushed, repliedAt, settledAt));
    return outcomes;
  }

  #report(
    startedAt: number,
    batches: readonly { readonly requests: readonly FireRequest[] }[],
    outcomes: readonly FireOutcome[],
    pushed: readonly { readonly enqueue: Enqueue }[],
    repliedAt: readonly number[],
    settledAt: readonly number[],
  ): FireReport {
    let index = 0;
    return {
      startedAt,
      batches: batches.map((batch, b) => {
        const replyAt = repliedAt[b] ?? startedAt;
        const slots = batch.requests.map(() => {
          const at = index++;
          return { outcome: outcomes[at] as FireOutcome, enqueue: (pushed[at] as { enqueue: Enqueue }).enqueue, settledAt: settledAt[at] ?? replyAt };
        });
        return { repliedAt: replyAt, slots };
      }),
    };
  }

  /**
   * WAIT, sent right behind the batches. Replies come in order on one connection, so a WAIT answered
   * before every script was a WAIT that ran before some of them (ioredis re-sends a script as EVAL
   * after NOSCRIPT, e.g. on a primary fresh from a failover): then it is asked again, after them.
   */
  async #waitForReplicas(durability: Durability, scriptsAnswered: () => boolean, allReplies: () => Promise<unknown>): Promise<{ acknowledged: number | null; error?: Error }> {
    const { redis } = this.#options;
    try {
      const acknowledged = await redis.wait(durability.replicas, durability.timeoutMs);
      if (scriptsAnswered()) return { acknowledged };
      await allReplies();
      return { acknowledged: await redis.wait(durability.replicas, durability.timeoutMs) };
    } catch (error) {
      return { acknowledged: null, error: error as Error };
    }
  }

  #reportReplication(result: { acknowledged: number | null; error?: Error }, replies: readonly [Error | null, unknown][]): void {
    const wanted = this.#options.durability?.replicas ?? 0;
    // Slots whose ledger advanced: status 1 in the scripts' replies (manual triggers included: their push is a write too).
    const fires = replies.reduce((sum, [error, reply]) => sum + (error === null && Array.isArray(reply) ? reply.slice(1).filter((status) => status === 1).length : 0), 0);
    if (fires === 0) return;
    if (result.acknowledged !== null && result.acknowledged >= wanted) {
      if (this.#unreplicatedRun > 0) this.#options.onReplicated?.(this.#unreplicatedRun);
      this.#unreplicatedRun = 0;
      return;
    }
    const again = this.#unreplicatedRun > 0;
    this.#unreplicatedRun++;
    this.#options.onUnreplicated?.({ fires, acknowledged: result.acknowledged, wanted, again, ...(result.error === undefined ? {} : { error: result.error }) });
  }

  /** One script call's keys and arguments (the token, args[0], is filled in at the instant). */
  #build(chunk: readonly FireRequest[], enqueuedAt: number): BuiltBatch {
    const { keys } = this.#options;
    const enqueues: Enqueue[] = [];
    const adapters: Adapter[] = [];
    const keyIndex = new Map<string, number>([
      [keys.lease, 1],
      [keys.ledger, 2],
      [keys.outbox, 3],
      [keys.stats, 4],
      [keys.paused, 5],
    ]);
    const indexOf = (key: string): number => {
      let index = keyIndex.get(key);
      if (index === undefined) {
        index = keyIndex.size + 1;
        keyIndex.set(key, index);
      }
      return index;
    };
    // One JSON argument for the batch (fire.lua's header): built ahead, it is one string for the
    // Redis client to send at the instant, not thousands, and one cjson.decode for the script.
    const entries: ScriptEntry[] = [];
    for (const request of chunk) {
      const adapter = this.adapterFor(request.schedule);
      const enqueue = this.#enqueueFor(request, adapter, enqueuedAt);
      enqueues.push(enqueue);
      adapters.push(adapter);
      const writes: Write[] = adapter.writes?.(enqueue) ?? [];
      // A trigger's caller waits for its answer: a failed add is reported to them, not retried from the outbox behind their back.
      const outbox = adapter.enqueue === undefined || request.manual !== undefined ? "" : encodeOutboxMessage(request.schedule.adapter, enqueue);
      // A trigger is outside the schedule: no overlap check, and it is not what a slot's check looks for.
      // Nor is a backfill's slot: it enqueues a past range on purpose, each slot once by the ledger.
      const overlap = request.manual === undefined && request.backfill !== true ? overlapOf(request.schedule) : "allow";
      const entry: ScriptEntry = {
        m: request.manual === undefined ? MODE[overlap] : "m",
        n: request.schedule.name,
        t: String(request.slotAt),
        w: writes.map((write) => [write.command, indexOf(write.key), ...write.args]),
      };
      if (outbox !== "") entry.o = outbox;
      if (request.manual === undefined && request.schedule.maxRuns !== undefined) {
        entry.l = request.schedule.maxRuns;
        entry.r = indexOf(keys.runs);
      }
      if (overlap !== "allow") {
        const problem = overlapProblem(adapter, overlap);
        const pending = problem === null ? adapter.overlap?.pending(enqueue, writes) : undefined;
        if (pending === undefined) throw new Error(`schedules.${request.schedule.name}.overlap: ${problem ?? "no overlap support"}`);
        entry.p = indexOf(keys.pushed);
        entry.k = pending.mark;
        entry.c = [
          ...pending.waitingLists.map((key): [string, number] => ["l", indexOf(key)]),
          ...(pending.waitingSets ?? []).map((key): [string, number] => ["z", indexOf(key)]),
          ...(pending.runningLists ?? []).map((key): [string, number] => ["a", indexOf(key)]),
        ];
      }
      entries.push(entry);
    }
    const args = ["", JSON.stringify(entries)];
    return { requests: chunk, enqueues, adapters, keys: [...keyIndex.keys()], args };
  }

  #enqueueFor(request: FireRequest, adapter: Adapter, enqueuedAt: number): Enqueue {
    const { schedule, manual } = request;
    const job = manual?.args === undefined ? schedule.job : { ...schedule.job, args: manual.args };
    const jobId = this.jobIdFor(request, adapter);
    const marks = { ...(manual === undefined ? {} : { manual: true }), ...(request.backfill === true ? { backfill: true } : {}) };
    return {
      schedule: schedule.name,
      slotAt: request.slotAt,
      jobId,
      job,
      enqueuedAt,
      ...(schedule.expireAfterMs === undefined ? {} : { expiresAt: request.slotAt + schedule.expireAfterMs }),
      ...marks,
      traceparent: traceparentFor(this.#options.keys.namespace, { schedule: schedule.name, slotAt: request.slotAt, jobId, ...marks }),
      ...(this.#options.keys.shardCount > 1 ? { shard: this.#options.keys.shard } : {}),
    };
  }

  /** Runs an enqueue-style adapter after the script (withdrawing a replaced job first); the error when the job is not in its queue. */
  async #enqueueAfter(adapter: Adapter, enqueue: Enqueue, withdraw: string): Promise<Error | null> {
    try {
      if (withdraw !== "") await adapter.overlap?.withdraw?.(enqueue, withdraw);
      await adapter.enqueue?.(enqueue);
    } catch (error) {
      return error as Error;
    }
    if (enqueue.manual !== true) {
      // The job is in its queue: a failure to clear the outbox only means a harmless re-add by jobId.
      await clearOutboxEntry(this.#options.redis, this.#options.keys, enqueue).catch(() => undefined);
    }
    return null;
  }

  /** Re-runs enqueues that a crash or an error left in the outbox (see ledger.ts). */
  drainOutbox(onCorrupt: (field: string, reason: string) => void): Promise<number> {
    return drainOutbox(this.#options.redis, this.#options.keys, this.#options.adapters, onCorrupt);
  }
}
