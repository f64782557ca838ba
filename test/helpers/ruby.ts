/**
 * Debian's Ruby with its Sidekiq, ActiveJob and redis-namespace, the judges of what the sidekiq
 * adapter writes for Rails apps. `/usr/bin/ruby` and `/usr/bin/sidekiq`, not the ones on PATH: an
 * rbenv or rvm Ruby there would not see Debian's gems.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const SYSTEM_RUBY = "/usr/bin/ruby";
export const SYSTEM_SIDEKIQ = "/usr/bin/sidekiq";

/**
 * Why what a test needs is missing (with the apt command), or null when it is there: Debian's
 * `sidekiq` and Ruby able to require each of `libraries`.
 */
function missingRuby(libraries: readonly string[], debianPackages: string): string | null {
  if (!existsSync(SYSTEM_RUBY) || !existsSync(SYSTEM_SIDEKIQ))
    return `${SYSTEM_RUBY} or ${SYSTEM_SIDEKIQ} is missing: this test needs Debian's ${debianPackages} (apt-get install ${debianPackages})`;
  const probe = spawnSync(SYSTEM_RUBY, [...libraries.flatMap((library) => ["-r", library]), "-e", ""], { encoding: "utf8" });
  return probe.status === 0 ? null : `Debian's ${debianPackages} is not installed (${SYSTEM_RUBY} cannot require ${libraries.join(", ")}): apt-get install ${debianPackages}`;
}

/** Rails 6.1's ActiveJob with its Sidekiq adapter. */
export function missingActiveJob(): string | null {
  return missingRuby(["sidekiq", "active_job", "active_job/queue_adapters/sidekiq_adapter"], "ruby-sidekiq ruby-activejob");
}

/** Sidekiq with redis-namespace, which Sidekiq 6 loads for `redis: { namespace: ... }`. */
export function missingRedisNamespace(): string | null {
  return missingRuby(["sidekiq", "redis/namespace"], "ruby-sidekiq ruby-redis-namespace");
}
