/**
 * The fire script's semantics in memory, for the dry run: a ledger per schedule (a slot fires at
 * most once), no fence (one process), and the writes each fire would make, for the log.
 */
import { slotJobId } from "../adapters/ids.ts";
import type { Write } from "../adapters/types.ts";
import type { FireOutcome, FireRequest } from "./fire.ts";
import type { AdapterLookup } from "./ledger.ts";

export interface DryFire {
  readonly schedule: string;
  readonly jobId: string;
  /** `COMMAND key args...` per write, or `adapter.enqueue(Class)` for an enqueue-style adapter. */
  readonly writes: readonly string[];
}

export class MemoryFirer {
  readonly ledger = new Map<string, number>();
  /** Fires per schedule with maxRuns, as the fire script counts them in `{ns}:runs`. */
  readonly runs = new Map<string, number>();
  readonly #adapters: AdapterLookup;
  readonly #now: () => number;
  readonly #onFire: (fire: DryFire) => void;

  constructor(adapters: AdapterLookup, now: () => number, onFire: (fire: DryFire) => void) {
    this.#adapters = adapters;
    this.#now = now;
    this.#onFire = onFire;
  }

  async fire(requests: readonly FireRequest[]): Promise<FireOutcome[]> {
    const now = this.#now();
    return requests.map((request): FireOutcome => {
      const { schedule, slotAt } = request;
      const adapter = this.#adapters.get(schedule.adapter);
      if (adapter === undefined) return { request, status: "error", jobId: "", redisAt: now, error: new Error(`adapter "${schedule.adapter}" is not configured`) };
      const jobId = slotJobId(adapter, schedule.name, slotAt);
      const last = this.ledger.get(schedule.name);
      if (last !== undefined && last >= slotAt) return { request, status: "duplicate", jobId, redisAt: now };
      const runs = this.runs.get(schedule.name) ?? 0;
      if (schedule.maxRuns !== undefined && runs >= schedule.maxRuns) return { request, status: "done", jobId, redisAt: now };
      this.ledger.set(schedule.name, slotAt);
      if (schedule.maxRuns !== undefined) this.runs.set(schedule.name, runs + 1);
      const expiry = schedule.expireAfterMs === undefined ? {} : { expiresAt: slotAt + schedule.expireAfterMs };
      const writes: readonly Write[] = adapter.writes?.({ schedule: schedule.name, slotAt, jobId, job: schedule.job, enqueuedAt: now, ...expiry }) ?? [];
      this.#onFire({
        schedule: schedule.name,
        jobId,
        writes: writes.length > 0 ? writes.map((write) => `${write.command} ${write.key} ${write.args.join(" ")}`) : [`${adapter.name}.enqueue(${schedule.job.class})`],
      });
      return { request, status: "fired", jobId, redisAt: now };
    });
  }
}
