/**
 * Config: the schedules checked without zod (config/fast.ts) come out as zod outputs them, and
 * whatever zod refuses (or fast.ts does not know) is left to zod, so its errors stay the same.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fastSchedule, fastSchedules } from "../../src/config/fast.ts";
import { parseConfig, parseFast } from "../../src/config/resolve.ts";
import { configSchema, scheduleSchema } from "../../src/config/schema.ts";
import { configError, lines } from "../helpers/config-errors.ts";

/** Values that are valid somewhere and wrong elsewhere: each field gets every one of them. */
const ANY = fc.constantFrom<unknown>(
  undefined,
  null,
  true,
  false,
  0,
  -1,
  999,
  1000,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  "",
  " ",
  "x",
  "1h",
  "30s",
  "500ms",
  "0s",
  "2026-01-01T00:00:00Z",
  "2026-01-01T00:00:00",
  "0 9 * * *",
  "*/5 * * * * *",
  "0 0 31 2 *",
  "61 * * * *",
  "UTC",
  "Europe/Berlin",
  "Mars/Olympus",
  "x".repeat(1001),
  [],
  ["0 9 * * *"],
  {},
  new Date(0),
  [Number.NaN],
  [1, [new Date(0)]],
  { bad: Number.POSITIVE_INFINITY },
);
const JOB_VALUE = fc.oneof(
  ANY,
  fc.record(
    {
      class: fc.constantFrom<unknown>("Job", "", 1, undefined),
      args: fc.constantFrom<unknown>([], [1, "a", { b: [null] }], [Number.NaN], [undefined], "a", undefined, [new Date(0)], [[1, [2]]]),
      queue: fc.constantFrom<unknown>("q", "", undefined, 3),
      options: fc.constantFrom<unknown>({}, { retry: 3 }, { bad: Number.POSITIVE_INFINITY }, [], null, undefined, new Date(0), { nested: { ok: true } }),
      extra: fc.constantFrom<unknown>(undefined, 1),
    },
    { requiredKeys: [] },
  ),
);
const SCHEDULE = fc.record(
  {
    cron: ANY,
    every: ANY,
    anchor: ANY,
    timezone: ANY,
    enabled: ANY,
    adapter: ANY,
    description: ANY,
    job: JOB_VALUE,
    at: fc.constantFrom<unknown>(undefined, "09:00"),
    labels: fc.constantFrom<unknown>(undefined, { team: "a" }),
  },
  { requiredKeys: [] },
);
/** Mostly well-formed schedules: the ones fast.ts must take, and get exactly right. */
const GOOD_SCHEDULE = fc.oneof(
  fc.record(
    {
      cron: fc.constantFrom("0 9 * * *", "*/5 * * * * *", "7 14 * * 1-5", "@daily"),
      timezone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York"),
      enabled: fc.boolean(),
      adapter: fc.constantFrom("list", "sidekiq"),
      description: fc.string({ maxLength: 20 }),
      job: fc.record(
        {
          class: fc.constantFrom("A", "B"),
          args: fc.array(fc.jsonValue(), { maxLength: 3 }),
          queue: fc.constantFrom("q", "r"),
          options: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.jsonValue(), { maxKeys: 2 }),
        },
        { requiredKeys: ["class"] },
      ),
    },
    { requiredKeys: ["cron", "job"] },
  ),
  fc.record(
    {
      every: fc.oneof(fc.constantFrom("1h", "2h30m", "90s", "1d"), fc.integer({ min: 1000, max: 10 ** 9 })),
      anchor: fc.oneof(fc.integer({ min: 0, max: 2 * 10 ** 12 }), fc.constant("2026-03-29T01:30:00+01:00")),
      timezone: fc.constantFrom("UTC", "Asia/Tokyo"),
      job: fc.record({ class: fc.constant("T"), args: fc.array(fc.integer(), { maxLength: 2 }) }, { requiredKeys: ["class"] }),
    },
    { requiredKeys: ["every", "job"] },
  ),
);

/** A well-formed schedule with one field (of the schedule or of its job) set to any value, or removed. */
const NEAR_MISS = fc
  .tuple(
    GOOD_SCHEDULE,
    fc.constantFrom("cron", "every", "anchor", "timezone", "enabled", "adapter", "description", "job", "at", "job.class", "job.args", "job.queue", "job.options", "job.extra"),
    ANY,
  )
  .map(([schedule, field, value]) => {
    const copy: Record<string, unknown> = { ...schedule, job: { ...schedule.job } };
    const [outer, inner] = field.split(".") as [string, string | undefined];
    const target = inner === undefined ? copy : (copy["job"] as Record<string, unknown>);
    const key = inner ?? outer;
    if (value === undefined) delete target[key];
    else target[key] = value;
    return copy;
  });

function zodSchedule(value: unknown): unknown {
  const parsed = scheduleSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

describe("schedules checked without zod", () => {
  test("every schedule fast.ts takes is one zod takes, with the same output; what zod refuses fast.ts leaves to it", () => {
    fc.assert(
      fc.property(fc.oneof(SCHEDULE, NEAR_MISS, GOOD_SCHEDULE), (schedule) => {
        const fast = fastSchedule(schedule);
        if (fast !== undefined) assert.deepStrictEqual(fast, zodSchedule(schedule));
      }),
      { numRuns: 5000 },
    );
  });

  test("the well-formed shapes are taken (the fast path is the one a large config goes by)", () => {
    fc.assert(
      fc.property(GOOD_SCHEDULE, (schedule) => {
        const fast = fastSchedule(schedule);
        assert.notEqual(fast, undefined, JSON.stringify(schedule));
        assert.deepStrictEqual(fast, zodSchedule(schedule));
      }),
      { numRuns: 500 },
    );
  });

  test("a whole config parses to what zod gives, and a config with one bad schedule goes to zod", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("a", "b:c", "d.e", "f-g", "0", "12"), GOOD_SCHEDULE, { maxKeys: 5 }),
        fc.constantFrom({}, { timezone: "Asia/Tokyo", adapter: "list" }),
        (schedules, rest) => {
          const input = { ...rest, schedules };
          const fast = parseFast(input);
          assert.notEqual(fast, undefined);
          assert.deepStrictEqual(fast, configSchema.parse(input));
          assert.deepStrictEqual(Object.keys(fast?.schedules ?? {}), Object.keys(configSchema.parse(input).schedules));
        },
      ),
      { numRuns: 300 },
    );
    const bad = { schedules: { ok: { every: "1h", job: { class: "A" } }, "bad name!": { every: "1h", job: { class: "A" } } } };
    assert.equal(parseFast(bad), undefined);
    assert.equal(fastSchedules({ __proto__: null, ok: { every: "1h", job: { class: "A" } }, [Symbol("s")]: {} }), undefined);
  });

  test("a bad schedule among many is still refused naming the schedule and the field", () => {
    const schedules: Record<string, unknown> = {};
    for (let i = 0; i < 1000; i++) schedules[`tenant-${i}:report`] = { cron: `${i % 60} 3 * * *`, timezone: "Europe/Berlin", job: { class: "Report", args: [i] } };
    schedules["tenant-500:report"] = { cron: "0 25 * * *", job: { class: "Report" } };
    schedules["tenant-7:sync"] = { every: "1h", timezone: "Mars/Olympus", job: { class: "Sync" } };
    const error = configError(() => parseConfig({ schedules }));
    assert.deepEqual(lines(error), [
      'schedules.tenant-500:report.cron: invalid cron expression "0 25 * * *": hour "25": 25 is outside 0-23',
      'schedules.tenant-7:sync.timezone: unknown time zone "Mars/Olympus"',
    ]);
  });

  test("an inherited field is zod's to read: a schedule with a prototype of its own is left to zod", () => {
    const schedule = Object.create({ every: "1h" }) as Record<string, unknown>;
    schedule["job"] = { class: "A" };
    assert.equal(fastSchedule(schedule), undefined);
    assert.equal(parseFast({ schedules: { a: schedule } }), undefined);
  });
});
