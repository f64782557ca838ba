/** Finds and loads `clock.config.ts` (or .mts/.js/.mjs) at run time, with no compile step for the user. */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createJiti } from "jiti";
import { ConfigError } from "../errors.ts";
import { parseConfig, type ClockConfig } from "./resolve.ts";

export const CONFIG_FILES = ["clock.config.ts", "clock.config.mts", "clock.config.js", "clock.config.mjs"];

/** The config path: `--config`, then `CLOCK_CONFIG`, then the first default file found in `cwd`. */
export function findConfigPath(explicit: string | undefined, cwd = process.cwd(), env = process.env): string {
  const given = explicit ?? env["CLOCK_CONFIG"];
  if (given !== undefined && given !== "") {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new ConfigError([{ path: "", message: `config file not found: ${path}` }], "cannot load config");
    return path;
  }
  for (const name of CONFIG_FILES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigError([{ path: "", message: `no ${CONFIG_FILES.join(", ")} in ${cwd} (pass --config PATH or set CLOCK_CONFIG)` }], "cannot load config");
}

const DATA_EXPORT = "export default";

/**
 * The default export of a module that is nothing but `export default <JSON>;` (a generated config),
 * read with JSON.parse; undefined for any other module. The value is the one importing it gives: JSON
 * is a subset of JavaScript's literals, except a `"__proto__"` key (a literal sets the prototype),
 * so a text with one is imported. Importing 100,000 schedules compiles the literal: ~0.9 s, and
 * ~170 MB of the parser's memory that the allocator keeps after it is freed (RSS stays there).
 */
export function readDataModule(text: string): { value: unknown } | undefined {
  const start = text.trimStart();
  if (!start.startsWith(DATA_EXPORT)) return undefined;
  let body = start.slice(DATA_EXPORT.length).trimEnd();
  if (body.endsWith(";")) body = body.slice(0, -1);
  const first = body.trimStart()[0];
  if ((first !== "{" && first !== "[") || body.includes('"__proto__"')) return undefined;
  try {
    return { value: JSON.parse(body) };
  } catch {
    return undefined; // not JSON (comments, code, single quotes): a module to import
  }
}

/** A file that cannot be read is left to the import, whose error names the problem as before. */
function readTextOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Imports the config module and returns its default export, not yet validated. */
export async function importConfig(path: string): Promise<unknown> {
  let module: unknown;
  try {
    const data = readDataModule(readTextOrEmpty(path));
    if (data !== undefined) {
      module = { default: data.value };
    } else if (path.endsWith(".mjs")) {
      // An ES module needs no transform: Node's own loader is faster and lighter than jiti
      // (a generated config with 100,000 schedules would otherwise be parsed into a Babel AST).
      module = await import(`${pathToFileURL(path).href}?t=${Date.now()}`);
    } else {
      // No interop: the module's own exports, so a missing default export shows as one
      // (CommonJS `module.exports = {...}` is its default, as in Node's own import).
      const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: false });
      module = await jiti.import(path);
    }
  } catch (error) {
    throw new ConfigError([{ path: "", message: `${path}: ${(error as Error).message}` }], "cannot load config");
  }
  if (module === null || typeof module !== "object" || !("default" in module)) {
    const names = module !== null && typeof module === "object" ? Object.keys(module).filter((name) => name !== "__esModule") : [];
    const exported = names.length === 0 ? "it exports nothing" : `it exports only ${names.join(", ")}`;
    throw new ConfigError([{ path: "", message: `${path} has no default export (${exported}): write export default defineConfig({ ... })` }], "cannot load config");
  }
  const exported = module.default;
  if (exported === null || typeof exported !== "object" || Array.isArray(exported)) {
    const what = exported === null ? "null" : exported === undefined ? "undefined" : Array.isArray(exported) ? "an array" : `a ${typeof exported}`;
    throw new ConfigError([{ path: "", message: `${path}: the default export is ${what}, expected an object: export default defineConfig({ ... })` }], "cannot load config");
  }
  return exported;
}

export async function loadConfig(explicitPath?: string): Promise<{ path: string; config: ClockConfig }> {
  const path = findConfigPath(explicitPath);
  return { path, config: parseConfig(await importConfig(path)) };
}
