/**
 * What DynamicSync keeps of each stored entry (src/dynamic/sync.ts, KeptEntry): a one-shot's whole
 * text (its removal after the fire compares it), a 53-bit digest for every other schedule. A change
 * written around every notification is still seen at the reconcile, for both kinds, and an
 * unchanged re-read changes nothing. Against a throwaway redis-server of the test's own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { createClient } from "../src/index.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { encodeEntry } from "../src/dynamic/store.ts";
import { entryDigest } from "../src/dynamic/sync.ts";
import type { Schedule } from "../src/schedule/schedule.ts";
import { testScope } from "./helpers/scope.ts";
import { testSync } from "./helpers/sync.ts";

test("entryDigest: distinct for 300,000 near-identical entries, the same for the same text, a whole number below 2^53", () => {
  const seen = new Map<number, string>();
  for (let tenant = 0; tenant < 100_000; tenant++) {
    for (const every of ["1h", "2h", "1d"]) {
      const text = JSON.stringify({ every, adapter: "list", job: { class: "Report", queue: "reports", args: [`tenant-${tenant}`] } });
      const digest = entryDigest(text);
      assert.ok(Number.isSafeInteger(digest) && digest >= 0, `${digest} for ${text}`);
      const before = seen.get(digest);
      assert.equal(before, undefined, `${text} and ${before} share the digest ${digest}`);
      seen.set(digest, text);
    }
  }
  const text = JSON.stringify({ cron: "0 9 * * *", timezone: "Europe/Zürich", job: { class: "Résumé" } });
  assert.equal(entryDigest(text), entryDigest(`${text}`.slice(0)));
  assert.notEqual(entryDigest(text), entryDigest(text.replace("9", "8")));
  assert.notEqual(entryDigest("ab"), entryDigest("ba"));
});

test("a one-shot keeps its stored text, a recurring schedule a digest; a change written around the notifications is seen at the reconcile for both", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis: Redis = scope.client(server.url);
  const keys = clockKeys("clock");
  const client = createClient({ redis });
  scope.defer(() => client.close());
  const at = new Date(Date.now() + 3_600_000).toISOString();
  await client.schedules.set("hourly", { every: "1h", adapter: "list", job: { class: "Report", queue: "kept" } });
  await client.schedules.set("once", { once: at, adapter: "list", job: { class: "Reminder", queue: "kept" } });
  const sync = testSync(redis, scope.client(server.url), keys);
  const upserts: Schedule[] = [];
  const planner = { upsert: (schedule: Schedule) => upserts.push(schedule), remove: () => undefined, invalidate: () => undefined };
  for (const schedule of await sync.load()) planner.upsert(schedule);
  assert.deepEqual(upserts.map((schedule) => schedule.name).sort(), ["hourly", "once"]);
  assert.equal(sync.rawOf("once"), await redis.hget(keys.schedules, "once"), "the one-shot's text, whole");
  assert.equal(sync.rawOf("hourly"), undefined, "no text kept for a recurring schedule");
  await sync.start(planner);

  upserts.length = 0;
  await sync.reconcile();
  assert.deepEqual(upserts, [], "nothing changed: nothing applied");

  // Written by hand: no notification, no counter. The reconcile compares what it reads with what it kept.
  await redis.hset(keys.schedules, "hourly", encodeEntry({ every: "2h", adapter: "list", job: { class: "Report", queue: "kept" } }, Date.now()));
  const later = new Date(Date.parse(at) + 60_000).toISOString();
  await redis.hset(keys.schedules, "once", encodeEntry({ once: later, adapter: "list", job: { class: "Reminder", queue: "kept" } }, Date.now()));
  await sync.reconcile();
  // (upserts is read again: the deepEqual above narrowed its type to never[].)
  const byName = new Map((upserts as Schedule[]).map((schedule) => [schedule.name, schedule]));
  assert.equal(byName.get("hourly")?.ruleText, "every 2h", "the recurring schedule's change is applied");
  assert.deepEqual(byName.get("once")?.rule, { kind: "once", at: Date.parse(later) }, "the one-shot's change is applied");
  assert.equal(sync.rawOf("once"), await redis.hget(keys.schedules, "once"), "and its new text kept");
});
