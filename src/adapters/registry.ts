/**
 * The adapters of one process, built once and owned by whoever made the registry (the daemon, a
 * client): `get` builds an adapter the first time a schedule names it (a dynamic schedule may name
 * one the config does not use), `closeAll` closes every one built.
 */
import { buildAdapters } from "./index.ts";
import type { Adapter, AdapterContext } from "./types.ts";

export class AdapterRegistry {
  readonly #settings: Readonly<Record<string, unknown>>;
  readonly #context: AdapterContext;
  readonly #built = new Map<string, Adapter>();

  /** `settings`: the config's `adapters` (settings of built-ins, or adapter objects) by name. */
  constructor(settings: Readonly<Record<string, unknown>>, context: AdapterContext, names: Iterable<string> = []) {
    this.#settings = settings;
    this.#context = context;
    for (const name of names) this.get(name);
  }

  /** The adapter of that name, built on first use; throws for a name that is neither built in nor given. */
  get(name: string): Adapter {
    let adapter = this.#built.get(name);
    if (adapter === undefined) {
      adapter = buildAdapters(new Set([name]), this.#settings, this.#context).get(name) as Adapter;
      this.#built.set(name, adapter);
    }
    return adapter;
  }

  /** Builds it now, so a schedule that names it can fire (a dynamic schedule's adapter). */
  ensure(name: string): void {
    this.get(name);
  }

  get built(): ReadonlyMap<string, Adapter> {
    return this.#built;
  }

  async closeAll(): Promise<void> {
    for (const adapter of this.#built.values()) await adapter.close?.().catch(() => undefined);
  }
}
