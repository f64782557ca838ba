/**
 * Spans of the clock's fires through OpenTelemetry, when `@opentelemetry/api` is installed (an
 * optional peer, looked for once at start-up, never required). Per fire batch (one script call) a
 * span `clock fire batch`; per slot a span `clock fire` whose parent is the slot's traceparent (the
 * one its job carries, adapters/ids.ts), so a worker that continues that traceparent is in the same
 * trace. Both are made after the fire's outcome is known, from times measured around the script,
 * and on the next turn of the event loop: never in a slot's way. With the API but no SDK registered
 * (its no-op tracer) only the batch span is asked for, to find that out, and no slot span.
 */
import type { FireReport } from "../fire/fire.ts";

/** The part of `@opentelemetry/api` the clock uses, structurally (the package is not a dependency). */
export interface OpenTelemetryApi {
  readonly trace: {
    getTracer(name: string, version?: string): OtelTracer;
    setSpanContext(context: unknown, spanContext: OtelSpanContext): unknown;
  };
  readonly ROOT_CONTEXT: unknown;
}

export interface OtelSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
}

export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setStatus(status: { code: number; message?: string }): unknown;
  end(endTime?: number): void;
}

export interface OtelSpanOptions {
  readonly kind?: number;
  readonly startTime?: number;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly links?: readonly { readonly context: OtelSpanContext }[];
}

export interface OtelTracer {
  startSpan(name: string, options?: OtelSpanOptions, context?: unknown): OtelSpan;
}

/** @opentelemetry/api's SpanKind and SpanStatusCode values (stable since 1.0). */
const SPAN_KIND_INTERNAL = 0;
const SPAN_KIND_PRODUCER = 3;
const STATUS_ERROR = 2;
const TRACE_FLAG_SAMPLED = 1;
const INVALID_TRACE_ID = "0".repeat(32);
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

const PACKAGE = "@opentelemetry/api";

function isApi(module: unknown): module is OpenTelemetryApi {
  const candidate = module as Partial<OpenTelemetryApi> | null;
  return typeof candidate?.trace?.getTracer === "function" && typeof candidate.trace.setSpanContext === "function" && candidate.ROOT_CONTEXT !== undefined;
}

/**
 * `@opentelemetry/api` as Node resolves it from here (the app's copy, which its SDK registers with),
 * or null when it is not installed or is not the API. `load` is for tests.
 */
export async function loadOpenTelemetry(load: () => Promise<unknown> = () => import(PACKAGE)): Promise<OpenTelemetryApi | null> {
  try {
    const module = await load();
    return isApi(module) ? module : null;
  } catch {
    return null; // not installed: no spans, and nothing else changes
  }
}

export class FireTraces {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: OtelTracer;
  readonly #onError: (error: Error) => void;
  /** The previous emit failed: a tracer that keeps throwing is reported once per run of failures. */
  #failing = false;

  constructor(api: OpenTelemetryApi, options: { readonly version?: string | undefined; readonly onError: (error: Error) => void }) {
    this.#api = api;
    this.#tracer = api.trace.getTracer("the-clock", options.version);
    this.#onError = options.onError;
  }

  /** Builds the fire's report and emits its spans on the next turn of the event loop (the fire's caller goes on first). */
  emit(report: () => FireReport): void {
    setImmediate(() => {
      try {
        this.record(report());
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) this.#onError(error instanceof Error ? error : new Error(String(error)));
        this.#failing = true;
      }
    });
  }

  /** The spans of one fire, now. */
  record(report: FireReport): void {
    const api = this.#api;
    for (const batch of report.batches) {
      const failed = batch.slots.find(({ outcome }) => outcome.status === "error" && Number.isNaN(outcome.redisAt))?.outcome.error;
      const attributes = { "clock.slots": batch.slots.length, "clock.fired": batch.slots.filter(({ outcome }) => outcome.status === "fired").length };
      const span = this.#tracer.startSpan("clock fire batch", { kind: SPAN_KIND_INTERNAL, startTime: report.startedAt, attributes }, api.ROOT_CONTEXT);
      if (failed !== undefined) span.setStatus({ code: STATUS_ERROR, message: failed.message });
      span.end(batch.repliedAt);
      const batchContext = span.spanContext();
      // The no-op tracer (no SDK registered) gives an invalid context: no slot span is asked for.
      if (batchContext.traceId === INVALID_TRACE_ID) return;
      for (const { outcome, enqueue, settledAt } of batch.slots) {
        const ids = TRACEPARENT.exec(enqueue.traceparent ?? "");
        const parent =
          ids === null
            ? api.ROOT_CONTEXT
            : api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: ids[1] ?? "", spanId: ids[2] ?? "", traceFlags: TRACE_FLAG_SAMPLED, isRemote: true });
        const slot = this.#tracer.startSpan(
          "clock fire",
          {
            kind: SPAN_KIND_PRODUCER,
            startTime: report.startedAt,
            attributes: {
              "clock.schedule": enqueue.schedule,
              "clock.slot": new Date(enqueue.slotAt).toISOString(),
              "clock.job_id": outcome.jobId,
              "clock.adapter": outcome.request.schedule.adapter,
              "clock.queue": enqueue.job.queue,
              "clock.status": outcome.status,
            },
            links: [{ context: batchContext }],
          },
          parent,
        );
        if ((outcome.status === "error" || outcome.status === "outboxed") && outcome.error !== undefined) slot.setStatus({ code: STATUS_ERROR, message: outcome.error.message });
        slot.end(settledAt);
      }
    }
  }
}
