/**
 * `alerts: { webhook }`: each expectation state change (history/expect.ts) is posted as one JSON
 * object to the URL. Never in the way of firing: posts go from a bounded queue, one at a time,
 * each with a timeout, retried with backoff, given up after a few attempts; past the queue's bound
 * the oldest changes are dropped (counted, logged). The URL may carry a secret (user:password, a
 * token in the query): logs and events only ever see it through redactWebhookUrl.
 */
import { hostname } from "node:os";
import type { ClockEvents, ExpectState, ScheduleState } from "../events.ts";
import { SECOND } from "../time.ts";

/** Changes waiting to be posted at most; past it the oldest go. */
export const ALERT_QUEUE = 1_000;
const ATTEMPTS = 5;
const TIMEOUT_MS = 5 * SECOND;
const BACKOFF_MS = SECOND;
const MAX_BACKOFF_MS = 30 * SECOND;

/** What the webhook receives, one per change. */
export interface AlertEvent {
  readonly type: "clock.schedule.state";
  readonly namespace: string;
  readonly schedule: string;
  readonly state: ExpectState;
  readonly previous: ExpectState | null;
  /** When the state began (Redis time): ISO-8601 and epoch ms. */
  readonly since: string;
  readonly sinceAt: number;
  readonly slot: string | null;
  readonly slotAt: number | null;
  readonly jobId: string | null;
  readonly reason: string;
  readonly error: string | null;
  readonly lastSuccessAt: number | null;
  /** The clock process that judged it. */
  readonly host: string;
}

/** A URL fit for logs: no user, no password, every query value and the fragment replaced by `***`. */
export function redactWebhookUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "(unparsable webhook URL)";
  }
  const query = [...url.searchParams.keys()].map((key) => `${encodeURIComponent(key)}=***`).join("&");
  return `${url.protocol}//${url.host}${url.pathname}${query === "" ? "" : `?${query}`}${url.hash === "" ? "" : "#***"}`;
}

/** A message with the URL's secrets (the whole URL, its password, user name, query values) taken out. */
export function redactWebhookSecrets(message: string, text: string): string {
  let out = message.replaceAll(text, redactWebhookUrl(text));
  try {
    const url = new URL(text);
    const secrets = [url.password, decodeURIComponent(url.password), url.username.length > 2 ? url.username : "", ...url.searchParams.values(), url.hash.slice(1)];
    for (const secret of secrets.filter((value) => value.length > 2).sort((a, b) => b.length - a.length)) out = out.replaceAll(secret, "***");
  } catch {
    // nothing more to find in an unparsable URL
  }
  return out;
}

export interface AlertOptions {
  readonly url: string;
  readonly namespace: string;
  readonly events: ClockEvents;
  /** For tests: the first retry's delay (doubled each attempt, at most 30 s) and a request's timeout. */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

export class WebhookAlerts {
  readonly #options: AlertOptions;
  readonly #shownUrl: string;
  /** fetch refuses a URL with credentials: user:password travels as Basic authorization instead. */
  readonly #request: { readonly target: string; readonly authorization: string | null };
  readonly #queue: AlertEvent[] = [];
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  #stopped = false;
  readonly #off: () => void;

  constructor(options: AlertOptions) {
    this.#options = options;
    this.#shownUrl = redactWebhookUrl(options.url);
    const url = new URL(options.url);
    const basic =
      url.username === "" && url.password === "" ? null : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
    this.#request = { target: url.toString(), authorization: basic };
    this.#off = options.events.on("expect:changed", ({ schedule, from, to }) => {
      // A leader's first look at a schedule with no state kept, "ok", or as its predecessor left it, is no news.
      if ((from === null && to.state === "ok") || from === to.state) return;
      this.#push(this.#eventOf(schedule, from, to));
    });
  }

  #eventOf(schedule: string, previous: ExpectState | null, to: ScheduleState): AlertEvent {
    return {
      type: "clock.schedule.state",
      namespace: this.#options.namespace,
      schedule,
      state: to.state,
      previous,
      since: new Date(to.since).toISOString(),
      sinceAt: to.since,
      slot: to.slotAt === null ? null : new Date(to.slotAt).toISOString(),
      slotAt: to.slotAt,
      jobId: to.jobId,
      reason: to.reason,
      error: to.error,
      lastSuccessAt: to.lastSuccessAt,
      host: hostname(),
    };
  }

  #push(event: AlertEvent): void {
    if (this.#stopped) return;
    this.#queue.push(event);
    if (this.#queue.length > ALERT_QUEUE) {
      const count = this.#queue.length - ALERT_QUEUE;
      this.#queue.splice(0, count);
      this.#options.events.emit("alert:dropped", { url: this.#shownUrl, count });
    }
    if (!this.#running) void this.#run();
  }

  /** Posts what is queued, oldest first, one at a time. */
  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (!this.#stopped && this.#queue.length > 0) {
        const event = this.#queue[0] as AlertEvent;
        for (let attempt = 1; attempt <= ATTEMPTS && !this.#stopped; attempt++) {
          try {
            await this.#post(event);
            this.#options.events.emit("alert:sent", { url: this.#shownUrl, schedule: event.schedule, state: event.state, attempt });
            break;
          } catch (error) {
            // fetch says only "fetch failed": the reason (ECONNREFUSED, a timeout) is its cause.
            const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
            const message = redactWebhookSecrets(`${error instanceof Error ? error.message : String(error)}${cause}`, this.#options.url);
            const final = attempt === ATTEMPTS;
            this.#options.events.emit("alert:failed", { url: this.#shownUrl, schedule: event.schedule, attempt, error: new Error(message), final });
            if (!final) await this.#sleep(Math.min(MAX_BACKOFF_MS, (this.#options.backoffMs ?? BACKOFF_MS) * 2 ** (attempt - 1)));
          }
        }
        // Sent or given up: either way it leaves (a drop past the bound may have taken it already).
        if (this.#queue[0] === event) this.#queue.shift();
      }
    } finally {
      this.#running = false;
    }
  }

  async #post(event: AlertEvent): Promise<void> {
    const { target, authorization } = this.#request;
    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "the-clock", ...(authorization === null ? {} : { authorization }) },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? TIMEOUT_MS),
      redirect: "manual",
    });
    // Read (and discard) the body so the connection is reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.status < 200 || response.status > 299) throw new Error(`webhook answered HTTP ${response.status}`);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
      this.#timer.unref();
    });
  }

  /** Changes waiting to be posted. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Stops listening and posting; what is still queued is not sent. */
  stop(): void {
    this.#stopped = true;
    this.#off();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#wake?.();
    this.#queue.length = 0;
  }
}
