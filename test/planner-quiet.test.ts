/** Planner.quietFor: work that blocks the loop (a status page) waits until no slot is due close by. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_CATCH_UP, parseSchedule } from "../src/config/resolve.ts";
import { ClockEvents } from "../src/events.ts";
import type { FireOutcome, FireRequest } from "../src/fire/fire.ts";
import { AlwaysLeader } from "../src/lease/lease.ts";
import { Planner } from "../src/planner/planner.ts";
import { FakeClock, settle } from "./helpers/fake-clock.ts";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");

test("quietFor waits past a slot due within the window, and not for one further away", async () => {
  const clock = new FakeClock(T0);
  const firedAt: number[] = [];
  const fire = async (requests: readonly FireRequest[]): Promise<FireOutcome[]> =>
    requests.map((request) => {
      firedAt.push(clock.now());
      return { request, status: "fired", jobId: "j", redisAt: clock.now() };
    });
  const leadership = new AlwaysLeader();
  const planner = new Planner({ clock, fire, readLedger: async () => new Map(), leadership, events: new ClockEvents() });
  planner.start([parseSchedule("tick", { every: "1s", job: { class: "T" } }, { timezone: "UTC", adapter: "list", catchUp: DEFAULT_CATCH_UP })]);
  await leadership.start();
  await clock.advance(1000); // the first slot (T0 + 1 s) fires; the next is T0 + 2 s
  assert.equal(firedAt.length, 1);

  await clock.advance(500); // 500 ms before the next slot: quiet enough
  let done = false;
  void planner.quietFor(100).then(() => (done = true));
  await settle();
  assert.ok(done, "a slot 500 ms away does not hold the caller");

  await clock.advance(450); // 50 ms before the slot
  done = false;
  const waited = planner.quietFor(100).then(() => (done = true));
  await settle();
  assert.ok(!done, "a slot 50 ms away holds the caller");
  await clock.advance(60);
  await waited;
  assert.equal(firedAt.length, 2, "the caller goes on only once the slot has fired");
  await planner.stop();
});
