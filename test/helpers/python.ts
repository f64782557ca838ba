/**
 * Debian's Python with its Celery and RQ, the judges of what the celery and rq adapters write.
 * `/usr/bin/python3`, not `python3`: the one on PATH may be a pyenv build without the packages.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const SYSTEM_PYTHON = "/usr/bin/python3";

/**
 * Why the Debian packages a test needs are missing (with the apt command), or null when they are
 * there. `modules` as an import statement lists them: "celery, redis".
 */
export function missingPythonPackage(modules: string, debianPackages: string): string | null {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} is missing: this test needs Debian's ${debianPackages} (apt-get install ${debianPackages})`;
  const probe = spawnSync(SYSTEM_PYTHON, ["-c", `import ${modules}`], { encoding: "utf8" });
  return probe.status === 0 ? null : `Debian's ${debianPackages} is not installed (${SYSTEM_PYTHON} cannot import ${modules}): apt-get install ${debianPackages}`;
}

/** Runs a Python script with JSON on stdin and returns its stdout parsed as JSON; throws with stderr on failure. */
export function runPythonJson<T>(script: string, input: unknown, args: readonly string[] = []): T {
  const run = spawnSync(SYSTEM_PYTHON, [script, ...args], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined) throw run.error;
  if (run.status !== 0) throw new Error(`${script} exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
