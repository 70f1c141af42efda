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
 * `verifyOps` is the check itself; replay.ts runs it inline or through the WorkflowReplays queue
 * and writes the replay_runs row.
 */
import { AppError } from "../errors.ts";
import * as Skills from "../skills/index.ts";
import { type ChainOp, hashJson, type OpAsRead } from "./audit.ts";
import { type ChainBreak, checkRows, mergeBreaks, resultBreak, valueBreaks } from "./chain.ts";
import { diff, type PatchOp, pointer } from "./json-patch.ts";
import { resolveArgs } from "./refs.ts";
import type { WorkflowStep } from "./schema.ts";
import { RunStates } from "./states.ts";
import { derivedHash, planOf } from "./verify-plan.ts";
import type * as wsql from "./workflows.sql.ts";

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

const view = (o: OpAsRead) => ({
  step_id: o.step_id,
  op_type: o.op_type,
  skill_version: o.skill_version,
  args: o.args,
  status: o.status,
});

/**
 * JSON values equal as canonicalJson sees them (keys in any order, an undefined key absent):
 * what `hashJson(a) === hashJson(b)` says, without building either text.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
    n++;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) n--;
  return n === 0;
}

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

/** The run as the verifier reads it. */
type RunToVerify = Pick<wsql.RunRow, "id" | "status" | "input" | "next_op_index" | "head_hash" | "error">;

/**
 * Check a run's recorded ops against `steps`. Pure but for re-running deterministic skills. The
 * chain's row checks come from the database (`rowChecksOf`, with ops read by `opsToVerify`) or,
 * without `rowBreaks`, are done here over ops that carry the chain fields (`checkRows`); args and
 * results are checked against their hashes here, as each op is compared.
 *
 * @example
 *   const v = await Workflows.verifyOps(run, steps, ops); // v.mismatches[0]?.op_index
 */
export async function verifyOps(
  run: RunToVerify,
  steps: readonly WorkflowStep[],
  ops: readonly ChainOp[],
): Promise<Verdict>;
export async function verifyOps(
  run: RunToVerify,
  steps: readonly WorkflowStep[],
  ops: readonly OpAsRead[],
  rowBreaks: Promise<readonly ChainBreak[]>,
): Promise<Verdict>;
export async function verifyOps(
  run: RunToVerify,
  steps: readonly WorkflowStep[],
  ops: readonly OpAsRead[],
  rowBreaks?: Promise<readonly ChainBreak[]>,
): Promise<Verdict> {
  rowBreaks?.catch(() => undefined); // awaited after the loop; a throw inside it must not leave it unhandled
  const values: ChainBreak[] = [];
  const plan = planOf(steps);
  let lastRecorded = -1;
  let inOrder = true;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i] as OpAsRead;
    if (o.op_index !== i) inOrder = false;
    if (o.op_index > lastRecorded) lastRecorded = o.op_index;
  }
  // Ops read sorted, indexes 0..n-1 (the common case): op i is ops[i]; else looked up.
  const byIndex = inOrder ? undefined : new Map(ops.map((o) => [o.op_index, o]));
  const opAt = byIndex ? (i: number) => byIndex.get(i) : (i: number) => ops[i];
  const expectPresent = (i: number) =>
    i < run.next_op_index || (run.status === RunStates.completed && i < steps.length);
  const results = new Map<string, unknown>();

  const found = new Map<number, Mismatch>();
  let verified = 0;
  let skipped = 0;
  const end = Math.max(steps.length, lastRecorded + 1);
  for (let i = 0; i < end; i++) {
    const step = steps[i];
    const op = opAt(i);
    if (!op) {
      if (step && expectPresent(i))
        found.set(i, { op_index: i, severity: severityOf(step.skill), diff: [{ op: "remove", path: `/ops/${i}` }] });
      continue;
    }
    if (!step) {
      valueBreaks(op, values);
      found.set(i, {
        op_index: i,
        severity: severityOf(op.op_type),
        diff: [{ op: "add", path: `/ops/${i}`, value: view(op) }],
      });
      continue;
    }
    if (op.transient || step.transient) {
      valueBreaks(op, values);
      // Skipped, but only once it is the step's op at all (an op inserted in its place is not).
      if (op.step_id === step.id && op.op_type === step.skill) skipped++;
      else {
        const at = `/ops/${i}`;
        const patch = diff(
          { step_id: step.id, op_type: step.skill, transient: true },
          { ...view(op), transient: true },
          at,
        ).filter((p) => p.path === `${at}/step_id` || p.path === `${at}/op_type`);
        found.set(i, { op_index: i, severity: severityOf(step.skill, op.op_type), diff: patch });
      }
      if (op.status === "succeeded" && plan.referenced.has(op.step_id)) results.set(op.step_id, op.result);
      continue;
    }
    const spec = specOf(step.skill);
    const version = spec?.version ?? null;
    let args: unknown;
    try {
      args = plan.refs[i] ? resolveArgs(step.id, step.args, run.input, results) : step.args;
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      args = { $unresolved: e.message };
    }
    // The stored args against their hash: equal by value to the re-derived args, they hash alike
    // (a step's args without a ref are hashed once per definition).
    const argsEqual = sameJson(args, op.args);
    const storedHash = argsEqual ? derivedHash(plan, i, step, args) : hashJson(op.args);
    const argsEdited = storedHash !== op.args_hash;
    if (argsEdited) values.push({ op_index: i, what: "args_hash", expected: storedHash, actual: op.args_hash });
    resultBreak(op, values);
    // A failed op ends its run: only the last op may have failed, and only in a failed run.
    let status: string;
    if (i < lastRecorded) status = "succeeded";
    else if (run.status === RunStates.completed) status = "succeeded";
    else if (run.status === RunStates.failed && run.error && run.error.op_index === i) status = "failed";
    else status = op.status;
    // Args may resolve to any JSON value (a whole-args `$ref`), not only an object.
    const unresolved = typeof args === "object" && args !== null && "$unresolved" in args;
    const rerunnable = spec?.deterministic && !spec.sideEffects && step.skill === op.op_type && !unresolved;
    // The common case first: everything equal, found without building a view or a patch. Stored
    // args edited past their hash are compared by the hash they were recorded with.
    const same =
      !rerunnable &&
      op.step_id === step.id &&
      op.op_type === step.skill &&
      op.skill_version === version &&
      op.status === status &&
      (argsEdited ? derivedHash(plan, i, step, args) === op.args_hash : argsEqual);
    if (!same) {
      const actual: Record<string, unknown> = view(op);
      const expected: Record<string, unknown> = {
        step_id: step.id,
        op_type: step.skill,
        skill_version: version,
        args,
        status,
      };
      if (rerunnable) {
        const again = await rerun(step, args, run.id, i);
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
      const patch = diff(expected, actual, `/ops/${i}`);
      if (patch.length > 0) found.set(i, { op_index: i, severity: severityOf(step.skill, op.op_type), diff: patch });
      else verified++;
    } else verified++;
    // Only the results a later step's `$ref` names are kept.
    if (op.status === "succeeded" && plan.referenced.has(op.step_id)) results.set(op.step_id, op.result);
  }
  // The row checks, awaited only now: the database's go on while the ops above are compared.
  const rows = rowBreaks ? await rowBreaks : checkRows(run.id, ops as readonly ChainOp[], run.head_hash);
  for (const b of mergeBreaks(rows, values)) {
    const prior = found.get(b.op_index);
    const op = opAt(b.op_index);
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
