/**
 * Debian's Python with its Celery and RQ, the judges of what the celery and rq adapters write.
 * `/usr/bin/python3`, not `python3`: the one on PATH may be a pyenv build without the packages.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const SYSTEM_PYTHON = "/usr/bin/python3";

/** Why a Debian package the test needs is missing (with the apt command), or null when it is there. */
export function missingPythonPackage(module: "celery" | "rq", debianPackage: string): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} is missing: this test needs Debian's ${debianPackage} (apt-get install ${debianPackage})`;
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", `import ${module}`], { encoding: "utf8" });
  return probe.status === 0 ? null : `Debian's ${debianPackage} is not installed (${SYSTEM_PYTHON} cannot import ${module}): apt-get install ${debianPackage}`;
}

/** Runs a Python script with JSON on stdin and returns its stdout parsed as JSON; throws with stderr on failure. */
export function runPythonJson<T>(script: string, input: unknown, args: readonly string[] = []): T {
  const run = spawnSync(SYSTEM_PYTHON, [script, ...args], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) throw new Error(`${script} exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
