/**
 * Shards of leadership: one lease per shard (redis/keys.ts shardKeys), every process a candidate
 * for every shard, each leading at most its share, ceil(shards / live processes). Live processes
 * are those whose heartbeat (`{ns}:peers`) is younger than a lease TTL, this one included.
 *
 * - A process that joins: the others' share shrinks as soon as they see its heartbeat, and each
 *   that leads more than its share hands the extra shards over (releases them: the joiner, under
 *   its share, hears the release and takes them at once), never by expiry.
 * - A process that dies: its leases expire within a TTL, its heartbeat goes stale within a TTL
 *   (so the others' share grows), and the others' next try (every retry period) takes them.
 * - Tries are counted before they go out, so one process never races itself past its share.
 *
 * Fencing stays per shard: each shard's fire script compares that shard's token.
 */
import type { Leadership } from "./lease.ts";

/** A shard's lease as this module needs it (RedisLease). */
export interface ShardLease extends Leadership {
  /** Hands the lease over and stays a candidate. */
  release(): Promise<void>;
}

export class ShardBalance {
  readonly #shards: number;
  #leases: readonly ShardLease[] = [];
  #live = 1;
  #trying = 0;

  constructor(shards: number) {
    this.#shards = shards;
  }

  /** The leases it balances (given after they are built: each is built with `gate`). */
  attach(leases: readonly ShardLease[]): void {
    this.#leases = leases;
  }

  /** How many shards this process may lead now. */
  get share(): number {
    return Math.ceil(this.#shards / Math.max(1, this.#live));
  }

  get live(): number {
    return this.#live;
  }

  /** The acquire gate of every shard's lease (RedisLease `acquireGate`). */
  readonly gate = (): (() => void) | null => {
    if (this.#leading().length + this.#trying >= this.share) return null;
    this.#trying++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#trying--;
    };
  };

  /**
   * The live processes now (at least this one): where this process leads more than its share, it
   * hands the newest-numbered extra shards over. Returns the shards it released.
   */
  async note(live: number): Promise<number[]> {
    this.#live = Math.max(1, live);
    const leading = this.#leading();
    const extra = leading.slice(this.share);
    await Promise.all(extra.map((shard) => this.#leases[shard]?.release()));
    return extra;
  }

  #leading(): number[] {
    const leading: number[] = [];
    this.#leases.forEach((lease, shard) => {
      if (lease.isLeader()) leading.push(shard);
    });
    return leading;
  }
}

/**
 * The process's leadership over all its shards, as the parts that are not per shard see it: it
 * leads while it leads any shard. With one shard: that shard's lease, exactly.
 */
export class ShardLeadership implements Leadership {
  readonly #leases: readonly ShardLease[];
  readonly #listeners: ((leader: boolean) => void)[] = [];
  /** Per shard, as its lease last said (a validity gap is no change, as for one lease). */
  readonly #held: boolean[];
  #any = false;

  constructor(leases: readonly ShardLease[]) {
    this.#leases = leases;
    this.#held = leases.map(() => false);
    leases.forEach((lease, shard) =>
      lease.onChange((leading) => {
        this.#held[shard] = leading;
        this.#changed();
      }),
    );
  }

  get leases(): readonly ShardLease[] {
    return this.#leases;
  }

  /** The shards this process leads now, in order. */
  led(): number[] {
    const led: number[] = [];
    this.#leases.forEach((lease, shard) => {
      if (lease.isLeader()) led.push(shard);
    });
    return led;
  }

  leads(shard: number): boolean {
    return this.#leases[shard]?.isLeader() === true;
  }

  /**
   * Whether this process holds shard `shard`'s lease, as the lease last said: true through a
   * validity gap (a late renewal), when `leads` is false. What it keeps in memory follows this.
   */
  holds(shard: number): boolean {
    return this.#held[shard] === true;
  }

  /** Shard 0's token (a single shard's, the one the fire script fences with); each shard fences with its own. */
  token(): string {
    return this.#leases[0]?.token() ?? "";
  }

  isLeader(): boolean {
    return this.#leases.some((lease) => lease.isLeader());
  }

  onChange(listener: (leader: boolean) => void): void {
    this.#listeners.push(listener);
  }

  onValid(listener: () => void): void {
    for (const lease of this.#leases) lease.onValid?.(listener);
  }

  async start(): Promise<void> {
    await Promise.all(this.#leases.map((lease) => lease.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#leases.map((lease) => lease.stop()));
  }

  #changed(): void {
    const any = this.#held.includes(true);
    if (any === this.#any) return;
    this.#any = any;
    for (const listener of this.#listeners) listener(any);
  }
}
