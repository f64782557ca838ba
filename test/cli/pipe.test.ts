/**
 * Output through a pipe is complete: the CLI exits only after stdout and stderr have drained
 * (it used to exit at once and cut `clock next --json | jq` at 64 KiB multiples). The reader is a
 * slow one, as a consumer on a busy machine is: a fast reader on another core sometimes drained
 * the pipe while the CLI was still writing, and hid the defect.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { assertBuilt, runClock } from "../helpers/process.ts";
import { suiteScope } from "../helpers/scope.ts";

const suite = suiteScope();
before(assertBuilt);

const MINUTE_MS = 60_000;
const FROM = "2030-01-01T00:00:00Z";

describe("output through a pipe", { concurrency: true }, () => {
  test("next --json with 25,000 slots (2 MB) arrives whole: every byte, parseable", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": 'export default { schedules: { minutely: { every: "1m", job: { class: "TickJob" } } } };\n' });
    const count = 25_000;
    const result = await runClock(["next", "--json", "--count", String(count), "--from", FROM], { cwd: dir, slowReader: true });
    assert.equal(result.code, 0, result.stderr);
    const fromAt = Date.parse(FROM);
    const expected = Array.from({ length: count }, (_, index) => {
      const epochMs = fromAt + (index + 1) * MINUTE_MS;
      return { schedule: "minutely", at: new Date(epochMs).toISOString().replace(".000Z", "Z"), epochMs };
    });
    const text = `${JSON.stringify(expected, null, 2)}\n`;
    assert.ok(Buffer.byteLength(text) > 2_000_000, `the case must exceed what a pipe takes before an early exit (up to ~330 KB seen) (${Buffer.byteLength(text)} bytes)`);
    assert.equal(result.stdoutBytes.length, Buffer.byteLength(text), `stdout through the pipe: ${result.stdoutBytes.length} of ${Buffer.byteLength(text)} bytes`);
    assert.deepEqual(JSON.parse(result.stdout), expected);
  });

  test("check --json of a config with 12,000 schedules (2 MB) arrives whole", async () => {
    const names = Array.from({ length: 12_000 }, (_, index) => `report-${index}`);
    const schedules = names.map((name) => `${JSON.stringify(name)}: { cron: "0 9 * * *", job: { class: "ReportJob", queue: "reports" } }`).join(",\n");
    const dir = suite.tempDir({ "clock.config.mjs": `export default { schedules: {\n${schedules}\n} };\n` });
    const result = await runClock(["check", "--json"], { cwd: dir, slowReader: true });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdoutBytes.length > 2_000_000, `${result.stdoutBytes.length} bytes`);
    const parsed = JSON.parse(result.stdout) as { schedules: { schedule: string }[] };
    assert.deepEqual(
      parsed.schedules.map((row) => row.schedule),
      names,
    );
  });

  test("stderr too: 8,000 config errors (2 MB) all arrive, exit 2", async () => {
    const zone = `Mars/${"Olympus".repeat(30)}`;
    const schedules = Array.from({ length: 8000 }, (_, index) => `"s-${index}": { cron: "0 9 * * *", timezone: "${zone}", job: { class: "J" } }`).join(",\n");
    const dir = suite.tempDir({ "clock.config.mjs": `export default { schedules: {\n${schedules}\n} };\n` });
    const result = await runClock(["check"], { cwd: dir, slowReader: true });
    assert.equal(result.code, 2);
    assert.ok(Buffer.byteLength(result.stderr) > 2_000_000, `${Buffer.byteLength(result.stderr)} bytes`);
    const lines = result.stderr.split("\n").filter((line) => line.includes(`timezone: unknown time zone "${zone}"`));
    assert.equal(lines.length, 8000, `the last line read: ${JSON.stringify(result.stderr.slice(-120))}`);
    assert.ok(result.stderr.endsWith(`schedules.s-7999.timezone: unknown time zone "${zone}"\n`), result.stderr.slice(-200));
  });

  test("a reader that goes away early (`| head -c 100`) is no error: exit 0, nothing on stderr", async () => {
    const dir = suite.tempDir({ "clock.config.mjs": 'export default { schedules: { minutely: { every: "1m", job: { class: "TickJob" } } } };\n' });
    const proc = suite.clock(["next", "--json", "--count", "25000", "--from", FROM], { cwd: dir });
    // Close our end after the first chunk, as `head` does: the CLI's next write meets EPIPE.
    proc.child.stdout?.once("data", () => proc.child.stdout?.destroy());
    const { code } = await proc.exited;
    assert.equal(proc.stderr, "");
    assert.equal(code, 0);
  });
});
