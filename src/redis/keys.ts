/**
 * Every key the clock owns, in one place: all under one hash tag (`{namespace}:...`) so each of its
 * scripts touches keys of one Redis Cluster slot. What each key holds is documented here and owned
 * by one module (named per key), which alone reads and writes its layout.
 */
export interface ClockKeys {
  /** The namespace itself (not a key): derived ids hash it (job ids, traceparents). */
  readonly namespace: string;
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
  /** Sorted set (dynamic/pauses.ts): paused schedule name -> the `until` its pause ends at by itself. */
  readonly pauseEnds: string;
  readonly changes: string;
  readonly config: string;
  /** Prefix of `<prefix>:<fingerprint>`: each running config's per-schedule digests. */
  readonly configs: string;
  /** Set (dynamic/backfill.ts): ids of backfills not finished; `<backfills>:<id>` is each one's hash (request and progress). */
  readonly backfills: string;
  /** Prefix of `<prefix>:<schedule>` (history/store.ts): a list of the schedule's last fires, newest first. */
  readonly history: string;
  /** String (history/store.ts): the fires the leader keeps per schedule; check-ins write only while it is above 0. */
  readonly historySize: string;
  /** Prefix of `<prefix>:<schedule>` (history/store.ts): a hash of job id -> the outcome workers checked in. */
  readonly outcomes: string;
  /** Stream (history/audit.ts): every dynamic change (set, remove, pause, resume, trigger), who and what, capped. */
  readonly audit: string;
  /** Hash (history/states.ts): per schedule with `expect`, its state (ok, late, failed, missed) as the leader last judged it. */
  readonly states: string;
}

export function clockKeys(namespace: string): ClockKeys {
  const tag = `{${namespace}}`;
  return {
    namespace,
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
    pauseEnds: `${tag}:pause-ends`,
    changes: `${tag}:changes`,
    config: `${tag}:config`,
    configs: `${tag}:configs`,
    backfills: `${tag}:backfills`,
    history: `${tag}:history`,
    historySize: `${tag}:history-size`,
    outcomes: `${tag}:outcomes`,
    audit: `${tag}:audit`,
    states: `${tag}:states`,
  };
}

/** Where the leader moves a key of the clock's that holds the wrong type (repair.ts): the same hash tag, so a person can look. */
export const asideOf = (key: string): string => `${key}:corrupt`;
