/**
 * `aos export status-history`: export the tenant's status history through a running AOS
 * (AOS_URL, AOS_KEY) exactly as any client would: POST the export, poll it until it is ready,
 * follow the download's 302 to the presigned S3 URL and stream the object to `<out>.partial`
 * while hashing it. Only a file whose SHA-256 and size match the export's takes the name `<out>`.
 *
 * `--export-id` skips the POST: it waits for and downloads an export asked for earlier (after a
 * timeout, or to fetch a file again while the export lasts).
 *
 * Exit codes: 0 done; 1 the API refused, the export failed or expired, the download did not
 * match (no file left behind); 2 bad flags (nothing sent); 130 interrupted.
 */
import { createHash } from "node:crypto";
import { constants, createWriteStream } from "node:fs";
import { access, rename, rm } from "node:fs/promises";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { dirname, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import * as z from "zod/mini";
import { config } from "../../core/config.ts";
import { ExportCreate, ExportIdPath, type ExportRecord } from "../../core/status-history/schema.ts";
import { AosUnreachableError, requestAos } from "../http.ts";
import type { CommandSpec } from "../main.ts";

const API = "/api/v1/status_history";
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;

/** An outcome with its exit code; `lines` go to stderr. */
class CliError extends Error {
  constructor(
    readonly lines: string[],
    readonly exitCode = 1,
  ) {
    super(lines.join("\n"));
  }
}

type Values = Record<string, string | boolean | undefined>;

/** Flag -> body field, so a refused field is reported under the flag the user typed. */
const filterFlags = {
  "entity-type": "entity_type",
  "entity-id": "entity_id",
  "new-status": "new_status",
  actor: "actor",
  since: "since",
  until: "until",
} as const;
const flagOf = (path: readonly PropertyKey[]): string => {
  const field = String(path.at(-1) ?? "");
  const flag = Object.entries(filterFlags).find(([, f]) => f === field)?.[0];
  return `--${flag ?? field}`;
};

/**
 * What to do, from flags: the POST body (checked with the API's own schema before anything is
 * sent), or with --export-id no body (an export asked for earlier).
 */
function plan(v: Values) {
  const problems: string[] = [];
  const tenant = typeof v.tenant === "string" ? v.tenant : undefined;
  const exportId = typeof v["export-id"] === "string" ? v["export-id"] : undefined;
  let body: Record<string, unknown> | undefined;
  if (exportId !== undefined) {
    if (!z.safeParse(ExportIdPath, { id: exportId }).success) problems.push("--export-id: must be an export's uuid");
    const given = ["format", "gzip", ...Object.keys(filterFlags)].filter((f) => v[f] !== undefined);
    if (given.length)
      problems.push(`--export-id downloads an existing export: ${given.map((f) => `--${f}`).join(", ")} do not apply`);
  } else {
    const filters: Record<string, string> = {};
    for (const [flag, field] of Object.entries(filterFlags)) {
      if (typeof v[flag] === "string") filters[field] = v[flag];
    }
    body = { format: v.format, gzip: v.gzip === true, filters, ...(tenant ? { tenant } : {}) };
    const parsed = z.safeParse(ExportCreate, body);
    for (const i of parsed.error?.issues ?? []) {
      const flag = i.path.length ? flagOf(i.path) : "request";
      problems.push(`${flag}: ${flag === "--format" ? "must be csv or jsonl" : i.message}`);
    }
  }
  const out = typeof v.out === "string" && v.out !== "" ? v.out : undefined;
  if (!out) problems.push("--out: a file to write is required");
  const timeoutS = Number(v["timeout-s"] ?? 900);
  if (!Number.isInteger(timeoutS) || timeoutS < 1) problems.push("--timeout-s: a whole number of seconds >= 1");
  if (problems.length) throw new CliError(problems, 2);
  return { body, exportId, tenant, out: resolve(out as string), timeoutS };
}

interface Envelope {
  error?: { code?: string; message?: string; details?: { fields?: { field: string; message: string }[] } | null };
}

function apiError(status: number, text: string): CliError {
  let env: Envelope | undefined;
  try {
    env = JSON.parse(text) as Envelope;
  } catch {}
  const e = env?.error;
  if (!e?.code) return new CliError([`HTTP ${status}: ${text.slice(0, 300) || "(empty reply)"}`]);
  const fields = (e.details?.fields ?? []).map((f) => `  ${f.field}: ${f.message}`);
  return new CliError([`${e.code}: ${e.message ?? ""}`, ...fields]);
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  try {
    return await requestAos(config().cli, method, path, body, "manual");
  } catch (e) {
    if (e instanceof AosUnreachableError) throw new CliError([e.message]);
    throw e;
  }
}

async function callJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(method, path, body);
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, text);
  return JSON.parse(text) as T;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One status line on a terminal, rewritten in place; silent otherwise. */
class StatusLine {
  private last = 0;
  private shown = false;
  constructor(private readonly tty = process.stderr.isTTY === true) {}
  show(text: string, force = false): void {
    if (!this.tty || (!force && Date.now() - this.last < 100)) return;
    this.last = Date.now();
    this.shown = true;
    process.stderr.write(`\r\x1b[K${text}`);
  }
  done(): void {
    if (this.shown) process.stderr.write("\n");
    this.shown = false;
  }
}

async function waitReady(created: ExportRecord, timeoutS: number, tq: string, line: StatusLine): Promise<ExportRecord> {
  const started = Date.now();
  let e = created;
  let delay = POLL_FIRST_MS;
  for (;;) {
    if (e.status === "ready") return e;
    if (e.status === "failed" || e.status === "expired") {
      throw new CliError([`export ${e.id} ${e.status}: ${e.last_error ?? "no error recorded"}`]);
    }
    const waited = (Date.now() - started) / 1000;
    line.show(`export ${e.id}: ${e.status}${e.attempts > 1 ? ` (attempt ${e.attempts})` : ""}, ${waited.toFixed(0)} s`);
    if (waited + delay / 1000 > timeoutS) {
      throw new CliError([
        `export ${e.id} still ${e.status} after ${timeoutS} s; to wait again and download it: --export-id ${e.id}`,
      ]);
    }
    await sleep(delay);
    delay = Math.min(POLL_MAX_MS, delay * 1.5);
    e = await callJson<ExportRecord>("GET", `${API}/exports/${e.id}${tq}`);
  }
}

/** The presigned URL the download route redirects to. */
async function presignedUrl(id: string, tq: string): Promise<string> {
  const res = await call("GET", `${API}/download/${id}${tq}`);
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location) {
    await res.body?.cancel();
    return location;
  }
  const text = await res.text();
  if (!res.ok) throw apiError(res.status, text);
  throw new CliError([`expected a redirect to the file, got HTTP ${res.status}`]);
}

/** Stream `url` to `partial`, hashing. node:http, not fetch: fetch would gunzip a gzip-encoded object. */
async function download(url: string, partial: string, line: StatusLine, signal: AbortSignal) {
  const res = await new Promise<IncomingMessage>((ok, fail) => {
    (url.startsWith("https:") ? httpsGet : httpGet)(url, { signal }, ok).on("error", fail);
  });
  if (res.statusCode !== 200) {
    let text = "";
    for await (const c of res) text += c;
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const msg = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    throw new CliError([`download failed: HTTP ${res.statusCode}${code ? ` ${code}: ${msg ?? ""}` : ""}`]);
  }
  const total = Number(res.headers["content-length"] ?? 0);
  const hash = createHash("sha256");
  const started = performance.now();
  let bytes = 0;
  const progress = () => {
    const s = (performance.now() - started) / 1000;
    const rate = s > 0 ? `${mb(bytes / s)}/s` : "";
    if (!total) return line.show(`${mb(bytes)}  ${rate}`);
    const pct = Math.min(100, (bytes / total) * 100);
    const bar = "#".repeat(Math.round(pct / 4)).padEnd(25, "-");
    line.show(`[${bar}] ${pct.toFixed(0).padStart(3)}%  ${mb(bytes)} / ${mb(total)}  ${rate}`, pct === 100);
  };
  async function* meter(source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
      progress();
      yield chunk;
    }
  }
  await pipeline(res, meter, createWriteStream(partial), { signal });
  line.done();
  return { bytes, sha256: hash.digest("hex") };
}

async function exportStatusHistory(v: Values): Promise<number> {
  const { body, exportId, tenant, out, timeoutS } = plan(v);
  try {
    await access(dirname(out), constants.W_OK);
  } catch {
    throw new CliError([`--out: cannot write to ${dirname(out)}`], 2);
  }
  // An admin exporting another tenant names it again on every read of that export.
  const tq = tenant ? `?tenant=${encodeURIComponent(tenant)}` : "";
  const line = new StatusLine();
  const created = body
    ? await callJson<ExportRecord>("POST", `${API}/export`, body)
    : await callJson<ExportRecord>("GET", `${API}/exports/${exportId}${tq}`);
  const ready = await waitReady(created, timeoutS, tq, line);
  line.done();

  const partial = `${out}.partial`;
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once("SIGINT", onSigint);
  try {
    const got = await download(await presignedUrl(ready.id, tq), partial, line, stop.signal);
    if (got.sha256 !== ready.sha256 || got.bytes !== ready.bytes) {
      throw new CliError([
        `download of export ${ready.id} does not match it: expected ${ready.bytes} bytes, sha256 ${ready.sha256};`,
        `got ${got.bytes} bytes, sha256 ${got.sha256}. Nothing was written to ${out}.`,
      ]);
    }
    await rename(partial, out);
    console.log(`${out}: ${ready.row_count} rows, ${got.bytes} bytes, sha256 ${got.sha256} (export ${ready.id})`);
    return 0;
  } catch (e) {
    line.done();
    await rm(partial, { force: true });
    if (stop.signal.aborted) throw new CliError(["interrupted; nothing was written"], 130);
    throw e;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export const commands: CommandSpec[] = [
  {
    name: "export status-history",
    usage:
      "export status-history --format csv|jsonl --out FILE [--gzip] [--since ISO] [--until ISO] [--entity-type T] [--entity-id ID] [--new-status S] [--actor A] [--tenant T] [--timeout-s S] | --export-id ID --out FILE",
    summary: "Export status history through a running AOS (AOS_URL, AOS_KEY) and download it, SHA-256 checked",
    options: {
      format: { type: "string", description: "csv | jsonl" },
      gzip: { type: "boolean", description: "gzip the file (level 1)" },
      since: { type: "string", description: "rows at or after this ISO 8601 instant" },
      until: { type: "string", description: "rows before this ISO 8601 instant (default: when asked)" },
      "entity-type": { type: "string", description: "only this entity type" },
      "entity-id": { type: "string", description: "only this entity id" },
      "new-status": { type: "string", description: "only changes to this status" },
      actor: { type: "string", description: "only changes by this actor (key:<id>, system:<name>)" },
      tenant: { type: "string", description: "another tenant's history (admin keys only)" },
      out: { type: "string", description: "file to write (via <out>.partial)" },
      "timeout-s": { type: "string", description: "give up waiting for the export after this", default: "900" },
      "export-id": { type: "string", description: "wait for and download an export asked for earlier (no new export)" },
    },
    run: async ({ values }) => {
      try {
        return await exportStatusHistory(values);
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        for (const l of e.lines) console.error(`aos export status-history: ${l}`);
        return e.exitCode;
      }
    },
  },
];
