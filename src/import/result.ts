/**
 * What an import yields: schedule definitions the clock accepts (each validated by the config
 * schema before it is kept, so a printed config cannot fail `clock check`), and a list of what
 * was not carried over or was carried over with a difference, each with its place and reason.
 */
import { DEFAULT_CATCH_UP, parseSchedule } from "../config/resolve.ts";
import { ConfigError, formatIssue } from "../errors.ts";
import type { Json } from "../schedule/schedule.ts";
import { dstCaveat, type DstSource } from "./dst.ts";
import { uniqueName } from "./names.ts";

export type ImportFormat = "crontab" | "sidekiq-cron" | "sidekiq-scheduler";

/** A schedule definition as the config file and `clock add` take it: plain JSON. */
export interface ImportedDefinition {
  readonly cron?: string;
  readonly every?: string;
  readonly anchor?: string;
  readonly startAt?: string;
  readonly endAt?: string;
  readonly timezone: string;
  readonly enabled?: boolean;
  readonly adapter?: string;
  readonly description?: string;
  readonly job: { readonly class: string; readonly args: readonly Json[]; readonly queue?: string; readonly options?: Readonly<Record<string, Json>> };
}

export interface ImportedSchedule {
  readonly name: string;
  readonly definition: ImportedDefinition;
  /** Comment lines printed above it in clock.config.ts: where it came from, what must change. */
  readonly comments: readonly string[];
}

export interface ImportIssue {
  /** Where in the source: `line 7`, `schedule "daily_report"`. */
  readonly where: string;
  /** The source text it is about, shortened for one line. */
  readonly source: string;
  readonly reason: string;
  /** True when nothing of it was carried over; false when it was, with this difference. */
  readonly dropped: boolean;
}

export interface ImportResult {
  readonly format: ImportFormat;
  /** The config's default zone (schedules carry their own zone too). */
  readonly timezone: string;
  /** The config's default adapter, or null to leave the clock's default. */
  readonly adapter: string | null;
  readonly schedules: readonly ImportedSchedule[];
  readonly issues: readonly ImportIssue[];
}

const SOURCE_MAX = 100;

/** One line of source text for a listing: whitespace collapsed, long text cut. */
export function excerpt(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > SOURCE_MAX ? `${line.slice(0, SOURCE_MAX - 3)}...` : line;
}

/** Collects schedules and issues; every schedule is validated by the clock's own schema before it is kept. */
export class ImportBuilder {
  readonly #schedules: ImportedSchedule[] = [];
  readonly #issues: ImportIssue[] = [];
  readonly #names = new Set<string>();
  readonly #now: number;

  constructor(now: number) {
    this.#now = now;
  }

  drop(where: string, source: string, reason: string): void {
    this.#issues.push({ where, source: excerpt(source), reason, dropped: true });
  }

  differ(where: string, source: string, reason: string): void {
    this.#issues.push({ where, source: excerpt(source), reason, dropped: false });
  }

  /**
   * Keeps the schedule under a unique valid name (from `wantedName`), or lists it as dropped with
   * the clock's reason. `dst` names whose DST behaviour to compare the rule's against.
   */
  add(where: string, source: string, wantedName: string, definition: ImportedDefinition, comments: readonly string[], dst: DstSource): string | null {
    const name = uniqueName(wantedName, this.#names);
    try {
      // The adapter's job options are checked too (the default adapter when none is named).
      parseSchedule(name, definition, { timezone: definition.timezone, adapter: definition.adapter ?? "sidekiq", catchUp: DEFAULT_CATCH_UP }, { settings: {}, namespace: "clock" });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const neverFires = error.issues.some((issue) => issue.message.startsWith("never fires"));
      this.drop(
        where,
        source,
        neverFires
          ? "never fires: no calendar date matches its day and month fields (the source accepts such a rule and never runs it; the clock refuses it)"
          : `the clock refuses it: ${error.issues.map(formatIssue).join("; ")}`,
      );
      return null;
    }
    this.#names.add(name);
    this.#schedules.push({ name, definition, comments });
    if (definition.cron !== undefined) {
      const caveat = dstCaveat(definition.cron, definition.timezone, this.#now, dst);
      if (caveat !== null) this.differ(where, source, caveat);
    }
    return name;
  }

  result(format: ImportFormat, timezone: string, adapter: string | null): ImportResult {
    return { format, timezone, adapter, schedules: [...this.#schedules], issues: [...this.#issues] };
  }
}
