/**
 * The running clock's two Redis connections (commands, and SUBSCRIBE) and their state: down or
 * up, reported once per outage ("redis:down" then "redis:restored"), with the connection's last
 * error kept so a failed command can be told in words (ioredis says only "max retries").
 */
import type { Redis } from "ioredis";
import type { ClockEvents } from "../events.ts";
import { connectRedis, describeRedisError } from "../redis/connection.ts";
import { withScripts, type ScriptedRedis } from "../redis/scripts.ts";
import { SECOND } from "../time.ts";

export class ClockConnection {
  readonly url: string;
  readonly redis: ScriptedRedis;
  /** For SUBSCRIBE: a subscribed connection cannot run other commands. */
  readonly subscriber: Redis;
  #down = false;
  #everConnected = false;
  #lastError: Error | undefined;
  readonly #onRestored: (() => void)[] = [];

  constructor(url: string, events: ClockEvents) {
    this.url = url;
    this.redis = withScripts(connectRedis(url));
    this.subscriber = connectRedis(url, { enableOfflineQueue: true });
    this.redis.on("error", (error: Error) => {
      this.#lastError = error;
      if (this.#down) return;
      this.#down = true;
      events.emit("redis:down", { error, everConnected: this.#everConnected });
    });
    this.redis.on("ready", () => {
      this.#everConnected = true;
      this.#lastError = undefined;
      if (!this.#down) return;
      this.#down = false;
      events.emit("redis:restored", {});
      for (const listener of this.#onRestored) listener();
    });
    this.subscriber.on("error", () => {
      // reported through the main connection
    });
  }

  /** Connects both; an unreachable Redis is reported by the error handler and retried with backoff. */
  async connect(): Promise<void> {
    await this.redis.connect().catch(() => undefined);
    await this.subscriber.connect().catch(() => undefined);
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
    return describeRedisError(error, this.url, this.#lastError);
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
    for (const connection of [this.redis, this.subscriber]) {
      // QUIT only on a live connection: on a reconnecting one it would wait for Redis to come back.
      if (connection.status === "ready") await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    }
  }
}
