/**
 * Spread is the same in every process: two separate `clock next` processes print the same moved
 * slots, the ones the oracle derives from (namespace, name); an excluded date never shows.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertBuilt, runClock } from "../helpers/process.ts";
import { referenceModifiedSlots } from "../helpers/reference-modifiers.ts";
import { suiteScope } from "../helpers/scope.ts";

const suite = suiteScope();
before(assertBuilt);

const CONFIG = `export default {
  namespace: "shop",
  calendars: { "us-holidays": { dates: ["2026-12-25"] } },
  schedules: {
    "tenant-1": { cron: "0 0 * * *", spread: "10m", exclude: ["us-holidays"], job: { class: "NightlyJob" } },
    "tenant-2": { cron: "0 0 * * *", spread: { max: "10m", per: "slot" }, job: { class: "NightlyJob" } },
  },
};
`;

describe("clock next with spread, in two processes", () => {
  test("both print the same moved slots, the oracle's, and no slot on an excluded date", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": CONFIG });
    const args = ["next", "--from", "2026-12-23T00:00:00Z", "--count", "4", "--json"];
    const [first, second] = await Promise.all([runClock(args, { cwd: dir }), runClock(args, { cwd: dir })]);
    assert.equal(first?.code, 0, first?.stderr);
    assert.equal(second?.code, 0, second?.stderr);
    assert.equal(first?.stdout, second?.stdout);
    const slots = JSON.parse(first?.stdout ?? "[]") as { schedule: string; epochMs: number }[];
    const fromAt = Date.parse("2026-12-23T00:00:00Z");
    const of = (name: string) => slots.filter((slot) => slot.schedule === name).map((slot) => slot.epochMs);
    assert.deepEqual(
      of("tenant-1"),
      referenceModifiedSlots(
        { expressions: ["0 0 * * *"], zone: "UTC", namespace: "shop", name: "tenant-1", excludeDates: ["2026-12-25"], spread: { maxMs: 600_000, per: "schedule" } },
        fromAt,
        4,
      ),
    );
    assert.deepEqual(
      of("tenant-2"),
      referenceModifiedSlots({ expressions: ["0 0 * * *"], zone: "UTC", namespace: "shop", name: "tenant-2", spread: { maxMs: 600_000, per: "slot" } }, fromAt, 4),
    );
    assert.ok(!of("tenant-1").some((at) => new Date(at).toISOString().startsWith("2026-12-25")));
  });
});
