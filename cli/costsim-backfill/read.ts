/**
 * The records of backfill input files, one at a time with where they stand: a `.jsonl` file one
 * record a line (blank lines skipped), any other file one JSON value, a record or an array of
 * records (each reported at the line its element starts on). Files are read as streams of lines
 * (JSONL) or whole (JSON); `onBytes` reports progress in bytes read.
 */
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

export type Entry = { where: string; value: unknown } | { where: string; error: string };

/** The files of --dir (every *.json and *.jsonl, sorted by name) or --file. */
export function inputFiles(opts: { dir?: string; file?: string }): { path: string; bytes: number }[] {
  const paths = opts.file
    ? [opts.file]
    : readdirSync(opts.dir as string)
        .filter((f) => /\.jsonl?$/.test(f))
        .sort()
        .map((f) => join(opts.dir as string, f))
        .filter((p) => statSync(p).isFile());
  return paths.map((path) => ({ path, bytes: statSync(path).size }));
}

/**
 * The 1-based line on which each element of a top-level JSON array starts (a small scanner
 * over strings, escapes and nesting; the text is known to parse).
 */
export function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\n") continue;
    if (depth === 1 && expecting && c !== "]") {
      lines.push(line);
      expecting = false;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      depth++;
      if (depth === 1) expecting = true;
    } else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 1) expecting = true;
  }
  return lines;
}

/** The entries of one file, in order. */
export async function* readEntries(path: string, onBytes: (n: number) => void): AsyncGenerator<Entry> {
  if (path.endsWith(".jsonl")) {
    const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const text of lines) {
      n++;
      onBytes(Buffer.byteLength(text) + 1);
      if (text.trim() === "") continue;
      try {
        yield { where: `${path}:${n}`, value: JSON.parse(text) };
      } catch (e) {
        yield { where: `${path}:${n}`, error: `not JSON: ${(e as Error).message}` };
      }
    }
    return;
  }
  const text = readFileSync(path, "utf8");
  onBytes(Buffer.byteLength(text));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    yield { where: `${path}:1`, error: `not JSON: ${(e as Error).message}` };
    return;
  }
  if (!Array.isArray(value)) {
    yield { where: `${path}:1`, value };
    return;
  }
  const lines = elementLines(text);
  for (const [i, v] of value.entries()) yield { where: `${path}:${lines[i] ?? 1}`, value: v };
}
