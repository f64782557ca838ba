/**
 * Celery (protocol 2, Redis broker): the message Celery 5's own `app.send_task(name, args=[...],
 * kwargs={...}, queue=Q, task_id=ID, headers={"clock": ..., "traceparent": ...})` writes through kombu's Redis
 * transport — `SADD _kombu.binding.Q "Q\x06\x16\x06\x16Q"` (the producer's declare of the queue,
 * whose exchange is named after it) and `LPUSH Q <envelope>`. With no exchange and routing key
 * given, Celery publishes to the anonymous exchange with the queue name as routing key, so the
 * queue name is the list key (priority 0: no `\x06\x16<n>` suffix). The envelope and the body are
 * Python's `json.dumps` text, the body base64-encoded (kombu's `body_encoding`).
 *
 * Task id: the slot's readable job id (`clock-<schedule>-<slot ms>`); Celery takes any string.
 */
import { clockMetadata, traceField } from "./ids.ts";
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Json } from "../schedule/schedule.ts";
import { codePoints, pythonJson, pythonNumber } from "./python.ts";
import { listOverlap } from "./pending.ts";
import type { AdapterFactory, Enqueue, Write } from "./types.ts";

/** kombu's Redis transport separator of the fields of a binding and of a priority queue's name. */
const KOMBU_SEP = "\x06\x16";
/** Celery's `argsrepr_maxsize` and `kwargsrepr_maxsize`. */
const REPR_MAXSIZE = 1024;
/** celery.utils.saferepr's default nesting depth: deeper containers print as `[...]`. */
const REPR_MAXLEVELS = 3;

const CELERY_OPTIONS: Readonly<Record<string, (value: Json) => boolean>> = {
  kwargs: (value) => value !== null && typeof value === "object" && !Array.isArray(value),
};

// ---------------------------------------------------------------------------------------------
// celery.utils.saferepr over JSON values: what `argsrepr`/`kwargsrepr` hold. A streaming repr that
// stops after `maxlen` characters (then `, ...` and whatever closing brackets are still pending)
// and prints containers nested deeper than 3 as `[...]`. Strings are quoted with `'` and only `'`
// is escaped; numbers, None and booleans print as str() does. The token stream below reproduces
// its order exactly, since where it cuts depends on it.

interface Literal {
  readonly kind: "literal";
  readonly text: string;
  /** May be dropped once the budget is spent (separators), or always printed (brackets). */
  readonly truncate: boolean;
  readonly direction: -1 | 0 | 1;
}
type Item = Literal | { readonly kind: "key"; readonly key: string } | { readonly kind: "done" } | { readonly kind: "value"; readonly value: Json };
type Token = Literal | { readonly kind: "key"; readonly key: string } | { readonly kind: "quoted"; readonly text: string } | { readonly kind: "text"; readonly text: string };

const literal = (text: string, truncate: boolean, direction: -1 | 0 | 1): Literal => ({ kind: "literal", text, truncate, direction });
const DICT_START = literal("{", false, 1);
const DICT_SEP = literal(": ", true, 0);
const DICT_END = literal("}", false, -1);
const LIST_START = literal("[", false, 1);
const LIST_SEP = literal(", ", true, 0);
const LIST_END = literal("]", false, -1);

function* listItems(values: readonly Json[]): Generator<Item> {
  for (let i = 0; i < values.length; i++) {
    yield { kind: "value", value: values[i] ?? null };
    if (i < values.length - 1) yield LIST_SEP;
  }
}

function* dictItems(value: { readonly [key: string]: Json }): Generator<Item> {
  const entries = Object.entries(value);
  for (let i = 0; i < entries.length; i++) {
    const [key, item] = entries[i] ?? ["", null];
    yield { kind: "key", key };
    yield DICT_SEP;
    yield { kind: "value", value: item };
    if (i < entries.length - 1) yield LIST_SEP;
  }
}

function* chain(...parts: Iterable<Item>[]): Generator<Item> {
  for (const part of parts) yield* part;
}

/** Tokens in print order, each with the iterator it came from (what is left of it is still pending). */
function* tokens(stack: Iterator<Item>[], maxLevels: number): Generator<[Token, Iterator<Item>]> {
  let level = 0;
  while (stack.length > 0) {
    const it = stack.shift() as Iterator<Item>;
    // Manual next(): a for-of loop would close `it` on break, and its rest is still to be printed.
    for (let next = it.next(); next.done !== true; next = it.next()) {
      const item = next.value;
      if (item.kind === "done") continue;
      if (item.kind === "literal") {
        level += item.direction;
        yield [item, it];
        continue;
      }
      if (item.kind === "key") {
        yield [item, it];
        continue;
      }
      const { value } = item;
      if (value === null) yield [{ kind: "text", text: "None" }, it];
      else if (typeof value === "boolean") yield [{ kind: "text", text: value ? "True" : "False" }, it];
      else if (typeof value === "number") yield [{ kind: "text", text: pythonNumber(value) }, it];
      else if (typeof value === "string") yield [{ kind: "quoted", text: value }, it];
      else {
        const [start, end] = Array.isArray(value) ? [LIST_START, LIST_END] : [DICT_START, DICT_END];
        if (maxLevels > 0 && level >= maxLevels) {
          yield [{ kind: "text", text: `${start.text}...${end.text}` }, it];
          continue;
        }
        const inner = Array.isArray(value) ? listItems(value) : dictItems(value as { readonly [key: string]: Json });
        stack.push(chain([start], inner, [{ kind: "done" }, end], { [Symbol.iterator]: () => it }));
        break;
      }
    }
  }
}

/** celery.utils.text.truncate: at `maxlen` characters or more, cut there, back to the last space, and add `...`. */
function truncate(text: string, maxlen: number | null): string {
  const chars = codePoints(text);
  if (maxlen !== null && maxlen !== 0 && chars.length >= maxlen) {
    const cut = chars.slice(0, maxlen).join("");
    const space = cut.lastIndexOf(" ");
    return `${space >= 0 ? cut.slice(0, space) : cut}...`;
  }
  return text;
}

/** `celery.utils.saferepr.saferepr(value, maxlen)` of the Python value `json.loads` makes of `value`. */
export function celerySafeRepr(value: Json, maxlen: number | null = null, maxLevels = REPR_MAXLEVELS): string {
  const out: string[] = [];
  const stack: Iterator<Item>[] = [[{ kind: "value", value } as Item][Symbol.iterator]()];
  const stream = tokens(stack, maxLevels);
  let budget = maxlen;
  for (let next = stream.next(); next.done !== true; next = stream.next()) {
    const [token, it] = next.value;
    if (budget !== null && budget <= 0) {
      out.push(", ...");
      stack.push(it);
      break;
    }
    let text: string;
    if (token.kind === "literal") text = token.text;
    else if (token.kind === "key") text = celerySafeRepr(token.key, budget, maxLevels);
    else if (token.kind === "quoted") text = `'${truncate(token.text, budget).replaceAll("'", "\\'")}'`;
    else text = truncate(token.text, budget);
    out.push(text);
    if (budget !== null) budget -= codePoints(text).length;
  }
  // Past the budget: the brackets still open are closed.
  for (const rest of stack) {
    for (let next = rest.next(); next.done !== true; next = rest.next()) {
      if (next.value.kind === "literal" && !next.value.truncate) out.push(next.value.text);
    }
  }
  return out.join("");
}

// ---------------------------------------------------------------------------------------------

/** A UUID-shaped delivery tag derived from the job id (kombu's own is a random uuid4). */
function deliveryTag(jobId: string): string {
  const h = createHash("sha256").update(`celery-delivery-tag\0${jobId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The envelope kombu LPUSHes for one task, as Python's `json.dumps` writes it. */
export function celeryMessage(enqueue: Enqueue, origin: string): string {
  const { job } = enqueue;
  const id = enqueue.jobId;
  const args: Json[] = [...job.args];
  const kwargs = (job.options["kwargs"] ?? {}) as { [key: string]: Json };
  const body = pythonJson([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  const message: Json = {
    body: Buffer.from(body, "utf8").toString("base64"),
    "content-encoding": "utf-8",
    "content-type": "application/json",
    headers: {
      lang: "py",
      task: job.class,
      id,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: id,
      parent_id: null,
      // Celery turns empty args into a tuple first: `()`, not `[]`.
      argsrepr: args.length === 0 ? "()" : celerySafeRepr(args, REPR_MAXSIZE),
      kwargsrepr: celerySafeRepr(kwargs, REPR_MAXSIZE),
      origin,
      ignore_result: false,
      // A header of one's own, as send_task(headers=...) adds it: a bound task reads self.request.clock.
      clock: clockMetadata(enqueue),
      // A header, where Celery's OpenTelemetry instrumentation looks for it (as `task.request.traceparent`).
      ...traceField(enqueue),
    },
    properties: {
      correlation_id: id,
      reply_to: "",
      delivery_mode: 2,
      delivery_info: { exchange: "", routing_key: job.queue },
      priority: 0,
      body_encoding: "base64",
      delivery_tag: deliveryTag(id),
    },
  };
  return pythonJson(message);
}

export const celeryAdapter: AdapterFactory = (settings) => {
  // Every bad setting at once, one per line (adapterIssues splits them).
  const problems = Object.keys(settings).map((key) => `adapters.celery.${key}: unknown setting (the celery adapter has none)`);
  if (problems.length > 0) throw new Error(problems.join("\n"));
  // Celery's own client writes "gen<pid>@<host>"; the worker only shows it.
  const origin = `clock@${hostname()}`;
  return {
    name: "celery",
    clusterRefusal: "Celery's Redis broker (kombu) does not support Redis Cluster: point this clock at the Redis Celery uses",
    validate(job) {
      const found: Array<[string, string]> = [];
      for (const [key, value] of Object.entries(job.options)) {
        const check = CELERY_OPTIONS[key];
        if (check === undefined) found.push([key, `unknown Celery option (known: ${Object.keys(CELERY_OPTIONS).join(", ")})`]);
        else if (!check(value)) found.push([key, `expected an object of keyword arguments, got ${JSON.stringify(value)}`]);
      }
      return found;
    },
    // Waiting = the message still in the queue's list, as written: a worker's BRPOP takes it (into its
    // prefetch, and kombu's unacked hash), and a message kombu restores is written anew, so it is not looked for.
    overlap: listOverlap,
    writes(enqueue): Write[] {
      const queue = enqueue.job.queue;
      return [
        { command: "SADD", key: `_kombu.binding.${queue}`, args: [[queue, "", queue].join(KOMBU_SEP)] },
        { command: "LPUSH", key: queue, args: [celeryMessage(enqueue, origin)] },
      ];
    },
  };
};
