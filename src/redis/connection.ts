import { Redis, type RedisOptions } from "ioredis";
import { SECOND } from "../time.ts";

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

/** Where a Redis is, for messages: "127.0.0.1:6379" (never credentials). */
function locationOf(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port === "" ? "6379" : port}`;
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

function usernameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username);
  } catch {
    return "";
  }
}

/**
 * What ioredis says of a command when the connection is the trouble: true of no cause. The
 * connection's own last error ("connect ECONNREFUSED", "WRONGPASS") says what went wrong.
 */
function isConnectionSymptom(error: { name?: unknown; message?: unknown }): boolean {
  return (
    error.name === "MaxRetriesPerRequestError" ||
    error.message === "Connection is closed." ||
    (typeof error.message === "string" && error.message.startsWith("Stream isn't writeable"))
  );
}

const NETWORK_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/**
 * A Redis failure in words, for logs and the CLI: "cannot reach Redis at 127.0.0.1:7149:
 * connection refused", "cannot log in to Redis at 127.0.0.1:7149: Redis refused the password";
 * never ioredis' own wording ("Reached the max retries per request limit") nor a credential of
 * `url`. `connectionError`, the connection's last "error" event, explains a command that failed
 * only because the connection was down.
 */
export function describeRedisError(error: unknown, url: string, connectionError?: unknown): string {
  const where = url === "" ? "Redis" : `Redis at ${locationOf(url)}`;
  const first = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const symptom = isConnectionSymptom(first);
  const cause = (symptom && connectionError !== undefined ? connectionError : first) as { message?: unknown; code?: unknown };
  const message = typeof cause.message === "string" ? cause.message : String(error);
  const code = typeof cause.code === "string" ? cause.code : /^connect (E[A-Z]+)/.exec(message)?.[1];
  let words: string;
  if (/^WRONGPASS|^ERR invalid (password|username-password)/.test(message)) {
    words = `cannot log in to ${where}: Redis refused the ${["", "default"].includes(usernameOf(url)) ? "password" : "user name or password"}`;
  } else if (message.startsWith("NOAUTH")) words = `cannot log in to ${where}: Redis asks for a password and REDIS_URL has none`;
  else if (/^ERR (AUTH|Client sent AUTH).*(no password|without any password)/.test(message)) words = `cannot log in to ${where}: REDIS_URL has a password but Redis has none set`;
  else if (code !== undefined && NETWORK_WORDS[code] !== undefined) words = `cannot reach ${where}: ${NETWORK_WORDS[code]}`;
  else if (message.startsWith("READONLY")) words = `${where} is a read-only replica: point REDIS_URL at the primary`;
  else if (message.startsWith("OOM")) words = `${where} is out of memory (maxmemory reached)`;
  else if (message.startsWith("LOADING")) words = `${where} is still loading its data set`;
  else if (message.startsWith("NOPERM")) words = `${where} refused a command: the user lacks the permission (${message})`;
  else if (isConnectionSymptom(cause)) words = `cannot reach ${where}: not connected`;
  else words = `${where}: ${message}`;
  return url === "" ? words : redactSecrets(words, url);
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
