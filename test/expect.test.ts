/**
 * Expectations and alerts, in process on a throwaway redis-server: a clock fires every second into
 * real BullMQ queues (one with no worker running, one whose worker throws) and a list whose consumer
 * checks in with client.checkIn; the leader's states show on /api/status, in /metrics and as webhook
 * posts to a local HTTP server, and go back to ok once the jobs succeed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker, type Job } from "bullmq";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock } from "../src/index.ts";
import { LogSink } from "./helpers/logs.ts";
import { testScope } from "./helpers/scope.ts";

interface Posted {
  readonly schedule: string;
  readonly state: string;
  readonly previous: string | null;
  readonly error: string | null;
  readonly reason: string;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

test(
  "a stopped worker makes its schedule late, a throwing one failed with its error class, on the page, in the metric and as webhook posts; both back to ok after success",
  { timeout: 30_000 },
  async (t) => {
    const scope = testScope(t);
    const redis = await scope.redis();

    // The webhook: answers 500 to its first post (retried with backoff), 200 after.
    const posts: Posted[] = [];
    const auth: (string | undefined)[] = [];
    let answered = 0;
    const hook = createServer((request, response) => {
      void bodyOf(request).then((body) => {
        auth.push(request.headers.authorization);
        if (answered++ === 0) {
          response.writeHead(500).end();
          return;
        }
        posts.push(JSON.parse(body) as Posted);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    scope.defer(() => new Promise((resolve) => hook.close(resolve)));
    const webhook = `http://alerter:hook-pass-1@127.0.0.1:${(hook.address() as AddressInfo).port}/hook?token=hook-token-1`;

    const expect = { startWithin: "2s" };
    const config = parseConfig({
      namespace: "expect",
      alerts: { webhook },
      schedules: {
        stalled: { every: "1s", adapter: "bullmq", expect, job: { class: "Stalled", queue: "stalled" } },
        failing: { every: "1s", adapter: "bullmq", expect, job: { class: "Failing", queue: "failing" } },
        listed: { every: "1s", adapter: "list", expect: { startWithin: "2s", finishWithin: "3s" }, job: { class: "Listed", queue: "listed" } },
        plain: { every: "1s", adapter: "list", job: { class: "Plain", queue: "plain" } },
      },
    });
    const sink = new LogSink();
    const clock = await startClock({ config, logger: sink.logger, redisUrl: redis.url });
    scope.defer(() => clock.stop());
    const http = await startHttpServer(clock, { port: 0, clock: systemClock });
    const base = addressOf(http);

    // A worker that throws a TypeError until told otherwise; the "stalled" queue has none yet.
    let failing = true;
    const workers: Worker[] = [];
    const workerOn = (queue: string, run: (job: Job) => Promise<void>): void => {
      const worker = new Worker(queue, run, { connection: scope.client(redis.url, { maxRetriesPerRequest: null }), concurrency: 4 });
      worker.on("error", () => undefined);
      workers.push(worker);
      scope.defer(() => worker.close(true));
    };
    workerOn("failing", async () => {
      if (failing) throw new TypeError("no report today");
    });
    // The list consumer checks in through the client: started, then succeeded.
    const client = createClient({ redis: redis.url, namespace: "expect" });
    scope.defer(() => client.close());
    const consumer = scope.client(redis.url);
    let consuming = true;
    const consumed = (async () => {
      while (consuming) {
        const popped = await consumer.blpop("jobs:listed", 0.2).catch(() => null);
        if (popped === null) continue;
        const { id } = JSON.parse(popped[1]) as { id: string };
        await client.checkIn(id, "started");
        await client.checkIn(id, "succeeded");
      }
    })();
    scope.defer(async () => {
      consuming = false;
      await consumed;
    });

    const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 12_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline)
          throw new Error(
            `timed out waiting for ${what}; posts: ${JSON.stringify(posts)}\n${sink.lines
              .filter((line) => line.msg !== "fired")
              .map((line) => JSON.stringify(line))
              .join("\n")}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const posted = (schedule: string, state: string) => posts.find((post) => post.schedule === schedule && post.state === state);

    await until("stalled late and failing failed, posted", () => posted("stalled", "late") !== undefined && posted("failing", "failed") !== undefined);
    assert.equal(posted("failing", "failed")?.error, "TypeError");
    assert.match(posted("stalled", "late")?.reason ?? "", /not started within 2s/);

    const status = (await (await fetch(`${base}/api/status`)).json()) as { schedules: { name: string; expect?: { state: { state: string; error: string | null } | null } }[] };
    const stateOf = (name: string) => status.schedules.find((schedule) => schedule.name === name)?.expect?.state;
    assert.equal(stateOf("stalled")?.state, "late");
    assert.deepEqual([stateOf("failing")?.state, stateOf("failing")?.error], ["failed", "TypeError"]);
    assert.equal(stateOf("listed")?.state, "ok", "the consumer that checks in keeps its schedule ok");
    assert.equal(status.schedules.find((schedule) => schedule.name === "plain")?.expect, undefined, "a schedule without expect has no state");
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /clock_schedule_state\{schedule="stalled",state="late"\} 1/);
    assert.match(metrics, /clock_schedule_state\{schedule="failing",state="failed"\} 1/);
    assert.match(metrics, /clock_schedule_last_success_timestamp_seconds\{schedule="listed"\} \d/);
    assert.doesNotMatch(metrics, /clock_schedule_state\{schedule="plain"/, "series only for schedules with expect");
    // The CLI's client reads the same states from Redis.
    const fromClient = await client.status();
    assert.equal(fromClient.schedules.find((schedule) => schedule.name === "stalled")?.expect?.state?.state, "late");

    // The first post got a 500 and was retried; the URL's secrets are in no log line.
    assert.ok(answered > posts.length);
    assert.equal(auth.at(-1), `Basic ${Buffer.from("alerter:hook-pass-1").toString("base64")}`, "user:password in the URL is sent as Basic authorization");
    assert.ok(sink.lines.some((line) => line.msg === "alert webhook post failed; retrying with backoff (firing goes on)"));
    const logged = JSON.stringify(sink.lines);
    assert.ok(!logged.includes("hook-pass-1") && !logged.includes("hook-token-1") && !logged.includes("alerter"), "webhook secrets never logged");

    // Workers that succeed: both go back to ok.
    failing = false;
    workerOn("stalled", async () => undefined);
    await until(
      "both back to ok",
      () => posts.some((post) => post.schedule === "stalled" && post.state === "ok") && posts.some((post) => post.schedule === "failing" && post.state === "ok"),
    );
    // Judged before its first job failed (a loaded machine), it may have been ok first: then ok -> failed.
    const transitions = posts.filter((post) => post.schedule === "failing").map((post) => [post.previous, post.state]);
    assert.ok(transitions.length === 2 && [null, "ok"].includes(transitions[0]?.[0] as string | null), JSON.stringify(transitions));
    assert.deepEqual(transitions, [
      [transitions[0]?.[0] ?? null, "failed"],
      ["failed", "ok"],
    ]);
    assert.equal(posts.filter((post) => post.schedule === "listed").length, 0, "no news for a schedule that stayed ok");
    const after = await (await fetch(`${base}/metrics`)).text();
    assert.match(after, /clock_schedule_state\{schedule="stalled",state="ok"\} 1/);
    assert.match(after, /clock_schedule_last_success_timestamp_seconds\{schedule="failing"\} \d/);
  },
);

test("a bad expect or alerts is refused naming the schedule and the field; expect needs the history", () => {
  const issuesOf = (input: unknown): string[] => {
    try {
      parseConfig(input);
    } catch (error) {
      return (error as { issues: { path: string; message: string }[] }).issues.map((issue) => `${issue.path}: ${issue.message}`);
    }
    return [];
  };
  const job = { class: "J" };
  const issues = issuesOf({
    alerts: { webhook: "ftp://secret@host/x" },
    schedules: {
      a: { every: "1m", expect: { startWithin: "5 min" }, job },
      b: { every: "1m", expect: { startWithin: "1h", finishWithin: "5m" }, job },
      c: { every: "1m", expect: {}, job },
    },
  });
  assert.ok(
    issues.some((issue) => issue.startsWith("schedules.a.expect.startWithin: invalid duration")),
    issues.join("\n"),
  );
  assert.ok(issues.includes("schedules.b.expect.finishWithin: must be at least startWithin (1h): a job finishes after it starts"), issues.join("\n"));
  assert.ok(
    issues.some((issue) => issue.startsWith("schedules.c.expect: expected startWithin, finishWithin or both")),
    issues.join("\n"),
  );
  assert.ok(issues.includes("alerts.webhook: expected an http:// or https:// URL"), issues.join("\n"));
  assert.ok(!issues.join("\n").includes("secret"), "the webhook URL is never echoed");
  assert.deepEqual(issuesOf({ history: { size: 0 }, expect: { startWithin: "1m" }, schedules: { a: { every: "1m", job } } }), [
    "expect: needs the history (history.size above 0): expectations are judged from it",
  ]);
  // A config default applies to every schedule; a schedule's own replaces it, false turns it off.
  const config = parseConfig({
    expect: { finishWithin: "1h" },
    schedules: { a: { every: "1m", job }, b: { every: "1m", expect: { startWithin: "5m" }, job }, c: { every: "1m", expect: false, job } },
  });
  assert.deepEqual(
    config.schedules.map((schedule) => (schedule as { expect?: unknown }).expect),
    [{ finishWithinMs: 3_600_000 }, { startWithinMs: 300_000 }, undefined],
  );
});
