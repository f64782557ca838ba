/**
 * Leadership through one Redis key: SET NX PX to acquire (a script that also moves aside a lease
 * key of the wrong type, said loudly, rather than let nobody lead), compare-the-token scripts to renew and release. The leader renews every ttl/3 and stops counting itself leader at acquire-time + ttl -
 * margin on the monotonic clock, so it stops firing before the lease can have expired in Redis.
 * Standbys retry every `retryMs`, and at once when the leader announces a release.
 *
 * The default ratio (TTL 10 s, renewed every 3.3 s) and the latency it tolerates: validity runs from
 * a renewal's *send* to send + ttl - 500 ms, and the next renewal leaves ttl/3 after the last reply.
 * So the lease stays valid without a gap while a round trip r satisfies ttl/3 + 2r < ttl - 500 ms:
 * r < 3.08 s by default (with `ttl: "2s"`: r < 415 ms). Slower than that, each cycle has a gap in
 * which the leader holds the key but may not fire; a renewal that comes back ends the gap and wakes
 * the planner at once (`onValid`), so slots wait out the gap instead of a planner tick that can
 * alias with it. A renewal slower than ttl - 500 ms can never make the lease valid: the leader
 * steps down and releases the key, so a standby with a better path to Redis can lead. Three
 * renewals per TTL also mean one lost reply never costs the lease.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { asideOf, type ClockKeys } from "../redis/keys.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";
import { subscribeAlways } from "../redis/subscribe.ts";
import { SECOND } from "../schedule/duration.ts";
import type { ClockEvents, LeaseOp } from "../events.ts";
import type { Clock } from "../time.ts";
import { makeToken, type Leadership } from "./lease.ts";

export interface LeaseOptions {
  readonly redis: ScriptedRedis;
  /** A second connection for SUBSCRIBE (a subscribed connection cannot run other commands). */
  readonly subscriber: Redis;
  readonly keys: ClockKeys;
  readonly clock: Clock;
  readonly ttlMs?: number | undefined;
  readonly retryMs?: number | undefined;
  readonly onError?: (error: Error) => void;
  /** Where lease errors (READONLY, WRONGTYPE, Redis down) and validity gaps are reported. */
  readonly events?: ClockEvents;
  /** Heard after each renew/try, for the peers list `clock status` shows. */
  readonly onHeartbeat?: (leader: boolean) => void;
  /**
   * Asked before each try to acquire (shards, lease/shards.ts): null skips this try; otherwise the
   * returned function is called when the try has ended, won or not.
   */
  readonly acquireGate?: () => (() => void) | null;
}

/** 10 s: a crashed leader is replaced within ~11 s; renewing every 3.3 s leaves 3 chances before expiry. */
export const DEFAULT_LEASE_TTL_MS = 10 * SECOND;
export const DEFAULT_LEASE_RETRY_MS = SECOND;
/** Stop firing this long before the lease could expire: covers clock-rate drift and Redis latency. */
const SAFETY_MARGIN_MS = 500;
/**
 * A leader renews three times a TTL (Redisson's watchdog pace): a renewal that fails or is slow
 * leaves two more chances before the lease lapses, and an idle leader wakes every TTL/3, not more.
 */
const RENEWALS_PER_TTL = 3;

export class RedisLease implements Leadership {
  readonly #options: LeaseOptions;
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #listeners: ((leader: boolean) => void)[] = [];
  readonly #validListeners: (() => void)[] = [];
  #token: string;
  #leading = false;
  /** Monotonic instant after which this process no longer counts itself leader. */
  #validUntil = 0;
  #timer: unknown = null;
  #running = false;
  #busy = false;
  /** The last lease operation failed: the next failure is the same trouble. */
  #failing = false;
  /** The last renewal came back after the validity had run out. */
  #lapsing = false;
  /** The last lease write came back too late to be of use (see #unusable). */
  #unusableBefore = false;
  /** Monotonic instant before which release notifications are ignored (after letting an unusable lease go). */
  #quietUntil = 0;

  constructor(options: LeaseOptions) {
    this.#options = options;
    this.#ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#retryMs = options.retryMs ?? DEFAULT_LEASE_RETRY_MS;
    this.#token = "";
  }

  token(): string {
    return this.#token;
  }

  isLeader(): boolean {
    return this.#leading && this.#options.clock.monotonic() < this.#validUntil;
  }

  onChange(listener: (leader: boolean) => void): void {
    this.#listeners.push(listener);
  }

  onValid(listener: () => void): void {
    this.#validListeners.push(listener);
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#options.subscriber.on("message", (channel: string) => {
      if (channel === this.#options.keys.released && this.#running && !this.#leading && this.#options.clock.monotonic() >= this.#quietUntil) void this.#tick();
    });
    try {
      // Now and on every reconnect: a standby that started during an outage still hears a release.
      await subscribeAlways(this.#options.subscriber, this.#options.keys.released, (error) => this.#failed("subscribe", error));
    } catch (error) {
      this.#failed("subscribe", error as Error);
    }
    await this.#tick();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== null) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#leading) {
      this.#setLeading(false);
      try {
        await this.#options.redis.clockLeaseRelease(this.#options.keys.lease, this.#token, this.#options.keys.released);
      } catch (error) {
        this.#failed("release", error as Error);
      }
    }
    // The subscriber connection is closed by its owner; unsubscribing here could wait forever on a
    // connection that is down (it queues commands until Redis is back).
  }

  /**
   * Hands the lease over (shards: a process leading more than its share): stops leading, releases
   * the key (its standbys hear it at once) and stays a candidate, ignoring release notifications,
   * its own included, for a retry period.
   */
  async release(): Promise<void> {
    if (!this.#leading || !this.#running) return;
    this.#setLeading(false);
    this.#quietUntil = this.#options.clock.monotonic() + this.#retryMs;
    const { redis, keys } = this.#options;
    try {
      await redis.clockLeaseRelease(keys.lease, this.#token, keys.released);
    } catch (error) {
      this.#failed("release", error as Error);
    }
  }

  async #tick(): Promise<void> {
    if (this.#busy || !this.#running) return;
    const gateDone = this.#leading || this.#options.acquireGate === undefined ? undefined : this.#options.acquireGate();
    if (gateDone === null) {
      this.#options.onHeartbeat?.(false);
      this.#schedule(this.#retryMs);
      return;
    }
    this.#busy = true;
    const { redis, keys, clock } = this.#options;
    // The heartbeat leaves in the same turn as the lease command: one wait for both replies. When
    // the role changes, another follows at once, so peers see a new leader without waiting a tick.
    const wasLeading = this.#leading;
    this.#options.onHeartbeat?.(wasLeading);
    const sentAt = clock.monotonic();
    const op = this.#leading ? "renew" : "acquire";
    try {
      if (this.#leading) {
        const renewed = await redis.clockLeaseRenew(keys.lease, this.#token, String(this.#ttlMs));
        if (renewed === 1) this.#renewed(sentAt);
        else this.#setLeading(false);
      } else {
        const token = makeToken(clock.now(), randomBytes(8).toString("hex"));
        const acquired = await redis.clockLeaseAcquire(keys.lease, asideOf(keys.lease), token, String(this.#ttlMs));
        if (acquired === 2) this.#options.events?.emit("redis:repaired", { key: keys.lease, found: "not a string", aside: asideOf(keys.lease) });
        if ((acquired === 1 || acquired === 2) && this.#running) {
          this.#token = token;
          if (sentAt + this.#ttlMs - SAFETY_MARGIN_MS <= clock.monotonic()) this.#unusable(sentAt);
          else {
            this.#validUntil = sentAt + this.#ttlMs - SAFETY_MARGIN_MS;
            this.#unusableBefore = false;
            this.#setLeading(true);
          }
        }
      }
      this.#succeeded();
    } catch (error) {
      this.#failed(op, error as Error);
      // Past the monotonic deadline we are no longer leader, whatever Redis may still say.
      if (this.#leading && clock.monotonic() >= this.#validUntil) this.#setLeading(false);
    } finally {
      this.#busy = false;
      gateDone?.();
    }
    if (this.#leading !== wasLeading) this.#options.onHeartbeat?.(this.#leading);
    this.#schedule(this.#leading ? Math.max(10, Math.min(this.#ttlMs / RENEWALS_PER_TTL, this.#validUntil - clock.monotonic() - SAFETY_MARGIN_MS)) : this.#retryMs);
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    const { clock } = this.#options;
    if (this.#timer !== null) clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => {
      this.#timer = null;
      void this.#tick();
    }, delay);
  }

  /** A renewal sent at `sentAt` (monotonic) succeeded: the lease is valid until sentAt + ttl - margin. */
  #renewed(sentAt: number): void {
    const now = this.#options.clock.monotonic();
    const validUntil = sentAt + this.#ttlMs - SAFETY_MARGIN_MS;
    const lapsedMs = now - this.#validUntil;
    if (validUntil <= now) {
      this.#setLeading(false);
      this.#unusable(sentAt);
      return;
    }
    this.#validUntil = validUntil;
    if (lapsedMs <= 0) {
      this.#lapsing = false;
      return;
    }
    // Held all along (the renewal compares the token, so nobody else can have led meanwhile), but
    // not valid for `lapsedMs`: valid again now, so the planner must not wait for its next tick.
    this.#options.events?.emit("lease:lapsed", { lapsedMs, again: this.#lapsing });
    this.#lapsing = true;
    for (const listener of this.#validListeners) listener();
  }

  /**
   * The round trip of a lease write sent at `sentAt` took longer than the validity it grants: this
   * process can hold the key but never fire. It lets the key go (compare-the-token release) so a
   * standby with a better path to Redis can lead, and ignores release notifications, its own
   * included, for a retry period.
   */
  #unusable(sentAt: number): void {
    const now = this.#options.clock.monotonic();
    this.#options.events?.emit("lease:unusable", { roundTripMs: now - sentAt, validMs: this.#ttlMs - SAFETY_MARGIN_MS, again: this.#unusableBefore });
    this.#unusableBefore = true;
    this.#quietUntil = now + this.#retryMs;
    const { redis, keys } = this.#options;
    void redis.clockLeaseRelease(keys.lease, this.#token, keys.released).catch((error: unknown) => this.#failed("release", error as Error));
  }

  #failed(op: LeaseOp, error: Error): void {
    this.#options.onError?.(error);
    this.#options.events?.emit("lease:error", { op, error, again: this.#failing });
    this.#failing = true;
  }

  #succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#options.events?.emit("lease:recovered", {});
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}
