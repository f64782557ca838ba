/**
 * The real fugit (Ruby's, Debian's ruby-fugit 1.5, a dependency of ruby-sidekiq-cron) as the judge
 * of the import's reading of fugit: next times, natural-language crons and durations, computed by
 * fugit itself in one `ruby` process per batch. Throws with the install hint when Ruby or fugit
 * is missing, so a test that needs the judge fails instead of passing without it.
 */
import { spawnSync } from "node:child_process";

const HINT = "this test needs Ruby with fugit 1.5 and sidekiq-cron 1.8 (Debian: apt-get install ruby-sidekiq-cron)";

/** Runs a Ruby script with `input` as JSON on stdin and returns its JSON stdout. */
export function ruby<T>(script: string, input: unknown, args: readonly string[] = []): T {
  const result = spawnSync("ruby", ["-rjson", "-e", script, ...args], { input: JSON.stringify(input), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.error !== undefined) throw new Error(`cannot run ruby (${result.error.message}): ${HINT}`);
  if (result.status !== 0) throw new Error(`ruby failed (exit ${result.status}): ${result.stderr.trim()}${/cannot load such file/.test(result.stderr) ? `\n${HINT}` : ""}`);
  return JSON.parse(result.stdout) as T;
}

/**
 * fugit's next `count` times (epoch ms) after `fromAt` for each cron string, chained through
 * Fugit::Cron#next_time; null where Fugit::Cron.parse refuses the string.
 */
export function fugitNextTimes(crons: readonly string[], fromAt: number, count: number): (number[] | null)[] {
  return ruby<(number[] | null)[]>(
    `require "fugit"
     input = JSON.parse(STDIN.read)
     from = Time.at(input["from"] / 1000r).utc
     out = input["crons"].map do |s|
       c = (Fugit::Cron.parse(s) rescue nil)
       next nil if c.nil?
       t = from
       (1..input["count"]).map { t = c.next_time(t); (t.to_t.to_r * 1000).to_i }
     end
     puts JSON.generate(out)`,
    { crons, from: fromAt, count },
  );
}

/** Fugit::Nat.parse(s).to_cron_s (what sidekiq-cron 1.8 runs for natural language), or null. */
export function fugitNatCrons(texts: readonly string[]): (string | null)[] {
  return ruby<(string | null)[]>(
    `require "fugit"
     puts JSON.generate(JSON.parse(STDIN.read).map { |s| c = (Fugit::Nat.parse(s) rescue nil); c && c.to_cron_s })`,
    texts,
  );
}

/** Fugit::Duration.parse(s).to_sec in ms (rufus-scheduler's every), or null. */
export function fugitDurations(texts: readonly string[]): (number | null)[] {
  return ruby<(number | null)[]>(
    `require "fugit"
     puts JSON.generate(JSON.parse(STDIN.read).map { |s| d = Fugit::Duration.parse(s); d && (d.to_sec * 1000).round })`,
    texts,
  );
}
