/**
 * A throwaway Redis Cluster on free loopback ports: `redis-server --cluster-enabled yes` processes
 * joined with `redis-cli --cluster create` (masters only, the slots split between them). Everything
 * lives in a temp dir removed by close(); a test process that dies leaves no server behind. With
 * `appendonly`, each node keeps an AOF fsynced on every write, so a node stopped with stopNode and
 * started again with startNode (same port, same nodes.conf) comes back with its slots and data.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
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

export interface ClusterOptions {
  /** `--appendonly yes --appendfsync always`: a node's data survives stopNode/startNode. */
  readonly appendonly?: boolean;
}

export interface TestCluster {
  readonly ports: readonly number[];
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... */
  readonly url: string;
  /** A plain connection to one node (the caller disconnects it). */
  connectNode(port: number): Redis;
  /** The port of the master that serves `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
  nodeOf(key: string): Promise<number>;
  /** SIGTERMs one node (it saves nodes.conf, and its AOF with `appendonly`) and waits for its exit. */
  stopNode(port: number): Promise<void>;
  /** Starts a stopped node again on its port with its nodes.conf; resolves once every node answers and sees cluster_state:ok. */
  startNode(port: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCluster(masters = 3, options: ClusterOptions = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "clock-cluster-"));
  const ports: number[] = [];
  const children = new Map<number, ChildProcess>();
  const persistence = options.appendonly === true ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const spawnNode = (port: number): void => {
    // A dir per node: appendonly files are named alike whatever the port.
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
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
        ...persistence,
        "--dir",
        nodeDir,
      ],
      { stdio: "ignore" },
    );
    children.set(port, child);
    live.add(child);
    child.once("exit", () => live.delete(child));
  };
  const stopNode = async (port: number, signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    const child = children.get(port);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  };
  const answers = (port: number): Promise<void> => pollUntil(`cluster node ${port} answers`, async () => (await ask(port, (redis) => redis.ping())) === "PONG", 10_000);
  const clusterOk = async (): Promise<void> => {
    for (const port of ports)
      await pollUntil(`cluster node ${port} sees the cluster ok`, async () => String(await ask(port, (redis) => redis.cluster("INFO"))).includes("cluster_state:ok"), 20_000);
  };
  const close = async (): Promise<void> => {
    for (const port of children.keys()) await stopNode(port, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      ports.push(port);
      spawnNode(port);
    }
    for (const port of ports) await answers(port);
    await run("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { timeout: 30_000 });
    await clusterOk();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    ports,
    url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
    connectNode: (port) => new Redis({ port, host: "127.0.0.1", lazyConnect: false, maxRetriesPerRequest: 1 }),
    async nodeOf(key) {
      for (const port of ports) {
        const owner = await ask(port, async (redis) => {
          const slot = Number(await redis.cluster("KEYSLOT", key));
          const range = (await redis.cluster("SLOTS")).find(([first, last]) => first <= slot && slot <= last);
          return range?.[2]?.[1] ?? null;
        });
        if (owner !== null) return owner;
      }
      throw new Error(`no cluster node answered which serves ${key}`);
    },
    stopNode: (port) => stopNode(port),
    async startNode(port) {
      if (!ports.includes(port)) throw new Error(`startNode: ${port} is not a node of this cluster`);
      const child = children.get(port);
      if (child !== undefined && child.exitCode === null && child.signalCode === null) throw new Error(`startNode: node ${port} still runs`);
      spawnNode(port);
      await answers(port);
      await clusterOk();
    },
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
