/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
 * so a missed target shows where the time goes.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotFunction {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Time not idle (the "(idle)" and "(program)" pseudo-frames left out). */
  readonly busyMs: number;
  /** By self time, any code. */
  readonly top: readonly HotFunction[];
  /** The clock's own functions (dist/ or src/) by total time, callees included: who calls the hot code. */
  readonly ours: readonly HotFunction[];
}

function place(frame: CallFrame, root: string): string {
  if (frame.url === "") return "";
  const path = frame.url.startsWith("file://") ? new URL(frame.url).pathname : frame.url;
  const shown = path.startsWith(root) ? relative(root, path) : path;
  return `${shown.replace(/^.*node_modules\//, "node_modules/")}:${frame.lineNumber + 1}`;
}

/** A span of CLOCK_MONOTONIC µs, the time base of the samples (process.hrtime in another process). */
export interface Window {
  readonly fromUs: number;
  readonly toUs: number;
}

export function summariseProfile(file: string, root: string, count = 15, window?: Window): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const keyOf = (frame: CallFrame): string => `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
  const isOurs = (frame: CallFrame): boolean => /\/(dist|src)\//.test(frame.url) && !frame.url.includes("node_modules");
  const selfUs = new Map<string, { frame: CallFrame; us: number }>();
  const totalOursUs = new Map<string, { frame: CallFrame; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  let sampledAt = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    sampledAt += delta;
    if (window !== undefined && (sampledAt < window.fromUs || sampledAt > window.toUs)) return;
    totalUs += delta;
    const node = byId.get(id);
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)" || functionName === "(program)") idleUs += delta;
    const key = `${functionName}|${url}|${lineNumber}`;
    const entry = selfUs.get(key) ?? { frame: node.callFrame, us: 0 };
    entry.us += delta;
    selfUs.set(key, entry);
    // Each of our functions on the stack counts once per sample, however deep the recursion.
    const seen = new Set<string>();
    for (let at: ProfileNode | undefined = node; at !== undefined; at = byId.get(parentOf.get(at.id) ?? -1)) {
      if (!isOurs(at.callFrame)) continue;
      const ourKey = keyOf(at.callFrame);
      if (seen.has(ourKey)) continue;
      seen.add(ourKey);
      const total = totalOursUs.get(ourKey) ?? { frame: at.callFrame, us: 0 };
      total.us += delta;
      totalOursUs.set(ourKey, total);
    }
  });
  const busyUs = totalUs - idleUs;
  const rank = (entries: Iterable<{ frame: CallFrame; us: number }>, n: number): HotFunction[] =>
    [...entries]
      .filter(({ frame }) => frame.functionName !== "(idle)" && frame.functionName !== "(program)")
      .sort((a, b) => b.us - a.us)
      .slice(0, n)
      .map(({ frame, us }) => ({
        name: frame.functionName === "" ? "(anonymous)" : frame.functionName,
        where: place(frame, root),
        selfMs: us / 1000,
        share: busyUs > 0 ? us / busyUs : 0,
      }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, top: rank(selfUs.values(), count), ours: rank(totalOursUs.values(), Math.ceil(count / 2)) };
}

/** The newest .cpuprofile in a directory (node names them by pid and time). */
export function newestProfile(dir: string): string | null {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith(".cpuprofile"))
    .sort();
  const last = files.at(-1);
  return last === undefined ? null : join(dir, last);
}

export function formatProfile(summary: ProfileSummary): string {
  const row = (fn: HotFunction): string => `    ${fn.selfMs.toFixed(1).padStart(9)} ms  ${(fn.share * 100).toFixed(1).padStart(5)}%  ${fn.name}  ${fn.where}`;
  return [
    `  profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy; top functions by self time:`,
    ...summary.top.map(row),
    "  the clock's own functions by total time (callees included):",
    ...summary.ours.map(row),
  ].join("\n");
}

// `node --import tsx bench/profile.ts FILE.cpuprofile`: summarise one profile by hand.
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error("usage: node --import tsx bench/profile.ts FILE.cpuprofile [COUNT]");
    process.exit(2);
  }
  console.log(formatProfile(summariseProfile(file, process.cwd(), Number(process.argv[3] ?? 25))));
}
