/**
 * A throwaway Redis Cluster on free loopback ports: `redis-server --cluster-enabled yes` processes
 * joined with `redis-cli --cluster create` (masters only, the slots split between them). Everything
 * lives in a temp dir removed by close(); a test process that dies leaves no server behind.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { pollUntil } from "./fired.ts";
import { freePort } from "./redis.ts";

const run = promisify(execFile);
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface TestCluster {
  readonly ports: readonly number[];
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... */
  readonly url: string;
  /** A plain connection to one node (the caller disconnects it). */
  connectNode(port: number): Redis;
  close(): Promise<void>;
}

export async function startCluster(masters = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "clock-cluster-"));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const close = async (): Promise<void> => {
    for (const child of children) {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      live.delete(child);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
        ],
        { stdio: "ignore" },
      );
      children.push(child);
      live.add(child);
    }
    for (const port of ports) await pollUntil(`cluster node ${port} answers`, async () => (await ask(port, (redis) => redis.ping())) === "PONG", 10_000);
    await run("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 30_000 });
    for (const port of ports)
      await pollUntil(`cluster node ${port} sees the cluster ok`, async () => String(await ask(port, (redis) => redis.cluster("INFO"))).includes("cluster_state:ok"), 20_000);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    ports,
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
    connectNode: (port) => new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 }),
    close,
  };
}

async function ask<T>(port: number, question: (redis: Redis) => Promise<T>): Promise<T | null> {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return await question(redis);
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}
