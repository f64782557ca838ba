/**
 * Every Redis connection the clock, the CLI, the client and adapters make starts here: one parser
 * turns what the user wrote (REDIS_URL, the config's `redis`, `createClient({ redis })`) into a
 * target, and `connectRedis` turns a target into an ioredis connection. A Sentinel target connects
 * through ioredis's Sentinel support and follows a failover by itself. Messages about a target
 * (logs, errors) never carry a credential.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { ConfigError } from "../errors.ts";
import { SECOND } from "../time.ts";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_SENTINEL_PORT = 26379;

export interface SentinelAddress {
  readonly host: string;
  readonly port: number;
}

/** Sentinel settings as users write them (the config's `redis`, `createClient({ redis })`). */
export interface SentinelSettings {
  readonly sentinels: readonly { readonly host: string; readonly port?: number | undefined }[];
  /** The master group name Sentinel monitors (`sentinel monitor <name> ...`). */
  readonly name: string;
  readonly db?: number | undefined;
  /** The primary's (and replicas') user and password. */
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** The Sentinels' own, when they ask for one (`requirepass` in sentinel.conf). */
  readonly sentinelUsername?: string | undefined;
  readonly sentinelPassword?: string | undefined;
}

/** Redis Cluster settings as users write them (the config's `redis`, `createClient({ redis })`). */
export interface ClusterSettings {
  /** Some nodes of the cluster (any will do: the rest are discovered). */
  readonly cluster: readonly { readonly host: string; readonly port?: number | undefined }[];
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** What a user names as the clock's Redis: a URL (redis://, rediss://, redis+sentinel://, redis+cluster://), Sentinel or Cluster settings. */
export type RedisSetting = string | SentinelSettings | ClusterSettings;

/** A parsed setting: a URL ioredis takes as it is, or a primary found through Sentinel. */
export type RedisTarget =
  | { readonly kind: "url"; readonly url: string }
  | {
      readonly kind: "sentinel";
      readonly sentinels: readonly SentinelAddress[];
      readonly name: string;
      readonly db: number;
      readonly username?: string;
      readonly password?: string;
      readonly sentinelUsername?: string;
      readonly sentinelPassword?: string;
      /** The URL it was parsed from, if any (messages that quote it are redacted). */
      readonly url?: string;
    }
  | {
      readonly kind: "cluster";
      /** Seed nodes: ioredis discovers the rest and follows slot moves. */
      readonly nodes: readonly SentinelAddress[];
      readonly username?: string;
      readonly password?: string;
      readonly url?: string;
    };

export type SentinelTarget = Extract<RedisTarget, { kind: "sentinel" }>;
export type ClusterTarget = Extract<RedisTarget, { kind: "cluster" }>;
export const DEFAULT_CLUSTER_PORT = 6379;
const CLUSTER_FORM = "redis+cluster://[user:password@]host:port[,host:port...]";

const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const SENTINEL_FORM = "redis+sentinel://[user:password@]host:port[,host:port...]/master-name[/db]";
const SENTINEL_QUERY = new Set(["sentinelUsername", "sentinelPassword"]);
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;
/** A master name as Sentinel monitors it (and as the clock accepts it). */
export const MASTER_NAME = /^[A-Za-z0-9._-]{1,200}$/;

/** A setting that cannot be a Redis address; `source` (REDIS_URL, redis) heads the message, never the value. */
function refuse(source: string, message: string): never {
  throw new ConfigError([{ path: source, message }], "invalid Redis address");
}

function decodePart(text: string, source: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return refuse(source, `the ${what} is not valid percent-encoding`);
  }
}

/** `host[:port]` or `[v6]:port`; `which` names it in errors, the text never. */
function parseAddress(text: string, which: string, defaultPort: number, form: string, source: string): SentinelAddress {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(text);
  const host = match?.[1] ?? "";
  if (host === "" || !HOST.test(host)) refuse(source, `${which} has no valid host name; expected ${form}`);
  const portText = match?.[2];
  const port = portText === undefined ? defaultPort : /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) refuse(source, `${which} has an invalid port (expected 1 to 65535)`);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port };
}

function parseSentinelAddress(text: string, position: number, count: number, source: string): SentinelAddress {
  return parseAddress(text, count === 1 ? "the Sentinel address" : `Sentinel address ${position} of ${count}`, DEFAULT_SENTINEL_PORT, SENTINEL_FORM, source);
}

/**
 * The `[user:password@]` of a `redis+sentinel://` or `redis+cluster://` URL, decoded, and what
 * follows it. Credentials end at the last "@" (host lists and master names have none); a lone
 * userinfo is a password, as redis:// reads it for the default user.
 */
function splitCredentials(url: string, source: string): { rest: string; username?: string; password?: string } {
  const rest = url.slice(url.indexOf("://") + 3);
  const at = rest.lastIndexOf("@");
  if (at < 0) return { rest };
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(":");
  const user = decodePart(colon < 0 ? userinfo : userinfo.slice(0, colon), source, "user name");
  if (colon < 0) return { rest: rest.slice(at + 1), password: user };
  const pass = decodePart(userinfo.slice(colon + 1), source, "password");
  return { rest: rest.slice(at + 1), ...(user === "" ? {} : { username: user }), ...(pass === "" ? {} : { password: pass }) };
}

function parseSentinelUrl(url: string, source: string): SentinelTarget {
  const { rest: afterCredentials, username, password } = splitCredentials(url, source);
  let rest = afterCredentials;
  const question = rest.indexOf("?");
  const query = question < 0 ? "" : rest.slice(question + 1);
  if (question >= 0) rest = rest.slice(0, question);
  const slash = rest.indexOf("/");
  const hostList = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? [] : rest.slice(slash + 1).split("/");
  if (path.at(-1) === "") path.pop();
  if (hostList === "") refuse(source, `no Sentinel address; expected ${SENTINEL_FORM}`);
  const parts = hostList.split(",");
  const sentinels = parts.map((part, index) => parseSentinelAddress(part, index + 1, parts.length, source));
  const [name, dbText, ...extra] = path;
  if (name === undefined || name === "") refuse(source, `no master name; expected ${SENTINEL_FORM}`);
  if (!MASTER_NAME.test(decodePart(name, source, "master name"))) refuse(source, "the master name may use letters, digits, '.', '_' and '-' only");
  if (extra.length > 0) refuse(source, `too many path parts; expected ${SENTINEL_FORM}`);
  const db = dbText === undefined ? 0 : /^\d{1,5}$/.test(dbText) ? Number(dbText) : Number.NaN;
  if (!Number.isInteger(db)) refuse(source, `the database must be a number (…/master-name/0); expected ${SENTINEL_FORM}`);
  const params = new URLSearchParams(query);
  const sentinelAuth: { sentinelUsername?: string; sentinelPassword?: string } = {};
  for (const [key, value] of params) {
    if (!SENTINEL_QUERY.has(key)) refuse(source, `unknown parameter "${key.slice(0, 40)}" (known: ${[...SENTINEL_QUERY].join(", ")})`);
    if (value !== "") sentinelAuth[key as "sentinelUsername" | "sentinelPassword"] = value;
  }
  return {
    kind: "sentinel",
    sentinels,
    name: decodePart(name, source, "master name"),
    db,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...sentinelAuth,
    url,
  };
}

/** `redis+cluster://[user:password@]h1:7000,h2:7001`: seed nodes, no database (a cluster has only 0). */
function parseClusterUrl(url: string, source: string): ClusterTarget {
  const { rest: afterCredentials, username, password } = splitCredentials(url, source);
  let rest = afterCredentials;
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  if (rest.includes("/")) refuse(source, `a Redis Cluster has only database 0: no path after the nodes; expected ${CLUSTER_FORM}`);
  if (rest.includes("?")) refuse(source, `no parameters are known after the nodes; expected ${CLUSTER_FORM}`);
  if (rest === "") refuse(source, `no cluster node; expected ${CLUSTER_FORM}`);
  const parts = rest.split(",");
  const nodes = parts.map((part, index) =>
    parseAddress(part, parts.length === 1 ? "the cluster node" : `cluster node ${index + 1} of ${parts.length}`, DEFAULT_CLUSTER_PORT, CLUSTER_FORM, source),
  );
  return { kind: "cluster", nodes, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), url };
}

/**
 * Parses a Redis address: `redis://` and `rediss://` URLs (as ioredis reads them), and
 * `redis+sentinel://[user:password@]host1:26379,host2:26379/master-name[/db]`. Throws a
 * ConfigError headed by `source` (REDIS_URL, or the config field) for an address that cannot
 * work; the message never repeats the address, which may hold a password.
 */
export function parseRedisUrl(url: string, source = "REDIS_URL"): RedisTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  // No scheme: what ioredis accepts as it is (a port, host:port, a socket path).
  if (scheme === undefined) return { kind: "url", url };
  if (scheme === "redis+sentinel") return parseSentinelUrl(url, source);
  if (scheme === "redis+cluster") return parseClusterUrl(url, source);
  if (scheme === "rediss+cluster") refuse(source, "TLS to a Redis Cluster (rediss+cluster://) is not supported yet; use redis+cluster:// on a private network");
  if (scheme === "rediss+sentinel")
    refuse(source, "TLS through Sentinel (rediss+sentinel://) is not supported; use redis+sentinel:// on a private network, or rediss:// to one primary");
  if (scheme !== "redis" && scheme !== "rediss")
    refuse(source, `unsupported scheme "${scheme.slice(0, 30)}://" (expected redis://, rediss://, ${SENTINEL_FORM} or ${CLUSTER_FORM})`);
  try {
    new URL(url);
  } catch {
    refuse(source, `not a valid URL; expected ${scheme}://[user:password@]host[:port][/db]`);
  }
  return { kind: "url", url };
}

/** Sentinel settings (the config's `redis`, `createClient({ redis })`) as a target; throws like parseRedisUrl. */
export function sentinelTarget(settings: SentinelSettings, source = "redis"): SentinelTarget {
  if (!Array.isArray(settings.sentinels) || settings.sentinels.length === 0) refuse(`${source}.sentinels`, "expected at least one Sentinel { host, port }");
  const sentinels = settings.sentinels.map((sentinel, index) => {
    const port = sentinel.port ?? DEFAULT_SENTINEL_PORT;
    if (typeof sentinel.host !== "string" || sentinel.host === "") refuse(`${source}.sentinels.${index}.host`, "expected a host name");
    if (!Number.isInteger(port) || port < 1 || port > 65_535) refuse(`${source}.sentinels.${index}.port`, "expected a port from 1 to 65535");
    return { host: sentinel.host, port };
  });
  if (typeof settings.name !== "string" || !MASTER_NAME.test(settings.name))
    refuse(`${source}.name`, "expected the master name Sentinel monitors (letters, digits, '.', '_', '-')");
  const db = settings.db ?? 0;
  if (!Number.isInteger(db) || db < 0) refuse(`${source}.db`, "expected a database number (0 or more)");
  const optional = (key: "username" | "password" | "sentinelUsername" | "sentinelPassword") => {
    const value = settings[key];
    if (value !== undefined && typeof value !== "string") refuse(`${source}.${key}`, "expected a string");
    return value === undefined || value === "" ? {} : { [key]: value };
  };
  return {
    kind: "sentinel",
    sentinels,
    name: settings.name,
    db,
    ...optional("username"),
    ...optional("password"),
    ...optional("sentinelUsername"),
    ...optional("sentinelPassword"),
  };
}

/** Cluster settings (the config's `redis`, `createClient({ redis })`) as a target; throws like parseRedisUrl. */
export function clusterTarget(settings: ClusterSettings, source = "redis"): ClusterTarget {
  if (!Array.isArray(settings.cluster) || settings.cluster.length === 0) refuse(`${source}.cluster`, "expected at least one cluster node { host, port }");
  const nodes = settings.cluster.map((node, index) => {
    const port = node.port ?? DEFAULT_CLUSTER_PORT;
    if (typeof node.host !== "string" || node.host === "") refuse(`${source}.cluster.${index}.host`, "expected a host name");
    if (!Number.isInteger(port) || port < 1 || port > 65_535) refuse(`${source}.cluster.${index}.port`, "expected a port from 1 to 65535");
    return { host: node.host, port };
  });
  for (const key of ["username", "password"] as const) if (settings[key] !== undefined && typeof settings[key] !== "string") refuse(`${source}.${key}`, "expected a string");
  return {
    kind: "cluster",
    nodes,
    ...(settings.username === undefined || settings.username === "" ? {} : { username: settings.username }),
    ...(settings.password === undefined || settings.password === "" ? {} : { password: settings.password }),
  };
}

/**
 * The clock's Redis: the first setting given, each with the name errors call it by (an explicit
 * option, the config's `redis`), then REDIS_URL, then redis://127.0.0.1:6379.
 */
export function resolveRedisTarget(...choices: readonly [setting: RedisSetting | RedisTarget | undefined, source: string][]): RedisTarget {
  for (const [setting, source] of choices) {
    if (setting === undefined || setting === "") continue;
    if (typeof setting === "string") return parseRedisUrl(setting, source);
    if ("kind" in setting) return setting;
    return "cluster" in setting ? clusterTarget(setting, source) : sentinelTarget(setting, source);
  }
  const fromEnv = process.env["REDIS_URL"];
  return fromEnv === undefined || fromEnv === "" ? { kind: "url", url: DEFAULT_REDIS_URL } : parseRedisUrl(fromEnv, "REDIS_URL");
}

function asTarget(target: RedisTarget | string): RedisTarget | null {
  if (typeof target !== "string") return target;
  try {
    return parseRedisUrl(target);
  } catch {
    return null;
  }
}

/** "h1:26379,h2:26379" */
const addressList = (addresses: readonly SentinelAddress[]): string => addresses.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`).join(",");

export function sentinelList(target: SentinelTarget): string {
  return addressList(target.sentinels);
}

/**
 * A Redis address fit for logs: scheme, host, port and db, or the Sentinels and master name
 * (`redis+sentinel://h1:26379,h2:26379/mymaster`); never a user or password.
 */
export function redactRedisUrl(target: RedisTarget | string): string {
  const parsed = asTarget(target);
  if (parsed === null) return "(unparsable REDIS_URL)";
  if (parsed.kind === "sentinel") return `redis+sentinel://${sentinelList(parsed)}/${parsed.name}${parsed.db === 0 ? "" : `/${parsed.db}`}`;
  if (parsed.kind === "cluster") return `redis+cluster://${addressList(parsed.nodes)}`;
  if (!HAS_SCHEME.test(parsed.url)) return parsed.url.includes("@") ? "(unparsable REDIS_URL)" : parsed.url;
  try {
    const url = new URL(parsed.url);
    return `${url.protocol}//${url.hostname}${url.port === "" ? "" : `:${url.port}`}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return "(unparsable REDIS_URL)";
  }
}

/** The credentials a target carries (user names longer than 2 characters: shorter ones are words). */
function secretsOf(target: RedisTarget | string): { texts: string[]; raw: string | undefined } {
  const parsed = asTarget(target);
  if (parsed === null) return { texts: [], raw: typeof target === "string" ? target : undefined };
  if (parsed.kind === "cluster") {
    const passwords = parsed.password === undefined ? [] : [parsed.password, encodeURIComponent(parsed.password)];
    return { texts: [...passwords, ...(parsed.username !== undefined && parsed.username.length > 2 ? [parsed.username] : [])], raw: parsed.url };
  }
  if (parsed.kind === "sentinel") {
    const names = [parsed.username, parsed.sentinelUsername].filter((name): name is string => name !== undefined && name.length > 2);
    const passwords = [parsed.password, parsed.sentinelPassword].filter((word): word is string => word !== undefined && word !== "");
    return { texts: [...passwords, ...passwords.map(encodeURIComponent), ...names], raw: parsed.url };
  }
  try {
    const { password, username } = new URL(parsed.url);
    const texts: string[] = [];
    if (password !== "") texts.push(decodeURIComponent(password), password);
    if (username !== "" && username.length > 2) texts.push(decodeURIComponent(username));
    return { texts, raw: parsed.url };
  } catch {
    return { texts: [], raw: parsed.url };
  }
}

/** An error message with any credentials of the target (or URL) taken out. */
export function redactSecrets(message: string, target: RedisTarget | string): string {
  const { texts, raw } = secretsOf(target);
  let out = raw === undefined || raw === "" ? message : message.replaceAll(raw, redactRedisUrl(target));
  for (const text of texts.sort((a, b) => b.length - a.length)) out = out.replaceAll(text, "***");
  return out;
}

/** Where a Redis is, for messages: "Redis at 127.0.0.1:6379", "Redis master mymaster (Sentinels h1:26379,h2:26379)". */
function whereOf(target: RedisTarget | string): string {
  const parsed = asTarget(target);
  if (parsed === null) return "Redis at (unparsable REDIS_URL)";
  if (parsed.kind === "sentinel") return `Redis master ${parsed.name} (Sentinels ${sentinelList(parsed)})`;
  if (parsed.kind === "cluster") return `Redis Cluster at ${addressList(parsed.nodes)}`;
  if (!HAS_SCHEME.test(parsed.url)) return `Redis at ${parsed.url.includes("@") ? "(unparsable REDIS_URL)" : parsed.url}`;
  try {
    const { hostname, port } = new URL(parsed.url);
    return `Redis at ${hostname}:${port === "" ? "6379" : port}`;
  } catch {
    return `Redis at ${parsed.url.includes("@") ? "(unparsable REDIS_URL)" : parsed.url}`;
  }
}

function usernameOf(target: RedisTarget | string): string {
  const parsed = asTarget(target);
  if (parsed === null) return "";
  if (parsed.kind !== "url") return parsed.username ?? "";
  try {
    return decodeURIComponent(new URL(parsed.url).username);
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

/** ioredis when no Sentinel gave a primary: "All sentinels are unreachable[...]. Last error: <why>". */
const NO_SENTINEL = /^All sentinels are unreachable[^]*?(?:Last error: ([^]*))?$/;

/** One failure in words, `where` being what was asked ("Redis at host:port", "the Sentinels of ..."). */
function inWords(message: string, code: string | undefined, where: string, usesPassword: string, hasUser: boolean): string {
  if (/^WRONGPASS|^ERR invalid (password|username-password)/.test(message)) return `cannot log in to ${where}: Redis refused the ${hasUser ? "user name or password" : "password"}`;
  if (message.startsWith("NOAUTH")) return `cannot log in to ${where}: Redis asks for a password and ${usesPassword} has none`;
  if (/^ERR (AUTH|Client sent AUTH).*(no password|without any password)/.test(message)) return `cannot log in to ${where}: ${usesPassword} has a password but Redis has none set`;
  if (code !== undefined && NETWORK_WORDS[code] !== undefined) return `cannot reach ${where}: ${NETWORK_WORDS[code]}`;
  if (message.includes("NOREPLICAS")) return `${where} refused the write: not enough replicas in sync (min-replicas-to-write)`;
  if (message.includes("READONLY")) return `${where} is a read-only replica: point REDIS_URL at the primary`;
  if (message.startsWith("OOM")) return `${where} is out of memory (maxmemory reached)`;
  if (message.startsWith("LOADING")) return `${where} is still loading its data set`;
  if (message.startsWith("NOPERM")) return `${where} refused a command: the user lacks the permission (${message})`;
  return `${where}: ${message}`;
}

/**
 * A Redis failure in words, for logs and the CLI: "cannot reach Redis at 127.0.0.1:7149:
 * connection refused", "cannot log in to Redis at 127.0.0.1:7149: Redis refused the password",
 * "cannot reach any Sentinel of mymaster (h1:26379,h2:26379): connection refused"; never
 * ioredis' own wording ("Reached the max retries per request limit") nor a credential.
 * `connectionError`, the connection's last "error" event, explains a command that failed only
 * because the connection was down. `target` "" is an address not known (a given ioredis instance).
 */
export function describeRedisError(error: unknown, target: RedisTarget | string, connectionError?: unknown): string {
  const known = target !== "";
  const parsed = known ? asTarget(target) : null;
  const where = known ? whereOf(target) : "Redis";
  const first = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
  const symptom = isConnectionSymptom(first);
  const cause = (symptom && connectionError !== undefined ? connectionError : first) as { message?: unknown; code?: unknown };
  const message = typeof cause.message === "string" ? cause.message : String(error);
  const codeOf = (text: string, given: unknown): string | undefined => (typeof given === "string" ? given : /(?:^|\s)(E[A-Z_]{3,})\b/.exec(text)?.[1]);
  const usesPassword = parsed !== null && parsed.kind !== "url" && parsed.url === undefined ? "the redis setting" : "REDIS_URL";
  const hasUser = !["", "default"].includes(usernameOf(target));
  let words: string;
  const noSentinel = NO_SENTINEL.exec(message);
  if (noSentinel !== null && parsed?.kind === "sentinel") {
    const last = noSentinel[1];
    const sentinels = `the Sentinels of ${parsed.name} (${sentinelList(parsed)})`;
    if (last === undefined) words = `no Sentinel at ${sentinelList(parsed)} named a primary for "${parsed.name}" (a failover in progress?)`;
    else if (last.includes("No such master"))
      words = `no Sentinel at ${sentinelList(parsed)} monitors a master named "${parsed.name}" (check the name after the Sentinel addresses)`;
    // ioredis' Sentinel connections do not retry: a refused one reports only that it closed.
    else if (isConnectionSymptom({ message: last })) words = `cannot reach ${sentinels}: no Sentinel answered`;
    else words = inWords(last, codeOf(last, undefined), sentinels, "sentinelPassword", false);
  } else if (isConnectionSymptom(cause)) words = `cannot reach ${where}: not connected`;
  else words = inWords(message, codeOf(message, cause.code), where, usesPassword, hasUser);
  if (parsed?.kind === "sentinel" && words.endsWith("point REDIS_URL at the primary"))
    words = `${where}: the connection reached a replica (a failover in progress); reconnecting to the primary Sentinel names`;
  return known ? redactSecrets(words, target) : words;
}

const SENTINEL_RECONNECT_MAX_MS = 500;

/** Keeps asking the Sentinels with capped backoff; ioredis' connect() waits meanwhile (see settleConnect). */
const sentinelBackoff = (attempt: number): number => Math.min(100 * attempt, 2 * SECOND);

/** ioredis options for a target: a URL as it is, or Sentinel settings that follow a failover. */
function targetOptions(target: Exclude<RedisTarget, ClusterTarget>): RedisOptions {
  if (target.kind === "url") return {};
  return {
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.name,
    role: "master",
    db: target.db,
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.sentinelUsername === undefined ? {} : { sentinelUsername: target.sentinelUsername }),
    ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
    // Subscribes to +switch-master on the Sentinels: a failover drops the connection at once and
    // the reconnect asks Sentinel for the new primary (instead of waiting for the old one to fail).
    failoverDetector: true,
    sentinelRetryStrategy: sentinelBackoff,
    sentinelCommandTimeout: SECOND,
    // A connection still on the demoted primary gets READONLY for a write: drop it and reconnect
    // through Sentinel; the command fails and its caller retries (the planner with catch-up).
    reconnectOnError: (error: Error) => error.message.includes("READONLY"),
  };
}

/**
 * A connection that fails commands fast while disconnected (the planner retries with catch-up)
 * and reconnects with capped exponential backoff forever; through Sentinel, each reconnect asks
 * the Sentinels for the current primary.
 */
export function connectRedis(target: RedisTarget | string, options: RedisOptions = {}): Redis {
  const parsed = typeof target === "string" ? parseRedisUrl(target) : target;
  const base: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5 * SECOND,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2 * SECOND),
    lazyConnect: true,
  };
  if (parsed.kind === "url") return new Redis(parsed.url, { ...base, ...options });
  if (parsed.kind === "cluster") return connectCluster(parsed, base, options);
  // Through Sentinel a reconnect is a question to a Sentinel plus a connect to the primary it
  // names: cheap, and the sooner after a failover the sooner the clock fires again.
  base.retryStrategy = (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), SENTINEL_RECONNECT_MAX_MS);
  return new Redis({ ...base, ...targetOptions(parsed), ...options });
}

/**
 * A Redis Cluster through ioredis' Cluster client, which finds each key's node and follows slot
 * moves. Typed as a Redis: every command the clock sends names keys under one hash tag (one slot),
 * so each goes to one node; what differs on a cluster (a keyless TIME or WAIT) the clock does not
 * send there (see daemon/start.ts and the durability check).
 */
function connectCluster(target: ClusterTarget, base: RedisOptions, options: RedisOptions): Redis {
  const { enableOfflineQueue, lazyConnect, ...perNode } = { ...base, ...options };
  const cluster = new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      lazyConnect: lazyConnect ?? true,
      enableOfflineQueue: enableOfflineQueue ?? false,
      clusterRetryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), 2 * SECOND),
      redisOptions: {
        ...perNode,
        ...(target.username === undefined ? {} : { username: target.username }),
        ...(target.password === undefined ? {} : { password: target.password }),
      },
    },
  );
  return cluster as unknown as Redis;
}

/**
 * Connects, resolving once the connection is ready or has failed for the first time. Through
 * Sentinel, ioredis' connect() waits as long as no Sentinel answers; the first "error" it reports
 * ends the wait here, and the connection keeps retrying behind it.
 */
export async function settleConnect(redis: Redis): Promise<void> {
  await new Promise<void>((resolve) => {
    const done = (): void => {
      redis.off("error", done);
      resolve();
    };
    redis.once("error", done);
    redis.connect().then(done, done);
  });
}

/** Closes a connection: QUIT when live (a reconnecting one would wait for Redis), then drop what is left (Sentinel watchers). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") await redis.quit().catch(() => undefined);
  redis.disconnect();
}
