/**
 * A real `clock start` under libfaketime (Debian's `faketime`): its wall clock +3 s, then +30 s,
 * +1 h and -1 h off from the Redis it fires into, changed while it runs. Every slot of a one-second
 * schedule under the default catch-up policy (latest) fires once, none missing, with a lag by Redis
 * time under a second, and the log says the host's clock is off. The monotonic clock is not faked:
 * it is what a real host's NTP step leaves alone too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SECOND } from "../../src/schedule/duration.ts";
import { assertConsecutive, firedLines, LINE_TIMEOUT_MS } from "../helpers/fired.ts";
import { testScope } from "../helpers/scope.ts";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const QUEUE = "skewed";

test("a host clock +3 s, +30 s, +1 h and -1 h off from Redis fires every slot once, on time by Redis", { timeout: 90 * SECOND }, async (t) => {
  assert.ok(existsSync(LIBFAKETIME), `${LIBFAKETIME} is missing: install Debian's faketime (.ci/run does)`);
  const scope = testScope(t);
  const redis = await scope.redis();
  const offsetFile = join(scope.tempDir(), "faketime");
  writeFileSync(offsetFile, "+3\n");
  const configPath = scope.configFile({ schedules: { tick: { every: "1s", adapter: "list", job: { class: "TickJob", queue: QUEUE } } } });
  const clock = scope.clock(["start", "--config", configPath], {
    name: "skewed clock",
    env: {
      REDIS_URL: redis.url,
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      // Re-read the offset file at most once a second; leave CLOCK_MONOTONIC alone.
      FAKETIME_CACHE_DURATION: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    },
  });
  const warned = await clock.waitFor((line) => line.msg.startsWith("this host's clock differs from Redis TIME"), { what: "the skew warning", timeoutMs: LINE_TIMEOUT_MS });
  assert.ok(Math.abs((warned.line["skewMs"] as number) - 3000) < 300, `skewMs ${String(warned.line["skewMs"])}`);
  const fires = (): number => firedLines(clock.lines, "tick").length;
  const steps: [string, number][] = [
    ["+30", 30_000],
    ["+3600", 3_600_000],
    ["-3600", -3_600_000],
  ];
  await clock.waitFor(() => fires() >= 4, { what: "4 fires at +3 s", timeoutMs: LINE_TIMEOUT_MS });
  for (const [offset, skewMs] of steps) {
    const before = fires();
    const from = clock.lines.length;
    writeFileSync(offsetFile, `${offset}\n`);
    await clock.waitFor((line) => line.msg === "this host's wall clock stepped; slots keep Redis time, which is read again now", {
      what: `the step to ${offset} s`,
      timeoutMs: LINE_TIMEOUT_MS,
      from,
    });
    await clock.waitFor((line) => line.msg.startsWith("this host's clock differs from Redis TIME") && Math.abs((line["skewMs"] as number) - skewMs) < 300, {
      what: `the skew warning at ${offset} s`,
      timeoutMs: LINE_TIMEOUT_MS,
      from,
    });
    await clock.waitFor(() => fires() >= before + 4, { what: `4 fires at ${offset} s`, timeoutMs: LINE_TIMEOUT_MS });
  }
  assert.equal((await clock.stop("SIGTERM")).code, 0, clock.tail());

  const fired = firedLines(clock.lines, "tick");
  assertConsecutive(
    fired.map((fire) => fire.slotAt),
    SECOND,
    "slots fired",
  );
  const late = fired.filter((fire) => (fire.line["lagMs"] as number) > SECOND || (fire.line["lagMs"] as number) < 0);
  assert.deepEqual(
    late.map((fire) => `${fire.line["slot"] as string} lag ${String(fire.line["lagMs"])} ms`),
    [],
    "every slot within a second of its instant by Redis time",
  );
  assert.equal(clock.linesOf("missed slots skipped by catch-up policy").length, 0, "no slot is called missed");
  assert.equal(await scope.client(redis.url).llen(`jobs:${QUEUE}`), fired.length, "the queue holds one job per fired slot");
});
