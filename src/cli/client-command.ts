/** Shared by the commands that talk to Redis: the config when there is one, and a client. */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ClockError, createClient, TriggerError, loadConfig, type ClockClient, type ClockConfig } from "../index.ts";
import { CONFIG_FILES } from "../internal.ts";

export const CLIENT_OPTIONS = {
  config: { type: "string" },
  namespace: { type: "string" },
  actor: { type: "string" },
} as const;

export const CLIENT_HELP = `  --config PATH      config file (default: CLOCK_CONFIG, then ./clock.config.{ts,mts,js,mjs});
                     optional: without one, what a running clock published in Redis is used
  --namespace NAME   key namespace (default: the config's, CLOCK_NAMESPACE, or "clock")
  --actor NAME       who makes the change, in the audit (default: CLOCK_ACTOR, or user@host)`;

async function optionalConfig(path: string | undefined): Promise<ClockConfig | undefined> {
  const explicit = path ?? process.env["CLOCK_CONFIG"];
  if (explicit === undefined && !CONFIG_FILES.some((name) => existsSync(resolve(name)))) return undefined;
  return (await loadConfig(path)).config;
}

export async function withClient<T>(
  values: { config?: string | undefined; namespace?: string | undefined; actor?: string | undefined },
  run: (client: ClockClient) => Promise<T>,
): Promise<T> {
  const config = await optionalConfig(values.config);
  const namespace = values.namespace ?? process.env["CLOCK_NAMESPACE"] ?? config?.namespace ?? "clock";
  // Redis: the config's `redis`, else REDIS_URL (a malformed one is refused here, exit 2, naming it).
  const actor = values.actor ?? process.env["CLOCK_ACTOR"];
  const client = createClient({ namespace, ...(config === undefined ? {} : { config }), ...(actor === undefined || actor === "" ? {} : { actor }) });
  try {
    return await run(client);
  } catch (error) {
    // Bad input (exit 2) and a trigger the adapter failed (Redis answered: exit 1) say what they are.
    if (error instanceof ClockError && error.code !== "redis") throw error instanceof TriggerError ? new Error(client.redact(error.message)) : error;
    // Anything else here is Redis failing: exit 1, in words, and never with the URL's credentials.
    throw new Error(client.describeError(error));
  } finally {
    await client.close();
  }
}
