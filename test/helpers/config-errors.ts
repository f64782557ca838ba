/** ConfigError checks shared by the config tests: the error itself, and its issues as the CLI prints them. */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/resolve.ts";
import { ConfigError, formatIssue } from "../../src/errors.ts";
import type { Schedule } from "../../src/schedule/schedule.ts";

/** Runs `fn`, which must throw a ConfigError, and returns it. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a ConfigError, nothing was thrown");
}

export async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a ConfigError, nothing was thrown");
}

/** The issues as "path: message" lines, the way the CLI prints them. */
export function lines(error: ConfigError): string[] {
  return error.issues.map(formatIssue);
}

export function issuesOf(input: unknown): string[] {
  return lines(configError(() => parseConfig(input)));
}

export function onlySchedule(input: unknown): Schedule {
  const config = parseConfig(input);
  assert.equal(config.schedules.length, 1);
  const [schedule] = config.schedules;
  assert.ok(schedule !== undefined);
  return schedule;
}
