/**
 * Traces: the W3C traceparent each job carries, derived from the slot (judged by node:crypto over
 * the formula the README documents), where each adapter puts it, and the spans a running clock
 * emits through an @opentelemetry/api-shaped module (a fake that records what it is asked).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { buildAdapters } from "../src/adapters/index.ts";
import { traceparentFor, traceparentOf } from "../src/adapters/ids.ts";
import { DEFAULT_CATCH_UP, parseConfig, parseSchedule } from "../src/config/resolve.ts";
import { startClock } from "../src/daemon/start.ts";
import { loadOpenTelemetry, type OpenTelemetryApi, type OtelSpanContext, type OtelSpanOptions } from "../src/daemon/traces.ts";
import { Firer } from "../src/fire/fire.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { withScripts } from "../src/redis/scripts.ts";
import { LogSink } from "./helpers/logs.ts";
import type { TestRedis } from "./helpers/redis.ts";
import { suiteScope, testScope } from "./helpers/scope.ts";

const suite = suiteScope();
let server: TestRedis;
before(async () => {
  server = await suite.redis();
});

/** The README's formula, computed here from scratch. */
function expected(input: string): string {
  const hex = createHash("sha256").update(input).digest("hex");
  return `00-${hex.slice(0, 32)}-${hex.slice(32, 48)}-01`;
}

const SLOT_AT = 1_796_165_750_000;

test("the traceparent is sha256 of (namespace, schedule, slot ms), a trigger's and a backfill's of their job id; never an all-zero id", () => {
  const slot = { schedule: "nightly", slotAt: SLOT_AT, jobId: "clock-nightly-1796165750000" };
  assert.equal(traceparentFor("clock", slot), expected(`traceparent\0clock\0nightly\0${SLOT_AT}`));
  assert.equal(traceparentFor("clock", { ...slot, jobId: "another id, same slot" }), traceparentFor("clock", slot), "the slot decides, not the id");
  assert.notEqual(traceparentFor("other", slot), traceparentFor("clock", slot), "the namespace is part of it");
  assert.notEqual(traceparentFor("clock", { ...slot, slotAt: SLOT_AT + 1 }), traceparentFor("clock", slot));
  const manual = { ...slot, jobId: "clock-nightly-1796165750123-manual-0a1b2c3d", manual: true };
  assert.equal(traceparentFor("clock", manual), expected(`traceparent\0clock\0${manual.jobId}`));
  assert.equal(traceparentFor("clock", { ...slot, backfill: true }), expected(`traceparent\0clock\0${slot.jobId}`));
  assert.match(traceparentFor("clock", slot), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  // W3C: an all-zero trace id or span id is invalid; a digest that starts so is fixed up.
  assert.equal(traceparentOf("0".repeat(64)), `00-${"0".repeat(31)}1-${"0".repeat(15)}1-01`);
});

test("each adapter carries the slot's traceparent where its system's tracing looks (Sidekiq and list top level, Resque and RQ in clock, Celery a header); BullMQ's data is untouched", async (t) => {
  const scope = testScope(t);
  const redis = scope.client(server.url);
  const namespace = "traces-adapters";
  const adapters = buildAdapters(new Set(["sidekiq", "resque", "list", "celery", "rq"]), { rq: { serializer: "json" } }, { namespace });
  const firer = new Firer({ redis: withScripts(redis), keys: clockKeys(namespace), adapters, token: () => "", now: () => SLOT_AT + 5 });
  const names = ["sidekiq", "resque", "list", "celery", "rq"];
  const schedules = names.map((adapter) =>
    parseSchedule(`t-${adapter}`, { every: "1m", adapter, job: { class: "tasks.T", queue: `tq-${adapter}` } }, { timezone: "UTC", adapter, catchUp: DEFAULT_CATCH_UP }),
  );
  const outcomes = await firer.fire(schedules.map((schedule) => ({ schedule, slotAt: SLOT_AT })));
  assert.deepEqual(
    outcomes.map((outcome) => outcome.status),
    names.map(() => "fired"),
  );
  const want = (adapter: string): string => expected(`traceparent\0${namespace}\0t-${adapter}\0${SLOT_AT}`);
  const sidekiq = JSON.parse((await redis.lindex("queue:tq-sidekiq", 0)) ?? "{}") as Record<string, unknown>;
  assert.equal(sidekiq["traceparent"], want("sidekiq"));
  assert.deepEqual(sidekiq["clock"], { schedule: "t-sidekiq", slot: new Date(SLOT_AT).toISOString(), slotAt: SLOT_AT }, "the clock metadata as before");
  const resque = JSON.parse((await redis.lindex("resque:queue:tq-resque", 0)) ?? "{}") as { clock: Record<string, unknown> };
  assert.equal(resque.clock["traceparent"], want("resque"));
  const list = JSON.parse((await redis.lindex("jobs:tq-list", 0)) ?? "{}") as Record<string, unknown>;
  assert.equal(list["traceparent"], want("list"));
  const celery = JSON.parse((await redis.lindex("tq-celery", 0)) ?? "{}") as { headers: Record<string, unknown> };
  assert.equal(celery.headers["traceparent"], want("celery"));
  const rqMeta = JSON.parse((await redis.hget(`rq:job:${outcomes[4]?.jobId ?? ""}`, "meta")) ?? "{}") as { clock: Record<string, unknown> };
  assert.equal(rqMeta.clock["traceparent"], want("rq"));
});

interface RecordedSpan {
  readonly name: string;
  readonly options: OtelSpanOptions;
  readonly parent: OtelSpanContext | null;
  readonly context: OtelSpanContext;
  status: { code: number; message?: string } | null;
  endedAt: number | null;
}

/** An @opentelemetry/api-shaped module whose tracer records every span; `noop` mimics the API without an SDK. */
function fakeOpenTelemetry(noop = false): { api: OpenTelemetryApi; spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  const ROOT_CONTEXT = { parent: null };
  let n = 0;
  const api: OpenTelemetryApi = {
    ROOT_CONTEXT,
    trace: {
      setSpanContext: (_context, spanContext) => ({ parent: spanContext }),
      getTracer: () => ({
        startSpan(name, options = {}, context) {
          const parent = (context as { parent: OtelSpanContext | null } | undefined)?.parent ?? null;
          n++;
          const own = noop
            ? { traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: 0 }
            : { traceId: parent?.traceId ?? String(n).padStart(32, "f"), spanId: String(n).padStart(16, "e"), traceFlags: 1 };
          const span: RecordedSpan = { name, options, parent, context: own, status: null, endedAt: null };
          spans.push(span);
          return {
            spanContext: () => own,
            setStatus: (status) => (span.status = status),
            end: (endTime) => (span.endedAt = endTime ?? -1),
          };
        },
      }),
    },
  };
  return { api, spans };
}

async function nextTurn(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

test("a running clock emits a batch span and per slot a span in the slot's own trace, after the script replied; none without an SDK, none when the API is absent", async (t) => {
  const scope = testScope(t);
  const { api, spans } = fakeOpenTelemetry();
  const sink = new LogSink();
  const definition = { namespace: "traces-clock", adapter: "list", schedules: { tick: { every: "1s", job: { class: "T", queue: "traces" } } } };
  const config = parseConfig(definition);
  const clock = await startClock({ config, logger: sink.logger, redisUrl: server.url, openTelemetry: api, version: "9.9.9" });
  scope.defer(() => clock.stop());
  const { outcome } = await clock.events.next("fire:fired", () => true, 5000);
  // The fire's listeners run before the spans are made: these come on a later turn of the event loop.
  assert.equal(
    spans.some((span) => span.options.attributes?.["clock.job_id"] === outcome.jobId),
    false,
    "no span before the fire's outcome went out",
  );
  await nextTurn();
  const slot = spans.find((span) => span.name === "clock fire" && span.options.attributes?.["clock.job_id"] === outcome.jobId);
  assert.ok(slot !== undefined, `a slot span among ${spans.map((span) => span.name).join(", ")}`);
  const [, traceId, spanId] = /^00-(\w{32})-(\w{16})-01$/.exec(expected(`traceparent\0traces-clock\0tick\0${outcome.request.slotAt}`)) ?? [];
  assert.deepEqual(slot.parent, { traceId, spanId, traceFlags: 1, isRemote: true }, "the parent is the traceparent the job carries");
  assert.deepEqual(slot.options.attributes, {
    "clock.schedule": "tick",
    "clock.slot": new Date(outcome.request.slotAt).toISOString(),
    "clock.job_id": outcome.jobId,
    "clock.adapter": "list",
    "clock.queue": "traces",
    "clock.status": "fired",
  });
  const batch = spans.find((span) => span.name === "clock fire batch" && span.context.spanId === slot.options.links?.[0]?.context.spanId);
  assert.ok(batch !== undefined, "the slot span links to its batch's span");
  assert.equal(batch.parent, null, "a batch span is a root");
  assert.deepEqual(batch.options.attributes, { "clock.slots": 1, "clock.fired": 1 });
  assert.ok(slot.options.startTime !== undefined && slot.endedAt !== null && slot.endedAt >= slot.options.startTime, "ended, after it started");
  assert.ok((slot.options.startTime ?? 0) >= outcome.request.slotAt, "started at the fire, not before the slot");
  assert.ok(sink.lines.some((line) => line.msg === "clock started" && line["traces"] === true));

  // The API without an SDK (its no-op tracer): the batch span tells, and no slot span is asked for.
  const noop = fakeOpenTelemetry(true);
  const quiet = await startClock({ config: parseConfig({ ...definition, namespace: "traces-noop" }), logger: new LogSink().logger, redisUrl: server.url, openTelemetry: noop.api });
  scope.defer(() => quiet.stop());
  await quiet.events.next("fire:fired", () => true, 5000);
  await nextTurn();
  assert.ok(noop.spans.length > 0);
  assert.deepEqual(new Set(noop.spans.map((span) => span.name)), new Set(["clock fire batch"]));

  // Not installed: no module, so the firer is not told of fires at all.
  assert.equal(await loadOpenTelemetry(() => import("@opentelemetry/no-such-package" as string)), null);
  assert.equal(await loadOpenTelemetry(() => Promise.resolve({ trace: {} })), null, "something else under that name");
  assert.notEqual(await loadOpenTelemetry(), null, "precondition: the real @opentelemetry/api resolves here (prom-client brings it)");
});
