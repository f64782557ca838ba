/**
 * Issue 11, item 6: small ones found on the way. `__proto__` in job.options is refused; a resume
 * heard after its first slot logs no false "timer woke late"; a bad percent-encoding is a 400; the
 * HTTP server answers only to the Host names it is bound to (DNS rebinding); a change notification
 * during a failing reconcile is reported, not an unhandled rejection.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { Redis } from "ioredis";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { addressOf, ConfigError, createClient, parseConfig, startClock, startHttpServer, systemClock, type RunningClock } from "../src/index.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { SECOND } from "../src/time.ts";
import { FakeClock } from "./helpers/fake-clock.ts";
import { LogSink } from "./helpers/logs.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

let server: TestRedis;
let redis: Redis;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
  redis.disconnect();
  await server.close();
});

async function running(namespace: string): Promise<{ clock: RunningClock; sink: LogSink }> {
  const sink = new LogSink();
  const config = parseConfig({ namespace, adapter: "list", lease: { ttl: "2s", retry: "200ms" }, schedules: { tick: { every: "1s", job: { class: "Tick", queue: namespace } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  stops.push(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  return { clock, sink };
}

/** A GET or POST with a Host header of our choosing (fetch does not let one set it). */
function send(base: string, path: string, options: { host?: string; method?: string; token?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? url.host, ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }) },
      },
      (response) => {
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk.toString()));
        response.on("end", () => {
          let body: Record<string, unknown> = {};
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { text };
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

test("job.options with a __proto__ key is refused at validation, in the config and in a dynamic schedule, like everywhere else", async () => {
  const options = JSON.parse('{"__proto__": {"polluted": true}, "retry": 3}') as Record<string, unknown>;
  assert.throws(
    () => parseConfig({ adapter: "sidekiq", schedules: { report: { every: "1m", job: { class: "Report", options } } } }),
    (error: unknown) => error instanceof ConfigError && /schedules\.report\.job\.options\.__proto__: "__proto__" is not allowed as a key/.test(error.message),
  );
  const client = createClient({ redis: server.url, namespace: "proto" });
  try {
    const definition = JSON.parse('{"every": "1m", "adapter": "sidekiq", "job": {"class": "Report", "options": {"__proto__": {"x": 1}}}}') as Record<string, unknown>;
    await assert.rejects(client.schedules.set("report-42", definition as never), (error: unknown) => error instanceof ConfigError && /job\.options\.__proto__/.test(error.message));
    assert.equal(await redis.hexists(clockKeys("proto").schedules, "report-42"), 0, "nothing stored");
  } finally {
    await client.close();
  }
});

test('a schedule resumed (or added) after its first slot has passed is no late timer: no "timer woke late"', async () => {
  const T0 = Date.parse("2026-01-05T10:00:00.000Z");
  const clock = new FakeClock(T0);
  const events = new ClockEvents();
  const late: number[] = [];
  events.on("planner:late-wake", ({ lateMs }) => late.push(lateMs));
  const fired: number[] = [];
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    requests.map((request) => {
      fired.push(request.slotAt);
      return { request, status: "fired", jobId: String(request.slotAt), redisAt: clock.now() };
    });
  const defaults = { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP };
  const other = parseSchedule("other", { every: "1h", job: { class: "Other" } }, defaults);
  const tick = parseSchedule("tick", { every: "1s", job: { class: "Tick" } }, defaults);
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(), leadership, events });
  planner.start([other]);
  await leadership.start();
  await clock.advance(5 * SECOND + 500);
  // Resumed at T0 + 4.2 s by Redis time, heard 1.3 s later (a reconcile, a busy clock): the slot
  // at T0 + 5 s is due already when the planner hears of it. Its timer is not late.
  planner.upsert(tick, T0 + 4200 - 1);
  await clock.advance(2 * SECOND);
  assert.deepEqual(
    fired.map((at) => at - T0),
    [5 * SECOND, 6 * SECOND, 7 * SECOND],
  );
  assert.deepEqual(late, [], "a late-wake warning for a timer that fired when asked");
  // A process that really was paused still says so.
  clock.freeze(2 * SECOND);
  await clock.advance(10);
  assert.equal(late.length, 1, "a frozen process is reported as a late wake");
  await planner.stop();
});

test("a bad percent-encoding in a URL answers 400, not 500", async () => {
  const { clock } = await running("http-encoding");
  const http = await startHttpServer(clock, { port: 0, token: "t0ken", clock: systemClock });
  const base = addressOf(http);
  const bad = await send(base, "/api/schedules/%E0%A4%A/pause", { method: "POST", token: "t0ken" });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.match(String(bad.body["error"]), /bad percent-encoding/);
  const good = await send(base, "/api/schedules/tick/pause", { method: "POST", token: "t0ken" });
  assert.equal(good.status, 200, JSON.stringify(good.body));
});

test("the HTTP server answers only to the Host names it is bound to (DNS rebinding), and to those it is told to allow", async () => {
  const { clock } = await running("http-host");
  const http = await startHttpServer(clock, { port: 0, clock: systemClock });
  const base = addressOf(http);
  const port = new URL(base).port;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
    const answer = await send(base, "/api/status", { host });
    assert.equal(answer.status, 200, `${host}: ${JSON.stringify(answer.body)}`);
  }
  for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.1:${Number(port) + 1}`]) {
    for (const path of ["/api/status", "/healthz", "/metrics", "/"]) {
      const refused = await send(base, path, { host });
      assert.equal(refused.status, 403, `${host} ${path}: ${JSON.stringify(refused.body)}`);
      assert.match(
        String(refused.body["error"]),
        /is not allowed: this server answers to 127\.0\.0\.1:\d+, localhost:\d+, \[::1\]:\d+ \(a guard against DNS rebinding\)\. To reach it under another name, start the clock with --http-allowed-host NAME/,
      );
    }
  }
  const named = await startHttpServer(clock, { port: 0, clock: systemClock, allowedHosts: ["clock-1", "clock-2.internal:9999"] });
  const namedBase = addressOf(named);
  const namedPort = new URL(namedBase).port;
  assert.equal((await send(namedBase, "/healthz", { host: `clock-1:${namedPort}` })).status, 200, "an allowed name, any port");
  assert.equal((await send(namedBase, "/healthz", { host: "clock-2.internal:9999" })).status, 200, "an allowed name:port (behind a proxy)");
  assert.equal((await send(namedBase, "/healthz", { host: `clock-2.internal:${namedPort}` })).status, 403, "name:port allows that port only");
  assert.equal((await send(namedBase, "/healthz", { host: `evil.example:${namedPort}` })).status, 403);
  const any = await startHttpServer(clock, { port: 0, clock: systemClock, allowedHosts: ["*"] });
  assert.equal((await send(addressOf(any), "/healthz", { host: "anything.example" })).status, 200, '"*" accepts any Host');
});

test("a change notification during a failing reconcile is reported as a failed task, never an unhandled rejection", async () => {
  const namespace = "notify-fails";
  const keys = clockKeys(namespace);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on("unhandledRejection", onUnhandled);
  try {
    const { clock } = await running(namespace);
    // The dynamic-schedule hash replaced by a string: every reconcile fails (WRONGTYPE).
    await redis.set(keys.schedules, "corrupt");
    const reported = clock.events.next("task:failed", ({ task }) => task === "apply change", 5 * SECOND);
    const rejected = new Promise<void>((resolve) => process.once("unhandledRejection", () => resolve()));
    // A notification whose version skips ahead: the clock reconciles, and the reconcile fails.
    await redis.publish(keys.changes, "999 set report-42");
    await Promise.race([reported, rejected, new Promise((resolve) => setTimeout(resolve, 5 * SECOND))]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(unhandled.map(String), [], "an unhandled rejection (the CLI logs it as a bug)");
    const { error } = await reported;
    assert.match(error.message, /WRONGTYPE/);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await redis.del(keys.schedules);
  }
});
