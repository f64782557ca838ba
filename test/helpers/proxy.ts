/**
 * A small TCP proxy between a clock and a redis-server, for liveness tests: every chunk is held
 * `delayMs` in each direction (reply latency is twice that per round trip), and the proxy can cut
 * every connection and refuse new ones (Redis unreachable for this clock only, its data intact).
 * Order within a direction is kept whatever the delay does meanwhile.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface ProxyOptions {
  /** Held per direction: client -> server and server -> client (a round trip costs twice this). */
  readonly delayMs?: number;
}

export interface TcpProxy {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** The one-way delay, changeable at any time (applies to chunks received from then on). */
  delayMs: number;
  /** Closes every connection and refuses new ones (accepts and drops them) until `restore()`. */
  cut(): void;
  restore(): void;
  /** Connections open through the proxy now. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Forwards `from` to `to`, each chunk `delay()` ms later than it arrived, in order. */
function pipeDelayed(from: Socket, to: Socket, delay: () => number): void {
  const queue: { dueAt: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | null = null;
  let lastDueAt = 0;
  let ended = false;
  const pump = (): void => {
    timer = null;
    const now = Date.now();
    while (queue.length > 0 && (queue[0]?.dueAt ?? Infinity) <= now) {
      const item = queue.shift();
      if (item !== undefined && !to.destroyed) to.write(item.chunk);
    }
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, (queue[0]?.dueAt ?? now) - now));
    else if (ended && !to.destroyed) to.end();
  };
  from.on("data", (chunk: Buffer) => {
    const dueAt = Math.max(Date.now() + delay(), lastDueAt);
    lastDueAt = dueAt;
    queue.push({ dueAt, chunk });
    if (timer === null) timer = setTimeout(pump, Math.max(0, dueAt - Date.now()));
  });
  from.on("end", () => {
    ended = true;
    if (timer === null && queue.length === 0 && !to.destroyed) to.end();
  });
  from.on("close", () => {
    if (timer !== null && queue.length === 0) clearTimeout(timer);
  });
}

export async function startProxy(targetPort: number, options: ProxyOptions = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let cut = false;
  const state = { delayMs: options.delayMs ?? 0 };
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    pipeDelayed(client, upstream, () => state.delayMs);
    pipeDelayed(upstream, client, () => state.delayMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (typeof address !== "object" || address === null) throw new Error("proxy: no port");
  const port = address.port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cut = false;
    },
    get connections() {
      return sockets.size / 2;
    },
    async close() {
      cut = true;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
