/**
 * Guardrail in `npm test`: imports in src/ run downstream only, and no import cycle exists.
 *
 * Data flows one way (README "Architecture"): config -> schedule -> planner -> lease -> fire ->
 * adapters -> Redis, with the daemon, client, HTTP server and CLI outside, calling in. Each module
 * has a rank; a file may import its own module or a module of lower rank. The server never depends
 * on the admin client; the CLI uses only the public entry points (index.ts, internal.ts).
 *
 * Usage: node --import tsx scripts/check-layers.ts [src-dir]   (exit 1 on any violation)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Lower ranks are downstream: anything may import them. */
const RANKS: Readonly<Record<string, number>> = {
  "time.ts": 0,
  "errors.ts": 0,
  schedule: 1,
  redis: 1,
  "log.ts": 2,
  "events.ts": 4.5,
  adapters: 3,
  config: 4,
  fire: 4,
  lease: 5,
  planner: 6,
  dynamic: 7,
  // Converters from crontab and sidekiq schedule files: pure, above config and schedule (whose
  // schema and cron engine judge what they produce), called by the CLI only.
  import: 7,
  // Fire history, worker check-ins and the audit of changes: written by the daemon's recorder and the client.
  history: 7.5,
  client: 8,
  daemon: 9,
  http: 10,
  "index.ts": 11,
  "internal.ts": 11,
  cli: 12,
};

/** Pairs that rank alone would allow but the design forbids. */
const FORBIDDEN: readonly { from: string; to: string; why: string }[] = [{ from: "http", to: "client", why: "the server reads the running clock, never the admin client" }];
/** The CLI may reach only these modules (besides its own files). */
const CLI_MAY_IMPORT = new Set(["index.ts", "internal.ts"]);

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "src"));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The module a file belongs to: its top folder under src/, or its own name at the top. */
const moduleOf = (file: string): string => relative(root, file).split("/")[0] ?? "";

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+["'](\.[^"']+)["']/gm;

const problems: string[] = [];
const graph = new Map<string, string[]>();
for (const file of filesUnder(root)) {
  const text = readFileSync(file, "utf8");
  const targets: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? "";
    const target = resolve(dirname(file), specifier);
    targets.push(target);
    const from = moduleOf(file);
    const to = moduleOf(target);
    if (from === to) continue;
    const where = `${relative(root, file)} imports ${relative(root, target)}`;
    const fromRank = RANKS[from];
    const toRank = RANKS[to];
    if (fromRank === undefined) problems.push(`${where}: module "${from}" has no rank in scripts/check-layers.ts`);
    else if (toRank === undefined) problems.push(`${where}: module "${to}" has no rank in scripts/check-layers.ts`);
    else if (from === "cli" && !CLI_MAY_IMPORT.has(to)) problems.push(`${where}: the CLI uses only index.ts and internal.ts`);
    else if (toRank >= fromRank) problems.push(`${where}: an upward import (${from} is rank ${fromRank}, ${to} rank ${toRank})`);
    for (const rule of FORBIDDEN) if (rule.from === from && rule.to === to) problems.push(`${where}: ${rule.why}`);
  }
  graph.set(file, targets);
}

// Cycles between files (Tarjan's strongly connected components).
let index = 0;
const indices = new Map<string, number>();
const lowlinks = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
function connect(file: string): void {
  indices.set(file, index);
  lowlinks.set(file, index);
  index++;
  stack.push(file);
  onStack.add(file);
  for (const target of graph.get(file) ?? []) {
    if (!graph.has(target)) continue;
    if (!indices.has(target)) {
      connect(target);
      lowlinks.set(file, Math.min(lowlinks.get(file) ?? 0, lowlinks.get(target) ?? 0));
    } else if (onStack.has(target)) lowlinks.set(file, Math.min(lowlinks.get(file) ?? 0, indices.get(target) ?? 0));
  }
  if (lowlinks.get(file) !== indices.get(file)) return;
  const component: string[] = [];
  for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
    onStack.delete(member);
    component.push(member);
    if (member === file) break;
  }
  if (component.length > 1) problems.push(`import cycle: ${component.map((member) => relative(root, member)).join(" -> ")}`);
}
for (const file of graph.keys()) if (!indices.has(file)) connect(file);

if (problems.length > 0) {
  console.error(`layering check failed (${problems.length}):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layering check: ${graph.size} files, imports downstream only, no cycle`);
