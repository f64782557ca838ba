/** Guardrails that keep two places that must agree, agreeing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { WRITE_COMMANDS } from "../src/adapters/types.ts";
import * as lua from "../src/redis/lua.generated.ts";

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
