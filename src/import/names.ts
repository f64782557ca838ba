/**
 * Schedule names for imported schedules: valid for the clock (letters, digits, `.`, `_`, `-`,
 * `:`, at most 200) and unique. A crontab line has no name, so one is derived from its command:
 * the program and its first words, without the shell around them (`cd DIR &&`, `VAR=value`,
 * wrappers such as `nice` or `flock`, redirections).
 */

const NAME_MAX = 200;
/** Derived names stay short enough to read in `clock list`. */
const DERIVED_MAX = 60;
const WORDS_MAX = 3;

/** Any text as a valid schedule name: other characters become `-`; never empty. */
export function toScheduleName(text: string, fallback = "schedule"): string {
  const name = text
    .replace(/[^A-Za-z0-9._:-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, NAME_MAX)
    .replace(/[-.]+$/g, "");
  return name === "" ? fallback : name;
}

/** `base`, or `base-2`, `base-3`, ... : the first not in `taken` (which the caller then adds to). */
export function uniqueName(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const name = `${base.slice(0, NAME_MAX - suffix.length)}${suffix}`;
    if (!taken.has(name)) return name;
  }
}

/** Wrappers that run the real program, with how many words of their own come first (`flock FILE`, `timeout 5m`). */
const WRAPPER_ARGS: Readonly<Record<string, number>> = { nice: 0, ionice: 0, nohup: 0, exec: 0, env: 0, time: 0, chronic: 0, sudo: 0, setsid: 0, flock: 1, timeout: 1 };
const SHELL_OPERATORS = new Set(["&&", "||", ";", "|", "&"]);

/** Words of a command line: whitespace-separated, quotes removed (good enough for a name). */
function words(command: string): string[] {
  return (command.match(/"[^"]*"|'[^']*'|[^\s"']+/g) ?? []).map((word) => word.replace(/^["']|["']$/g, ""));
}

function isRedirection(word: string): boolean {
  return /^(\d*[<>]|&>)/.test(word);
}

/** The part of a word worth naming: a path's last part, a URL's host. */
function nameWord(word: string): string {
  const url = /^[a-z]+:\/\/([^/?#]+)/i.exec(word);
  if (url?.[1] !== undefined) return url[1];
  if (word.includes("/")) return word.replace(/\/+$/, "").split("/").pop() ?? word;
  return word.replace(/^--/, "");
}

/** A name for a shell command: `/usr/local/bin/backup.sh --full >> log 2>&1` -> `backup.sh-full`. */
export function commandName(command: string): string {
  const all = words(command);
  let index = 0;
  // `cd DIR && ...`, `cd DIR; ...`: the directory is not the job.
  while (all[index] === "cd" && all[index + 2] !== undefined && SHELL_OPERATORS.has(all[index + 2] ?? "")) index += 3;
  const picked: string[] = [];
  let inWrapper = false;
  let skipNext = 0;
  for (; index < all.length && picked.length < WORDS_MAX; index++) {
    const word = all[index] ?? "";
    if (SHELL_OPERATORS.has(word) || isRedirection(word)) break;
    if (picked.length > 0) {
      if (!/^-[^-]/.test(word)) picked.push(nameWord(word)); // the program's words, short options left out
      continue;
    }
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) continue; // VAR=value before the program
    const wrapper = WRAPPER_ARGS[nameWord(word)];
    if (wrapper !== undefined) {
      inWrapper = true;
      skipNext = wrapper;
      continue;
    }
    if (inWrapper && /^-[^-]/.test(word)) {
      // A wrapper's option, and its value when it is a separate word (`sudo -u deploy`, `nice -n 10`).
      if (word.length === 2) skipNext = 1;
      continue;
    }
    if (skipNext > 0) {
      skipNext--;
      continue;
    }
    if (word === "bundle" && all[index + 1] === "exec") {
      index++;
      continue;
    }
    if (/^-/.test(word)) continue;
    picked.push(nameWord(word));
  }
  const name = toScheduleName(picked.filter((part) => part !== "").join("-"), "command");
  return name.length <= DERIVED_MAX ? name : name.slice(0, DERIVED_MAX).replace(/[-.]+$/g, "");
}
