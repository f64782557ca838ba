/**
 * JSON values as Python's own text for them, for the adapters whose consumers are Python (Celery,
 * RQ): `json.dumps` with its defaults, `repr`, and the Python value a JSON number becomes. The
 * consumer parses what the clock writes; writing Python's exact text keeps the payload
 * byte-for-byte what Python's own client writes (checked against Python in the tests).
 */
import type { Json } from "../schedule/schedule.ts";

/**
 * Whether Python's `json.loads` of `JSON.stringify(value)` is an `int`: JavaScript writes an
 * integral number below 1e21 as digits (no point, no exponent), and `1e+21` and up in exponent form.
 */
export function isPythonInt(value: number): boolean {
  return Number.isInteger(value) && Math.abs(value) < 1e21;
}

/** Python `repr(float)`: the shortest round-trip digits, fixed from 1e-4 up to 1e16, else `1e+16`, `1.5e-07`. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const sign = value < 0 ? "-" : "";
  // toExponential() with no argument gives the shortest digits that round-trip, as Python's repr does.
  const [mantissa = "", exponentText = "0"] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
  }
  const shown = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${shown}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

/** A JSON number as Python prints the value `json.loads` makes of it (`str()` and `repr()` agree). */
export function pythonNumber(value: number): string {
  return isPythonInt(value) ? String(value) : pythonFloatRepr(value);
}

const hex = (code: number, width: number): string => code.toString(16).padStart(width, "0");

/** A string as `json.dumps` writes it by default (`ensure_ascii=True`): everything outside ' '..'~' escaped. */
function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0x22) out += '\\"';
    else if (unit === 0x5c) out += "\\\\";
    else if (unit === 0x0a) out += "\\n";
    else if (unit === 0x0d) out += "\\r";
    else if (unit === 0x09) out += "\\t";
    else if (unit === 0x08) out += "\\b";
    else if (unit === 0x0c) out += "\\f";
    // UTF-16 units: Python writes a character above U+FFFF as its surrogate pair too.
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${hex(unit, 4)}`;
    else out += text[i];
  }
  return `${out}"`;
}

/** Python's `json.dumps(value)` with default settings: `", "` and `": "` separators, ASCII only. */
export function pythonJson(value: Json): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "string") return pythonJsonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${pythonJsonString(key)}: ${pythonJson(item)}`)
    .join(", ")}}`;
}

/** Code points, as Python's `str` counts and slices them (a lone surrogate is one). */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

// str.isprintable(): false for these general categories, except the space itself.
const NOT_PRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;

/**
 * Python's `repr(str)`: single quotes unless the text has one and no double quote; `\\`, the quote,
 * `\t` `\n` `\r`, `\xhh` for other controls, and non-printable characters escaped. Printability
 * follows Node's Unicode tables, which may be a version ahead of Python's for new characters.
 */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of codePoints(text)) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === "\\") out += `\\${char}`;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f) out += char;
    else if (code !== 0x20 && NOT_PRINTABLE.test(char)) out += code <= 0xff ? `\\x${hex(code, 2)}` : code <= 0xffff ? `\\u${hex(code, 4)}` : `\\U${hex(code, 8)}`;
    else out += char;
  }
  return out + quote;
}

/** Python's `repr()` of the value `json.loads` makes of a JSON value. */
export function pythonRepr(value: Json): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return pythonNumber(value);
  if (typeof value === "string") return pythonStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`)
    .join(", ")}}`;
}

/** Python's `sorted()` order of strings: by code point (JavaScript's default sort is by UTF-16 unit). */
export function compareCodePoints(a: string, b: string): number {
  const left = codePoints(a);
  const right = codePoints(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
