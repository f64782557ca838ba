/**
 * The clock's HTTP endpoints, off by default: /healthz for probes, /metrics for Prometheus, and a
 * status page (/, /api/status, /api/events). Actions on schedules need a token; nothing here
 * ever shows the Redis URL or the lease token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FireOutcome } from "../fire/fire.ts";
import type { RunningClock } from "../runner.ts";
import { SECOND } from "../schedule/duration.ts";
import type { Clock } from "../time.ts";
import { STATUS_PAGE } from "./page.ts";

export interface HttpOptions {
  readonly port: number;
  /** Default 127.0.0.1: the page is for the people who run the clock, not the internet. */
  readonly host?: string;
  /** Enables pause/resume/trigger from the page and API; without one the page is read-only. */
  readonly token?: string | undefined;
  readonly clock: Clock;
}

/** The planner wakes at least once a second; this long without a wake-up means it is stuck. */
const STALL_MS = 5 * SECOND;
/** Schedules listed on the page at most (the API takes ?limit=). */
const PAGE_LIMIT = 1000;

function send(response: ServerResponse, status: number, body: string, type = "application/json; charset=utf-8"): void {
  response.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
  response.end(body);
}

const json = (response: ServerResponse, status: number, value: unknown) => send(response, status, JSON.stringify(value));

function tokenMatches(expected: string, header: string | undefined): boolean {
  const given = header?.startsWith("Bearer ") === true ? header.slice(7) : "";
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function health(running: RunningClock, clock: Clock): Promise<{ healthy: boolean; body: Record<string, unknown> }> {
  const redis = await running.ping();
  const sinceWakeMs = clock.now() - running.planner.lastWakeAt;
  const leader = running.leadership.isLeader();
  const reasons: string[] = [];
  if (!redis) reasons.push("redis does not answer");
  if (sinceWakeMs > STALL_MS) reasons.push(`planner has not run for ${Math.round(sinceWakeMs)} ms`);
  // A config that differs from the leader's is a warning, not unhealthy: a rolling deploy runs two
  // configs for a while, and a failing probe would restart this pod (fixing nothing) or keep it
  // from becoming ready, so the deploy that ends the mismatch would never finish.
  const configMismatch = running.configWatch?.mismatch ?? null;
  const warnings = configMismatch === null ? [] : [`config differs from the leader's (${configMismatch.fingerprint} here, ${configMismatch.leaderFingerprint} on ${configMismatch.leader.host}/${configMismatch.leader.pid})`];
  return {
    healthy: reasons.length === 0,
    body: {
      status: reasons.length === 0 ? "ok" : "unhealthy",
      role: leader ? "leader" : "standby",
      redis,
      plannerLastRunMsAgo: Math.round(sinceWakeMs),
      reasons,
      configFingerprint: running.configWatch?.fingerprint ?? null,
      configMismatch,
      warnings,
    },
  };
}

async function statusBody(running: RunningClock, clock: Clock, limit: number, actions: boolean): Promise<Record<string, unknown>> {
  const now = clock.now();
  const status = running.client === null ? null : await running.client.status(now);
  const lastLag = new Map<string, number>();
  for (const fire of running.recentFires) lastLag.set(fire.schedule, fire.lagMs);
  const schedules = (status?.schedules ?? []).slice(0, limit).map((schedule) => ({ ...schedule, lastLagMs: lastLag.get(schedule.name) ?? null }));
  return {
    generatedAt: now,
    self: { role: running.leadership.isLeader() ? "leader" : "standby", pid: process.pid },
    leader: status?.leader ?? null,
    peers: status?.peers ?? [],
    fenceRefusals: status?.fenceRefusals ?? 0,
    invalidEntries: status?.invalidEntries ?? 0,
    configMismatch: status?.configMismatch ?? null,
    total: status?.schedules.length ?? 0,
    schedules,
    recentFires: running.recentFires.slice(-50),
    actions,
  };
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

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://clock.local");
    const path = url.pathname;
    if (request.method === "GET" && path === "/healthz") {
      const { healthy, body } = await health(running, clock);
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
      const limit = Math.min(Number(url.searchParams.get("limit") ?? PAGE_LIMIT) || PAGE_LIMIT, 100_000);
      json(response, 200, await statusBody(running, clock, limit, token !== undefined));
      return;
    }
    if (request.method === "GET" && path === "/api/events") {
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      response.write(": connected\n\n");
      const onFired = (outcome: FireOutcome, lagMs: number): void => {
        const data = { schedule: outcome.request.schedule.name, slotAt: outcome.request.slotAt, lagMs, jobId: outcome.jobId };
        response.write(`event: fired\ndata: ${JSON.stringify(data)}\n\n`);
      };
      running.on("fired", onFired);
      const keepAlive = setInterval(() => response.write(": ping\n\n"), 15 * SECOND);
      request.on("close", () => {
        clearInterval(keepAlive);
        running.off("fired", onFired);
      });
      return;
    }
    const action = /^\/api\/schedules\/([^/]+)\/(pause|resume|trigger)$/.exec(path);
    if (request.method === "POST" && action !== null) {
      if (token === undefined) return json(response, 403, { error: "actions are disabled: start the clock with CLOCK_HTTP_TOKEN set" });
      if (!tokenMatches(token, request.headers.authorization)) return json(response, 401, { error: "missing or wrong token" });
      const client = running.client;
      if (client === null) return json(response, 409, { error: "no Redis in a dry run" });
      const name = decodeURIComponent(action[1] ?? "");
      const verb = action[2] as "pause" | "resume" | "trigger";
      try {
        if (verb === "trigger") return json(response, 200, await client.trigger(name));
        await client.schedules[verb](name);
        return json(response, 200, { ok: true, schedule: name, action: verb });
      } catch (error) {
        const message = (error as Error).message;
        return json(response, /not found/.test(message) ? 404 : 400, { error: message });
      }
    }
    json(response, 404, { error: "not found" });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
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
