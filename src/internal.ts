// What the CLI (and the tests) use beyond the public API: calendar helpers, formats, defaults.
// Not part of the package's contract; may change in any release.
export { CONFIG_FILES, findConfigPath, importConfig } from "./config/load.ts";
export { checkAdapterPackages } from "./config/packages.ts";
export { DEFAULT_CATCH_UP, parseSchedule, type Defaults } from "./config/resolve.ts";
export { formatIssue } from "./errors.ts";
export { formatSlot } from "./schedule/format.ts";
export { SECOND, MINUTE, HOUR, DAY, parseDuration, parseInstant, formatDuration, type Duration } from "./schedule/duration.ts";
export { nextSlotAfter, nextSlots, slotsBetween, type Calendar, type Rule } from "./schedule/slots.ts";
export { cronRuleWarnings, describeModifiers, describeRule, describeSchedule } from "./schedule/describe.ts";
export { DEFAULT_REDIS_URL, redactRedisUrl } from "./redis/connection.ts";
export { clockKeys, type ClockKeys } from "./redis/keys.ts";
export { BUILT_IN_ADAPTERS, bullmqData, hexJobId, readableJobId, ACTIVE_JOB_WRAPPER, overlapOf } from "./adapters/index.ts";
export type { FireOutcome, FireRequest, FireStatus } from "./fire/fire.ts";
export type { RecentFire } from "./daemon/observe.ts";
export { ClockMetrics } from "./daemon/metrics.ts";
export { isValidZone } from "./schedule/slots.ts";
export { importCrontab, SHELL_COMMAND_CLASS } from "./import/crontab.ts";
export { importSidekiqCron } from "./import/sidekiq-cron.ts";
export { importSidekiqScheduler } from "./import/sidekiq-scheduler.ts";
export { renderConfig, renderIssues, renderJson } from "./import/render.ts";
export { ScheduleFileError } from "./import/yaml.ts";
export type { ImportFormat, ImportIssue, ImportResult, ImportedSchedule } from "./import/result.ts";
