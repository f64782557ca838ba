// The public API: explicit named exports only.
export { defineConfig, type Config, type ScheduleDefinition } from "./config/define.ts";
export { ConfigError, formatIssue, type FieldIssue } from "./errors.ts";
export { CONFIG_FILES, findConfigPath, importConfig, loadConfig } from "./config/load.ts";
export { checkAdapterPackages } from "./config/packages.ts";
export { DEFAULT_CATCH_UP, parseConfig, parseSchedule, type ClockConfig, type Defaults } from "./config/resolve.ts";
export { formatSlot } from "./schedule/format.ts";
export { SECOND, MINUTE, HOUR, DAY, parseDuration, parseInstant, formatDuration, type Duration } from "./schedule/duration.ts";
export type { CatchUp, CatchUpPolicy, Job, Json, Schedule } from "./schedule/schedule.ts";
export { nextSlotAfter, nextSlots, slotsBetween, type Calendar, type Rule } from "./schedule/slots.ts";
export { startClock, RunningClock, type StartOptions, type ClockEvents } from "./runner.ts";
export { createLogger, type Logger } from "./log.ts";
export { systemClock, type Clock } from "./time.ts";
export { AlwaysLeader, type Leadership } from "./lease/lease.ts";
export type { Adapter, AdapterContext, AdapterFactory, Enqueue, Write } from "./adapters/types.ts";
export { BUILT_IN_ADAPTERS, bullmqData, hexJobId, readableJobId, ACTIVE_JOB_WRAPPER } from "./adapters/index.ts";
export type { FireOutcome, FireRequest, FireStatus } from "./fire/fire.ts";
export { DEFAULT_REDIS_URL, redactRedisUrl } from "./redis/connection.ts";
export { clockKeys, type ClockKeys } from "./redis/keys.ts";
export {
  createClient,
  ClockClient,
  ScheduleClashError,
  ScheduleNotFoundError,
  TriggerError,
  type ClientOptions,
  type ClockStatus,
  type ConfigMismatchStatus,
  type PeerStatus,
  type ScheduleInfo,
  type ScheduleStatus,
  type ScheduleSource,
} from "./client.ts";
export { startHttpServer, addressOf, health, type HttpOptions } from "./http/server.ts";
export { ClockMetrics } from "./metrics.ts";
export { cronRuleWarnings, describeRule, describeSchedule } from "./schedule/describe.ts";
export type { RecentFire } from "./runner.ts";
