/**
 * The running clock's three Redis connections (commands, leases, and SUBSCRIBE) and their state: down or
 * up, reported once per outage ("redis:down" then "redis:restored"), with the connection's last
 * error kept so a failed command can be told in words (ioredis says only "max retries"). Through
 * Sentinel, a reconnect lands on the current primary; a move is reported ("redis:primary-changed").
 */
import type { Redis } from "ioredis";
import type { ClockEvents } from "../events.ts";
import { closeRedis, connectRedis, describeRedisError, settleConnect, type RedisTarget } from "../redis/connection.ts";
import { withScripts, type ScriptedRedis } from "../redis/scripts.ts";
import { SECOND } from "../time.ts";

export class ClockConnection {
  readonly target: RedisTarget;
  readonly redis: ScriptedRedis;
  /**
   * For the leases and the heartbeat only: a renewal never queues behind a burst's pipelined fire
   * scripts (hundreds of them at 100,000 schedules), in this process's socket or in Redis's reply
   * order, so a burst longer than the lease's validity does not cost the lease.
   */
  readonly lease: ScriptedRedis;
  /** For SUBSCRIBE: a subscribed connection cannot run other commands. */
  readonly subscriber: Redis;
  #down = false;
  #everConnected = false;
  #lastError: Error | undefined;
  readonly #onRestored: (() => void)[] = [];
  /** host:port of the primary last connected to (through Sentinel it moves on a failover). */
  #primary: string | null = null;

  constructor(target: RedisTarget, events: ClockEvents) {
    this.target = target;
    this.redis = withScripts(connectRedis(target));
    this.lease = withScripts(connectRedis(target));
    this.subscriber = connectRedis(target, { enableOfflineQueue: true });
    this.redis.on("error", (error: Error) => {
      this.#lastError = error;
      if (this.#down) return;
      this.#down = true;
      events.emit("redis:down", { error, everConnected: this.#everConnected });
    });
    this.redis.on("ready", () => {
      const stream = this.redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
      const primary = stream?.remoteAddress === undefined ? null : `${stream.remoteAddress}:${stream.remotePort ?? ""}`;
      const moved = target.kind === "sentinel" && primary !== null && this.#primary !== null && primary !== this.#primary;
      if (moved) events.emit("redis:primary-changed", { master: target.name, from: this.#primary ?? "", to: primary });
      this.#primary = primary ?? this.#primary;
      this.#everConnected = true;
      this.#lastError = undefined;
      const wasDown = this.#down;
      this.#down = false;
      if (wasDown) events.emit("redis:restored", {});
      // A new primary may lack the old one's last writes (async replication): the ledger is re-read.
      if (wasDown || moved) for (const listener of this.#onRestored) listener();
    });
    for (const other of [this.lease, this.subscriber]) {
      other.on("error", () => {
        // reported through the main connection (and by the lease as its own errors)
      });
    }
  }

  /** Connects all three; an unreachable Redis is reported by the error handler and retried with backoff. */
  async connect(): Promise<void> {
    await Promise.all([settleConnect(this.redis), settleConnect(this.lease)]);
    await settleConnect(this.subscriber);
  }

  /** host:port of the primary this clock writes to (null before the first connection). */
  get primary(): string | null {
    return this.#primary;
  }

  get down(): boolean {
    return this.#down;
  }

  /** Called when Redis answers again after an outage (another process may have fired meanwhile). */
  onRestored(listener: () => void): void {
    this.#onRestored.push(listener);
  }

  /** An error from Redis, in words, without credentials. */
  inWords(error: unknown): string {
    return describeRedisError(error, this.target, this.#lastError);
  }

  /** Whether Redis answers a PING within a second. */
  async ping(): Promise<boolean> {
    try {
      return (await Promise.race([this.redis.ping(), new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), SECOND).unref())])) === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    for (const connection of [this.redis, this.lease, this.subscriber]) await closeRedis(connection);
  }
}
