/**
 * The CLI as a user meets it, through pipes: spawn `node bin/clock.js` (the compiled dist/, which
 * `npm test` builds first) and collect exit code, stdout and stderr.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const BIN = join(ROOT, "bin", "clock.js");

export interface CliResult {
  readonly code: number | null;
  /** Exactly the bytes read from the pipe. */
  readonly stdoutBytes: Buffer;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without CLOCK_CONFIG or REDIS_URL, so the caller's shell cannot change what a test sees. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["CLOCK_CONFIG"];
  delete env["REDIS_URL"];
  delete env["CLOCK_NAMESPACE"];
  return { ...env, ...extra };
}

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, "dist", "cli", "run.js"))) throw new Error("dist/ is missing: run `npm run build` first (npm test does)");
}

/** Reads like a slow consumer (`jq` on a busy machine): a chunk, then a pause, so the pipe fills up. */
function throttle(stream: NodeJS.ReadableStream): void {
  stream.on("data", () => {
    stream.pause();
    setTimeout(() => stream.resume(), SLOW_READER_PAUSE_MS);
  });
}
const SLOW_READER_PAUSE_MS = 2;

export async function runClock(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; slowReader?: boolean } = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (options.slowReader === true) {
      throttle(child.stdout);
      throttle(child.stderr);
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(chunks);
      resolve({ code, stdoutBytes, stdout: stdoutBytes.toString("utf8"), stderr });
    });
  });
}

/** Temp dirs with the given files; `removeAll` deletes every one made so far. */
export function tempDirs(): { make(files?: Record<string, string>): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make(files = {}) {
      const dir = mkdtempSync(join(tmpdir(), "clock-cli-"));
      made.push(dir);
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      return dir;
    },
    removeAll() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
