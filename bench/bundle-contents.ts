/**
 * What a handler's bundle contains, read from esbuild's metafile of the same build as
 * `bench:cold-start` (SST's options): which domains (`core/<domain>/`) and which AWS SDK clients
 * and database drivers, each either loaded at import (the entry chunk and its static imports) or
 * only in a chunk loaded on first use (a dynamic import). test/unit/handler-bundles.test.ts holds
 * what each handler's paths call and fails on anything else.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { build, type Metafile } from "esbuild";
import { closure as reachable, sstOptions } from "./cold-start.ts";

/** The clients and drivers whose presence is checked (each costs 30 to 200 KB). */
export const clients = [
  "@aws-sdk/client-s3",
  "@aws-sdk/client-sqs",
  "@aws-sdk/s3-request-presigner",
  "@neondatabase/serverless",
  "ws",
] as const;
export type Client = (typeof clients)[number];

export interface Contents {
  /** Domains and clients loaded when the handler is imported. */
  atImport: Set<string>;
  /** Those only in chunks loaded on first use. */
  lazy: Set<string>;
  /** Our own files (`core/skills/kv-store.ts`) with code in what is loaded at import. */
  filesAtImport: Set<string>;
}

const root = resolve(import.meta.dirname, "..");
const domains = new Map<string, boolean>();
const isDomain = (folder: string): boolean => {
  if (!domains.has(folder)) domains.set(folder, existsSync(join(root, "core", folder, "errors.ts")));
  return domains.get(folder) as boolean;
};

/**
 * `core/jobs/spawn.ts` -> `jobs`; `node_modules/@aws-sdk/client-s3/...` -> `@aws-sdk/client-s3`.
 * A domain is a `core/` folder with an errors.ts (the monitoring test's rule): `core/platform`
 * and `core/settings` (every domain's setting declarations, read by core/config.ts in every
 * handler) are not domains.
 */
export function tagOf(input: string): string | undefined {
  const domain = /^core\/([^/]+)\//.exec(input)?.[1];
  if (domain && isDomain(domain)) return domain;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
  return clients.find((c) => c === pkg);
}

function tags(meta: Metafile, outs: Set<string>): Set<string> {
  const found = new Set<string>();
  for (const o of outs) {
    for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[o]?.inputs ?? {})) {
      const tag = bytesInOutput > 0 ? tagOf(input) : undefined;
      if (tag) found.add(tag);
    }
  }
  return found;
}

/** Bundle `file` (a path from the repository root, or absolute) as SST does and report what it carries. */
export async function bundleContents(file: string): Promise<Contents> {
  const dir = mkdtempSync(join(tmpdir(), "aos-bundle-"));
  try {
    const entry = relative(root, resolve(root, file));
    const result = await build({ ...sstOptions, entryPoints: [entry], outdir: dir, entryNames: "handler" });
    const meta = result.metafile as Metafile;
    const out = Object.keys(meta.outputs).find((o) => meta.outputs[o]?.entryPoint === entry);
    if (!out) throw new Error(`${file}: no entry output`);
    const eager = reachable(meta, out, false);
    const atImport = tags(meta, eager);
    const lazy = new Set([...tags(meta, reachable(meta, out, true))].filter((t) => !atImport.has(t)));
    const filesAtImport = new Set(
      [...eager].flatMap((o) =>
        Object.entries(meta.outputs[o]?.inputs ?? {})
          .filter(([input, { bytesInOutput }]) => bytesInOutput > 0 && !input.includes("node_modules/"))
          .map(([input]) => input),
      ),
    );
    return { atImport, lazy, filesAtImport };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a handler's paths call: domains and clients it may load at import, and those it may load lazily. */
export interface Allowed {
  atImport: readonly string[];
  lazy: readonly string[];
}

/** Everything in `c` that `allowed` does not permit where it was found, sorted, e.g. `skills (at import)`. */
export function unexpected(c: Contents, allowed: Allowed): string[] {
  const out: string[] = [];
  for (const t of c.atImport) if (!allowed.atImport.includes(t)) out.push(`${t} (at import)`);
  for (const t of c.lazy) if (!allowed.atImport.includes(t) && !allowed.lazy.includes(t)) out.push(`${t} (lazy)`);
  return out.sort();
}
