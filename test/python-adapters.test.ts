/**
 * The celery and rq adapters' exact text, judged by Python: the payloads equal what Celery's and
 * RQ's own clients write for the same job (read back from a throwaway redis-server), and the Python
 * text functions under them (json.dumps, repr, Celery's saferepr, RQ's call string, the ASCII
 * pickle) equal Python's own on generated values. Plus the options and settings they refuse.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Redis } from "ioredis";
import { celeryAdapter, celeryMessage, celerySafeRepr } from "../src/adapters/celery.ts";
import { pythonJson, pythonRepr } from "../src/adapters/python.ts";
import { pickleAscii, PyTuple, rqAdapter, rqDescription, rqJobFields, rqJobId } from "../src/adapters/rq.ts";
import type { Enqueue, Write } from "../src/adapters/types.ts";
import { ConfigError, formatIssue } from "../src/errors.ts";
import { parseConfig } from "../src/config/resolve.ts";
import type { Json } from "../src/schedule/schedule.ts";
import { SCHEDULE_NAME } from "../src/schedule/schedule.ts";
import { missingPythonPackage, runPythonJson } from "./helpers/python.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";

const REFERENCE = fileURLToPath(new URL("fixtures/python_reference.py", import.meta.url));
const CLIENTS = fileURLToPath(new URL("fixtures/python_clients.py", import.meta.url));
const NO_CELERY = missingPythonPackage("celery, redis", "python3-celery python3-redis");
const NO_RQ = missingPythonPackage("rq", "python3-rq");
const NO_PYTHON = NO_CELERY !== null && NO_RQ !== null ? NO_CELERY : null;

/** 2026-12-01T22:55:50.000Z */
const SLOT_AT = 1_796_165_750_000;
const ENQUEUED_AT = SLOT_AT + 3;
/** The slot's traceparent, as the firer derives it (adapters/ids.ts); the adapters write it as given. */
const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function enqueueOf(job: Partial<Enqueue["job"]>, jobId: string, extra: Partial<Enqueue> = {}): Enqueue {
  return {
    schedule: "nightly",
    slotAt: SLOT_AT,
    jobId,
    job: { class: "tasks.report", args: [1, "x", { k: "é" }], queue: "e2e", options: {}, ...job },
    enqueuedAt: ENQUEUED_AT,
    traceparent: TRACEPARENT,
    ...extra,
  };
}

function writesOf(adapter: { writes?(enqueue: Enqueue): Write[] }, enqueue: Enqueue): Write[] {
  const writes = adapter.writes?.(enqueue);
  assert.ok(writes !== undefined, "the adapter writes inside the fire script");
  return writes;
}

// ---------------------------------------------------------------------------------------------
// Generated JSON values, over characters whose printability Python 3.11 (Unicode 14) and Node
// (a later Unicode) agree on: ASCII with every control, Latin-1, general punctuation (format
// characters, line and paragraph separators, an unassigned one), a private-use character, a
// noncharacter, an astral emoji, and lone surrogates.

const CHARS = fc
  .oneof(
    { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 6 },
    { arbitrary: fc.integer({ min: 0x00, max: 0x1f }), weight: 1 },
    { arbitrary: fc.constantFrom(0x7f, 0x27, 0x22, 0x5c, 0x20, 0x0a, 0x0d, 0x09, 0x08, 0x0c), weight: 3 },
    { arbitrary: fc.integer({ min: 0x80, max: 0x7ff }), weight: 2 },
    { arbitrary: fc.integer({ min: 0x2000, max: 0x206f }), weight: 1 },
    { arbitrary: fc.constantFrom(0xe000, 0xffff, 0xfeff, 0x1f600, 0x10ffff, 0xd800, 0xdfff), weight: 1 },
  )
  .map((code) => String.fromCodePoint(code));
const TEXT = fc.array(CHARS, { maxLength: 12 }).map((chars) => chars.join(""));
const NUMBER = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0.1, 1e-4, 1e-5, 1.5e-7, 1e15, 1e16, 2 ** 53, 2 ** 60, 1e21, 1.7976931348623157e308, 5e-324, -0, 123456.789),
);
const { json: JSON_VALUE } = fc.letrec<{ json: Json }>((tie) => ({
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    NUMBER,
    TEXT,
    fc.array(tie("json"), { maxLength: 4 }),
    fc.dictionary(TEXT, tie("json"), { maxKeys: 4 }),
  ),
}));
const ARGS = fc.array(JSON_VALUE, { maxLength: 5 });
const KWARGS = fc.dictionary(TEXT, JSON_VALUE, { maxKeys: 4 });

interface Case<T> {
  readonly request: Record<string, unknown>;
  readonly ours: T;
  readonly label: string;
}

/** Asks Python about every case in one process and compares each answer with ours. */
function judge<T>(cases: readonly Case<T>[], compare: (ours: T, python: unknown, label: string) => void): void {
  const answers = runPythonJson<unknown[]>(
    REFERENCE,
    cases.map((entry) => entry.request),
  );
  assert.equal(answers.length, cases.length);
  cases.forEach((entry, i) => compare(entry.ours, answers[i], entry.label));
}

const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number): T[] => fc.sample(arbitrary, { numRuns, seed: 17 });

describe("Python's own text for JSON values", { skip: NO_PYTHON ?? false }, () => {
  test("json.dumps: the clock's text equals Python's for values it parsed from JavaScript's JSON", () => {
    const values = [...sample(JSON_VALUE, 400), "é\u2028\ud800😀", [1e21, 1e-7, 0.1, -0.0, 2 ** 60], {}, []];
    judge(
      values.map((value) => ({ request: { op: "dumps", value: JSON.stringify(value) }, ours: pythonJson(value), label: JSON.stringify(value) })),
      (ours, python, label) => assert.equal(ours, python, label),
    );
  });

  test("repr: strings, floats and containers as Python prints them (RQ's description)", () => {
    const values = [...sample(JSON_VALUE, 400), "it's", 'say "hi"', `it's "both"`, "\u00a0\u00ad\u2028\x7f\x00é", 1e16, 1e-5, 0.0001];
    judge(
      values.map((value) => ({ request: { op: "repr", value: JSON.stringify(value) }, ours: pythonRepr(value), label: JSON.stringify(value) })),
      (ours, python, label) => assert.equal(ours, python, label),
    );
  });

  test("pickle: Python unpickles the clock's ASCII pickle into the same values with the same types (int stays int, float float, tuple tuple)", () => {
    const values = sample(JSON_VALUE, 300);
    const cases: Case<string>[] = values.map((value) => ({
      request: { op: "unpickle", pickle: pickleAscii(value), value: JSON.stringify(value) },
      ours: pickleAscii(value),
      label: JSON.stringify(value),
    }));
    for (const [args, kwargs] of sample(fc.tuple(ARGS, KWARGS), 100)) {
      const text = pickleAscii(new PyTuple(["tasks.report", null, new PyTuple(args), kwargs]));
      cases.push({
        request: { op: "unpickle", pickle: text, value: JSON.stringify(["tasks.report", null, args, kwargs]), tuple: [2] },
        ours: text,
        label: JSON.stringify([args, kwargs]),
      });
    }
    judge(cases, (ours, python, label) => {
      assert.match(ours, /^[\x20-\x7e\n]*$/, "the pickle is ASCII text (the fire script's arguments are strings)");
      const answer = python as { same: boolean; got: string; want: string };
      assert.ok(answer.same, `${label}: Python unpickled ${answer.got}, expected ${answer.want}`);
    });
  });

  test("RQ's call string: the description RQ's enqueue writes, with each argument's repr cut at 75 characters", { skip: NO_RQ ?? false }, () => {
    const cases = sample(fc.tuple(ARGS, KWARGS), 300).map(([args, kwargs]) => ({
      request: { op: "call_string", func: "tasks.report", args: JSON.stringify(args), kwargs: JSON.stringify(kwargs) },
      ours: rqDescription("tasks.report", args, kwargs),
      label: JSON.stringify([args, kwargs]),
    }));
    cases.push({
      request: { op: "call_string", func: "f", args: JSON.stringify(["x".repeat(100)]), kwargs: JSON.stringify({ b: 1, a: "y".repeat(80) }) },
      ours: rqDescription("f", ["x".repeat(100)], { b: 1, a: "y".repeat(80) }),
      label: "long",
    });
    judge(cases, (ours, python, label) => assert.equal(ours, python, label));
  });

  test("Celery's saferepr: argsrepr and kwargsrepr, including the cut at maxlen and the [...] past three levels", { skip: NO_CELERY ?? false }, () => {
    const maxlens = fc.oneof(fc.constant(1024), fc.constant(null), fc.integer({ min: 1, max: 60 }));
    const cases = sample(fc.tuple(fc.oneof(ARGS, KWARGS) as fc.Arbitrary<Json>, maxlens), 500).map(([value, maxlen]) => ({
      request: { op: "saferepr", value: JSON.stringify(value), maxlen },
      ours: celerySafeRepr(value, maxlen),
      label: `${JSON.stringify(value)} maxlen ${maxlen}`,
    }));
    const deep: Json = [[[[1, [2]], { a: { b: [3] } }]], "x y z ".repeat(300), { "it's": "o'k" }];
    for (const maxlen of [null, 1024, 10, 25, 3])
      cases.push({ request: { op: "saferepr", value: JSON.stringify(deep), maxlen }, ours: celerySafeRepr(deep, maxlen), label: `deep maxlen ${maxlen}` });
    judge(cases, (ours, python, label) => assert.equal(ours, python, label));
  });
});

// ---------------------------------------------------------------------------------------------

let server: TestRedis;
let redis: Redis;
before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.close();
});

/** Runs the adapter's writes on the test Redis, as the fire script would (same commands, same order). */
async function applyWrites(writes: readonly Write[]): Promise<void> {
  for (const write of writes) await redis.call(write.command, write.key, ...write.args);
}

type KeyDump = Record<string, { list?: string[]; set?: string[]; hash?: Record<string, string> }>;

async function dumpKeys(): Promise<KeyDump> {
  const keys: KeyDump = {};
  for (const key of (await redis.keys("*")).sort()) {
    const kind = await redis.type(key);
    if (kind === "list") keys[key] = { list: await redis.lrange(key, 0, -1) };
    else if (kind === "set") keys[key] = { set: (await redis.smembers(key)).sort() };
    else if (kind === "hash") {
      const fields = await redis.hgetallBuffer(key);
      keys[key] = { hash: Object.fromEntries(Object.entries(fields).map(([field, value]) => [field, value.toString("base64")])) };
    }
  }
  return keys;
}

describe("celery: the message", () => {
  const enqueue = enqueueOf({ options: { kwargs: { n: 2, flag: true } } }, "clock-nightly-1796165750000");
  const origin = `clock@${hostname()}`;

  test("the exact text: Python's json.dumps of kombu's envelope, body base64, protocol 2 headers, the slot as a clock header and its traceparent as a header", () => {
    const text = celeryMessage(enqueue, origin);
    const tag = /"delivery_tag": "([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12})"/.exec(text)?.[1];
    assert.ok(tag !== undefined, `a uuid-shaped delivery tag in ${text}`);
    // The body is the one Celery 5.2's send_task wrote for these args (captured from it once): [[1, "x", {"k": "\u00e9"}], {"n": 2, "flag": true}, {...}].
    const body = Buffer.from('[[1, "x", {"k": "\\u00e9"}], {"n": 2, "flag": true}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]').toString("base64");
    assert.equal(
      text,
      `{"body": "${body}", "content-encoding": "utf-8", "content-type": "application/json", ` +
        `"headers": {"lang": "py", "task": "tasks.report", "id": "clock-nightly-1796165750000", "shadow": null, "eta": null, "expires": null, ` +
        `"group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "clock-nightly-1796165750000", "parent_id": null, ` +
        `"argsrepr": "[1, 'x', {'k': '\\u00e9'}]", "kwargsrepr": "{'n': 2, 'flag': True}", "origin": ${JSON.stringify(origin)}, "ignore_result": false, ` +
        `"clock": {"schedule": "nightly", "slot": "2026-12-01T22:55:50.000Z", "slotAt": 1796165750000}, "traceparent": "${TRACEPARENT}"}, ` +
        `"properties": {"correlation_id": "clock-nightly-1796165750000", "reply_to": "", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "e2e"}, ` +
        `"priority": 0, "body_encoding": "base64", "delivery_tag": "${tag}"}}`,
    );
    assert.equal(celeryMessage(enqueue, origin), text, "the same slot gives the same text (delivery tag included)");
    assert.notEqual(
      celeryMessage({ ...enqueue, jobId: "clock-nightly-1796165751000" }, origin).match(/"delivery_tag": "[^"]+"/)?.[0],
      `"delivery_tag": "${tag}"`,
      "another job gets another delivery tag",
    );
  });

  test("empty args are argsrepr () as Celery's client writes them, and no kwargs is {}", () => {
    const text = celeryMessage(enqueueOf({ args: [] }, "clock-nightly-1"), origin);
    assert.match(text, /"argsrepr": "\(\)", "kwargsrepr": "\{\}"/);
    assert.deepEqual(
      JSON.parse(Buffer.from((JSON.parse(text) as { body: string }).body, "base64").toString()),
      JSON.parse('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
    );
  });

  test("writes: the binding Celery's producer declares, then LPUSH on the queue's own key", () => {
    const writes = writesOf(celeryAdapter({}, { namespace: "clock" }), enqueue);
    assert.deepEqual(
      writes.map((write) => [write.command, write.key, write.command === "SADD" ? write.args : write.args.length]),
      [
        ["SADD", "_kombu.binding.e2e", ["e2e\x06\x16\x06\x16e2e"]],
        ["LPUSH", "e2e", 1],
      ],
    );
  });

  test("the same keys and the same message as Celery 5.2's own send_task, but for the sender's random fields", { skip: NO_CELERY ?? false }, async () => {
    await redis.flushall();
    const { job } = enqueue;
    const theirs = runPythonJson<{ keys: KeyDump }>(
      CLIENTS,
      {
        system: "celery",
        task: job.class,
        args: job.args,
        kwargs: job.options["kwargs"],
        queue: job.queue,
        task_id: enqueue.jobId,
        headers: { clock: { schedule: "nightly", slot: "2026-12-01T22:55:50.000Z", slotAt: SLOT_AT }, traceparent: TRACEPARENT },
      },
      [String(server.port)],
    );
    await redis.flushall();
    await applyWrites(writesOf(celeryAdapter({}, { namespace: "clock" }), enqueue));
    const ours = await dumpKeys();
    assert.deepEqual(Object.keys(ours), Object.keys(theirs.keys), "the same keys");
    assert.deepEqual(ours["_kombu.binding.e2e"], theirs.keys["_kombu.binding.e2e"]);
    const [theirText] = theirs.keys["e2e"]?.list ?? [];
    const [ourText] = ours["e2e"]?.list ?? [];
    assert.ok(theirText !== undefined && ourText !== undefined);
    // Celery's client names its process as origin, its reply queue as reply_to and a random uuid as delivery tag.
    const normalize = (text: string): string =>
      text
        .replace(/"origin": "[^"]*"/, '"origin": "ORIGIN"')
        .replace(/"reply_to": "[^"]*"/, '"reply_to": "REPLY"')
        .replace(/"delivery_tag": "[^"]*"/, '"delivery_tag": "TAG"');
    assert.equal(normalize(ourText), normalize(theirText));
    assert.match(theirText, /"origin": "gen\d+@/, "precondition: the fields normalized away are the ones Celery fills from its process");
  });
});

describe("rq: the job", () => {
  const kwargs = { k2: [true, null, 1.5] };
  const enqueue = enqueueOf({ options: { kwargs } }, rqJobId("nightly", SLOT_AT));

  test("the exact fields: RQ 1.13's enqueue, data an ASCII pickle of (func, None, args, kwargs), the slot in meta", () => {
    const fields = rqJobFields(enqueue, "pickle");
    assert.deepEqual(fields, [
      ["status", "queued"],
      ["created_at", "2026-12-01T22:55:50.003000Z"],
      ["data", "(Vtasks.report\nN(I1\nVx\n(Vk\nV\\u00e9\ndt(Vk2\n(I01\nNF1.5\nldt."],
      ["success_callback_name", ""],
      ["failure_callback_name", ""],
      ["started_at", ""],
      ["ended_at", ""],
      ["last_heartbeat", ""],
      ["worker_name", ""],
      ["origin", "e2e"],
      ["description", "tasks.report(1, 'x', {'k': 'é'}, k2=[True, None, 1.5])"],
      ["enqueued_at", "2026-12-01T22:55:50.003000Z"],
      ["timeout", "180"],
      ["meta", `(Vclock\n(Vschedule\nVnightly\nVslot\nV2026-12-01T22:55:50.000Z\nVslotAt\nI1796165750000\nVtraceparent\nV${TRACEPARENT}\ndd.`],
    ]);
    const writes = writesOf(rqAdapter({}, { namespace: "clock" }), enqueue);
    assert.deepEqual(writes, [
      { command: "SADD", key: "rq:queues", args: ["rq:queue:e2e"] },
      { command: "HSET", key: "rq:job:clock-nightly-1796165750000", args: fields.flat() },
      { command: "RPUSH", key: "rq:queue:e2e", args: ["clock-nightly-1796165750000"] },
    ]);
  });

  test('serializer "json": data and meta are Python\'s json.dumps text', () => {
    const fields = new Map(rqJobFields(enqueue, "json"));
    assert.equal(fields.get("data"), '["tasks.report", null, [1, "x", {"k": "\\u00e9"}], {"k2": [true, null, 1.5]}]');
    assert.equal(fields.get("meta"), `{"clock": {"schedule": "nightly", "slot": "2026-12-01T22:55:50.000Z", "slotAt": 1796165750000, "traceparent": "${TRACEPARENT}"}}`);
  });

  test("job options land in their fields: timeout, result_ttl, failure_ttl, description", () => {
    const fields = new Map(rqJobFields(enqueueOf({ options: { timeout: 30, result_ttl: -1, failure_ttl: 60, description: "nightly report" } }, "x"), "pickle"));
    assert.equal(fields.get("timeout"), "30");
    assert.equal(fields.get("result_ttl"), "-1");
    assert.equal(fields.get("failure_ttl"), "60");
    assert.equal(fields.get("description"), "nightly report");
    assert.equal(new Map(rqJobFields(enqueue, "pickle")).has("result_ttl"), false, "no result_ttl unless given, as RQ's enqueue");
  });

  for (const serializer of ["pickle", "json"] as const) {
    test(
      `the same keys and fields as RQ 1.13's own enqueue_call (${serializer}), but for the timestamps; data and meta deserialize to the same values`,
      { skip: NO_RQ ?? false },
      async () => {
        const options = { timeout: 30, result_ttl: 600, failure_ttl: 60 };
        const withOptions = enqueueOf({ options: { kwargs, ...options } }, enqueue.jobId);
        const fields = rqJobFields(withOptions, serializer);
        const field = (name: string): string => fields.find(([key]) => key === name)?.[1] ?? "";
        const clock = { schedule: "nightly", slot: "2026-12-01T22:55:50.000Z", slotAt: SLOT_AT, traceparent: TRACEPARENT };
        await redis.flushall();
        const theirs = runPythonJson<{ keys: KeyDump; sameData: boolean; sameMeta: boolean; data: string; dataText: string | null }>(
          CLIENTS,
          {
            system: "rq",
            func: "tasks.report",
            args: withOptions.job.args,
            kwargs,
            queue: "e2e",
            job_id: enqueue.jobId,
            meta: { clock },
            serializer,
            options,
            ours: { data: field("data"), meta: field("meta") },
          },
          [String(server.port)],
        );
        await redis.flushall();
        await applyWrites(writesOf(rqAdapter({ serializer }, { namespace: "clock" }), withOptions));
        const ours = await dumpKeys();
        assert.deepEqual(Object.keys(ours), Object.keys(theirs.keys), "the same keys");
        assert.deepEqual(ours["rq:queues"], theirs.keys["rq:queues"]);
        assert.deepEqual(ours["rq:queue:e2e"], theirs.keys["rq:queue:e2e"]);
        const ourHash = ours[`rq:job:${enqueue.jobId}`]?.hash ?? {};
        const theirHash = theirs.keys[`rq:job:${enqueue.jobId}`]?.hash ?? {};
        assert.deepEqual(Object.keys(ourHash).sort(), Object.keys(theirHash).sort(), "the same fields");
        for (const name of Object.keys(theirHash)) {
          if (["created_at", "enqueued_at", "data", "meta"].includes(name)) continue;
          assert.equal(Buffer.from(ourHash[name] ?? "", "base64").toString(), Buffer.from(theirHash[name] ?? "", "base64").toString(), `field ${name}`);
        }
        for (const name of ["created_at", "enqueued_at"])
          assert.match(Buffer.from(theirHash[name] ?? "", "base64").toString(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, `precondition: RQ's ${name} has our format`);
        assert.ok(theirs.sameData, `data: RQ wrote ${theirs.data}`);
        assert.ok(theirs.sameMeta, "meta");
        if (serializer === "json") assert.equal(field("data"), theirs.dataText, "JSON data: the very text RQ writes (before its zlib)");
      },
    );
  }

  test("job ids: within [A-Za-z0-9_-] (RQ 2.8+ refuses anything else) and one-to-one with the slot", () => {
    assert.equal(rqJobId("reports.daily:eu_1", SLOT_AT), "clock-reports_2Edaily_3Aeu__1-1796165750000");
    const name = fc.stringMatching(SCHEDULE_NAME).filter((text) => text.length <= 20);
    fc.assert(
      fc.property(name, name, fc.integer({ min: 0, max: 2 ** 45 }), (a, b, slotAt) => {
        assert.match(rqJobId(a, slotAt), /^[A-Za-z0-9_-]+$/);
        if (a !== b) assert.notEqual(rqJobId(a, slotAt), rqJobId(b, slotAt));
      }),
      { numRuns: 500, seed: 17 },
    );
    // The escapes themselves cannot collide with a name that spells them out.
    assert.notEqual(rqJobId("a.b", 1), rqJobId("a_2Eb", 1));
    assert.notEqual(rqJobId("a:b", 1), rqJobId("a_3Ab", 1));
  });
});

// ---------------------------------------------------------------------------------------------

function issuesOf(config: unknown): string[] {
  try {
    parseConfig(config);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map(formatIssue);
    throw error;
  }
  return [];
}

describe("settings and job options the adapters refuse, each with its config path", () => {
  test("celery: no settings; kwargs must be an object; unknown options named", () => {
    assert.deepEqual(
      issuesOf({
        adapters: { celery: { exchange: "x" } },
        schedules: {
          a: { every: "1m", adapter: "celery", job: { class: "tasks.a", options: { kwargs: [1], routing_key: "r" } } },
          ok: { every: "1m", adapter: "celery", job: { class: "tasks.b", options: { kwargs: { n: 1 } } } },
        },
      }).sort(),
      [
        "adapters.celery.exchange: unknown setting (the celery adapter has none)",
        "schedules.a.job.options.kwargs: expected an object of keyword arguments, got [1]",
        "schedules.a.job.options.routing_key: unknown Celery option (known: kwargs)",
      ].sort(),
    );
  });

  test("rq: serializer is pickle or json; timeout, TTLs, description and kwargs are checked; ttl is refused with the reason", () => {
    assert.deepEqual(
      issuesOf({
        adapters: { rq: { serializer: "msgpack", prefix: "x" } },
        schedules: {
          r: {
            every: "1m",
            adapter: "rq",
            job: { class: "tasks.r", options: { timeout: 0, result_ttl: -2, failure_ttl: 1.5, description: 3, kwargs: "k", ttl: 60, at_front: true } },
          },
        },
      }).sort(),
      [
        'adapters.rq.serializer: expected "pickle" (RQ\'s default) or "json" (workers started with --serializer rq.serializers.JSONSerializer)',
        "adapters.rq.prefix: unknown setting",
        "schedules.r.job.options.timeout: expected a whole number of seconds, at least 1, got 0",
        "schedules.r.job.options.result_ttl: expected a whole number of seconds (-1: kept forever, 0: not kept), got -2",
        "schedules.r.job.options.failure_ttl: expected a whole number of seconds, at least 1, got 1.5",
        "schedules.r.job.options.description: expected a string, got 3",
        'schedules.r.job.options.kwargs: expected an object of keyword arguments, got "k"',
        "schedules.r.job.options.ttl: not supported (RQ expires a queued job with EXPIRE, which the fire script does not run) (known: kwargs, timeout, result_ttl, failure_ttl, description)",
        "schedules.r.job.options.at_front: unknown RQ option (known: kwargs, timeout, result_ttl, failure_ttl, description)",
      ].sort(),
    );
  });

  test("valid settings and options pass", () => {
    assert.deepEqual(
      issuesOf({
        adapters: { rq: { serializer: "json" }, celery: {} },
        schedules: {
          r: { every: "1m", adapter: "rq", job: { class: "tasks.r", options: { timeout: 5, result_ttl: 0, failure_ttl: 9, description: "d", kwargs: {} } } },
          c: { every: "1m", adapter: "celery", job: { class: "tasks.c" } },
        },
      }),
      [],
    );
  });
});
