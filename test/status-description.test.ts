/**
 * A schedule's `description` is the user's text wherever status is shown (the status page, its
 * JSON, `clock status --json`); the rule in words has a key of its own, `ruleInWords`.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import { assertBuilt, runClock } from "./helpers/process.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { configModule, suiteScope, testScope } from "./helpers/scope.ts";
const REPORT_DESCRIPTION = "Sends the <b>weekday</b> report to finance";
const DYNAMIC_DESCRIPTION = "Tenant 42's digest";

const SCHEDULES = {
  "weekday-report": { cron: "0 9 * * 1-5", timezone: "America/New_York", description: REPORT_DESCRIPTION, job: { class: "Report" } },
  tick: { every: "1h", job: { class: "Tick" } },
};

const suite = suiteScope();
let server: TestRedis;
let base: string;

interface StatusRow {
  readonly name: string;
  readonly rule: string;
  readonly ruleInWords: string;
  readonly description: string | null;
}

before(async () => {
  server = await suite.redis();
  const sink = new LogSink();
  const config = parseConfig({ namespace: "desc", adapter: "list", schedules: SCHEDULES });
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  suite.defer(() => clock.stop());
  await sink.waitFor((line) => line.msg === "leadership acquired");
  const client = createClient({ redis: server.url, config });
  try {
    await client.schedules.set("digest-42", { every: "1d", description: DYNAMIC_DESCRIPTION, adapter: "list", job: { class: "Digest", args: [42] } });
  } finally {
    await client.close();
  }
  base = addressOf(await startHttpServer(clock, { port: 0, clock: systemClock }));
});

function byName(rows: readonly StatusRow[], name: string): StatusRow {
  const row = rows.find((candidate) => candidate.name === name);
  assert.ok(row !== undefined, `${name} is listed`);
  return row;
}

test("/api/status: description is the user's text, the rule in words is ruleInWords, the rule as written is rule", async () => {
  const status = (await (await fetch(`${base}/api/status`)).json()) as { schedules: StatusRow[] };
  const report = byName(status.schedules, "weekday-report");
  assert.equal(report.description, REPORT_DESCRIPTION);
  assert.equal(report.ruleInWords, "every weekday at 09:00 America/New_York");
  assert.equal(report.rule, 'cron "0 9 * * 1-5"');
  assert.equal(byName(status.schedules, "tick").description, null, "a schedule without a description has null, not the rule in words");
  assert.equal(byName(status.schedules, "digest-42").description, DYNAMIC_DESCRIPTION, "a dynamic schedule's description too");
});

test("clock status --json shows the user's description and ruleInWords", async (t) => {
  assertBuilt();
  const dir = testScope(t).tempDir({ "clock.config.mjs": configModule({ namespace: "desc", adapter: "list", schedules: SCHEDULES }) });
  const result = await runClock(["status", "--json"], { cwd: dir, env: { REDIS_URL: server.url } });
  assert.equal(result.code, 0, result.stderr);
  const status = JSON.parse(result.stdout) as { schedules: StatusRow[] };
  const report = byName(status.schedules, "weekday-report");
  assert.equal(report.description, REPORT_DESCRIPTION);
  assert.equal(report.ruleInWords, "every weekday at 09:00 America/New_York");
  assert.equal(byName(status.schedules, "digest-42").description, DYNAMIC_DESCRIPTION);
});

test("the status page in a real browser shows each schedule's description, as text, beside the rule in words", { timeout: 60_000 }, async (t) => {
  const scope = testScope(t);
  assert.ok(existsSync("/usr/bin/chromium"), "Debian's chromium is needed (.ci/run installs it)");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  scope.defer(() => browser.close());
  const page = await browser.newPage();
  await page.goto(base);
  await page.waitForSelector('tr[data-schedule="weekday-report"]', { timeout: 10_000 });
  const cells = await page.$$eval('tr[data-schedule="weekday-report"] td', (tds) => tds.map((td) => td.textContent ?? ""));
  assert.ok((cells[0] ?? "").includes(REPORT_DESCRIPTION), `the name cell shows the description: ${JSON.stringify(cells)}`);
  assert.equal(cells[1], "every weekday at 09:00 America/New_York");
  assert.equal(await page.$$eval('tr[data-schedule="weekday-report"] b', (bold) => bold.length), 0, "the description is text, never markup");
  const digest = await page.textContent('tr[data-schedule="digest-42"] td');
  assert.ok((digest ?? "").includes(DYNAMIC_DESCRIPTION), digest ?? "");
  const tick = await page.textContent('tr[data-schedule="tick"] td');
  assert.equal(tick, "tick", "no description, no extra line");
});
