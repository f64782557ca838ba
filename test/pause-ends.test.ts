/** The leader's timer for pauses that end by themselves (dynamic/pause-ends.ts), on a fake clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PauseEndTimer } from "../src/dynamic/pause-ends.ts";
import { FakeClock } from "./helpers/fake-clock.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");

function timerOver(ends: number[]) {
  const clock = new FakeClock(T0);
  const seen = { reads: 0, expiries: [] as number[] };
  const timer = new PauseEndTimer({
    clock,
    active: () => true,
    nextEnd: async () => {
      seen.reads++;
      return ends[0] ?? null;
    },
    expire: async () => {
      let resumed = 0;
      while (ends.length > 0 && (ends[0] as number) <= clock.now()) {
        seen.expiries.push(clock.now());
        ends.shift();
        resumed++;
      }
      return resumed;
    },
    run: (_name, task) => void task(),
  });
  return { clock, timer, seen };
}

test("each pause ends at its until by a timer of its own, with no read in between", async () => {
  const { clock, timer, seen } = timerOver([T0 + 5000, T0 + 65_000]);
  timer.check();
  await clock.advance(4999);
  assert.deepEqual(seen.expiries, []);
  const readsBefore = seen.reads;
  await clock.advance(1);
  assert.deepEqual(seen.expiries, [T0 + 5000]);
  // The second end is 60 s later: one look after at most a minute, then its own timer.
  await clock.advance(60_000);
  assert.deepEqual(seen.expiries, [T0 + 5000, T0 + 65_000]);
  assert.ok(seen.reads - readsBefore <= 5, `${seen.reads - readsBefore} reads for two ends`);
  const readsAfter = seen.reads;
  await clock.advance(10 * 60_000);
  assert.equal(seen.reads, readsAfter, "no pause left: no timer, no read");
  timer.stop();
});

test("a burst of changes heard while a check is in flight is one more read, not one each", async () => {
  const { clock, timer, seen } = timerOver([T0 + 30_000]);
  for (let i = 0; i < 100; i++) timer.check();
  await clock.advance(0);
  assert.ok(seen.reads <= 2, `${seen.reads} reads for 100 changes`);
  timer.stop();
});
