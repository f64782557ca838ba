import { hostname } from "node:os";

/** Who may fire. The planner asks `isLeader()` before each fire; the fire script checks the token. */
export interface Leadership {
  /** The token the fire script fences with; "" means no fencing (a single process, or tests). */
  token(): string;
  isLeader(): boolean;
  /** Called with true when leadership is gained, false when lost. */
  onChange(listener: (leader: boolean) => void): void;
  /**
   * Called when a leader that still holds its lease, but was past its validity (a renewal came
   * back late), is valid again: the planner wakes at once instead of at its next tick.
   */
  onValid?(listener: () => void): void;
  start(): Promise<void>;
  /** Gives leadership up (releasing it to a standby at once) and stops trying. */
  stop(): Promise<void>;
}

/** Leads from start to stop: for one clock process, and for tests of what is downstream. */
export class AlwaysLeader implements Leadership {
  readonly #listeners: ((leader: boolean) => void)[] = [];
  #leading = false;

  token(): string {
    return "";
  }

  isLeader(): boolean {
    return this.#leading;
  }

  onChange(listener: (leader: boolean) => void): void {
    this.#listeners.push(listener);
  }

  async start(): Promise<void> {
    this.#set(true);
  }

  async stop(): Promise<void> {
    this.#set(false);
  }

  /** Listeners hear changes only, as from the Redis lease (a second stop says nothing). */
  #set(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}

export interface Holder {
  readonly host: string;
  readonly pid: number;
  readonly since: number;
}

/** A lease token: who holds it and since when, plus randomness so two holders never compare equal. */
export function makeToken(since: number, random: string): string {
  return `${hostname()}|${process.pid}|${since}|${random}`;
}

/** Host, pid and start of a token, without its random part (never shown). */
export function holderOf(token: string): Holder | null {
  const [host, pid, since] = token.split("|");
  if (host === undefined || pid === undefined || since === undefined) return null;
  return { host, pid: Number(pid), since: Number(since) };
}
