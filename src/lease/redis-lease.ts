/**
 * Leadership through one Redis key: SET NX PX to acquire, compare-the-token scripts to renew and
 * release. The leader renews every ttl/5 and stops counting itself leader at acquire-time + ttl -
 * margin on the monotonic clock, so it stops firing before the lease can have expired in Redis.
 * Standbys retry every `retryMs`, and at once when the leader announces a release.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ClockKeys } from "../redis/keys.ts";
import type { ScriptedRedis } from "../redis/scripts.ts";
import { subscribeAlways } from "../redis/subscribe.ts";
import { SECOND } from "../schedule/duration.ts";
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
  /** Heard after each renew/try, for the peers list `clock status` shows. */
  readonly onHeartbeat?: (leader: boolean) => void;
}

/** 10 s: a crashed leader is replaced within ~11 s; renewing every 2 s leaves 4 chances before expiry. */
export const DEFAULT_LEASE_TTL_MS = 10 * SECOND;
export const DEFAULT_LEASE_RETRY_MS = SECOND;
/** Stop firing this long before the lease could expire: covers clock-rate drift and Redis latency. */
const SAFETY_MARGIN_MS = 500;

export class RedisLease implements Leadership {
  readonly #options: LeaseOptions;
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #listeners: ((leader: boolean) => void)[] = [];
  #token: string;
  #leading = false;
  /** Monotonic instant after which this process no longer counts itself leader. */
  #validUntil = 0;
  #timer: unknown = null;
  #running = false;
  #busy = false;

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

  async start(): Promise<void> {
    this.#running = true;
    this.#options.subscriber.on("message", (channel: string) => {
      if (channel === this.#options.keys.released && this.#running && !this.#leading) void this.#tick();
    });
    try {
      // Now and on every reconnect: a standby that started during an outage still hears a release.
      await subscribeAlways(this.#options.subscriber, this.#options.keys.released, (error) => this.#options.onError?.(error));
    } catch (error) {
      this.#options.onError?.(error as Error);
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
        this.#options.onError?.(error as Error);
      }
    }
    // The subscriber connection is closed by its owner; unsubscribing here could wait forever on a
    // connection that is down (it queues commands until Redis is back).
  }

  async #tick(): Promise<void> {
    if (this.#busy || !this.#running) return;
    this.#busy = true;
    const { redis, keys, clock } = this.#options;
    const sentAt = clock.monotonic();
    try {
      if (this.#leading) {
        const renewed = await redis.clockLeaseRenew(keys.lease, this.#token, String(this.#ttlMs));
        if (renewed === 1) this.#validUntil = sentAt + this.#ttlMs - SAFETY_MARGIN_MS;
        else this.#setLeading(false);
      } else {
        const token = makeToken(clock.now(), randomBytes(8).toString("hex"));
        const acquired = await redis.set(keys.lease, token, "PX", this.#ttlMs, "NX");
        if (acquired === "OK" && this.#running) {
          this.#token = token;
          this.#validUntil = sentAt + this.#ttlMs - SAFETY_MARGIN_MS;
          this.#setLeading(true);
        }
      }
    } catch (error) {
      this.#options.onError?.(error as Error);
      // Past the monotonic deadline we are no longer leader, whatever Redis may still say.
      if (this.#leading && clock.monotonic() >= this.#validUntil) this.#setLeading(false);
    } finally {
      this.#busy = false;
    }
    this.#options.onHeartbeat?.(this.#leading);
    if (!this.#running) return;
    const delay = this.#leading ? Math.max(10, Math.min(this.#ttlMs / 5, this.#validUntil - clock.monotonic() - SAFETY_MARGIN_MS)) : this.#retryMs;
    if (this.#timer !== null) clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => {
      this.#timer = null;
      void this.#tick();
    }, delay);
  }

  #setLeading(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}
