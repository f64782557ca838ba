import { addressOf, createLogger, loadConfig, startClock, startHttpServer, systemClock } from "../../index.ts";
import { cronRuleWarnings } from "../../internal.ts";
import { parseCommandArgs, UsageError } from "../args.ts";
import type { Command } from "../command.ts";
import { version } from "../version.ts";

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
type Level = (typeof LEVELS)[number];
/** Past this after SIGTERM, exit anyway: a deploy must not hang on a stuck Redis. */
const STOP_TIMEOUT_MS = 10_000;

export const start: Command = {
  name: "start",
  summary: "run the clock: enqueue each slot's job into Redis, at most once",
  usage: `Usage: clock start [--config PATH] [--dry-run] [--log-level LEVEL] [--pretty] [--http PORT] [--http-host HOST] [--http-allowed-host NAMES]

Runs until SIGTERM/SIGINT. Several processes may run at once: a lease in Redis lets only one of
them fire at a time; the others stand by and take over within about a second of a clean stop.
Missed slots (a crash, an outage) follow each schedule's catch-up policy; every skip is logged.

Options:
  --config PATH       config file (default: CLOCK_CONFIG, then ./clock.config.{ts,mts,js,mjs})
  --dry-run           no Redis: log what would be enqueued, at the right times
  --log-level LEVEL   fatal, error, warn, info (default), debug, trace, silent
  --pretty            human-readable logs (default when stdout is a terminal)
  --http PORT         serve /healthz, /metrics and a status page (also CLOCK_HTTP_PORT)
  --http-host HOST    address to bind (default 127.0.0.1)
  --http-allowed-host NAMES
                      Host header names accepted besides the bound address, comma-separated
                      (e.g. clock-1,clock-1.internal:9090; "*" for any); other names get 403, a
                      guard against DNS rebinding (also CLOCK_HTTP_ALLOWED_HOSTS)
  -h, --help          show this help

Environment: REDIS_URL (default redis://127.0.0.1:6379; rediss:// for TLS;
redis+sentinel://host:26379,host:26379/master-name through Sentinel; the config's redis wins); CLOCK_HTTP_TOKEN
enables pause/resume/trigger on the status page (read-only without it).`,
  async run(argv) {
    const { values } = parseCommandArgs(
      "start",
      argv,
      {
        config: { type: "string" },
        "dry-run": { type: "boolean" },
        "log-level": { type: "string" },
        pretty: { type: "boolean" },
        http: { type: "string" },
        "http-host": { type: "string" },
        "http-allowed-host": { type: "string" },
      },
      0,
    );
    const level = (values["log-level"] ?? process.env["LOG_LEVEL"] ?? "info") as Level;
    if (!LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LEVELS.join(", ")}, got "${level}"`, "clock start --help");
    const httpPort = values.http ?? process.env["CLOCK_HTTP_PORT"];
    const port = httpPort === undefined || httpPort === "" ? null : Number(httpPort);
    if (port !== null && (!Number.isInteger(port) || port < 0 || port > 65_535)) throw new UsageError(`--http must be a port number, got "${httpPort}"`, "clock start --help");
    const logger = createLogger({ level, pretty: values.pretty === true || process.stdout.isTTY === true });
    process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection (a bug: please report it)"));
    // Signals are handled from the first moment, before the config loads: a deploy may stop us while
    // we are still starting, and as PID 1 (a container) a SIGTERM with no listener is not fatal but
    // dropped, so the clock would start anyway and run on until SIGKILL, holding the lease.
    let stopRequested: NodeJS.Signals | null = null;
    let stop: ((signal: NodeJS.Signals) => void) | null = null;
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting at once");
        logger.flush();
        process.exit(130);
      }
      stopping = true;
      if (stop === null) stopRequested = signal;
      else stop(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    const { config } = await loadConfig(values.config);
    // Looked at once per rule and zone: 100,000 per-tenant schedules share a few hundred.
    const warningsOf = new Map<string, string[]>();
    for (const schedule of config.schedules) {
      if (schedule.rule.kind !== "cron") continue;
      const key = `${schedule.ruleText}\0${schedule.timezone}`;
      let warnings = warningsOf.get(key);
      if (warnings === undefined) {
        warnings = cronRuleWarnings(schedule);
        warningsOf.set(key, warnings);
      }
      for (const warning of warnings) logger.warn({ schedule: schedule.name, rule: schedule.ruleText, warning }, "cron rule may not mean what it looks like");
    }
    const clock = await startClock({ config, logger, dryRun: values["dry-run"] === true, version: version() });
    if (port !== null) {
      const allowedHosts = (values["http-allowed-host"] ?? process.env["CLOCK_HTTP_ALLOWED_HOSTS"] ?? "").split(",").filter((name) => name.trim() !== "");
      const server = await startHttpServer(clock, { port, host: values["http-host"] ?? "127.0.0.1", token: process.env["CLOCK_HTTP_TOKEN"], clock: systemClock, allowedHosts });
      logger.info({ http: addressOf(server), actions: (process.env["CLOCK_HTTP_TOKEN"] ?? "") !== "" }, "http endpoints listening");
    }
    return await new Promise<number>((resolve) => {
      stop = (signal) => {
        logger.info({ signal }, "stopping: finishing in-flight writes and handing over the lease");
        const timeout = setTimeout(() => {
          logger.error({ timeoutMs: STOP_TIMEOUT_MS }, "stop timed out; exiting");
          logger.flush();
          process.exit(1);
        }, STOP_TIMEOUT_MS);
        timeout.unref();
        clock.stop().then(
          () => {
            logger.flush();
            resolve(0);
          },
          (error: unknown) => {
            logger.error({ err: error }, "stop failed");
            logger.flush();
            resolve(1);
          },
        );
      };
      if (stopRequested !== null) stop(stopRequested);
    });
  },
};
