import type { ConfigInput, ScheduleInput } from "./schema.ts";

export type { ConfigInput as Config, ScheduleInput as ScheduleDefinition };

/** Types a config; validation happens at load, so a plain object default export works the same. */
export function defineConfig(config: ConfigInput): ConfigInput {
  return config;
}
