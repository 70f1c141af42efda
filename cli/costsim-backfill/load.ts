/**
 * `aos costsim backfill`'s work: records read from files (read.ts), mapped to rows (record.ts),
 * de-duplicated by input hash within the input (the first wins) and against what the tenant has
 * stored (`on conflict (tenant_id, input_hash) do nothing`), and written `batch` at a time in one
 * statement each (core/costsim/backfill.sql.ts). A duplicate is counted, not an error; a bad
 * record is reported with its file:line and the rest still load. A batch the database refuses
 * (a value jsonb cannot hold, say) is written again row by row so that only the refused rows
 * are reported bad. A record created longer ago than COSTSIM_PROVENANCE_RETENTION_DAYS is counted
 * and skipped (retention would delete it). `verify` re-reads stored rows and recomputes their hashes.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { config } from "../../core/config.ts";
import * as sql from "../../core/costsim/backfill.sql.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { query } from "../../core/platform/db/index.ts";
import { inputFiles, readEntries } from "./read.ts";
import { type ProvenanceRow, toRow } from "./record.ts";

export interface BackfillOptions {
  tenantId: string;
  dir?: string | undefined;
  file?: string | undefined;
  dryRun: boolean;
  batch: number;
  /** Progress: bytes read so far of `total`, records read so far. */
  onProgress?: (p: { bytes: number; total: number; records: number }) => void;
}

export interface BadRecord {
  where: string;
  issue: string;
}

export interface BackfillSummary {
  files: number;
  /** Records read (valid or not). */
  read: number;
  /** Written (with dryRun: would be). */
  loaded: number;
  /** Repeated within the input. */
  duplicatesInInput: number;
  /** The tenant had their input hash already. */
  duplicatesStored: number;
  /**
   * Created before `retentionCutoff` (COSTSIM_PROVENANCE_RETENTION_DAYS ago): not loaded, as the
   * CostsimSafety cron would delete them within a minute.
   */
  tooOld: number;
  retentionCutoff: string;
  bad: BadRecord[];
  /** Input hashes of every valid record (for verify). */
  hashes: string[];
}

type Pending = { where: string; row: ProvenanceRow };

/**
 * The statement's parameters, one array per column. With COSTSIM_PROVENANCE_COMPRESS the outputs
 * go gzipped into outputs_gz (as the shadow path writes them: gzip of the same JSON), else as jsonb.
 */
const params = (tenantId: string, rows: readonly ProvenanceRow[]) => {
  const col = <T>(f: (r: ProvenanceRow) => T) => rows.map(f);
  const gz = config().costsim.provenanceCompress;
  return [
    tenantId,
    col((r) => r.input_hash),
    col((r) => r.plan_ref),
    col((r) => JSON.stringify(r.skills)),
    col((r) => r.v1_version),
    col((r) => r.v2_version),
    col((r) => r.v1_hash),
    col((r) => r.v2_hash),
    col((r) => r.v1_credits),
    col((r) => r.v2_credits),
    col((r) => r.v1_duration_ms),
    col((r) => r.v2_duration_ms),
    col((r) => r.v1_p_failure),
    col((r) => r.v2_p_failure),
    col((r) => r.cost_delta),
    col((r) => r.drift_score),
    col((r) => r.verdict),
    col((r) => (gz ? null : JSON.stringify(r.outputs))),
    col((r) => (gz ? gzipSync(JSON.stringify(r.outputs)) : null)),
    col((r) => r.actual_credits),
    col((r) => r.actual_duration_ms),
    col((r) => r.actual_run_id),
    col((r) => r.actual_at),
    col((r) => r.created_at),
  ];
};

/** Write `batch`; how many went in, and the rows the database refused (each tried alone). */
async function write(
  tenantId: string,
  batch: readonly Pending[],
  dryRun: boolean,
): Promise<{ loaded: number; stored: number; refused: BadRecord[] }> {
  if (dryRun) {
    const r = await query<{ inputHash: string }>(sql.storedHashes, [tenantId, batch.map((p) => p.row.input_hash)]);
    return { loaded: batch.length - r.rows.length, stored: r.rows.length, refused: [] };
  }
  try {
    const r = await query<{ inputHash: string }>(
      sql.insertBatch,
      params(
        tenantId,
        batch.map((p) => p.row),
      ),
    );
    return { loaded: r.rows.length, stored: batch.length - r.rows.length, refused: [] };
  } catch (e) {
    // Only a value the database refuses (SQLSTATE class 22, data; 23, integrity) is a bad record;
    // anything else (Postgres gone, a timeout) fails the command.
    const cause = (e as { cause?: { code?: unknown; message?: string } }).cause;
    if (typeof cause?.code !== "string" || !/^2[23]/.test(cause.code)) throw e;
    if (batch.length === 1) {
      const p = batch[0] as Pending;
      return {
        loaded: 0,
        stored: 0,
        refused: [{ where: p.where, issue: `refused by the database: ${cause.message}` }],
      };
    }
    const sum = { loaded: 0, stored: 0, refused: [] as BadRecord[] };
    for (const p of batch) {
      const one = await write(tenantId, [p], false);
      sum.loaded += one.loaded;
      sum.stored += one.stored;
      sum.refused.push(...one.refused);
    }
    return sum;
  }
}

/**
 * Load the records of `--dir` or `--file` into the tenant's costsim_provenance.
 *
 * @example
 *   const s = await backfill({ tenantId, file: "old.jsonl", dryRun: false, batch: 500 });
 *   // { read: 1200, loaded: 1150, duplicatesInInput: 20, duplicatesStored: 27, tooOld: 0, bad: [{ where: "old.jsonl:88", issue: "..." }, ...] }
 */
export async function backfill(o: BackfillOptions): Promise<BackfillSummary> {
  const files = inputFiles(o);
  const total = files.reduce((s, f) => s + f.bytes, 0);
  const nowMs = Date.now();
  const now = new Date(nowMs).toISOString();
  const c = config().costsim;
  const cutoff = new Date(nowMs - c.provenanceRetentionDays * 86_400_000);
  const thresholds = { drift: c.driftThreshold, warning: c.driftWarningThreshold };
  const seen = new Set<string>();
  const s: BackfillSummary = {
    files: files.length,
    read: 0,
    loaded: 0,
    duplicatesInInput: 0,
    duplicatesStored: 0,
    tooOld: 0,
    retentionCutoff: cutoff.toISOString(),
    bad: [],
    hashes: [],
  };
  let bytes = 0;
  let pending: Pending[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const w = await write(o.tenantId, pending, o.dryRun);
    s.loaded += w.loaded;
    s.duplicatesStored += w.stored;
    s.bad.push(...w.refused);
    pending = [];
  };
  for (const f of files) {
    for await (const e of readEntries(f.path, (n) => {
      bytes += n;
    })) {
      s.read++;
      if ("error" in e) s.bad.push({ where: e.where, issue: e.error });
      else {
        const r = toRow(e.value, now, thresholds);
        if (!r.ok) s.bad.push({ where: e.where, issue: r.issue });
        else if (Date.parse(r.row.created_at) < cutoff.getTime()) s.tooOld++;
        else if (seen.has(r.row.input_hash)) s.duplicatesInInput++;
        else {
          seen.add(r.row.input_hash);
          s.hashes.push(r.row.input_hash);
          pending.push({ where: e.where, row: r.row });
          if (pending.length >= o.batch) await flush();
        }
      }
      if (s.read % 256 === 0) o.onProgress?.({ bytes, total, records: s.read });
    }
  }
  await flush();
  o.onProgress?.({ bytes: total, total, records: s.read });
  return s;
}

interface StoredRow {
  id: string;
  inputHash: string;
  source: string;
  v1Hash: string;
  v2Hash: string | null;
  v1Credits: number;
  v2Credits: number | null;
  outputs: { v1?: { credits?: unknown }; v2?: { credits?: unknown } | null } | null;
  outputsGz: Buffer | null;
}

export interface VerifyResult {
  checked: number;
  mismatches: { inputHash: string; source: string; issue: string }[];
}

/** What is wrong with a stored row: its hashes and credits against the outputs it keeps. */
function problemsOf(r: StoredRow): string[] {
  let outputs = r.outputs;
  if (!outputs && r.outputsGz) outputs = JSON.parse(gunzipSync(r.outputsGz).toString("utf8"));
  if (!outputs) return ["no outputs stored (neither outputs nor outputs_gz)"];
  const out: string[] = [];
  const v1 = Costsim.hashOf(outputs.v1);
  if (v1 !== r.v1Hash) out.push(`v1_hash ${r.v1Hash} but outputs.v1 hashes to ${v1}`);
  const v2 = outputs.v2 == null ? null : Costsim.hashOf(outputs.v2);
  if (v2 !== r.v2Hash) out.push(`v2_hash ${r.v2Hash} but outputs.v2 hashes to ${v2}`);
  if (Number(outputs.v1?.credits) !== r.v1Credits)
    out.push(`v1_credits ${r.v1Credits} but outputs.v1.credits is ${String(outputs.v1?.credits)}`);
  if (outputs.v2 != null && Number(outputs.v2.credits) !== r.v2Credits)
    out.push(`v2_credits ${r.v2Credits} but outputs.v2.credits is ${String(outputs.v2.credits)}`);
  return out;
}

/**
 * Re-read the tenant's stored rows (those of `hashes`, or all of them) and recompute each
 * hash from the outputs it keeps (Costsim.hashOf), and its credits.
 */
export async function verify(tenantId: string, hashes?: readonly string[], page = 1000): Promise<VerifyResult> {
  const result: VerifyResult = { checked: 0, mismatches: [] };
  const check = (rows: StoredRow[]) => {
    for (const r of rows) {
      result.checked++;
      for (const issue of problemsOf(r)) result.mismatches.push({ inputHash: r.inputHash, source: r.source, issue });
    }
  };
  if (hashes) {
    for (let i = 0; i < hashes.length; i += page)
      check((await query<StoredRow>(sql.rowsByHash, [tenantId, hashes.slice(i, i + page)])).rows);
    return result;
  }
  let after = "00000000-0000-0000-0000-000000000000";
  for (;;) {
    const rows = (await query<StoredRow>(sql.rowsAfter, [tenantId, after, page])).rows;
    check(rows);
    if (rows.length < page) return result;
    after = (rows[rows.length - 1] as StoredRow).id;
  }
}
