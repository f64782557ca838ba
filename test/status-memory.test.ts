/**
 * Status from memory: the running clock answers /api/status from what it holds, one page at a
 * time, and neither it nor `clock status` reads every definition (before, each call re-read and
 * re-validated every dynamic schedule: 0.9-1.5 s at 50,000, blocking the event loop).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { Redis } from "ioredis";
import { addressOf, createClient, parseConfig, startClock, startHttpServer, systemClock, type RunningClock } from "../src/index.ts";
import { encodeEntry } from "../src/dynamic/store.ts";
import { clockKeys } from "../src/redis/keys.ts";
import { runClock } from "./helpers/process.ts";
import { LogSink } from "./helpers/logs.ts";
import { startRedis, type TestRedis } from "./helpers/redis.ts";
import { connect } from "node:net";

const DYNAMIC = 2_500;
let server: TestRedis;
let redis: Redis;
let clock: RunningClock;
let base: string;

/**
 * Every command the server ran while `during` ran, as "command key" (MONITOR on a raw socket:
 * ioredis' monitor mode can take a monitored line for a reply when the server is busy).
 */
async function commandsDuring(during: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const socket = connect(server.port, "127.0.0.1");
  let buffered = "";
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  socket.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const lines = buffered.split("\r\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "+OK") ready();
      // +1796186999.713334 [0 127.0.0.1:60842] "hgetall" "{mem}:pauses"
      const args = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1] ?? "");
      // "command key", and the argument count after a tab (a page's HMGET names its whole page).
      if (line.startsWith("+") && args.length > 0) seen.push(`${(args[0] ?? "").toLowerCase()} ${args[1] ?? ""}\t${args.length}`);
    }
  });
  socket.write("MONITOR\r\n");
  await started;
  try {
    await during();
  } finally {
    socket.destroy();
  }
  return seen;
}

before(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  const keys = clockKeys("mem");
  const entries: string[] = [];
  for (let i = 0; i < DYNAMIC; i++) entries.push(`tenant-${String(i).padStart(5, "0")}`, encodeEntry({ every: "1h", adapter: "list", job: { class: "T" } }, 0));
  await redis.hset(keys.schedules, ...entries);
  await redis.hset(keys.schedules, "broken", "{not json");
  const config = parseConfig({ namespace: "mem", adapter: "list", schedules: { a: { every: "1s", job: { class: "A" } }, zz: { cron: "0 9 * * *", job: { class: "Z" } } } });
  const sink = new LogSink();
  clock = await startClock({ config, logger: sink.logger, redisUrl: server.url });
  await sink.waitFor((line) => line.msg === "leadership acquired");
  base = addressOf(await startHttpServer(clock, { port: 0, clock: systemClock }));
});

after(async () => {
  await clock.stop();
  redis.disconnect();
  await server.close();
});

test("/api/status pages through every schedule by name with a total, and reads no definition", async () => {
  type Page = { total: number; offset: number; limit: number; invalidEntries: number; schedules: { name: string; nextAt: number | null; error?: string }[] };
  let first: Page | undefined;
  let last: Page | undefined;
  const commands = await commandsDuring(async () => {
    first = (await (await fetch(`${base}/api/status?limit=1000`)).json()) as Page;
    last = (await (await fetch(`${base}/api/status?limit=1000&offset=2000`)).json()) as Page;
  });
  assert.ok(first !== undefined && last !== undefined);
  assert.equal(first.total, DYNAMIC + 3);
  assert.equal(first.invalidEntries, 1);
  assert.equal(first.schedules.length, 1000);
  assert.deepEqual([first.offset, first.limit], [0, 1000]);
  assert.equal(first.schedules[0]?.name, "a");
  assert.equal(first.schedules[1]?.error !== undefined && first.schedules[1].name, "broken");
  const names = [...first.schedules, ...last.schedules].map((schedule) => schedule.name);
  assert.deepEqual(names, [...names].sort());
  assert.equal(last.schedules.length, DYNAMIC + 3 - 2000);
  assert.equal(last.schedules.at(-1)?.name, "zz");
  // The planner's next slot, not a recomputed one.
  assert.equal(first.schedules[0]?.nextAt, clock.planner.nextAtOf("a"));
  // Two pages cost an HMGET of the ledger each, never a read of the schedules' definitions.
  assert.deepEqual(
    commands.filter((command) => command.split("\t")[0]?.endsWith("{mem}:schedules")),
    [],
  );
  // One per page (1,000 and 503 names); another part of the clock may read a few entries meanwhile.
  assert.equal(commands.filter((command) => command.startsWith("hmget {mem}:ledger\t") && Number(command.split("\t")[1]) > 500).length, 2);
});

test("a client's status reads the names and one page of definitions, not every definition", async () => {
  const client = createClient({ redis: server.url, namespace: "mem" });
  try {
    await client.status({ limit: 1 }); // the config snapshot is read once, then cached
    let status: Awaited<ReturnType<typeof client.status>> | undefined;
    const commands = await commandsDuring(async () => {
      status = await client.status({ offset: 10, limit: 5 });
    });
    assert.ok(status !== undefined);
    assert.equal(status.total, DYNAMIC + 3);
    assert.deepEqual(
      status.schedules.map((schedule) => schedule.name),
      ["tenant-00008", "tenant-00009", "tenant-00010", "tenant-00011", "tenant-00012"],
    );
    assert.equal(status.invalidEntries, 1, "the leader's own count, from its heartbeat");
    // The names (HKEYS) and the page's five definitions (HMGET), never every definition (HGETALL).
    assert.deepEqual(
      commands
        .map((command) => command.split("\t")[0] ?? "")
        .filter((command) => command.endsWith("{mem}:schedules"))
        .sort(),
      ["hkeys {mem}:schedules", "hmget {mem}:schedules"],
    );
  } finally {
    await client.close();
  }
});

test("clock status --limit shows one page and the total", async () => {
  const result = await runClock(["status", "--namespace", "mem", "--limit", "3"], { cwd: tmpdir(), env: { REDIS_URL: server.url } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`schedules: ${DYNAMIC + 3} in all, 1 invalid; showing 1-3 \\(--offset 3 for more\\)`));
});
