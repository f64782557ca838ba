#!/usr/bin/env node
import { main } from "./main.ts";

const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  now: () => Date.now(),
});
process.exit(code);
