/**
 * Schedule files in YAML, read as Ruby's Psych reads them (YAML 1.1: `yes`/`no` are booleans,
 * `<<` merges), with Ruby symbols (`:schedule:`, `queue: :low`) as the strings they become in a
 * Sidekiq job. The parser is loaded on first use: `clock start` never pays for it.
 */
import type { Json } from "../schedule/schedule.ts";

/** A file that is not YAML, or not a schedule file: the CLI exits 2 with this message. */
export class ScheduleFileError extends Error {}

export type Yaml = Json | undefined;

export const isMapping = (value: unknown): value is { [key: string]: Json } => value !== null && typeof value === "object" && !Array.isArray(value);

/** Dates (YAML timestamps) as ISO text; everything else as parsed. */
function plain(value: unknown): Json {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => plain(item));
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plain(item)]));
  return (value ?? null) as Json;
}

export async function loadYaml(text: string, file: string): Promise<Yaml> {
  const { parseDocument, visit } = await import("yaml");
  const document = parseDocument(text, { version: "1.1", merge: true, prettyErrors: true });
  const [error] = document.errors;
  if (error !== undefined) {
    const erb = text.includes("<%") ? " (it contains ERB tags, <% %>, which Ruby renders before it reads the YAML: render it first, e.g. with `erb FILE`)" : "";
    throw new ScheduleFileError(`${file}: not YAML${erb}: ${error.message.split("\n")[0]}`);
  }
  // Psych reads a plain scalar `:name` as the symbol :name, which a Sidekiq job carries as "name".
  visit(document, {
    Scalar(_, node) {
      if (node.type === "PLAIN" && typeof node.value === "string" && /^:./.test(node.value)) node.value = node.value.slice(1);
    },
  });
  return plain(document.toJS({ maxAliasCount: 1000 }));
}

/** A mapping's value by key, whichever of `key` and `:key` was written (Psych makes both keys). */
export function field(mapping: { readonly [key: string]: Json }, key: string): Yaml {
  return mapping[key] ?? mapping[`:${key}`];
}

/** JSON text of a value, for messages. */
export function shown(value: Yaml): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}
