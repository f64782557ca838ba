/** Durations: "30s", "1h30m", milliseconds; and back. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DAY, HOUR, MINUTE, SECOND, formatDuration, parseDuration } from "../../src/schedule/duration.ts";

describe("parseDuration", () => {
  test("reads units, compounds and milliseconds", () => {
    assert.equal(parseDuration("30s"), 30 * SECOND);
    assert.equal(parseDuration("5m"), 5 * MINUTE);
    assert.equal(parseDuration("3h"), 3 * HOUR);
    assert.equal(parseDuration("1d"), DAY);
    assert.equal(parseDuration("1h30m"), 90 * MINUTE);
    assert.equal(parseDuration("1d2h3m4s5ms"), DAY + 2 * HOUR + 3 * MINUTE + 4 * SECOND + 5);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("1.5h"), 90 * MINUTE);
    assert.equal(parseDuration(" 10S "), 10 * SECOND);
    assert.equal(parseDuration(1500), 1500);
  });

  test("refuses bad input with a message", () => {
    const bad: (string | number)[] = [
      "",
      "   ",
      "5",
      "3 hours",
      "5 m",
      "-5m",
      "0s",
      "0",
      "1.0001s",
      "1mm",
      "m",
      "1w",
      "abc",
      "1h 30m",
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    for (const input of bad) {
      const result = parseDuration(input);
      assert.equal(typeof result, "object", `${JSON.stringify(input)} should be refused, got ${String(result)}`);
      if (typeof result === "object") assert.ok(result.error.length > 0);
    }
    const message = parseDuration("3 hours");
    assert.deepEqual(message, { error: 'invalid duration "3 hours" (use e.g. "30s", "5m", "3h", "1d", "1h30m" or milliseconds)' });
  });

  test("formatDuration is its inverse for whole units", () => {
    for (const text of ["30s", "5m", "3h", "1d", "1h30m", "1d2h3m4s", "250ms"]) {
      const ms = parseDuration(text);
      assert.equal(typeof ms, "number");
      if (typeof ms === "number") assert.equal(formatDuration(ms), text);
    }
  });
});
