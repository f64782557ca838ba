/** Guardrails that keep two places that must agree, agreeing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { WRITE_COMMANDS } from "../src/adapters/types.ts";
import * as lua from "../src/redis/lua.generated.ts";
import { TASK_MESSAGES } from "../src/daemon/observe.ts";

test("the fire script allows exactly the commands of the adapters' Write type", () => {
  const source = readFileSync(new URL("../src/redis/lua/fire.lua", import.meta.url), "utf8");
  const table = /local allowed = \{([^}]*)\}/.exec(source)?.[1];
  assert.ok(table !== undefined, "fire.lua has no `allowed` table");
  const allowed = [...table.matchAll(/(\w+) = true/g)].map((match) => match[1]).sort();
  assert.deepEqual(allowed, [...WRITE_COMMANDS].sort());
});

test("the embedded Lua is the Lua in src/redis/lua (the build ran after the last edit)", () => {
  assert.equal(lua.fire, readFileSync(new URL("../src/redis/lua/fire.lua", import.meta.url), "utf8"));
});

test("every log line the clock writes is in docs/logs.md", () => {
  const docs = readFileSync(new URL("../docs/logs.md", import.meta.url), "utf8");
  const sources = ["../src/daemon/observe.ts", "../src/daemon/start.ts", "../src/daemon/dry-run.ts", "../src/cli/commands/start.ts"].map((path) =>
    readFileSync(new URL(path, import.meta.url), "utf8"),
  );
  // The sentence of each log call: the last string literal before the call's closing parenthesis.
  const messages = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(/log\.(?:info|warn|error|debug)\(([\s\S]*?)\);/g)) {
      for (const literal of (match[1] ?? "").matchAll(/"([a-z][^"]*? [^"]*)"/g)) messages.add(literal[1] ?? "");
    }
  }
  for (const message of Object.values(TASK_MESSAGES)) messages.add(message);
  assert.ok(messages.size > 30, `found only ${messages.size} log sentences: the pattern is stale`);
  const missing = [...messages].filter((message) => !docs.includes(message));
  assert.deepEqual(missing, []);
});
