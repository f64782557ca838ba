/**
 * The peers record, `{ns}:peers` (a hash: peer id -> JSON), and its layout: every clock process
 * writes its heartbeat there with each of its lease ticks (a leader's renew every TTL/3, a standby's try every retry), `clock status` and the
 * config check read it, and a process removes its own field when it stops.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ClockKeys } from "../redis/keys.ts";
import { SECOND } from "../time.ts";
import type { Holder } from "./lease.ts";

/** What a process writes about itself into `{ns}:peers` (the heartbeat). */
export interface PeerRecord {
  readonly host: string;
  readonly pid: number;
  readonly role: "leader" | "standby";
  readonly seenAt: number;
  readonly version: string;
  /** The config fingerprint (absent from versions before it existed, and until it is computed). */
  readonly config?: string;
  /** Schedules it plans, and dynamic entries it skipped as invalid (a compact summary for `clock status`). */
  readonly schedules?: number;
  readonly invalid?: number;
  /** A leader's: ms since its last successful fire (absent before the first), by its own clock. */
  readonly sinceFireMs?: number;
  /** A leader's: ms its fires have been failing (absent while they succeed). */
  readonly fireFailingMs?: number;
  /** With shards of leadership: the shards it leads (absent with one shard). */
  readonly shards?: readonly number[];
}

/** A peer is heard from every few seconds; one silent this long is gone (the same bound as `clock status`). */
export const PEER_FRESH_MS = 30 * SECOND;
/** This process's field in the peers hash: host, pid and a random part (two processes never share it). */
export function newPeerId(): string {
  return `${hostname()}|${process.pid}|${randomBytes(3).toString("hex")}`;
}

/** "host|pid" of a peer id, for logs (never the random part). */
export const peerLabel = (peerId: string): string => peerId.split("|").slice(0, 2).join("|");

export async function writeHeartbeat(redis: Redis, keys: ClockKeys, peerId: string, record: PeerRecord): Promise<void> {
  await redis.hset(keys.peers, peerId, JSON.stringify(record));
}

export async function removePeer(redis: Redis, keys: ClockKeys, peerId: string): Promise<void> {
  await redis.hdel(keys.peers, peerId);
}

/** The peers heard from lately, by id. */
export async function readPeers(redis: Redis, keys: ClockKeys, now: number): Promise<Map<string, PeerRecord>> {
  return parsePeers(await redis.hgetall(keys.peers), now);
}

/** The peers whose heartbeat is fresh by `now` (within `freshMs`), or (`now` null) every readable record, however old. */
export function parsePeers(raw: Readonly<Record<string, string>>, now: number | null, freshMs = PEER_FRESH_MS): Map<string, PeerRecord> {
  const peers = new Map<string, PeerRecord>();
  for (const [id, text] of Object.entries(raw)) {
    try {
      const peer = JSON.parse(text) as PeerRecord;
      if (typeof peer.seenAt === "number" && (now === null || now - peer.seenAt <= freshMs)) peers.set(id, peer);
    } catch {
      // a corrupt peer entry is skipped
    }
  }
  return peers;
}

/** The leader's record: the freshest "leader" heartbeat, of the lease holder when it is known. */
export function leaderPeer(peers: ReadonlyMap<string, PeerRecord>, holder: Holder | null, exceptId?: string): [string, PeerRecord] | null {
  let best: [string, PeerRecord] | null = null;
  for (const [id, peer] of peers) {
    if (id === exceptId || peer.role !== "leader") continue;
    if (holder !== null && (peer.host !== holder.host || peer.pid !== holder.pid)) continue;
    if (best === null || peer.seenAt > best[1].seenAt) best = [id, peer];
  }
  return best;
}
