/**
 * `aos workflows register|run|get|list|cancel` and `aos replay verify|fork`: a running AOS
 * (AOS_URL, AOS_KEY), through the public API as any client. `aos replay verify --workflow W`
 * verifies many runs (filtered by --since and --status), printing a progress bar on stderr, one
 * line per run and a summary; it exits 1 when any run does not verify.
 */
import { readFile } from "node:fs/promises";
import { config } from "../../core/config.ts";
import { CliFailure, UsageError } from "../failures.ts";
import { AosUnreachableError, requestAos } from "../http.ts";
import type { CommandSpec } from "../main.ts";

const API = "/api/v1/workflows";
type Values = Record<string, string | boolean | undefined>;
const str = (v: Values, k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);

/** An error reply of the API: its code and details kept, for a caller that handles one. */
class ApiFailure extends CliFailure {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly details: unknown,
  ) {
    super(message);
  }
}

/** The reply's JSON, or an ApiFailure (a CliFailure) naming the status and the API's error. */
async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await requestAos(config().cli, method, path, body);
  } catch (e) {
    throw e instanceof AosUnreachableError ? new CliFailure(e.message) : e;
  }
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CliFailure(`${method} ${path}: HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const err = json.error as { code?: string; message?: string; details?: unknown } | undefined;
    throw new ApiFailure(
      `${method} ${path}: HTTP ${res.status} ${err?.code ?? ""}: ${err?.message ?? text}${err?.details ? ` ${JSON.stringify(err.details)}` : ""}`,
      err?.code,
      err?.details,
    );
  }
  return json;
}

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));

function json(v: Values, flag: string): unknown {
  const s = str(v, flag);
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    throw new UsageError(`--${flag}: not JSON`);
  }
}

/** Every run of a listing (all pages), newest first. */
async function allRuns(query: URLSearchParams): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const q = new URLSearchParams(query);
    q.set("limit", "200");
    if (cursor) q.set("cursor", cursor);
    const page = await call("GET", `${API}/runs?${q}`);
    out.push(...(page.data as Record<string, unknown>[]));
    cursor = (page.next_cursor as string | null) ?? undefined;
  } while (cursor);
  return out;
}

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}`;
}

/** A replay queued for a big run (pending, running) polled each second until it has a verdict. */
async function settled(runId: string, r: Record<string, unknown>): Promise<Record<string, unknown>> {
  let cur = r;
  while (cur.status === "pending" || cur.status === "running") {
    await new Promise((ok) => setTimeout(ok, 1000));
    cur = await call("GET", `${API}/runs/${runId}/replays/${cur.replay_id}`);
  }
  return cur;
}

/** Verify `runIds`; in bulk (`archivedOk`), a run whose ops retention archived is listed, not an error. */
async function verifyMany(v: Values, runIds: string[], archivedOk: boolean): Promise<number> {
  const body = str(v, "version") ? { mode: "against_version", version: Number(str(v, "version")) } : { mode: "verify" };
  const rows: string[] = [];
  let mismatched = 0;
  let ops = 0;
  let archived = 0;
  for (const [i, id] of runIds.entries()) {
    let r = await call("POST", `${API}/runs/${id}/replay`, body).catch((e: unknown) => {
      // Retention removed the run's ops (410): nothing to verify here; its copy is in S3.
      if (archivedOk && e instanceof ApiFailure && e.code === "workflows.run_archived") return e;
      throw e;
    });
    if (r instanceof ApiFailure) {
      archived++;
      const d = r.details as { object_key?: string; ops?: number } | undefined;
      rows.push([id, "archived".padEnd(8), `ops ${d?.ops ?? "?"} archived to ${d?.object_key ?? "S3"}`].join("  "));
    } else {
      r = await settled(id, r);
      ops += Number(r.ops_total ?? 0);
      if (r.status !== "verified") mismatched++;
      rows.push(
        [
          id,
          String(r.status).padEnd(8),
          `ops ${r.ops_total} verified ${r.ops_verified} failed ${r.ops_failed} skipped ${r.ops_skipped}`,
          r.first_mismatch_op_index === null ? "" : `first mismatch op ${r.first_mismatch_op_index} ${r.severity}`,
        ].join("  "),
      );
    }
    if (process.stderr.isTTY) process.stderr.write(`\r${bar(i + 1, runIds.length)}`);
    else if ((i + 1) % 50 === 0 || i + 1 === runIds.length) process.stderr.write(`${bar(i + 1, runIds.length)}\n`);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  console.log(["run".padEnd(36), "verdict ", "ops"].join("  "));
  for (const r of rows) console.log(r);
  const tail = archived ? `, ${archived} archived (not verified: their ops are in S3)` : "";
  console.log(
    `${runIds.length} runs, ${ops} ops: ${runIds.length - mismatched - archived} verified, ${mismatched} mismatched${tail}`,
  );
  return mismatched === 0 ? 0 : 1;
}

export const commands: CommandSpec[] = [
  {
    name: "workflows register",
    usage: "workflows register <file.json> [--name N]",
    summary: "Register a workflow from a JSON file ({name, steps} or a steps array with --name)",
    options: { name: { type: "string", description: "the workflow's name (default: the file's name field)" } },
    run: async ({ positionals, values }) => {
      if (!positionals[0]) throw new UsageError("a JSON file is required");
      let doc: unknown;
      try {
        doc = JSON.parse(await readFile(positionals[0], "utf8"));
      } catch (e) {
        throw new UsageError(`${positionals[0]}: ${(e as Error).message}`);
      }
      const body = Array.isArray(doc)
        ? { name: str(values, "name"), steps: doc }
        : { ...(doc as object), ...(str(values, "name") ? { name: str(values, "name") } : {}) };
      const w = await call("POST", API, body);
      console.log(`workflow ${w.name} version ${w.version} (versions ${(w.versions as number[]).join(", ")})`);
      return 0;
    },
  },
  {
    name: "workflows run",
    usage: "workflows run <name> [--input JSON] [--version N] [--idempotency-key K]",
    summary: "Start a run of a workflow; prints the run",
    options: {
      input: { type: "string", description: "the run's input (JSON object)" },
      version: { type: "string", description: "the definition version (default: the latest)" },
      "idempotency-key": { type: "string", description: "the same key starts one run" },
    },
    run: async ({ positionals, values }) => {
      if (!positionals[0]) throw new UsageError("a workflow name is required");
      const body = {
        input: json(values, "input") ?? {},
        ...(str(values, "version") ? { version: Number(str(values, "version")) } : {}),
        ...(str(values, "idempotency-key") ? { idempotency_key: str(values, "idempotency-key") } : {}),
      };
      print(await call("POST", `${API}/${encodeURIComponent(positionals[0])}/runs`, body));
      return 0;
    },
  },
  {
    name: "workflows get",
    usage: "workflows get <run id>",
    summary: "A run with its ops (the audit log) and summary",
    run: async ({ positionals }) => {
      if (!positionals[0]) throw new UsageError("a run id is required");
      print(await call("GET", `${API}/runs/${encodeURIComponent(positionals[0])}`));
      return 0;
    },
  },
  {
    name: "workflows list",
    usage: "workflows list [--workflow W] [--status S]",
    summary: "The tenant's runs, newest first (one line each)",
    options: {
      workflow: { type: "string", description: "only this workflow's runs" },
      status: { type: "string", description: "running, completed, failed or cancelled" },
    },
    run: async ({ values }) => {
      const q = new URLSearchParams();
      for (const k of ["workflow", "status"]) if (str(values, k)) q.set(k, str(values, k) as string);
      for (const r of await allRuns(q))
        console.log(
          `${r.id}  ${String(r.workflow).padEnd(24)} v${r.version}  ${String(r.status).padEnd(9)}  ${r.created_at}`,
        );
      return 0;
    },
  },
  {
    name: "workflows cancel",
    usage: "workflows cancel <run id>",
    summary: "Cancel a running run (the rest of its credits released)",
    run: async ({ positionals }) => {
      if (!positionals[0]) throw new UsageError("a run id is required");
      const r = await call("POST", `${API}/runs/${encodeURIComponent(positionals[0])}/cancel`, {});
      console.log(`run ${r.id} ${r.status}`);
      return 0;
    },
  },
  {
    name: "replay verify",
    usage: "replay verify <run id> | --workflow W [--since T] [--status S] [--version N]",
    summary: "Verify one run, or every run of a workflow (per-run table and summary); exit 1 on a mismatch",
    options: {
      workflow: { type: "string", description: "verify every run of this workflow" },
      since: { type: "string", description: "only runs created at or after this ISO time" },
      status: { type: "string", description: "only runs in this status" },
      version: { type: "string", description: "check against this definition version (against_version)" },
    },
    run: async ({ positionals, values }) => {
      const workflow = str(values, "workflow");
      if (!positionals[0] && !workflow) throw new UsageError("a run id or --workflow is required");
      const since = str(values, "since");
      if (since !== undefined && Number.isNaN(Date.parse(since))) throw new UsageError("--since: not a time");
      if (positionals[0]) return verifyMany(values, [positionals[0]], false);
      const q = new URLSearchParams({ workflow: workflow as string });
      if (str(values, "status")) q.set("status", str(values, "status") as string);
      const runs = (await allRuns(q)).filter(
        (r) => since === undefined || Date.parse(String(r.created_at)) >= Date.parse(since),
      );
      return verifyMany(values, runs.map((r) => String(r.id)).reverse(), true);
    },
  },
  {
    name: "replay fork",
    usage: "replay fork <run id> --from N [--input JSON]",
    summary: "Start a new run reusing the recorded results before op N and running from it",
    options: {
      from: { type: "string", description: "the op index to run from" },
      input: { type: "string", description: "the fork's input (default: the original's)" },
    },
    run: async ({ positionals, values }) => {
      if (!positionals[0]) throw new UsageError("a run id is required");
      const from = Number(str(values, "from"));
      if (!Number.isInteger(from)) throw new UsageError("--from: an op index is required");
      const input = json(values, "input");
      print(
        await call("POST", `${API}/runs/${encodeURIComponent(positionals[0])}/fork`, {
          from_op_index: from,
          ...(input === undefined ? {} : { input }),
        }),
      );
      return 0;
    },
  },
];
