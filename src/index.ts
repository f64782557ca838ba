// The public API, and only it: what an app needs to configure, run, drive and extend the clock.
// The CLI's extra needs are in internal.ts; everything else is an implementation detail.
export { defineConfig, type Config, type ScheduleDefinition } from "./config/define.ts";
export { loadConfig } from "./config/load.ts";
export { parseConfig, type ClockConfig } from "./config/resolve.ts";
export { startClock, type StartOptions } from "./daemon/start.ts";
export { RunningClock, type Health } from "./daemon/running.ts";
export { ClockEvents, type ClockEventMap, type ClockEventName } from "./events.ts";
export {
  createClient,
  ClockClient,
  type BackfillOptions,
  type BackfillPlan,
  type ChangeOptions,
  type ClientOptions,
  type InstantInput,
  type ScheduleInfo,
} from "./client/client.ts";
export type { BackfillRecord, BackfillState } from "./dynamic/backfill.ts";
export type { HistoryEntry, FireKind, CheckInState } from "./history/store.ts";
export type { AuditEntry, ChangeAction } from "./history/audit.ts";
export type { ClockStatus, ScheduleStatus, PeerStatus, StatusPage } from "./client/status.ts";
export { startHttpServer, addressOf, type HttpOptions } from "./http/server.ts";
export { ClockError, ConfigError, NotFoundError, ClashError, RedisError, TriggerError, NoLeaderError, type ErrorCode, type FieldIssue } from "./errors.ts";
export { createLogger, type Logger } from "./log.ts";
export { systemClock, type Clock } from "./time.ts";
export { AlwaysLeader, type Leadership } from "./lease/lease.ts";
export type { Adapter, AdapterContext, Enqueue, Overlap, OverlapSupport, Pending, Write } from "./adapters/types.ts";
export type { Job, Json, Schedule } from "./schedule/schedule.ts";
export type { DayCalendar, LocalDate } from "./schedule/days.ts";
export type { Spread } from "./schedule/spread.ts";
