/**
 * The clock's HTTP endpoints, off by default: /healthz for probes, /metrics for Prometheus, and a
 * status page (/, /api/status, /api/events). Actions on schedules need a token; nothing here
 * ever shows the Redis URL or the lease token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { isIPv6, type AddressInfo } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import type { RunningClock } from "../daemon/running.ts";
import { ClockError, type ErrorCode } from "../errors.ts";
import { SECOND } from "../schedule/duration.ts";
import type { Clock } from "../time.ts";

type StatusPage = NonNullable<Parameters<RunningClock["status"]>[0]>;
import { STATUS_PAGE } from "./page.ts";

export interface HttpOptions {
  readonly port: number;
  /** Default 127.0.0.1: the page is for the people who run the clock, not the internet. */
  readonly host?: string;
  /** Enables pause/resume/trigger from the page and API; without one the page is read-only. */
  readonly token?: string | undefined;
  readonly clock: Clock;
  /**
   * Host header values accepted besides the bound host(s) (a guard against DNS rebinding: a web
   * page whose name resolves to this address must not read /api/status). A name without a port
   * matches any port; "*" accepts any Host. Bound to loopback, 127.0.0.1, localhost and [::1]
   * with the port are accepted; bound to every interface (0.0.0.0, ::), each interface's address
   * and this machine's host name as well.
   */
  readonly allowedHosts?: readonly string[];
}

/** Schedules per page of /api/status unless ?limit= says fewer (at most 1000; ?offset= pages on). */
const PAGE_LIMIT = 1000;

function send(response: ServerResponse, status: number, body: string, type = "application/json; charset=utf-8"): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
  response.end(body);
}

const json = (response: ServerResponse, status: number, value: unknown) => send(response, status, JSON.stringify(value));

/** Entries per /api/history answer at most (the config allows up to 10,000 per schedule). */
const HISTORY_LIMIT = 1000;

function tokenMatches(expected: string, header: string | undefined): boolean {
  const given = header?.startsWith("Bearer ") === true ? header.slice(7) : "";
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function statusBody(running: RunningClock, clock: Clock, page: StatusPage, actions: boolean): Promise<Record<string, unknown>> {
  const status = await running.status(page);
  const lastLag = new Map<string, number>();
  for (const fire of running.recentFires) lastLag.set(fire.schedule, fire.lagMs);
  return {
    generatedAt: clock.now(),
    self: { role: running.leadership.isLeader() ? "leader" : "standby", pid: process.pid },
    ...status,
    schedules: status.schedules.map((schedule) => ({ ...schedule, lastLagMs: lastLag.get(schedule.name) ?? null })),
    recentFires: running.recentFires.slice(-50),
    actions,
  };
}

/**
 * How long a page of /api/status is answered from the last one built: anyone who can reach the
 * port (no token needed to read) can poll it, and a flood of polls must not cost a status build
 * each, which would steal the event loop from the slots. The page refreshes itself every few s.
 */
const STATUS_FRESH_MS = 500;

/** Answers built at most once per `freshMs` per key; callers that arrive meanwhile share the one in flight. */
class Recent<T> {
  readonly #clock: Clock;
  readonly #freshMs: number;
  readonly #entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(clock: Clock, freshMs: number) {
    this.#clock = clock;
    this.#freshMs = freshMs;
  }

  get(key: string, build: () => Promise<T>): Promise<T> {
    const now = this.#clock.monotonic();
    const entry = this.#entries.get(key);
    if (entry !== undefined && now - entry.at < this.#freshMs) return entry.value;
    // A handful of keys (pages) at most are in use; drop the stale ones rather than grow.
    for (const [other, { at }] of this.#entries) if (now - at >= this.#freshMs) this.#entries.delete(other);
    const value = build();
    this.#entries.set(key, { at: now, value });
    // A failed build is not kept: the next caller tries again.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1"];
const isLoopback = (host: string): boolean => LOOPBACK_NAMES.includes(host) || host.startsWith("127.");
const withBrackets = (host: string): string => (isIPv6(host) ? `[${host}]` : host).toLowerCase();

/** The Host header values this server answers to: each bound name with the port, and the configured extras. */
export function allowedHostsFor(boundHost: string, port: number, extra: readonly string[] = []): { any: boolean; exact: Set<string>; names: Set<string> } {
  const names = new Set<string>();
  if (boundHost === "0.0.0.0" || boundHost === "::" || boundHost === "") {
    for (const addresses of Object.values(networkInterfaces())) for (const address of addresses ?? []) names.add(address.address.replace(/%.*$/, ""));
    for (const name of [...LOOPBACK_NAMES, hostname()]) names.add(name);
  } else if (isLoopback(boundHost)) for (const name of [boundHost, ...LOOPBACK_NAMES]) names.add(name);
  else names.add(boundHost);
  const exact = new Set<string>();
  for (const name of names) {
    exact.add(`${withBrackets(name)}:${port}`);
    if (port === 80) exact.add(withBrackets(name));
  }
  const extraNames = new Set<string>();
  for (const entry of extra) {
    const value = entry.trim().toLowerCase();
    if (value === "") continue;
    if (/^(\[[^\]]+\]|[^:[\]]+):\d+$/.test(value))
      exact.add(value); // host:port, [v6]:port
    else extraNames.add(withBrackets(value.replace(/^\[(.*)\]$/, "$1")));
  }
  return { any: extraNames.has("*"), exact, names: extraNames };
}

/** The host part of a Host header value: "example.com:9090" -> "example.com", "[::1]:9090" -> "[::1]". */
const hostPart = (header: string): string => (header.startsWith("[") ? header.slice(0, header.indexOf("]") + 1) : header.replace(/:\d*$/, ""));

/** HTTP status by error code: one table, never a guess from a message. */
const STATUS_OF: Readonly<Record<ErrorCode, number>> = { invalid: 400, "not-found": 404, clash: 409, redis: 503, script: 500, "not-enqueued": 502, "no-leader": 503 };

/** A small JSON object body ({} when empty); null when it is not one. */
async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown> | null> {
  let text = "";
  for await (const chunk of request) {
    text += String(chunk);
    if (text.length > 8192) return null;
  }
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function startHttpServer(running: RunningClock, options: HttpOptions): Promise<Server> {
  const { clock } = options;
  const token = options.token === "" ? undefined : options.token;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: (error as Error).message });
      else response.end();
    });
  });

  const statusPages = new Recent<string>(clock, STATUS_FRESH_MS);
  let allowed: ReturnType<typeof allowedHostsFor> | null = null;
  let boundNames = "";

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const host = (request.headers.host ?? "").toLowerCase();
    if (allowed !== null && !allowed.any && !allowed.exact.has(host) && !allowed.names.has(hostPart(host))) {
      return json(response, 403, {
        error: `Host ${JSON.stringify(request.headers.host ?? "")} is not allowed: this server answers to ${boundNames} (a guard against DNS rebinding). To reach it under another name, start the clock with --http-allowed-host NAME (or allowedHosts in startHttpServer)`,
      });
    }
    const url = new URL(request.url ?? "/", "http://clock.local");
    const path = url.pathname;
    if (request.method === "GET" && path === "/healthz") {
      const { healthy, body } = await running.health();
      json(response, healthy ? 200 : 503, body);
      return;
    }
    if (request.method === "GET" && path === "/metrics") {
      send(response, 200, await running.metrics.registry.metrics(), running.metrics.registry.contentType);
      return;
    }
    if (request.method === "GET" && path === "/") {
      send(response, 200, STATUS_PAGE, "text/html; charset=utf-8");
      return;
    }
    if (request.method === "GET" && path === "/api/status") {
      // ?group=tenant-42, ?label=team=billing (repeatable): only the matching schedules, paged.
      const labels = Object.fromEntries(url.searchParams.getAll("label").map((pair) => [pair.slice(0, Math.max(0, pair.indexOf("="))), pair.slice(pair.indexOf("=") + 1)]));
      const group = url.searchParams.get("group");
      const page: StatusPage = {
        offset: Number(url.searchParams.get("offset") ?? 0),
        limit: Number(url.searchParams.get("limit") ?? PAGE_LIMIT),
        ...(Object.keys(labels).length === 0 ? {} : { labels }),
        ...(group === null ? {} : { group }),
      };
      const cacheKey = `${page.offset}|${page.limit}|${group ?? ""}|${JSON.stringify(labels)}`;
      send(response, 200, await statusPages.get(cacheKey, () => statusBody(running, clock, page, token !== undefined).then((body) => JSON.stringify(body))));
      return;
    }
    const historyOf = /^\/api\/history\/([^/]+)$/.exec(path);
    if (request.method === "GET" && historyOf !== null) {
      let name: string;
      try {
        name = decodeURIComponent(historyOf[1] ?? "");
      } catch {
        return json(response, 400, { error: `bad percent-encoding in the schedule name ${JSON.stringify(historyOf[1] ?? "")}` });
      }
      const limit = Math.min(Math.max(1, Number(url.searchParams.get("limit") ?? 100) || 100), HISTORY_LIMIT);
      return json(response, 200, await running.history(name, { limit }));
    }
    if (request.method === "GET" && path === "/api/events") {
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      response.write(": connected\n\n");
      const off = running.events.on("fire:fired", ({ outcome, lagMs }) => {
        const data = { schedule: outcome.request.schedule.name, slotAt: outcome.request.slotAt, lagMs, jobId: outcome.jobId };
        response.write(`event: fired\ndata: ${JSON.stringify(data)}\n\n`);
      });
      const keepAlive = setInterval(() => response.write(": ping\n\n"), 15 * SECOND);
      request.on("close", () => {
        clearInterval(keepAlive);
        off();
      });
      return;
    }
    const groupAction = /^\/api\/groups\/([^/]+)\/(pause|resume)$/.exec(path);
    if (request.method === "POST" && groupAction !== null) {
      if (token === undefined) return json(response, 403, { error: "actions are disabled: start the clock with CLOCK_HTTP_TOKEN set" });
      if (!tokenMatches(token, request.headers.authorization)) return json(response, 401, { error: "missing or wrong token" });
      if (running.dryRun) return json(response, 409, { error: "no Redis in a dry run" });
      let group: string;
      try {
        group = decodeURIComponent(groupAction[1] ?? "");
      } catch {
        return json(response, 400, { error: `bad percent-encoding in the group name ${JSON.stringify(groupAction[1] ?? "")}` });
      }
      const verb = groupAction[2] as "pause" | "resume";
      try {
        const result = verb === "pause" ? await running.pauseGroup(group) : await running.resumeGroup(group);
        return json(response, 200, { ok: true, action: verb, ...result });
      } catch (error) {
        if (!(error instanceof ClockError)) throw error;
        return json(response, STATUS_OF[error.code], { error: error.message, code: error.code });
      }
    }
    const action = /^\/api\/schedules\/([^/]+)\/(pause|resume|trigger)$/.exec(path);
    if (request.method === "POST" && action !== null) {
      if (token === undefined) return json(response, 403, { error: "actions are disabled: start the clock with CLOCK_HTTP_TOKEN set" });
      if (!tokenMatches(token, request.headers.authorization)) return json(response, 401, { error: "missing or wrong token" });
      if (running.dryRun) return json(response, 409, { error: "no Redis in a dry run" });
      let name: string;
      try {
        name = decodeURIComponent(action[1] ?? "");
      } catch {
        return json(response, 400, { error: `bad percent-encoding in the schedule name ${JSON.stringify(action[1] ?? "")}` });
      }
      const verb = action[2] as "pause" | "resume" | "trigger";
      // The token has no name: the audit says the page did it, and from where.
      const actor = `status page (${request.socket.remoteAddress ?? "unknown"})`;
      try {
        if (verb === "trigger") return json(response, 200, await running.trigger(name, { actor }));
        if (verb === "pause") {
          // An optional JSON body { reason, until }; no body is a plain pause.
          const body = await readJsonBody(request);
          if (body === null) return json(response, 400, { error: 'expected a JSON object { "reason"?: string, "until"?: ISO-8601 } or no body' });
          await running.pause(name, {
            actor,
            ...(typeof body["reason"] === "string" ? { reason: body["reason"] } : {}),
            ...(typeof body["until"] === "string" || typeof body["until"] === "number" ? { until: body["until"] } : {}),
          });
          return json(response, 200, { ok: true, schedule: name, action: verb });
        }
        await running[verb](name, { actor });
        return json(response, 200, { ok: true, schedule: name, action: verb });
      } catch (error) {
        if (!(error instanceof ClockError)) throw error;
        return json(response, STATUS_OF[error.code], { error: error.message, code: error.code });
      }
    }
    json(response, 404, { error: "not found" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  // Known once bound: the port may have been 0 (any free one).
  const boundHost = options.host ?? "127.0.0.1";
  allowed = allowedHostsFor(boundHost, (server.address() as AddressInfo).port, options.allowedHosts);
  // Bound to every interface, the names stay unsaid: a rebinding page can read this answer.
  boundNames = ["0.0.0.0", "::", ""].includes(boundHost) ? "the addresses of this machine's interfaces and its host name" : [...allowed.exact].join(", ");
  running.onStop(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return server;
}

export function addressOf(server: Server): string {
  const address = server.address() as AddressInfo;
  return `http://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
}
