/**
 * What httpHandler refuses before any schema or core code sees a request: JSON nested deeper than
 * `MAX_JSON_DEPTH` (checked on the raw text, before `JSON.parse` recurses into it) and text that
 * Postgres cannot store (a NUL character, an unpaired UTF-16 surrogate) anywhere in the body, the
 * query, the path or the headers. Each is a 400 naming the field, from this one place, so no
 * route can reach a 500 through them and a refused call changes nothing (an item whose completion
 * is refused stays claimed by its worker, who may complete it again with a clean result).
 */
import type { FieldIssue } from "../../core/errors.ts";

/**
 * The deepest nesting of arrays and objects a JSON body may have. AOS's own bodies nest at most
 * six levels (`items[].input` of a job, then a skill's args); 64 leaves the opaque parts (item
 * inputs and results, webhook payloads) 58 levels, is what .NET's System.Text.Json allows by
 * default, and keeps every recursive walk of a body (zod, jsonb encoding) far from the stack's end.
 */
export const MAX_JSON_DEPTH = 64;

/** At most this many bad texts are listed in one reply. */
const MAX_ISSUES = 20;

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether raw JSON text nests arrays and objects deeper than `max`. One pass over the text, no
 * recursion, strings skipped, stops at the first level too deep: 10,000 nested brackets cost as
 * much as reading them. Malformed text is left to JSON.parse.
 *
 * @example
 *   nestedDeeperThan('{"a":[[1]]}', 2) // true (3 levels)
 */
export function nestedDeeperThan(raw: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return false;
}

// A NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the NUL character is the point.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a text cannot be stored, in AOS's words; undefined when it can. */
export function unstorable(text: string): string | undefined {
  const m = UNSTORABLE.exec(text);
  if (!m) return undefined;
  return m[0] === "\u0000"
    ? "contains a NUL character (\\u0000), which AOS cannot store"
    : "contains an unpaired UTF-16 surrogate, which is not valid Unicode text";
}

/**
 * Every string of a parsed JSON value (and every object key) that cannot be stored, as field
 * issues under `where` (`body.items.0.result.note`). A bad key is reported on its object.
 * Recursion is safe: the value passed `nestedDeeperThan` first.
 */
export function unstorableTexts(value: unknown, where: string, issues: FieldIssue[] = []): FieldIssue[] {
  if (issues.length >= MAX_ISSUES) return issues;
  if (typeof value === "string") {
    const why = unstorable(value);
    if (why) issues.push({ field: where, message: why });
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length && issues.length < MAX_ISSUES; i++)
      unstorableTexts(value[i], `${where}.${i}`, issues);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (issues.length >= MAX_ISSUES) break;
      const why = unstorable(k);
      if (why) issues.push({ field: where, message: `a field name ${why}` });
      else unstorableTexts(v, `${where}.${k}`, issues);
    }
  }
  return issues;
}

/** Query parameters, path parameters or headers (`where` = query, path, header): names and values. */
export function unstorableParams(
  params: Readonly<Record<string, string | undefined>> | undefined | null,
  where: "query" | "path" | "header",
  issues: FieldIssue[],
): void {
  for (const [k, v] of Object.entries(params ?? {})) {
    if (issues.length >= MAX_ISSUES) return;
    const badName = unstorable(k);
    if (badName) issues.push({ field: where, message: `a parameter name ${badName}` });
    else if (v !== undefined) unstorableTexts(v, `${where}.${k}`, issues);
  }
}
