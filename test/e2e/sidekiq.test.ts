/**
 * End to end with a real Sidekiq 6: the real `clock start` CLI (dist/ through bin/clock.js) against
 * a throwaway redis-server, and a `sidekiq` process performing what it enqueued. Waits on the
 * clock's own log lines, never on the calendar alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { hexJobId } from "../../src/adapters/ids.ts";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, countFired, firedLines, NAMESPACE, parseJson, pollUntil, sleep, startClockProcess } from "../helpers/fired.ts";
import { ROOT } from "../helpers/process.ts";
import { testScope } from "../helpers/scope.ts";

const SIDEKIQ_JOBS = join(ROOT, "test", "fixtures", "sidekiq_worker.rb");
const QUEUE = "e2e";

function findOnPath(command: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, command))) return join(dir, command);
  }
  return null;
}

test("sidekiq: a real Sidekiq 6 process performs every fired slot exactly once, with the slot's jid and args", { timeout: 90 * SECOND }, async (t) => {
  const sidekiqBin = findOnPath("sidekiq");
  if (sidekiqBin === null) {
    assert.fail("`sidekiq` is not on PATH: this end-to-end test needs a real Sidekiq 6 (Debian: apt-get install ruby-sidekiq)");
  }
  const scope = testScope(t);
  const redis = await scope.redis();
  const client = scope.client(redis.url, { maxRetriesPerRequest: 1 });
  const configPath = scope.configFile({
    schedules: {
      tick: { every: "1s", adapter: "sidekiq", job: { class: "TickJob", args: [1, "x"], queue: QUEUE } },
      "cron-tick": { cron: "* * * * * *", adapter: "sidekiq", job: { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }], queue: QUEUE } },
    },
  });
  const expected: Record<string, { class: string; args: unknown[] }> = {
    tick: { class: "TickJob", args: [1, "x"] },
    "cron-tick": { class: "CronTickJob", args: ["cron", { k: "v", n: 2 }] },
  };

  // -t 2: Sidekiq's shutdown waits up to this long for busy threads; the test drains first anyway.
  const sidekiq = scope.spawn(sidekiqBin, ["-r", SIDEKIQ_JOBS, "-q", QUEUE, "-c", "2", "-t", "2"], { name: "sidekiq", env: { REDIS_URL: redis.url } });
  const clock = startClockProcess(scope, "clock", configPath, redis.url);

  await clock.waitFor((line) => line.msg === "leadership acquired", { what: '"leadership acquired"' });
  await clock.waitFor(() => countFired(clock.lines, "tick") >= 5 && countFired(clock.lines, "cron-tick") >= 5, { what: "5 fires of each schedule", timeoutMs: 20 * SECOND });
  const exit = await clock.stop("SIGTERM");
  assert.deepEqual(exit, { code: 0, signal: null }, `clock start must exit 0 on SIGTERM\n${clock.tail()}`);
  assert.ok(
    clock.lines.some((line) => line.msg === "clock stopped"),
    'no "clock stopped" line',
  );

  const fired = firedLines(clock.lines);
  for (const entry of fired) {
    assert.equal(entry.jobId, hexJobId(NAMESPACE, entry.schedule, entry.slotAt), `jid of ${entry.schedule}@${entry.line["slot"]} is not derived from the slot`);
    assert.equal(entry.line["adapter"], "sidekiq");
    assert.equal(entry.line["queue"], QUEUE);
  }
  for (const schedule of Object.keys(expected)) {
    assertConsecutive(
      firedLines(clock.lines, schedule).map((entry) => entry.slotAt),
      SECOND,
      `fired slots of ${schedule}`,
    );
  }

  await pollUntil(
    "sidekiq drained queue:e2e",
    async () => (await client.llen("e2e:performed")) >= fired.length && (await client.llen(`queue:${QUEUE}`)) === 0,
    30 * SECOND,
    async () => `performed ${await client.llen("e2e:performed")} of ${fired.length}, queue:${QUEUE} holds ${await client.llen(`queue:${QUEUE}`)}\n${sidekiq.tail()}`,
  );
  // Let a duplicate that is still on its way show up before sidekiq goes.
  await sleep(500);
  await sidekiq.stop("SIGTERM");

  const performed = (await client.lrange("e2e:performed", 0, -1)).map((text) => parseJson(text, "e2e:performed"));
  const jids = performed.map((entry) => entry["jid"]);
  assert.equal(new Set(jids).size, jids.length, `a jid was performed twice: ${JSON.stringify(jids)}`);
  assert.deepEqual([...jids].sort(), fired.map((entry) => entry.jobId).sort(), "performed jids differ from the fired ones");

  const firedByJid = new Map(fired.map((entry) => [entry.jobId, entry]));
  for (const entry of performed) {
    const firedEntry = firedByJid.get(entry["jid"] as string);
    assert.ok(firedEntry !== undefined);
    const want = expected[firedEntry.schedule];
    assert.ok(want !== undefined, `unexpected schedule ${firedEntry.schedule}`);
    assert.equal(entry["class"], want.class, `class of jid ${String(entry["jid"])}`);
    assert.deepEqual(entry["args"], want.args, `args of jid ${String(entry["jid"])}`);
    assert.equal(entry["slotAt"], firedEntry.slotAt, `slot of jid ${String(entry["jid"])}: the job's clock.slotAt differs from the logged slot`);
    assert.equal(entry["slot"], new Date(firedEntry.slotAt).toISOString());
    assert.equal(entry["schedule"], firedEntry.schedule);
    assert.equal(entry["queue"], QUEUE);
  }
  assert.equal(await client.zcard("retry"), 0, "Sidekiq put jobs in its retry set (a job raised)");
  assert.equal(await client.zcard("dead"), 0, "Sidekiq put jobs in its dead set");
  assert.deepEqual(await client.smembers("queues"), [QUEUE]);
});
