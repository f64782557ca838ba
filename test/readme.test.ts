/**
 * The README as a user copies from it: shell examples that run (`npx clock`: a bare `clock` is not
 * on PATH), the Procfile line it shows is the shipped one, the promises it makes are the ones the
 * code keeps, and the LICENSE that package.json names is there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers/process.ts";

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** Fenced blocks with their info string ("sh", "" ...). */
function codeBlocks(markdown: string): { lang: string; body: string }[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((match) => ({ lang: match[1] ?? "", body: match[2] ?? "" }));
}

test("every shell example runs the CLI as npx clock (no bare clock, which is not on PATH)", () => {
  const commands = codeBlocks(README)
    .filter((block) => block.lang === "sh" || block.body.trimStart().startsWith("clock "))
    .flatMap((block) => block.body.split("\n"))
    // each command of a line: at its start, or after |, && or ;
    .flatMap((line) => line.split(/\|\||&&|\||;/).map((part) => part.replace(/#.*$/, "").trim()))
    .filter((part) => /(^|\s)clock\s/.test(`${part} `) && !part.startsWith("echo "));
  assert.ok(commands.length >= 8, `the examples were found: ${commands.join(" / ")}`);
  const bare = commands.filter((command) => !/^npx clock\b/.test(command));
  assert.deepEqual(bare, [], "examples that run a bare clock");
});

test("the Procfile the README shows is the shipped one, clock: line and all", () => {
  const shown = codeBlocks(README).find((block) => block.body.startsWith("# Procfile"));
  assert.ok(shown !== undefined, "a Procfile block in the README");
  const clockLine = (text: string) => text.split("\n").find((line) => line.startsWith("clock:"));
  assert.equal(clockLine(shown.body), clockLine(read("Procfile")));
  assert.match(shown.body, /^# worker: /m);
});

test("the headline promises at most once and no silent misses, not exactly once", () => {
  const headline = README.slice(README.indexOf("A cron replacement for applications."), README.indexOf("Why not cron?"));
  assert.doesNotMatch(headline, /exactly once/i);
  assert.match(headline, /at most once/);
  assert.match(headline, /skip(s|ped)? logged|each skip logged/);
});

test("the log lines the README quotes for skipped slots are the ones the clock writes", () => {
  for (const message of ["missed slots skipped by catch-up policy", "catch-up bound reached"]) {
    assert.ok(README.includes(message), `README quotes "${message}"`);
    assert.ok(read("src/daemon/observe.ts").includes(message), `src/daemon/observe.ts logs "${message}"`);
  }
});

test("the MIT LICENSE that package.json names is shipped, for the clock authors, 2026", () => {
  const pkg = JSON.parse(read("package.json")) as { license: string };
  assert.equal(pkg.license, "MIT");
  const license = read("LICENSE");
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the clock authors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
});
