/**
 * Every key the clock owns, in one place: all under one hash tag (`{namespace}:...`) so each of its
 * scripts touches keys of one Redis Cluster slot. What each key holds is documented here and owned
 * by one module (named per key), which alone reads and writes its layout.
 */
export interface ClockKeys {
  readonly lease: string;
  readonly ledger: string;
  readonly outbox: string;
  /** Hash (fire/ledger.ts): per schedule with an overlap policy, the slot and mark of its last pushed job. */
  readonly pushed: string;
  readonly stats: string;
  /** Hash (fire/ledger.ts): per schedule with `maxRuns`, how many of its slots fired. */
  readonly runs: string;
  readonly peers: string;
  readonly released: string;
  readonly schedules: string;
  readonly paused: string;
  /** Hash: when each paused schedule was paused and resumed (Redis time), so a pause skips its slots. */
  readonly pauses: string;
  readonly changes: string;
  readonly config: string;
  /** Prefix of `<prefix>:<fingerprint>`: each running config's per-schedule digests. */
  readonly configs: string;
}

export function clockKeys(namespace: string): ClockKeys {
  const tag = `{${namespace}}`;
  return {
    lease: `${tag}:lease`,
    ledger: `${tag}:ledger`,
    outbox: `${tag}:outbox`,
    pushed: `${tag}:pushed`,
    stats: `${tag}:stats`,
    runs: `${tag}:runs`,
    peers: `${tag}:peers`,
    released: `${tag}:lease:released`,
    schedules: `${tag}:schedules`,
    paused: `${tag}:paused`,
    pauses: `${tag}:pauses`,
    changes: `${tag}:changes`,
    config: `${tag}:config`,
    configs: `${tag}:configs`,
  };
}

/** Where the leader moves a key of the clock's that holds the wrong type (repair.ts): the same hash tag, so a person can look. */
export const asideOf = (key: string): string => `${key}:corrupt`;
