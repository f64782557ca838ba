/**
 * Labels and groups (issue 15 item 8): status filters by them, and a whole group is paused in one
 * atomic write — one Redis instant, one change-counter bump, and no member's slot after it fires.
 * A real clock in-process on a real redis-server, through the public API.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createClient, parseConfig, startClock } from "../src/index.ts";
import { parsePauseRecord } from "../src/dynamic/pauses.ts";
import { SECOND } from "../src/schedule/duration.ts";
import { LogSink } from "./helpers/logs.ts";
import { testScope } from "./helpers/scope.ts";

test("a group pause is one atomic write: every member paused at one instant, one change-counter bump, no member's slot after it fires", async (t) => {
  const scope = testScope(t);
  const server = await scope.redis();
  const redis = scope.client(server.url);
  const namespace = "groups";
  const job = (queue: string) => ({ class: "Tick", queue });
  const config = parseConfig({
    namespace,
    adapter: "list",
    lease: { ttl: "2s", retry: "200ms" },
    schedules: {
      "config-42": { every: "1s", group: "tenant-42", labels: { team: "billing" }, job: job("g") },
      other: { every: "1s", labels: { team: "search" }, job: job("other") },
    },
  });
  const sink = new LogSink();
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  scope.defer(() => clock.stop());
  const client = createClient({ redis: server.url, config });
  scope.defer(() => client.close());
  await client.schedules.set("dyn-42-a", { every: "1s", group: "tenant-42", adapter: "list", job: job("g") });
  await client.schedules.set("dyn-42-b", { every: "1s", group: "tenant-42", labels: { team: "billing" }, adapter: "list", job: job("g") });
  const members = ["config-42", "dyn-42-a", "dyn-42-b"];
  for (const name of members) await sink.waitFor((line) => line.msg === "fired" && line["schedule"] === name, 5000);

  // Filters: by group, by label, both; the running clock's and the client's status agree.
  const names = (status: { schedules: readonly { name: string }[] }) => status.schedules.map((s) => s.name);
  assert.deepEqual(names(await client.status({ group: "tenant-42" })), members);
  assert.deepEqual(names(await clock.status({ labels: { team: "billing" } })), ["config-42", "dyn-42-b"]);
  assert.deepEqual(names(await client.status({ labels: { team: "billing" }, group: "tenant-42" })), ["config-42", "dyn-42-b"]);
  assert.deepEqual(
    (await client.schedules.list({ group: "tenant-42" })).map((info) => info.name),
    members,
  );

  const before = Number(await redis.get(`{${namespace}}:changes`));
  const result = await client.groups.pause("tenant-42");
  const after = Number(await redis.get(`{${namespace}}:changes`));
  assert.equal(after, before + 1, "one change-counter bump for the whole group");
  assert.deepEqual([...result.members].sort(), members);
  assert.equal(result.changed, 3);
  const pauses = await redis.hmget(`{${namespace}}:pauses`, ...members);
  const pausedAts = pauses.map((raw) => parsePauseRecord(raw)?.pausedAt);
  assert.equal(new Set(pausedAts).size, 1, `one instant for every member: ${JSON.stringify(pausedAts)}`);
  const pausedAt = pausedAts[0] as number;

  // Two more slots pass; the non-member keeps firing, no member fires a slot after the pause.
  await new Promise((resolve) => setTimeout(resolve, 2.5 * SECOND));
  const queued = (await redis.lrange("jobs:g", 0, -1)).map((raw) => JSON.parse(raw) as { schedule: string; slotAt: number });
  assert.deepEqual(
    queued.filter((message) => message.slotAt > pausedAt).map((message) => `${message.schedule}@${message.slotAt}`),
    [],
    "no member's slot after the group pause fired",
  );
  const others = (await redis.lrange("jobs:other", 0, -1)).map((raw) => JSON.parse(raw) as { slotAt: number });
  assert.ok(
    others.some((message) => message.slotAt > pausedAt + SECOND),
    "the schedule outside the group kept firing",
  );
  const status = await clock.status({ group: "tenant-42" });
  assert.deepEqual(
    status.schedules.map((s) => s.paused),
    [true, true, true],
  );

  // Resume and remove, each one write: the config member stays (the config file owns it).
  await client.groups.resume("tenant-42");
  const removed = await client.groups.remove("tenant-42");
  assert.deepEqual(removed.kept, ["config-42"]);
  assert.equal(removed.changed, 2);
  assert.deepEqual(await redis.hkeys(`{${namespace}}:schedules`), []);
});
