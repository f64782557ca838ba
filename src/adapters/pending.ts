/** The `overlap` support of adapters whose job is one element pushed onto a list, waiting there until a worker pops it. */
import type { OverlapSupport, Pending, Write } from "./types.ts";

/** The element of the (last) LPUSH/RPUSH write, in its list. */
export function pushedElement(writes: readonly Write[]): Pending {
  const push = [...writes].reverse().find((write) => write.command === "LPUSH" || write.command === "RPUSH");
  const mark = push?.args[0];
  if (push === undefined || mark === undefined) throw new Error("unreachable: the adapter's writes push no job");
  return { mark, waitingLists: [push.key] };
}

/** The pushed payload is the job while it waits: LPOS finds it, LREM withdraws it. */
export const listOverlap: OverlapSupport = { pending: (_enqueue, writes) => pushedElement(writes) };
