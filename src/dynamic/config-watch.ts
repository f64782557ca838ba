/**
 * Compares this clock's config with the leader's. Every process publishes its config fingerprint
 * in its peers heartbeat (`{ns}:peers`, every ~2 s) and the per-schedule digests once under
 * `{ns}:configs:<fingerprint>`; a process that does not lead checks at start and every minute, and
 * logs an error naming both fingerprints and the schedules that differ.
 *
 * A mismatch is a warning, never a refusal: a rolling deploy runs two configs side by side for a
 * while, and refusing to start (or failing /healthz) would stall the very deploy that ends it.
 */
import type { Redis } from "ioredis";
import { holderOf } from "../lease/lease.ts";
import { leaderPeer, parsePeers } from "../lease/peers.ts";
import type { ClockEvents, ConfigDiff, ConfigMismatch } from "../events.ts";

export type { ConfigMismatch };
import type { ClockKeys } from "../redis/keys.ts";
import { HOUR } from "../time.ts";
import { diffConfigs, type ConfigFingerprint } from "./fingerprint.ts";

/** The digests outlive their writer a while, so a standby can still name what differs. */
const DIGESTS_TTL_MS = HOUR;
/** Names per kind (added, removed, changed) in a log line. */
const DIFF_NAMES = 10;

export interface ConfigWatchOptions {
  readonly redis: Redis;
  readonly keys: ClockKeys;
  /** This process's field in `{ns}:peers`. */
  readonly peerId: string;
  readonly compute: () => Promise<ConfigFingerprint>;
  readonly isLeader: () => boolean;
  readonly now: () => number;
  /** Where mismatches, matches and failed checks are reported. */
  readonly events: ClockEvents;
}

export class ConfigWatch {
  readonly #options: ConfigWatchOptions;
  /**
   * This clock's fingerprint without its per-schedule digests: those (100,000 names and digests,
   * ~8 MB) are computed again when needed (written to Redis again, or a diff with a new leader
   * config), never kept. `#digests` holds them from the first computation to the first check.
   */
  #mine: Omit<ConfigFingerprint, "schedules"> | null = null;
  #digests: ConfigFingerprint | null = null;
  #computing: Promise<ConfigFingerprint> | null = null;
  #mismatch: ConfigMismatch | null = null;
  /** The diff with the leader's config, by its fingerprint: computed once per leader config, not every check. */
  #theirs: { fingerprint: string; diff: ConfigDiff | null } | null = null;

  constructor(options: ConfigWatchOptions) {
    this.#options = options;
  }

  /** This clock's fingerprint, once computed (the heartbeat carries it from then on). */
  get fingerprint(): string | null {
    return this.#mine?.fingerprint ?? null;
  }

  /** Null while this clock leads, its config matches the leader's, or the leader's is unknown. */
  get mismatch(): ConfigMismatch | null {
    return this.#mismatch;
  }

  /** One comparison with the leader's config; logs an error on every check that finds a difference. */
  async check(): Promise<void> {
    try {
      await this.#check();
    } catch (error) {
      this.#options.events.emit("config:check-failed", { error: error as Error });
    } finally {
      this.#digests = null;
    }
  }

  /** Starts computing the fingerprint (in slices), so the first heartbeats can carry it. */
  prepare(): void {
    void this.#ensureMine().catch(() => undefined);
  }

  async #ensureMine(): Promise<Omit<ConfigFingerprint, "schedules">> {
    if (this.#mine !== null) return this.#mine;
    this.#computing ??= this.#options.compute();
    const full = await this.#computing;
    this.#computing = null;
    this.#digests ??= full;
    this.#mine ??= { fingerprint: full.fingerprint, settings: full.settings };
    return this.#mine;
  }

  /** The per-schedule digests: the ones computed first, once; then computed again. */
  async #takeDigests(): Promise<ConfigFingerprint> {
    const digests = this.#digests ?? (await this.#options.compute());
    this.#digests = null;
    return digests;
  }

  async #check(): Promise<void> {
    const { redis, keys, events } = this.#options;
    const mine = await this.#ensureMine();
    const digestsKey = `${keys.configs}:${mine.fingerprint}`;
    // Kept alive by its owner; written again when it expired (or never was).
    if ((await redis.pexpire(digestsKey, DIGESTS_TTL_MS)) === 0) {
      const { schedules } = await this.#takeDigests();
      await redis.set(digestsKey, JSON.stringify({ v: 1, settings: mine.settings, schedules }), "PX", DIGESTS_TTL_MS);
    }
    if (this.#options.isLeader()) {
      this.#clear("this clock leads now: its config is the one that fires");
      return;
    }
    const [peersRaw, lease] = await Promise.all([redis.hgetall(keys.peers), redis.get(keys.lease)]);
    const found = leaderPeer(parsePeers(peersRaw, this.#options.now()), lease === null ? null : holderOf(lease), this.#options.peerId);
    if (found === null || found[1].config === undefined) {
      events.emit("config:checked", { fingerprint: mine.fingerprint, leaderFingerprint: null });
      return;
    }
    const leader = found[1];
    const leaderFingerprint = leader.config as string;
    if (leaderFingerprint === mine.fingerprint) {
      this.#clear("config matches the leader's again");
      events.emit("config:checked", { fingerprint: mine.fingerprint, leaderFingerprint });
      return;
    }
    if (this.#theirs?.fingerprint !== leaderFingerprint) {
      const digests = parseDigests(await redis.get(`${keys.configs}:${leaderFingerprint}`));
      this.#theirs = { fingerprint: leaderFingerprint, diff: digests === null ? null : diffConfigs(await this.#takeDigests(), digests, DIFF_NAMES) };
    }
    const diff = this.#theirs.diff;
    const since = this.#mismatch?.leaderFingerprint === leaderFingerprint ? this.#mismatch.since : this.#options.now();
    this.#mismatch = { fingerprint: mine.fingerprint, leaderFingerprint, leader: { host: leader.host, pid: leader.pid }, diff, since };
    events.emit("config:mismatch", { mismatch: this.#mismatch });
  }

  #clear(reason: string): void {
    if (this.#mismatch !== null)
      this.#options.events.emit("config:matched", { fingerprint: this.#mine?.fingerprint ?? null, leaderFingerprint: this.#mismatch.leaderFingerprint, reason });
    this.#mismatch = null;
  }
}

function parseDigests(raw: string | null): Pick<ConfigFingerprint, "schedules" | "settings"> | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as { v?: unknown; settings?: unknown; schedules?: unknown };
    if (parsed.v !== 1 || typeof parsed.settings !== "string" || parsed.schedules === null || typeof parsed.schedules !== "object") return null;
    return { settings: parsed.settings, schedules: parsed.schedules as Record<string, string> };
  } catch {
    return null;
  }
}
