/**
 * The replay verifier. Temporal and DBOS check only the names of steps on replay; this checks,
 * per op, the step, skill, skill version, args (re-derived from the definition, the run's input
 * and the RECORDED results of earlier ops), status and, for deterministic side-effect-free
 * skills, the result (the op is run again and its result hash compared). A side-effecting op is
 * never run again: its recorded result is checked against its hash. Transient ops are skipped.
 * The hash chain is checked over the whole log. The first mismatch is reported with an RFC 6902
 * patch (expected -> actual) over the list of op views (`/ops/<i>/args/value`), and a severity:
 * CRITICAL when a side-effecting op does not match, else WARNING.
 *
 * Runs inline (bounded by WORKFLOW_REPLAY_MAX_OPS and the skills' timeouts); the replay_runs row
 * is written once, with its verdict.
 */
import { config } from "../config.ts";
import { actorName, useActor, useTenant } from "../context.ts";
import { AppError, ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as Skills from "../skills/index.ts";
import { checkChain, hashJson, opsOf } from "./audit.ts";
import { definition } from "./definitions.ts";
import { ReplayNotFoundError, RunNotFoundError } from "./errors.ts";
import { diff, type PatchOp, pointer } from "./json-patch.ts";
import { workflowMetrics as m } from "./metrics.ts";
import * as sql from "./ops.sql.ts";
import { resolveArgs } from "./refs.ts";
import type { OpRecord, ReplayRecord, ReplayStart, WorkflowStep } from "./schema.ts";
import { RunStates } from "./states.ts";
import * as wsql from "./workflows.sql.ts";

export interface Mismatch {
  op_index: number;
  severity: "CRITICAL" | "WARNING";
  diff: PatchOp[];
}

export interface Verdict {
  ops_total: number;
  ops_verified: number;
  ops_failed: number;
  ops_skipped: number;
  mismatches: Mismatch[];
}

const specs = new Map<string, ReturnType<typeof Skills.spec> | null>();
/** A skill's spec (null for a name no skill has), looked up once per name. */
function specOf(name: string) {
  let s = specs.get(name);
  if (s === undefined) {
    try {
      s = Skills.spec(name);
    } catch {
      s = null;
    }
    specs.set(name, s);
  }
  return s;
}

/** Side-effecting (or unknown) skills are CRITICAL when their op does not match. */
const severityOf = (...skills: (string | undefined)[]): Mismatch["severity"] =>
  skills.some((s) => s !== undefined && (specOf(s)?.sideEffects ?? true)) ? "CRITICAL" : "WARNING";

const view = (o: OpRecord) => ({
  step_id: o.step_id,
  op_type: o.op_type,
  skill_version: o.skill_version,
  args: o.args,
  status: o.status,
});

/** Run a deterministic, side-effect-free skill again (no key, not charged): its result or error code. */
async function rerun(step: WorkflowStep, args: unknown, runId: string, opIndex: number) {
  try {
    const r = await Skills.execute(step.skill, args, { runId, opIndex, charge: false });
    return { status: "succeeded" as const, result: r.result };
  } catch (e) {
    // A retryable failure (the service is down) says nothing about the op: its result goes unchecked.
    if (e instanceof AppError) return e.retryable ? null : { status: "failed" as const, error_code: e.code };
    throw e;
  }
}

/**
 * Check a run's recorded ops against `steps`. Pure but for re-running deterministic skills.
 *
 * @example
 *   const v = await Workflows.verifyOps(run, steps, ops); // v.mismatches[0]?.op_index
 */
export async function verifyOps(
  run: Pick<wsql.RunRow, "id" | "status" | "input" | "next_op_index" | "head_hash" | "error">,
  steps: readonly WorkflowStep[],
  ops: readonly OpRecord[],
): Promise<Verdict> {
  const byIndex = new Map(ops.map((o) => [o.op_index, o]));
  const lastRecorded = ops.reduce((mx, o) => Math.max(mx, o.op_index), -1);
  const expectPresent = (i: number) =>
    i < run.next_op_index || (run.status === RunStates.completed && i < steps.length);
  const results = new Map<string, unknown>();
  const found = new Map<number, Mismatch>();
  let verified = 0;
  let skipped = 0;
  const end = Math.max(steps.length, lastRecorded + 1);
  for (let i = 0; i < end; i++) {
    const step = steps[i];
    const op = byIndex.get(i);
    const at = `/ops/${i}`;
    if (!op) {
      if (step && expectPresent(i))
        found.set(i, { op_index: i, severity: severityOf(step.skill), diff: [{ op: "remove", path: at }] });
      continue;
    }
    if (!step) {
      found.set(i, { op_index: i, severity: severityOf(op.op_type), diff: [{ op: "add", path: at, value: view(op) }] });
      continue;
    }
    if (op.transient || step.transient) {
      // Skipped, but only once it is the step's op at all (an op inserted in its place is not).
      const patch = diff(
        { step_id: step.id, op_type: step.skill, transient: true },
        { ...view(op), transient: true },
        at,
      ).filter((p) => p.path === `${at}/step_id` || p.path === `${at}/op_type`);
      if (patch.length > 0) found.set(i, { op_index: i, severity: severityOf(step.skill, op.op_type), diff: patch });
      else skipped++;
      if (op.status === "succeeded") results.set(op.step_id, op.result);
      continue;
    }
    const spec = specOf(step.skill);
    const actual: Record<string, unknown> = view(op);
    const expected: Record<string, unknown> = {
      step_id: step.id,
      op_type: step.skill,
      skill_version: spec?.version ?? null,
    };
    try {
      expected.args = resolveArgs(step.id, step.args, run.input, results);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      expected.args = { $unresolved: e.message };
    }
    // A failed op ends its run: only the last op may have failed, and only in a failed run.
    if (i < lastRecorded) expected.status = "succeeded";
    else if (run.status === RunStates.completed) expected.status = "succeeded";
    else if (run.status === RunStates.failed && run.error && run.error.op_index === i) expected.status = "failed";
    else expected.status = op.status;
    if (
      spec?.deterministic &&
      !spec.sideEffects &&
      expected.op_type === op.op_type &&
      !("$unresolved" in (expected.args as object))
    ) {
      const again = await rerun(step, expected.args, run.id, i);
      if (again) expected.status = again.status;
      if (again?.status === "succeeded") {
        expected.result_hash = hashJson(again.result);
        expected.result = again.result;
      }
      if (again && op.status === "succeeded") {
        actual.result_hash = op.result_hash;
        actual.result = op.result;
      }
    }
    // The common case first: everything equal, found without building a patch.
    const same =
      expected.step_id === actual.step_id &&
      expected.op_type === actual.op_type &&
      expected.skill_version === actual.skill_version &&
      expected.status === actual.status &&
      !("result_hash" in expected) &&
      !("result_hash" in actual) &&
      hashJson(expected.args) === op.args_hash;
    const patch = same ? [] : diff(expected, actual, at);
    if (patch.length > 0) found.set(i, { op_index: i, severity: severityOf(step.skill, op.op_type), diff: patch });
    else verified++;
    if (op.status === "succeeded") results.set(op.step_id, op.result);
  }
  for (const b of checkChain(run.id, ops, run.head_hash)) {
    const prior = found.get(b.op_index);
    const op = byIndex.get(b.op_index);
    const patch: PatchOp = { op: "replace", path: `/ops/${b.op_index}${pointer(b.what)}`, value: b.actual };
    if (prior) prior.diff.push(patch);
    else {
      if (op && !op.transient) verified--;
      found.set(b.op_index, { op_index: b.op_index, severity: severityOf(op?.op_type), diff: [patch] });
    }
  }
  const mismatches = [...found.values()].sort((a, b) => a.op_index - b.op_index);
  return {
    ops_total: ops.length,
    ops_verified: Math.max(verified, 0),
    ops_failed: mismatches.length,
    ops_skipped: skipped,
    mismatches,
  };
}

/**
 * Verify run `runId` of the context's tenant (`verify`: against its own definition version;
 * `against_version`: against `version`, before deploying it); the replay_runs row written.
 *
 * @example
 *   const replay = await Workflows.replay(runId, { mode: "verify" }); // replay.status === "verified"
 */
export async function replay(runId: string, body: ReplayStart): Promise<ReplayRecord> {
  const tenantId = useTenant();
  const startedAt = clock().now();
  const stop = m.replaySeconds.startTimer();
  const { rows } = await query<wsql.RunRow & { steps: WorkflowStep[] }>(wsql.runWithSteps, [runId, tenantId]);
  const run = rows[0];
  if (!run) throw new RunNotFoundError(runId);
  if (body.mode === "against_version" && body.version === undefined)
    throw new ValidationError("against_version needs a version", [
      { field: "body.version", message: "required for against_version" },
    ]);
  const version = body.mode === "against_version" ? (body.version as number) : run.version;
  const steps = version === run.version ? run.steps : (await definition(tenantId, run.workflow, version)).steps;
  const ops = await opsOf(runId, tenantId);
  if (ops.length > config().workflows.replayMaxOps)
    throw new ValidationError(
      `Run ${runId} has ${ops.length} ops; one replay verifies at most ${config().workflows.replayMaxOps}`,
    );
  const v = await verifyOps(run, steps, ops);
  const first = v.mismatches[0];
  const status = first ? "mismatch" : "verified";
  const severity = v.mismatches.some((x) => x.severity === "CRITICAL") ? "CRITICAL" : first ? "WARNING" : null;
  return withTx(async () => {
    const { rows: out } = await query<ReplayRecord>(sql.insertReplay, [
      tenantId,
      runId,
      body.mode,
      version,
      status,
      v.ops_total,
      v.ops_verified,
      v.ops_failed,
      v.ops_skipped,
      first?.op_index ?? null,
      first ? JSON.stringify(first.diff) : null,
      severity,
      JSON.stringify(v.mismatches.slice(0, 100)),
      null,
      actorName(useActor()),
      startedAt,
      clock().now(),
    ]);
    afterCommit(() => {
      stop();
      m.replayRuns.inc({ mode: body.mode, status });
      m.replayOpsVerified.inc(v.ops_verified);
      m.replayOpsMismatched.inc(v.ops_failed);
    });
    return out[0] as ReplayRecord;
  });
}

/** A replay of run `runId` of the caller's tenant. */
export async function getReplay(runId: string, replayId: string): Promise<ReplayRecord> {
  const { rows } = await query<ReplayRecord>(sql.getReplay, [replayId, runId, useTenant()]);
  if (!rows[0]) throw new ReplayNotFoundError(replayId);
  return rows[0];
}
