import { Redis, type RedisOptions } from "ioredis";
import { SECOND } from "../schedule/duration.ts";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** A Redis URL fit for logs: scheme, host, port and db; never the user or password. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port === "" ? "" : `:${parsed.port}`}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

/** An error message with any credentials of the URL taken out. */
export function redactSecrets(message: string, url: string): string {
  let out = message.replaceAll(url, redactRedisUrl(url));
  try {
    const { password, username } = new URL(url);
    if (password !== "") out = out.replaceAll(decodeURIComponent(password), "***").replaceAll(password, "***");
    if (username !== "" && username.length > 2) out = out.replaceAll(decodeURIComponent(username), "***");
  } catch {
    // not a URL: nothing more to redact
  }
  return out;
}

/**
 * A connection that fails commands fast while disconnected (the planner retries with catch-up)
 * and reconnects with capped exponential backoff forever.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5 * SECOND,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2 * SECOND),
    lazyConnect: true,
    ...options,
  });
}

/** Keys the clock owns, all under one hash tag so its scripts stay legal on Redis Cluster. */
export interface ClockKeys {
  readonly lease: string;
  readonly ledger: string;
  readonly outbox: string;
  readonly stats: string;
  readonly peers: string;
  readonly released: string;
  readonly schedules: string;
  readonly paused: string;
  /** Hash: when each paused schedule was paused and resumed (Redis time), so a pause skips its slots. */
  readonly pauses: string;
  readonly changes: string;
  readonly config: string;
  /** Prefix of `<prefix>:<fingerprint>`: each running config's per-schedule digests. */
  readonly configs: string;
}

export function clockKeys(namespace: string): ClockKeys {
  const tag = `{${namespace}}`;
  return {
    lease: `${tag}:lease`,
    ledger: `${tag}:ledger`,
    outbox: `${tag}:outbox`,
    stats: `${tag}:stats`,
    peers: `${tag}:peers`,
    released: `${tag}:lease:released`,
    schedules: `${tag}:schedules`,
    paused: `${tag}:paused`,
    pauses: `${tag}:pauses`,
    changes: `${tag}:changes`,
    config: `${tag}:config`,
    configs: `${tag}:configs`,
  };
}
