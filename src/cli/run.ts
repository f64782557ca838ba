#!/usr/bin/env node
import { main } from "./main.ts";

/**
 * A stream's writes, with a promise for when the last one has reached the kernel. Writes to a
 * pipe are asynchronous on POSIX: the kernel takes 64 KiB, the rest waits in Node, and an exit
 * before it drains cuts the output (`clock next --json | jq` got 65,536 of 186,003 bytes).
 */
function writer(stream: NodeJS.WriteStream): { write: (text: string) => void; flushed: () => Promise<void> } {
  let last: Promise<void> = Promise.resolve();
  // A reader that goes away (`clock next | head -1`) is not an error of ours: stop writing, exit as planned.
  let closed = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed = true;
  });
  return {
    write(text) {
      if (closed) return;
      last = new Promise((resolve) => stream.write(`${text}\n`, () => resolve()));
    },
    flushed: () => last,
  };
}

const out = writer(process.stdout);
const err = writer(process.stderr);
const code = await main(process.argv.slice(2), { out: out.write, err: err.write, now: () => Date.now() });
// Every command exits here: only once both streams have drained, so a pipe gets all of it.
await Promise.all([out.flushed(), err.flushed()]);
process.exit(code);
