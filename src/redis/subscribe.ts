/**
 * Subscriptions that survive reconnects. ioredis re-subscribes on reconnect only the channels
 * whose SUBSCRIBE once succeeded, so a clock that started while Redis was unreachable would never
 * hear the lease-release or change channel (a deploy's instant handover silently becoming "at the
 * next retry"). Here every (re)connect subscribes again; a second SUBSCRIBE of a channel is a no-op.
 */
import type { Redis } from "ioredis";

/**
 * Subscribes `subscriber` to `channel` now and on every "ready" from then on. The promise is the
 * first attempt's (it rejects while Redis is unreachable); failures of later attempts go to `onError`.
 */
export function subscribeAlways(subscriber: Redis, channel: string, onError: (error: Error) => void): Promise<void> {
  subscriber.on("ready", () => {
    subscriber.subscribe(channel).catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error))));
  });
  return subscriber.subscribe(channel).then(() => undefined);
}
