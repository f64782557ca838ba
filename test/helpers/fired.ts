/**
 * Reading what a clock process fired (its "fired" lines) and what reached a queue, for the
 * end-to-end and fault tests: each slot once, none missing between the first and the last.
 */
import assert from "node:assert/strict";
import { SECOND } from "../../src/schedule/duration.ts";
import type { LogLine } from "./logs.ts";
import type { LoggedProcess } from "./process.ts";
import type { Scope } from "./scope.ts";

export const NAMESPACE = "clock";
/** Every slot of the last minute, so nothing a takeover or an outage missed is skipped. */
export const EVERY_SECOND_CATCH_UP_ALL = { policy: "all", window: "1m", max: 100 } as const;

export interface FiredLine {
  readonly schedule: string;
  readonly slotAt: number;
  readonly jobId: string;
  readonly catchUp: boolean;
  readonly line: LogLine;
}

export function firedLines(lines: readonly LogLine[], schedule?: string): FiredLine[] {
  return lines
    .filter((line) => line.msg === "fired" && (schedule === undefined || line["schedule"] === schedule))
    .map((line) => {
      const slot = line["slot"];
      const jobId = line["jobId"];
      const name = line["schedule"];
      assert.equal(typeof slot, "string", `fired line without a slot: ${JSON.stringify(line)}`);
      assert.equal(typeof jobId, "string", `fired line without a jobId: ${JSON.stringify(line)}`);
      assert.equal(typeof name, "string", `fired line without a schedule: ${JSON.stringify(line)}`);
      const slotAt = Date.parse(slot as string);
      assert.ok(Number.isFinite(slotAt), `fired line with an unparsable slot: ${JSON.stringify(line)}`);
      return { schedule: name as string, slotAt, jobId: jobId as string, catchUp: line["catchUp"] === true, line };
    });
}

export function countFired(lines: readonly LogLine[], schedule: string): number {
  return lines.filter((line) => line.msg === "fired" && line["schedule"] === schedule).length;
}

/** Slots one `stepMs` apart with nothing missing between the first and the last, each once. */
export function assertConsecutive(slotAts: readonly number[], stepMs: number, label: string): void {
  const sorted = [...slotAts].sort((a, b) => a - b);
  const duplicates = sorted.filter((at, i) => i > 0 && at === sorted[i - 1]);
  assert.deepEqual(
    duplicates.map((at) => new Date(at).toISOString()),
    [],
    `${label}: slots that appear more than once`,
  );
  const first = sorted[0];
  const last = sorted.at(-1);
  assert.ok(first !== undefined && last !== undefined, `${label}: no slots at all`);
  const present = new Set(sorted);
  const missing: string[] = [];
  for (let at = first; at <= last; at += stepMs) if (!present.has(at)) missing.push(new Date(at).toISOString());
  assert.deepEqual(missing, [], `${label}: slots missing between ${new Date(first).toISOString()} and ${new Date(last).toISOString()}`);
  const offGrid = sorted.filter((at) => (at - first) % stepMs !== 0);
  assert.deepEqual(offGrid, [], `${label}: slots not on the ${stepMs} ms grid`);
}

export function parseJson(text: string, where: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(text);
  assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `${where}: not a JSON object: ${text}`);
  return parsed as Record<string, unknown>;
}

/** `clock.slotAt` of a Sidekiq payload. */
export function slotAtOf(payload: Record<string, unknown>, where: string): number {
  const clock = payload["clock"];
  assert.ok(clock !== null && typeof clock === "object", `${where}: no "clock" field in ${JSON.stringify(payload)}`);
  const slotAt = (clock as Record<string, unknown>)["slotAt"];
  assert.equal(typeof slotAt, "number", `${where}: clock.slotAt is not a number in ${JSON.stringify(payload)}`);
  return slotAt as number;
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls an async condition (a worker's progress, which writes no line we read) until it holds; the message says what was still missing. */
export async function pollUntil(what: string, condition: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string> | string = () => ""): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms. ${await describe()}`);
    await sleep(100);
  }
}

/** Real-time bounds are generous: this runs on a shared 2-core machine next to other test files. */
export const LINE_TIMEOUT_MS = 15 * SECOND;

/** `clock start --config PATH` against `redisUrl`, reaped by the scope. */
export function startClockProcess(scope: Scope, name: string, configPath: string, redisUrl: string, extraArgs: readonly string[] = []): LoggedProcess {
  return scope.clock(["start", "--config", configPath, ...extraArgs], { name, env: { REDIS_URL: redisUrl } });
}
