/**
 * A throwaway Sentinel deployment on free loopback ports: a primary, a replica and three
 * `redis-sentinel`s monitoring them as one master name. Everything lives in a temp dir removed by
 * close(); every wait is bounded; a test process that dies leaves no server behind (SIGKILL on exit).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort } from "./redis.ts";

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface DataNode {
  readonly port: number;
  /** Whether its process runs. */
  readonly alive: boolean;
  /** SIGKILL: no shutdown, no last write to anyone. */
  kill(): Promise<void>;
  /** Starts it again on its port, as a replica of `primaryPort` (what an operator's config would say after a failover). */
  restartAsReplicaOf(primaryPort: number): Promise<void>;
}

export interface SentinelRig {
  readonly name: string;
  readonly password: string;
  readonly nodes: readonly DataNode[];
  readonly sentinelPorts: readonly number[];
  /** redis+sentinel://:password@127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/name */
  readonly url: string;
  /** The primary as the first Sentinel that answers names it. */
  primaryPort(): Promise<number>;
  /** Waits until every live Sentinel names a primary other than `oldPort`, and it says role:master; returns its port. */
  waitForNewPrimary(oldPort: number, timeoutMs: number): Promise<number>;
  /** SENTINEL FAILOVER <name>: a forced failover, no agreement needed. */
  failover(): Promise<void>;
  /** A plain connection to one data node (the caller disconnects it). */
  connectNode(port: number): Redis;
  close(): Promise<void>;
}

export interface SentinelRigOptions {
  /** Extra redis-server arguments for both data nodes (e.g. --min-replicas-to-write 1). */
  readonly dataArgs?: readonly string[];
  readonly downAfterMs?: number;
  readonly failoverTimeoutMs?: number;
  readonly name?: string;
  readonly password?: string;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${lastError === null ? "" : ` (last error: ${(lastError as Error).message})`}`);
    await sleep(50);
  }
}

/** One short-lived command on a fresh connection; never retries, never hangs past ~1 s. */
async function ask<T>(port: number, password: string | null, run: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    port,
    host: "127.0.0.1",
    ...(password === null ? {} : { password }),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 1000,
    enableOfflineQueue: false,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await run(redis);
  } finally {
    redis.disconnect();
  }
}

function spawnServer(command: string, args: readonly string[]): ChildProcess {
  const child = spawn(command, args, { stdio: "ignore" });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

async function stopChild(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

export async function startSentinelRig(options: SentinelRigOptions = {}): Promise<SentinelRig> {
  const name = options.name ?? "mymaster";
  const password = options.password ?? "s3cret-pw";
  const dir = mkdtempSync(join(tmpdir(), "clock-sentinel-"));
  const dataPorts = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const sentinels: ChildProcess[] = [];
  const children = new Map<number, ChildProcess | null>();

  const startData = async (port: number, replicaOf: number | null): Promise<void> => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--dbfilename",
      `dump-${port}.rdb`,
      "--logfile",
      join(dir, `redis-${port}.log`),
      "--requirepass",
      password,
      "--masterauth",
      password,
      // Full syncs at once (Redis 7 waits 5 s by default to batch replicas).
      "--repl-diskless-sync-delay",
      "0",
      ...(replicaOf === null ? [] : ["--replicaof", "127.0.0.1", String(replicaOf)]),
      ...(options.dataArgs ?? []),
    ];
    children.set(port, spawnServer("redis-server", args));
    await until(`redis-server on ${port}`, 10_000, () => ask(port, password, async (redis) => ((await redis.ping()) === "PONG" ? true : null)));
    if (replicaOf !== null) {
      await until(`replica ${port} in sync with ${replicaOf}`, 10_000, () =>
        ask(port, password, async (redis) => (/master_link_status:up/.test(await redis.info("replication")) ? true : null)),
      );
    }
  };

  const close = async (): Promise<void> => {
    for (const child of [...sentinels, ...children.values()]) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [primary, replica] = dataPorts as [number, number];
    await startData(primary, null);
    await startData(replica, primary);
    for (const port of sentinelPorts) {
      const configPath = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        configPath,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `logfile ${join(dir, `sentinel-${port}.log`)}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} 2`,
          `sentinel auth-pass ${name} ${password}`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
          `sentinel parallel-syncs ${name} 1`,
          "",
        ].join("\n"),
      );
      sentinels.push(spawnServer("redis-sentinel", [configPath]));
    }
    // Ready when every Sentinel knows the replica and the two other Sentinels (hellos every 2 s):
    // a failover of a killed primary needs a quorum and an elected leader.
    for (const port of sentinelPorts) {
      await until(`sentinel ${port} sees the replica and its peers`, 15_000, () =>
        ask(port, null, async (redis) => {
          const replicas = (await redis.call("SENTINEL", "REPLICAS", name)) as unknown[];
          const peers = (await redis.call("SENTINEL", "SENTINELS", name)) as unknown[];
          return replicas.length === 1 && peers.length === 2 ? true : null;
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }

  const primaryPortOf = async (port: number): Promise<number> => {
    const reply = await ask(port, null, (redis) => redis.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name));
    if (!Array.isArray(reply)) throw new Error(`sentinel ${port} names no primary for ${name}`);
    return Number(reply[1]);
  };

  const nodes: DataNode[] = dataPorts.map((port) => ({
    port,
    get alive() {
      const child = children.get(port) ?? null;
      return child !== null && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      await stopChild(children.get(port) ?? null);
      children.set(port, null);
    },
    async restartAsReplicaOf(primaryPort: number) {
      await stopChild(children.get(port) ?? null);
      await startData(port, primaryPort);
    },
  }));

  return {
    name,
    password,
    nodes,
    sentinelPorts,
    url: `redis+sentinel://:${password}@${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(",")}/${name}`,
    async primaryPort() {
      for (const port of sentinelPorts) {
        try {
          return await primaryPortOf(port);
        } catch {
          // the next one
        }
      }
      throw new Error("no Sentinel answers");
    },
    async waitForNewPrimary(oldPort, timeoutMs) {
      return await until(`a primary other than ${oldPort}`, timeoutMs, async () => {
        const named = new Set(await Promise.all(sentinelPorts.map(primaryPortOf)));
        const [port] = named;
        if (named.size !== 1 || port === undefined || port === oldPort) return null;
        const role = await ask(port, password, (redis) => redis.info("replication"));
        return /role:master/.test(role) ? port : null;
      });
    },
    async failover() {
      const reply = await ask(sentinelPorts[0] as number, null, (redis) => redis.call("SENTINEL", "FAILOVER", name));
      if (reply !== "OK") throw new Error(`SENTINEL FAILOVER said ${String(reply)}`);
    },
    connectNode(port) {
      const redis = new Redis({ port, host: "127.0.0.1", password, lazyConnect: false, maxRetriesPerRequest: 1 });
      redis.on("error", () => undefined);
      return redis;
    },
    close,
  };
}
