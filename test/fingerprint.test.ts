/** The config fingerprint: stable for equal configs, different for anything that changes what fires. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../src/index.ts";
import { canonicalJson, diffConfigs, fingerprintConfig } from "../src/dynamic/fingerprint.ts";

const base = {
  namespace: "fp",
  adapter: "list",
  schedules: {
    report: { cron: "0 9 * * 1-5", timezone: "Europe/Paris", job: { class: "Report", args: [42, { full: true, scope: "all" }], queue: "reports" } },
    tick: { every: "5m", job: { class: "Tick" } },
  },
};

async function fingerprintOf(input: unknown, extra?: Record<string, unknown>): Promise<string> {
  return (await fingerprintConfig(parseConfig(input), extra)).fingerprint;
}

function variant(path: string[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  let cursor = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string, unknown>;
  cursor[path.at(-1) as string] = value;
  return copy;
}

test("canonical JSON ignores key order and undefined, keeps array order", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}');
  assert.equal(canonicalJson({ a: Number.POSITIVE_INFINITY }), '{"a":"Infinity"}');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

test("equal configs have equal fingerprints: key order and schedule order do not count", async () => {
  const reordered = {
    schedules: {
      tick: { job: { class: "Tick" }, every: "5m" },
      report: { job: { queue: "reports", args: [42, { scope: "all", full: true }], class: "Report" }, timezone: "Europe/Paris", cron: "0 9 * * 1-5" },
    },
    adapter: "list",
    namespace: "fp",
  };
  assert.equal(await fingerprintOf(base), await fingerprintOf(reordered));
  assert.match(await fingerprintOf(base), /^[0-9a-f]{16}$/);
});

test("anything that changes what fires changes the fingerprint; a description does not", async () => {
  const reference = await fingerprintOf(base);
  const changes: [string, unknown][] = [
    ["rule", variant(["schedules", "report", "cron"], "0 10 * * 1-5")],
    ["zone", variant(["schedules", "report", "timezone"], "Europe/Berlin")],
    ["adapter", variant(["schedules", "tick", "adapter"], "resque")],
    ["job class", variant(["schedules", "tick", "job"], { class: "Tock" })],
    ["job args", variant(["schedules", "report", "job", "args"], [43, { full: true, scope: "all" }])],
    ["queue", variant(["schedules", "tick", "job"], { class: "Tick", queue: "other" })],
    ["catch-up", variant(["schedules", "tick", "catchUp"], { policy: "all", max: 5 })],
    ["enabled", variant(["schedules", "tick", "enabled"], false)],
    ["startAt", variant(["schedules", "tick", "startAt"], "2030-01-01T00:00:00Z")],
    ["endAt", variant(["schedules", "tick", "endAt"], "2030-01-01T00:00:00Z")],
    ["a schedule added", variant(["schedules", "extra"], { every: "1h", job: { class: "X" } })],
    ["default zone", variant(["timezone"], "Asia/Tokyo")],
    ["default catch-up", variant(["catchUp"], { policy: "none" })],
    ["adapter settings", variant(["adapters"], { list: { key: "other:{queue}" } })],
  ];
  const seen = new Set([reference]);
  for (const [what, input] of changes) {
    const fingerprint = await fingerprintOf(input);
    assert.ok(!seen.has(fingerprint), `${what} changes the fingerprint`);
    seen.add(fingerprint);
  }
  assert.equal(await fingerprintOf(variant(["schedules", "tick", "description"], "every five minutes")), reference, "a description changes nothing that fires");
  assert.equal(await fingerprintOf(variant(["lease"], { ttl: "20s" })), reference, "lease timings decide who leads, not what fires");
});

test("an adapter of one's own counts by its code", async () => {
  const writes = () => [];
  const other = () => [{ command: "RPUSH" as const, key: "k", args: ["x"] }];
  const a = await fingerprintOf(base, { custom: { name: "custom", writes } });
  assert.equal(a, await fingerprintOf(base, { custom: { name: "custom", writes } }));
  assert.notEqual(a, await fingerprintOf(base, { custom: { name: "custom", writes: other } }));
});

test("the diff names added, removed and changed schedules, capped, with the full counts", async () => {
  const many = (prefix: string, count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}-${String(i).padStart(2, "0")}`, { every: "1h", job: { class: "X" } }]));
  const mine = await fingerprintConfig(parseConfig({ schedules: { ...many("new", 12), same: { every: "1h", job: { class: "S" } }, moved: { every: "2h", job: { class: "M" } } } }));
  const theirs = await fingerprintConfig(
    parseConfig({ schedules: { same: { every: "1h", job: { class: "S" } }, moved: { every: "3h", job: { class: "M" } }, gone: { every: "1h", job: { class: "G" } } } }),
  );
  const diff = diffConfigs(mine, theirs, 10);
  assert.equal(diff.added.length, 10);
  assert.deepEqual(diff.added.slice(0, 2), ["new-00", "new-01"]);
  assert.deepEqual(diff.removed, ["gone"]);
  assert.deepEqual(diff.changed, ["moved"]);
  assert.deepEqual(diff.counts, { added: 12, removed: 1, changed: 1 });
  assert.equal(diff.settingsDiffer, false);
});

test("a large config is hashed in slices: the event loop keeps turning", async () => {
  const schedules = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`s${i}`, { cron: `${i % 60} * * * *`, job: { class: "J", args: [i] } }]));
  const config = parseConfig({ schedules });
  let turns = 0;
  const ticker = setInterval(() => turns++, 0);
  try {
    await fingerprintConfig(config);
  } finally {
    clearInterval(ticker);
  }
  assert.ok(turns >= 2, `${turns} timer turns while hashing 20,000 schedules`);
});
