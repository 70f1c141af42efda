/**
 * Workflow ops retention (issue 16 §5, seed 000's "audit retention"): the ops of runs finished
 * more than WORKFLOW_OPS_RETENTION_DAYS ago are exported to S3, then deleted, run by run.
 *
 *   1. export: the run's ops, read in one repeatable-read snapshot, written as JSONL (gzip) to
 *      `workflows/ops-archive/tenant=<tenant>/run=<run>.jsonl.gz`, one line per op in op order,
 *      every column of the log (args, result, args_hash, result_hash, prev_hash, hash ...), so
 *      the copy can be checked with the same chain check as the log (`checkChain`);
 *   2. record: the export's key, SHA-256, op count and chain head in workflow_ops_archives;
 *   3. delete: `workflow_archive_ops` (migration 0020), the one path that may delete ops (the
 *      application role has no DELETE on workflow_ops and the trigger refuses everyone else),
 *      which refuses unless the run finished before the cutoff and the recorded export covers
 *      exactly the run's ops; in the same transaction, an `ops_archived` row in status_history.
 *
 * A crash or failure anywhere before 3 commits leaves every op in place; the next run exports
 * again (the same ops give the same bytes, so the object is overwritten with itself) and
 * deletes. Nothing is deleted without a completed export, by construction of the function.
 */
import { config } from "../config.ts";
import { clock } from "../platform/clock.ts";
import { coerceError, query, withTx } from "../platform/db/index.ts";
import { record } from "../platform/history/index.ts";
import { log } from "../platform/logger.ts";
import { writeJsonl } from "../platform/storage.ts";
import { workflowMetrics as m } from "./metrics.ts";
import * as sql from "./retention.sql.ts";

/** Runs asked for at once, and at most per cron invocation (the rest the next day). */
const BATCH = 50;
const MAX_RUNS = 1_000;
/** Ops read per query while exporting. */
const PAGE = 1_000;

export const archiveKeyOf = (tenantId: string, runId: string) =>
  `workflows/ops-archive/tenant=${tenantId}/run=${runId}.jsonl.gz`;

export interface ArchivedRun {
  run_id: string;
  tenant_id: string;
  object_key: string;
  sha256: string;
  ops: number;
}

export interface WorkflowRetentionResult {
  cutoff: string;
  archived: ArchivedRun[];
  failed: { run_id: string; stage: "export" | "delete"; error: string }[];
  /** More runs were due than one invocation takes. */
  more: boolean;
}

interface DueRun {
  id: string;
  tenant_id: string;
  status: string;
  finished_at: string;
}

interface Exported {
  key: string;
  sha256: string;
  ops: number;
  bytes: number;
  headHash: string | null;
}

/** Write the run's ops to S3 from one snapshot; null when they were archived meanwhile. */
async function exportRun(run: DueRun): Promise<Exported | null> {
  return withTx(
    async () => {
      await query("set transaction read only");
      const { rows } = await query<{ head_hash: string | null; archived: boolean }>(sql.runForExport, [
        run.id,
        run.tenant_id,
      ]);
      const head = rows[0];
      if (!head || head.archived) return null;
      async function* pages(): AsyncGenerator<unknown> {
        let after = -1;
        for (;;) {
          const { rows: ops } = await query<{ op_index: number }>(sql.opsPage, [run.id, run.tenant_id, after, PAGE]);
          yield* ops;
          if (ops.length < PAGE) return;
          after = (ops[ops.length - 1] as { op_index: number }).op_index;
        }
      }
      const key = archiveKeyOf(run.tenant_id, run.id);
      const out = await writeJsonl(key, pages(), {
        gzip: true,
        metadata: { "workflow-run-id": run.id, "tenant-id": run.tenant_id },
      });
      return { key, sha256: out.sha256, ops: out.rows, bytes: out.bytes, headHash: head.head_hash };
    },
    { isolation: "repeatable read" },
  );
}

/** Record the export, then delete through workflow_archive_ops with the history row; ops deleted (null: already). */
async function deleteRun(run: DueRun, e: Exported, cutoff: Date): Promise<number | null> {
  await query(sql.recordExport, [run.id, run.tenant_id, e.key, e.sha256, e.ops, e.headHash, e.bytes, clock().now()]);
  return withTx(async () => {
    const { rows } = await query<{ deleted: number | null }>(sql.archiveOps, [run.tenant_id, run.id, cutoff]);
    const deleted = rows[0]?.deleted ?? null;
    if (deleted === null) return null;
    await record({
      tenant_id: run.tenant_id,
      entity_type: "workflow_run",
      entity_id: run.id,
      old_status: run.status,
      new_status: "ops_archived",
      reason: `ops exported to S3 and removed from the log (WORKFLOW_OPS_RETENTION_DAYS=${config().workflows.opsRetentionDays})`,
      metadata: { object_key: e.key, ops: deleted, sha256: e.sha256, bytes: e.bytes, head_hash: e.headHash },
    });
    return deleted;
  });
}

const describe = (e: unknown) => {
  const err = coerceError(e);
  return `${err.code}: ${err.message}`.slice(0, 300);
};

/** One run: export, record, delete. Throws nothing; a failure is returned with its stage. */
async function archiveRun(
  run: DueRun,
  cutoff: Date,
): Promise<ArchivedRun | { stage: "export" | "delete"; error: string } | null> {
  let exported: Exported | null;
  try {
    exported = await exportRun(run);
  } catch (e) {
    log.warn("workflow ops export failed; the ops stay", { runId: run.id, err: e });
    return { stage: "export", error: describe(e) };
  }
  if (!exported) return null;
  m.retentionExports.inc();
  let deleted: number | null;
  try {
    deleted = await deleteRun(run, exported, cutoff);
  } catch (e) {
    log.warn("workflow ops delete failed after their export; the ops stay, the next run exports again", {
      runId: run.id,
      objectKey: exported.key,
      err: e,
    });
    return { stage: "delete", error: describe(e) };
  }
  if (deleted === null) return null;
  m.retentionRuns.inc();
  m.retentionOpsDeleted.inc(deleted);
  return { run_id: run.id, tenant_id: run.tenant_id, object_key: exported.key, sha256: exported.sha256, ops: deleted };
}

/**
 * The daily WorkflowRetention cron: archive the ops of every run finished before now minus
 * WORKFLOW_OPS_RETENTION_DAYS (at most 1,000 runs an invocation). A run that fails is left as
 * it was, reported and counted, and does not stop the others.
 *
 * @example
 *   const r = await Workflows.archiveOldRuns(); // r.archived[0].object_key
 */
export async function archiveOldRuns(): Promise<WorkflowRetentionResult> {
  const cutoff = new Date(clock().nowMs() - config().workflows.opsRetentionDays * 86_400_000);
  const result: WorkflowRetentionResult = { cutoff: cutoff.toISOString(), archived: [], failed: [], more: false };
  const skip: string[] = [];
  let seen = 0;
  for (;;) {
    const { rows } = await query<DueRun>(sql.dueRuns, [cutoff, BATCH, skip]);
    for (const run of rows) {
      const out = await archiveRun(run, cutoff);
      if (out && "stage" in out) {
        m.retentionFailures.inc({ stage: out.stage });
        result.failed.push({ run_id: run.id, ...out });
        skip.push(run.id);
      } else if (out) result.archived.push(out);
    }
    seen += rows.length;
    if (rows.length < BATCH) break;
    if (seen >= MAX_RUNS) {
      result.more = true;
      break;
    }
  }
  if (result.failed.length === 0) m.retentionLastSuccess.set({}, clock().nowMs() / 1000);
  return result;
}
