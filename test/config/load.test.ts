/** Config: finding and importing config files (findConfigPath, importConfig, loadConfig) from temp dirs. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILES, findConfigPath, importConfig, loadConfig, readDataModule } from "../../src/config/load.ts";
import { parseConfig } from "../../src/config/resolve.ts";
import { configError, configErrorAsync, lines } from "../helpers/config-errors.ts";
import { suiteScope } from "../helpers/scope.ts";

const INDEX_TS = new URL("../../src/index.ts", import.meta.url).pathname;
const suite = suiteScope();
const tempDir = (files: Record<string, string> = {}): string => suite.tempDir(files, "clock-config-");

const PLAIN = (name: string) => `export default { schedules: { ${JSON.stringify(name)}: { at: "09:00", job: { class: "Job" } } } };\n`;

describe("findConfigPath", () => {
  test("finds each default file name in the directory", () => {
    assert.deepEqual(CONFIG_FILES, ["clock.config.ts", "clock.config.mts", "clock.config.js", "clock.config.mjs"]);
    for (const name of CONFIG_FILES) {
      const dir = tempDir({ [name]: PLAIN(name) });
      assert.equal(findConfigPath(undefined, dir, {}), join(dir, name));
    }
  });

  test("prefers .ts, then .mts, .js, .mjs", () => {
    const dir = tempDir({ "clock.config.mjs": PLAIN("mjs"), "clock.config.js": PLAIN("js") });
    assert.equal(findConfigPath(undefined, dir, {}), join(dir, "clock.config.js"));
    writeFileSync(join(dir, "clock.config.ts"), PLAIN("ts"));
    assert.equal(findConfigPath(undefined, dir, {}), join(dir, "clock.config.ts"));
  });

  test("an explicit path wins over CLOCK_CONFIG, which wins over the default files; relative paths resolve against cwd", () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("default"), "env.config.ts": PLAIN("env"), "explicit.config.ts": PLAIN("explicit") });
    mkdirSync(join(dir, "sub"));
    assert.equal(findConfigPath(undefined, dir, { CLOCK_CONFIG: "env.config.ts" }), join(dir, "env.config.ts"));
    assert.equal(findConfigPath("explicit.config.ts", dir, { CLOCK_CONFIG: "env.config.ts" }), join(dir, "explicit.config.ts"));
    assert.equal(findConfigPath("../explicit.config.ts", join(dir, "sub"), {}), join(dir, "explicit.config.ts"));
    assert.equal(findConfigPath(undefined, join(dir, "sub"), { CLOCK_CONFIG: join(dir, "env.config.ts") }), join(dir, "env.config.ts"));
    // An empty CLOCK_CONFIG is as good as unset.
    assert.equal(findConfigPath(undefined, dir, { CLOCK_CONFIG: "" }), join(dir, "clock.config.ts"));
  });

  test("a missing explicit or CLOCK_CONFIG file is a ConfigError naming the path", () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("default") });
    const explicit = configError(() => findConfigPath("missing.config.ts", dir, {}));
    assert.deepEqual(lines(explicit), [`config file not found: ${join(dir, "missing.config.ts")}`]);
    assert.ok(explicit.message.startsWith("cannot load config:"));
    const fromEnv = configError(() => findConfigPath(undefined, dir, { CLOCK_CONFIG: "nope.ts" }));
    assert.deepEqual(lines(fromEnv), [`config file not found: ${join(dir, "nope.ts")}`]);
  });

  test("no config file at all is a ConfigError that says how to point at one", () => {
    const dir = tempDir();
    const error = configError(() => findConfigPath(undefined, dir, {}));
    assert.deepEqual(lines(error), [`no clock.config.ts, clock.config.mts, clock.config.js, clock.config.mjs in ${dir} (pass --config PATH or set CLOCK_CONFIG)`]);
  });
});

describe("importConfig", () => {
  test("imports .ts (with types, and defineConfig by absolute path), .mts, .js and .mjs", async () => {
    const dir = tempDir({
      "clock.config.ts": `import { defineConfig } from ${JSON.stringify(INDEX_TS)};
const zone: string = "Europe/London";
export default defineConfig({ timezone: zone, schedules: { ts: { cron: "0 9 * * *", job: { class: "TsJob" } } } });
`,
      "clock.config.mts": `const every: string = "5m";\nexport default { schedules: { mts: { every, job: { class: "MtsJob" } } } };\n`,
      "clock.config.js": PLAIN("js"),
      "commonjs.config.js": `module.exports = { schedules: { cjs: { at: "09:00", job: { class: "Job" } } } };\n`,
    });
    // .mjs goes through Node's own import; under tsx (this test runner) that import would map
    // clock.config.mjs to a clock.config.mts beside it, so it gets a directory of its own.
    const mjsDir = tempDir({ "clock.config.mjs": PLAIN("mjs") });
    const ts = parseConfig(await importConfig(join(dir, "clock.config.ts")));
    assert.equal(ts.timezone, "Europe/London");
    assert.deepEqual(
      ts.schedules.map((schedule) => schedule.name),
      ["ts"],
    );
    for (const [file, name] of [
      ["clock.config.mts", "mts"],
      ["clock.config.js", "js"],
      ["commonjs.config.js", "cjs"],
    ] as const) {
      const config = parseConfig(await importConfig(join(dir, file)));
      assert.deepEqual(
        config.schedules.map((schedule) => schedule.name),
        [name],
        file,
      );
    }
    assert.deepEqual(
      parseConfig(await importConfig(join(mjsDir, "clock.config.mjs"))).schedules.map((schedule) => schedule.name),
      ["mjs"],
    );
  });

  test("a data-only module (export default <JSON>) gives the value importing it gives", async () => {
    const value = {
      timezone: "UTC",
      schedules: { "a:b": { cron: "0 9 * * *", timezone: "Europe/Berlin", job: { class: "J", args: [1, -0, 1e21, "\u2028", { deep: [null, true] }], queue: "q" } } },
    };
    const texts = [`export default ${JSON.stringify(value)};\n`, `\n  export default ${JSON.stringify(value, null, 2)}\n`];
    for (const [index, text] of texts.entries()) {
      const jsDir = tempDir({ "clock.config.mjs": text });
      const imported = (await import(`${new URL(`file://${join(jsDir, "clock.config.mjs")}`).href}?as-module`)) as { default: unknown };
      assert.deepEqual(readDataModule(text), { value: imported.default }, `text ${index}`);
      assert.deepEqual(await importConfig(join(jsDir, "clock.config.mjs")), imported.default, `text ${index}`);
    }
  });

  test("a module that is more than a JSON default export (code, comments, a __proto__ key, a TypeScript suffix) is imported, not read as JSON", async () => {
    for (const text of [
      "export default { schedules: {} };",
      '// a comment\nexport default {"schedules":{}};',
      'export default {"schedules":{}}; export const other = 1;',
      'export default {"schedules":{}} satisfies object;',
      'export default {"schedules":{},"__proto__":{"timezone":"Europe/Paris"}};',
      'export default "text";',
    ]) {
      assert.equal(readDataModule(text), undefined, text);
    }
    // Imported, a literal's "__proto__" sets the prototype: the value has no such own key.
    const dir = tempDir({ "clock.config.ts": 'export default {"schedules":{},"__proto__":{"timezone":"Europe/Paris"}};\n' });
    const imported = (await importConfig(join(dir, "clock.config.ts"))) as Record<string, unknown>;
    assert.equal(Object.hasOwn(imported, "__proto__"), false);
    assert.equal(imported["timezone"], "Europe/Paris");
  });

  test("returns a plain object default export unvalidated", async () => {
    const dir = tempDir({ "clock.config.ts": `export default { timezone: "Nowhere/Zone", schedules: {} };\n` });
    assert.deepEqual(await importConfig(join(dir, "clock.config.ts")), { timezone: "Nowhere/Zone", schedules: {} });
  });

  test("reads the file afresh on every import", async () => {
    const dir = tempDir({ "clock.config.ts": PLAIN("first") });
    const path = join(dir, "clock.config.ts");
    assert.deepEqual(
      parseConfig(await importConfig(path)).schedules.map((schedule) => schedule.name),
      ["first"],
    );
    writeFileSync(path, PLAIN("second"));
    assert.deepEqual(
      parseConfig(await importConfig(path)).schedules.map((schedule) => schedule.name),
      ["second"],
    );
  });

  test("a file that throws at import is a ConfigError with the path and the error", async () => {
    const dir = tempDir({ "clock.config.ts": `throw new Error("boom at import");\nexport default {};\n` });
    const path = join(dir, "clock.config.ts");
    const error = await configErrorAsync(() => importConfig(path));
    assert.deepEqual(lines(error), [`${path}: boom at import`]);
    assert.ok(error.message.startsWith("cannot load config:"));
  });

  test("a syntax error or a missing import is a ConfigError naming the file", async () => {
    const dir = tempDir({ "syntax.config.ts": "export default {{ ;\n", "imports.config.ts": `import x from "./nowhere.ts";\nexport default x;\n` });
    for (const file of ["syntax.config.ts", "imports.config.ts"]) {
      const error = await configErrorAsync(() => importConfig(join(dir, file)));
      assert.ok(lines(error)[0]?.startsWith(`${join(dir, file)}: `), lines(error).join("\n"));
    }
  });

  test("a default export that is not an object is a ConfigError", async () => {
    const dir = tempDir({ "clock.config.ts": "export default 42;\n" });
    const path = join(dir, "clock.config.ts");
    const error = await configErrorAsync(() => importConfig(path));
    assert.deepEqual(lines(error), [`${path}: the default export is a number, expected an object: export default defineConfig({ ... })`]);
  });

  test("loadConfig finds, imports and validates in one step", async () => {
    const dir = tempDir({ "my.config.ts": PLAIN("loaded"), "bad.config.ts": `export default { schedules: { s: { at: "25:00", job: { class: "Job" } } } };\n` });
    const { path, config } = await loadConfig(join(dir, "my.config.ts"));
    assert.equal(path, join(dir, "my.config.ts"));
    assert.deepEqual(
      config.schedules.map((schedule) => schedule.name),
      ["loaded"],
    );
    const error = await configErrorAsync(() => loadConfig(join(dir, "bad.config.ts")));
    assert.deepEqual(lines(error), ['schedules.s.at: invalid at time "25:00": hour 25 is past 23']);
  });
});
