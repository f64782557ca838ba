/**
 * Part 4, failover: three clock processes share a lease (ttl 10 s, retry 1 s) and an every-1s
 * schedule with catch-up "all". SIGKILL the leader, then SIGTERM its successor, each half-way
 * between two slots; time each until another process fires, and check the list for every slot.
 */
import type { LoggedProcess } from "../test/helpers/process.ts";
import { connect, firedOf, ms, note, redisServer, section, SECOND, sleep, sleepUntil, spawnClock, stopProc, verdict, waitMessage, wallNow, writeConfig, type Row } from "./lib.ts";

const KEY = "bench:failover";
const STEADY_MS = 3 * SECOND;

interface Change {
  readonly proc: LoggedProcess;
  readonly leaderAt: number;
  /** The new leader's first fire: its Redis time, its slots, and the largest lag among them. */
  readonly firstRedisAt: number;
  readonly firstSlots: number;
  readonly firstMaxLagMs: number;
}

/** The next process (of `candidates`) to acquire the lease after `sinceAt`, and its first fire. */
async function nextLeader(candidates: readonly LoggedProcess[], sinceAt: number, timeoutMs: number): Promise<Change> {
  const acquired = await Promise.any(
    candidates.map((proc) => proc.waitFor((line, heard) => heard.receivedAt > sinceAt && line.msg === "leadership acquired", { timeoutMs, what: "leadership" })),
  );
  const fired = await acquired.proc.waitFor((line, heard) => heard.receivedAt > sinceAt && firedOf(line) !== null, { timeoutMs, what: "fire" });
  const first = firedOf(fired.line);
  if (first === null) throw new Error("unreachable: a fired line without a slot");
  await sleep(300); // pino writes one line per slot: the rest of the batch may still be in the pipe
  // One fire can carry several catch-up slots: they share the batch's Redis time (lagMs is logged to µs).
  const batch = acquired.proc.lines.map(firedOf).filter((entry) => entry !== null && Math.abs(entry.redisAt - first.redisAt) < 0.01);
  return {
    proc: acquired.proc,
    leaderAt: acquired.receivedAt,
    firstRedisAt: first.redisAt,
    firstSlots: batch.length,
    firstMaxLagMs: Math.max(...batch.map((entry) => entry?.lagMs ?? 0)),
  };
}

/** Slots in (fromAt, untilAt] that are missing from the list, and those pushed more than once. */
function audit(slots: readonly number[], fromAt: number, untilAt: number): { lost: number; doubled: number; expected: number } {
  const counts = new Map<number, number>();
  for (const slot of slots) counts.set(slot, (counts.get(slot) ?? 0) + 1);
  let lost = 0;
  let doubled = 0;
  let expected = 0;
  for (let slot = Math.floor(fromAt / SECOND) * SECOND + SECOND; slot <= untilAt; slot += SECOND) {
    expected++;
    const count = counts.get(slot) ?? 0;
    if (count === 0) lost++;
    if (count > 1) doubled += count - 1;
  }
  return { lost, doubled, expected };
}

function halfWay(): number {
  return Math.ceil(wallNow() / SECOND) * SECOND + SECOND / 2;
}

export async function benchFailover(dir: string): Promise<Row[]> {
  section('4. Failover: 3 clocks, lease { ttl: "10s", retry: "1s" }, every-1s schedule with catchUp "all"');
  const server = await redisServer();
  const config = writeConfig(dir, "failover", {
    adapter: "list",
    adapters: { list: { key: KEY, push: "rpush" } },
    lease: { ttl: "10s", retry: "1s" },
    schedules: { tick: { every: "1s", catchUp: { policy: "all" }, job: { class: "Tick" } } },
  });
  const clocks = [1, 2, 3].map((n) => spawnClock(config, { label: `clock ${n} (failover)`, redisUrl: server.url }));
  await Promise.all(clocks.map((clock) => waitMessage(clock, "clock started", 15 * SECOND)));
  const first = await nextLeader(clocks, 0, 15 * SECOND);
  await sleep(STEADY_MS);

  const killAt = halfWay();
  await sleepUntil(killAt);
  first.proc.signal("SIGKILL");
  const killedAt = wallNow();
  const standbys = clocks.filter((clock) => clock !== first.proc);
  const second = await nextLeader(standbys, killedAt, 25 * SECOND);
  note(
    `SIGKILL leader (pid ${first.proc.pid}) -> pid ${second.proc.pid} leads after ${ms(second.leaderAt - killedAt)}, first fire ${ms(second.firstRedisAt - killedAt)} after the kill: ${second.firstSlots} slot(s), oldest ${ms(second.firstMaxLagMs)} late`,
  );
  await sleep(STEADY_MS);

  const termAt = halfWay();
  await sleepUntil(termAt);
  second.proc.signal("SIGTERM");
  const termedAt = wallNow();
  const last = standbys.filter((clock) => clock !== second.proc);
  const third = await nextLeader(last, termedAt, 25 * SECOND);
  note(
    `SIGTERM leader (pid ${second.proc.pid}) -> pid ${third.proc.pid} leads after ${ms(third.leaderAt - termedAt)}, first fire ${ms(third.firstRedisAt - termedAt)} after the signal: ${third.firstSlots} slot(s), ${ms(third.firstMaxLagMs)} late`,
  );
  await sleep(STEADY_MS);
  await Promise.all(clocks.map((clock) => stopProc(clock)));

  const slots = (await connect(server.url).lrange(KEY, 0, -1)).map((raw) => (JSON.parse(raw) as { slotAt: number }).slotAt);
  const firstSlot = Math.min(...slots);
  const lastSlot = Math.max(...slots);
  const killGap = audit(slots, killedAt - SECOND, second.firstRedisAt);
  const termGap = audit(slots, termedAt - SECOND, third.firstRedisAt);
  const whole = audit(slots, firstSlot - SECOND, lastSlot);
  const fenced = clocks.flatMap((clock) => clock.lines).filter((line) => line.msg.startsWith("fire refused")).length;
  note(
    `list: ${slots.length} jobs for ${whole.expected} slots from ${new Date(firstSlot).toISOString()} to ${new Date(lastSlot).toISOString()}: ${whole.lost} lost, ${whole.doubled} doubled; fenced refusals logged: ${fenced}`,
  );
  note(
    `around the kill: ${killGap.expected} slots, ${killGap.lost} lost, ${killGap.doubled} doubled; around the handover: ${termGap.expected} slots, ${termGap.lost} lost, ${termGap.doubled} doubled`,
  );

  return [
    {
      section: "4 failover",
      measure: "SIGKILL leader -> first fire by a standby",
      ours: `${ms(second.firstRedisAt - killedAt)} (${second.firstSlots} slots caught up)`,
      peers: "",
      ratio: "",
      target: "design: <= ttl 10 s + retry 1 s",
      verdict: verdict(second.firstRedisAt - killedAt <= 11 * SECOND + 100),
    },
    {
      section: "4 failover",
      measure: "SIGKILL: slots lost / doubled",
      ours: `${killGap.lost} / ${killGap.doubled} (of ${killGap.expected})`,
      peers: "",
      ratio: "",
      target: "0 / 0",
      verdict: verdict(killGap.lost === 0 && killGap.doubled === 0),
    },
    {
      section: "4 failover",
      measure: "SIGTERM leader -> another leads / first fire (its lag)",
      ours: `${ms(third.leaderAt - termedAt)} / ${ms(third.firstRedisAt - termedAt)} (${ms(third.firstMaxLagMs)})`,
      peers: "",
      ratio: "",
      target: "design: leads within ~1 s",
      verdict: verdict(third.leaderAt - termedAt <= SECOND),
    },
    {
      section: "4 failover",
      measure: "SIGTERM: slots lost / doubled",
      ours: `${termGap.lost} / ${termGap.doubled} (of ${termGap.expected})`,
      peers: "",
      ratio: "",
      target: "0 / 0",
      verdict: verdict(termGap.lost === 0 && termGap.doubled === 0),
    },
    {
      section: "4 failover",
      measure: "whole run: slots lost / doubled",
      ours: `${whole.lost} / ${whole.doubled} (of ${whole.expected})`,
      peers: "",
      ratio: "",
      target: "0 / 0",
      verdict: verdict(whole.lost === 0 && whole.doubled === 0),
    },
  ];
}
