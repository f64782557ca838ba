/**
 * Whether some process in the cluster leads and fires, as /healthz tells it: this clock's last
 * successful fire and how long its fires have failed, the lease's errors (READONLY, WRONGTYPE),
 * and, for a standby, whether a leader's heartbeat in `{ns}:peers` still moves. Kept from events
 * and one read of the peers hash a second, so a probe costs nothing. Intervals are this process's
 * monotonic clock: another host's wall clock (which may be off) is never compared with ours.
 */
import type { ClockEvents, LeaseOp } from "../events.ts";
import type { PeerRecord } from "../lease/peers.ts";
import type { Clock } from "../time.ts";

export interface LivenessOptions {
  readonly events: ClockEvents;
  readonly clock: Clock;
  readonly peerId: string;
  readonly isLeader: () => boolean;
  /** No leader for longer than this (TTL + retry: a crashed leader's successor leads by then) is unhealthy. */
  readonly leaderlessMs: number;
  /** An error in words (Redis errors without credentials). */
  readonly inWords: (error: Error) => string;
}

interface HeardLeader {
  readonly record: PeerRecord;
  /** Monotonic instant its heartbeat last moved (null: not seen moving yet). */
  readonly movedAt: number | null;
}

export interface LivenessReport {
  readonly reasons: string[];
  readonly fields: Readonly<Record<string, unknown>>;
}

export class Liveness {
  readonly #options: LivenessOptions;
  readonly #startedAt: number;
  #lastFireAt: number | null = null;
  #fireFailing: { since: number; error: Error } | null = null;
  #leaseError: { op: LeaseOp; error: Error; since: number } | null = null;
  /** Monotonic instant this process was last seen leading (validly). */
  #ledAt: number | null = null;
  readonly #leaders = new Map<string, HeardLeader>();

  constructor(options: LivenessOptions) {
    this.#options = options;
    this.#startedAt = options.clock.monotonic();
    const mono = (): number => options.clock.monotonic();
    const fired = (): void => {
      this.#lastFireAt = mono();
      this.#fireFailing = null;
    };
    options.events.on("fire:fired", fired);
    // An overlap skip is the fire script at work too (the ledger advanced): the clock fires; the workers lag.
    options.events.on("fire:overlap-skipped", fired);
    options.events.on("fire:failed", ({ error }) => {
      this.#fireFailing = { since: this.#fireFailing?.since ?? mono(), error };
    });
    options.events.on("lease:error", ({ op, error }) => {
      this.#leaseError = { op, error, since: this.#leaseError?.since ?? mono() };
    });
    options.events.on("lease:recovered", () => {
      this.#leaseError = null;
    });
    options.events.on("lease:changed", ({ leading }) => {
      this.#ledAt = mono();
      // A standby fires nothing: failures from when it led say nothing about now.
      if (!leading) this.#fireFailing = null;
    });
  }

  /** What a leader publishes in its heartbeat: durations by its own clock, never instants. */
  heartbeat(): Pick<PeerRecord, "sinceFireMs" | "fireFailingMs"> {
    const now = this.#options.clock.monotonic();
    return {
      ...(this.#lastFireAt === null ? {} : { sinceFireMs: Math.round(now - this.#lastFireAt) }),
      ...(this.#fireFailing === null ? {} : { fireFailingMs: Math.round(now - this.#fireFailing.since) }),
    };
  }

  /** Once a second: notes whether this process leads, and (a standby) which leader heartbeats moved. */
  notePeers(peers: ReadonlyMap<string, PeerRecord> | null): void {
    const now = this.#options.clock.monotonic();
    if (this.#options.isLeader()) this.#ledAt = now;
    if (peers === null) return;
    for (const id of [...this.#leaders.keys()]) if (!peers.has(id)) this.#leaders.delete(id);
    for (const [id, record] of peers) {
      if (id === this.#options.peerId || record.role !== "leader") {
        this.#leaders.delete(id);
        continue;
      }
      const heard = this.#leaders.get(id);
      // The first sighting says nothing (a crashed leader's record stays behind); a move does.
      const moved = heard !== undefined && heard.record.seenAt !== record.seenAt;
      this.#leaders.set(id, { record, movedAt: moved ? now : (heard?.movedAt ?? null) });
    }
  }

  /** Why this clock cannot say that some process leads and fires (empty: it can), and what it knows. */
  report(): LivenessReport {
    const { clock, leaderlessMs, inWords } = this.#options;
    const now = clock.monotonic();
    const reasons: string[] = [];
    const leading = this.#options.isLeader();
    if (leading) this.#ledAt = now;
    if (this.#leaseError !== null) {
      const { op, error, since } = this.#leaseError;
      reasons.push(`lease ${op} failing for ${Math.round(now - since)} ms: ${inWords(error)}`);
    }
    if (leading && this.#fireFailing !== null && now - this.#fireFailing.since > leaderlessMs) {
      reasons.push(`fires failing for ${Math.round(now - this.#fireFailing.since)} ms: ${inWords(this.#fireFailing.error)}`);
    }
    let leader: Record<string, unknown> | null = null;
    if (!leading) {
      let freshest: [string, HeardLeader] | null = null;
      for (const entry of this.#leaders) {
        const movedAt = entry[1].movedAt;
        if (movedAt !== null && (freshest === null || movedAt > (freshest[1].movedAt ?? 0))) freshest = entry;
      }
      const movedAt = freshest?.[1].movedAt ?? null;
      const aliveAt = Math.max(movedAt ?? Number.NEGATIVE_INFINITY, this.#ledAt ?? Number.NEGATIVE_INFINITY, this.#startedAt);
      const alive = movedAt !== null && now - movedAt <= leaderlessMs;
      if (!alive && now - aliveAt > leaderlessMs) reasons.push(`no clock process has led for ${Math.round(now - aliveAt)} ms (no leader heartbeat moved)`);
      if (freshest !== null) {
        const { record } = freshest[1];
        const heardMsAgo = Math.round(now - (freshest[1].movedAt ?? now));
        leader = {
          host: record.host,
          pid: record.pid,
          alive,
          heartbeatMsAgo: heardMsAgo,
          lastFireMsAgo: record.sinceFireMs === undefined ? null : record.sinceFireMs + heardMsAgo,
          firesFailingMs: record.fireFailingMs ?? null,
        };
        if (alive && record.fireFailingMs !== undefined && record.fireFailingMs > leaderlessMs) {
          reasons.push(`the leader (${record.host}/${record.pid}) reports its fires failing for ${record.fireFailingMs} ms`);
        }
      }
    }
    return {
      reasons,
      fields: {
        lastFireMsAgo: this.#lastFireAt === null ? null : Math.round(now - this.#lastFireAt),
        leader,
        leaseError: this.#leaseError === null ? null : inWords(this.#leaseError.error),
      },
    };
  }
}
