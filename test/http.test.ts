import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { Redis } from "ioredis";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
let n = 0;

before(async () => {
  server = await suite.redis(["--requirepass", "pw-secret-1"]);
});

async function runningClock(token?: string) {
  const namespace = `h${++n}`;
  const sink = new LogSink();
  const url = `redis://:pw-secret-1@127.0.0.1:${server.port}`;
  const config = parseConfig({
    namespace,
    adapter: "list",
    schedules: {
      "weekday-report": { cron: "0 9 * * 1-5", timezone: "America/New_York", job: { class: "Report", queue: `q${n}` } },
      tick: { every: "1s", job: { class: "Tick", queue: `q${n}` } },
    },
  });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: url });
  suite.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  const http = await startHttpServer(clock, { port: 0, token, clock: systemClock });
  return { clock, sink, base: addressOf(http), namespace, url };
}

test("/healthz is 200 for a leader with Redis up and 503 when Redis stops answering", async (t) => {
  const scope = testScope(t);
  const redis = await scope.redis();
  const sink = new LogSink();
  const config = parseConfig({ namespace: "health", adapter: "list", schedules: { tick: { every: "1s", job: { class: "T" } } } });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: redis.url });
  scope.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  const http = await startHttpServer(clock, { port: 0, clock: systemClock });
  const base = addressOf(http);
  const up = await fetch(`${base}/healthz`);
  assert.equal(up.status, 200);
  const body = (await up.json()) as Record<string, unknown>;
  assert.equal(body["status"], "ok");
  assert.equal(body["role"], "leader");
  await redis.stop(true);
  const down = await fetch(`${base}/healthz`);
  assert.equal(down.status, 503);
  assert.deepEqual(((await down.json()) as { reasons: string[] }).reasons, ["redis does not answer"]);
});

test("a flood of /api/status polls (no token needed to read) builds at most one page per half second", async () => {
  const { base, clock } = await runningClock();
  let builds = 0;
  const status = clock.status.bind(clock);
  clock.status = async (page) => {
    builds++;
    return status(page);
  };
  const startedAt = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 200 }, () =>
      fetch(`${base}/api/status`).then(async (response) => ({ status: response.status, body: (await response.json()) as { schedules: unknown[] } })),
    ),
  );
  assert.ok(
    answers.every((answer) => answer.status === 200 && answer.body.schedules.length === 2),
    "every poll is answered in full",
  );
  // At most one build per half second of the flood (a loaded machine stretches the flood past one).
  const allowed = 1 + Math.ceil((Date.now() - startedAt) / 500);
  assert.ok(builds <= allowed, `${builds} status builds for 200 polls in ${Date.now() - startedAt} ms`);
  await new Promise((resolve) => setTimeout(resolve, 600));
  await fetch(`${base}/api/status`);
  assert.ok(builds >= 2, "a poll after the half second sees a fresh page");
});

test("/metrics is Prometheus text with the clock's series", async () => {
  const { base, sink } = await runningClock();
  await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === "tick", 3000);
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  for (const name of [
    "clock_fires_total",
    "clock_fire_lag_seconds_bucket",
    "clock_catch_up_fires_total",
    "clock_skipped_slots_total",
    "clock_fence_refusals_total",
    "clock_leader",
    "clock_lease_transitions_total",
    "clock_redis_errors_total",
    "clock_schedules",
    "clock_invalid_schedules",
  ]) {
    assert.match(text, new RegExp(`^${name}`, "m"), `${name} is exported`);
  }
  assert.match(text, /^clock_fires_total\{schedule="tick",adapter="list"\} [1-9]/m);
  assert.match(text, /^clock_leader 1$/m);
  assert.match(text, /^clock_schedules 2$/m);
  // Every sample line is `name{labels} value`: what a Prometheus scrape accepts.
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    // Values as Prometheus parses them (Go's ParseFloat: numbers, NaN in any case, +Inf/-Inf).
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.]+(e[+-]?[0-9]+)?|nan|[+-]inf)$/i, line);
  }
});

test("no endpoint shows a secret: not the Redis password, not the lease token", async () => {
  const { base, sink, namespace } = await runningClock("tok");
  await sink.waitFor((line) => line.msg === "fired", 3000);
  const reader = new Redis(server.port, { password: "pw-secret-1" });
  const leaseToken = await reader.get(`{${namespace}}:lease`);
  reader.disconnect();
  assert.ok(leaseToken !== null && leaseToken.length > 10);
  const randomPart = leaseToken.split("|").at(-1) ?? "";
  for (const path of ["/", "/healthz", "/metrics", "/api/status"]) {
    const text = await (await fetch(`${base}${path}`)).text();
    assert.ok(!text.includes("pw-secret-1"), `${path} shows the Redis password`);
    assert.ok(!text.includes(randomPart), `${path} shows the lease token`);
    assert.ok(!text.includes(`127.0.0.1:${server.port}`), `${path} shows the Redis address`);
  }
  assert.ok(!sink.lines.some((line) => JSON.stringify(line).includes("pw-secret-1")), "the logs never show the password");
});

test("actions need the token: 403 without one configured, 401 with a wrong one, 200 with the right one", async () => {
  const readOnly = await runningClock();
  assert.equal((await fetch(`${readOnly.base}/api/schedules/tick/pause`, { method: "POST" })).status, 403);
  const { base } = await runningClock("s3cret-token");
  assert.equal((await fetch(`${base}/api/schedules/tick/pause`, { method: "POST" })).status, 401);
  assert.equal((await fetch(`${base}/api/schedules/tick/pause`, { method: "POST", headers: { authorization: "Bearer nope" } })).status, 401);
  const paused = await fetch(`${base}/api/schedules/tick/pause`, { method: "POST", headers: { authorization: "Bearer s3cret-token" } });
  assert.equal(paused.status, 200);
  const status = (await (await fetch(`${base}/api/status`)).json()) as { schedules: { name: string; paused: boolean }[]; actions: boolean };
  assert.equal(status.actions, true);
  assert.equal(status.schedules.find((s) => s.name === "tick")?.paused, true);
  const missing = await fetch(`${base}/api/schedules/ghost/trigger`, { method: "POST", headers: { authorization: "Bearer s3cret-token" } });
  assert.equal(missing.status, 404);
});

test("the status page in a real browser lists the schedules and shows a new fire without a reload", { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  assert.ok(existsSync("/usr/bin/chromium"), "Debian's chromium is needed (.ci/run installs it)");
  const { base } = await runningClock();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  scope.defer(() => browser.close());
  const page = await browser.newPage();
  await page.goto(base);
  await page.waitForSelector('tr[data-schedule="weekday-report"]', { timeout: 10_000 });
  const row = await page.textContent('tr[data-schedule="weekday-report"]');
  assert.match(row ?? "", /every weekday at 09:00 America\/New_York/);
  const before = await page.$$eval("#feed li.new", (items) => items.length);
  await page.waitForFunction(`document.querySelectorAll("#feed li.new").length > ${before}`, undefined, { timeout: 10_000 });
  const newest = await page.textContent("#feed li.new");
  assert.match(newest ?? "", /^tick /);
  assert.equal(await page.evaluate('performance.getEntriesByType("navigation").length'), 1, "no reload happened");
  // A schedule's name opens its timeline: a bar per slot from its history in Redis.
  await page.click('tr[data-schedule="tick"] a');
  await page.waitForSelector("#timeline rect", { timeout: 10_000 });
  assert.match((await page.textContent("#timeline-scale")) ?? "", /\d+ slots · max lag/);
  if (process.env["CLOCK_SCREENSHOT"] !== undefined) await page.screenshot({ path: process.env["CLOCK_SCREENSHOT"], fullPage: true });
});

test("/api/history/NAME gives the schedule's last slots from Redis, newest first, for the page's timeline; a pause is audited as the page", async () => {
  const { clock, base, namespace } = await runningClock("tok-history");
  await clock.events.next("fire:fired", ({ outcome }) => outcome.request.schedule.name === "tick", 5000);
  let entries: { kind: string; jobId: string; lagMs: number; result: null | string }[] = [];
  for (let tries = 0; entries.length === 0 && tries < 50; tries++) {
    entries = (await (await fetch(`${base}/api/history/tick?limit=5`)).json()) as typeof entries;
    if (entries.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(entries.length >= 1 && entries.length <= 5, JSON.stringify(entries));
  assert.equal(entries[0]?.kind, "on-time");
  assert.match(entries[0]?.jobId ?? "", /^clock-tick-\d+$/);
  assert.equal(entries[0]?.result, null, "no worker checked in");
  assert.deepEqual(await (await fetch(`${base}/api/history/nope`)).json(), []);
  const paused = await fetch(`${base}/api/schedules/tick/pause`, { method: "POST", headers: { authorization: "Bearer tok-history" } });
  assert.equal(paused.status, 200);
  const changes = createClient({ redis: `redis://:pw-secret-1@127.0.0.1:${server.port}`, namespace });
  try {
    const [change] = await changes.changes();
    assert.equal(change?.action, "pause");
    assert.match(change?.actor ?? "", /^status page \(/);
  } finally {
    await changes.close();
  }
});
