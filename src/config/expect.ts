/**
 * A schedule's expectations, as resolved: how soon after its slot its job should start and finish.
 * They ride on the resolved schedule beside the Schedule fields (like `overlap`), absent when none
 * is set, so a schedule without them is the same object, fingerprint and payload as before.
 */
export interface Expect {
  readonly startWithinMs?: number;
  readonly finishWithinMs?: number;
}

/** The schedule's expectations, or undefined when it has none. */
export function expectOf(schedule: object): Expect | undefined {
  const expect = (schedule as { readonly expect?: unknown }).expect;
  if (expect === null || typeof expect !== "object") return undefined;
  const { startWithinMs, finishWithinMs } = expect as Expect;
  if (typeof startWithinMs !== "number" && typeof finishWithinMs !== "number") return undefined;
  return expect as Expect;
}

/** The schema's `{ startWithin, finishWithin }` (ms) over the config's default: a schedule's own replaces it whole, `false` turns it off. */
export function resolveExpect(
  own: false | { readonly startWithin?: number | undefined; readonly finishWithin?: number | undefined } | undefined,
  base: Expect | undefined,
): Expect | undefined {
  if (own === false) return undefined;
  if (own === undefined) return base;
  return { ...(own.startWithin === undefined ? {} : { startWithinMs: own.startWithin }), ...(own.finishWithin === undefined ? {} : { finishWithinMs: own.finishWithin }) };
}
