/**
 * The hash chain's check (the audit log's, audit.ts). Two halves:
 *   - per row: each op's content gives its hash, links to the op before, indexes run 0, 1, 2 ...,
 *     and the last hash is the run's head. Done in JS over ops as read (`checkRows`), or by the
 *     database where the rows are (`rowChecksOf`, ops.sql.ts), which the replay verifier uses;
 *   - per value: stored args and results give their hashes (canonical JSON, only JS writes it):
 *     `valueBreaks`, which the verifier does inline as it compares each op.
 * `checkChain` is both in JS, used on an archived run's exported lines and by tests.
 */
import { query } from "../platform/db/index.ts";
import { type ChainOp, hashJson, opHash } from "./audit.ts";
import * as sql from "./ops.sql.ts";

export interface ChainBreak {
  op_index: number;
  /** What does not hold: the row's own hash, its link to the previous op, or the run's head. */
  what: "hash" | "prev_hash" | "head_hash" | "op_index" | "args_hash" | "result_hash";
  expected: string | number | null;
  actual: string | number | null;
}

/** An op's hashed fields (without args and result): what its own hash covers. */
type RowFields = Omit<ChainOp, "args" | "result">;

/** The op's own hash as opHash computes it from the row. */
const ownHash = (runId: string, o: RowFields) =>
  opHash({
    run: runId,
    op_index: o.op_index,
    step_id: o.step_id,
    op_type: o.op_type,
    skill_version: o.skill_version,
    args_hash: o.args_hash,
    result_hash: o.result_hash,
    status: o.status,
    error_code: o.error_code,
    transient: o.transient,
    idempotency_key: o.idempotency_key,
    credits: o.credits,
    prev_hash: o.prev_hash,
  });

/** A succeeded op's stored result against its hash (one SHA-256), a break appended to `out`. */
export function resultBreak(
  o: Pick<ChainOp, "op_index" | "result" | "result_hash" | "status">,
  out: ChainBreak[],
): void {
  if (o.status !== "succeeded") return;
  const resultHash = hashJson(o.result);
  if (resultHash !== o.result_hash)
    out.push({ op_index: o.op_index, what: "result_hash", expected: resultHash, actual: o.result_hash });
}

/** The args and result of one op against their stored hashes (one SHA-256 each), appended to `out`. */
export function valueBreaks(
  o: Pick<ChainOp, "op_index" | "args" | "args_hash" | "result" | "result_hash" | "status">,
  out: ChainBreak[],
): void {
  const argsHash = hashJson(o.args);
  if (argsHash !== o.args_hash)
    out.push({ op_index: o.op_index, what: "args_hash", expected: argsHash, actual: o.args_hash });
  resultBreak(o, out);
}

/** The per-row breaks of ops as read (ordered by op_index), in JS: one SHA-256 per op. */
export function checkRows(runId: string, ops: readonly RowFields[], headHash: string | null): ChainBreak[] {
  const breaks: ChainBreak[] = [];
  let prev: string | null = null;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i] as RowFields;
    if (o.op_index !== i) breaks.push({ op_index: o.op_index, what: "op_index", expected: i, actual: o.op_index });
    if (o.prev_hash !== prev)
      breaks.push({ op_index: o.op_index, what: "prev_hash", expected: prev, actual: o.prev_hash });
    const own = ownHash(runId, o);
    if (own !== o.hash) breaks.push({ op_index: o.op_index, what: "hash", expected: own, actual: o.hash });
    prev = o.hash;
  }
  if (prev !== headHash)
    breaks.push({ op_index: Math.max(ops.length - 1, 0), what: "head_hash", expected: headHash, actual: prev });
  return breaks;
}

/** A row chainRowsToCheck returns. */
type RowToCheck = RowFields & { position: number; lag_hash: string | null; own_ok: boolean | null; last: boolean };

/** The database's row checks of a run's log: the breaks but the head's, and the last op's hash and position. */
export interface RowChecks {
  breaks: ChainBreak[];
  last: { hash: string; position: number } | null;
}

/**
 * The per-row checks of run `runId`'s log, done by the database (ops.sql.ts chainRowsToCheck), for
 * a run that recorded at most `maxOps` ops (none checked else, as opsToVerifyUpTo reads none):
 * `withHead` of them is what `checkRows` finds over the same rows. A row whose hash the database
 * did not confirm is hashed here; the database returns only those, broken links and the last row.
 */
export async function rowChecksOf(runId: string, tenantId: string, maxOps: number): Promise<RowChecks> {
  const { rows } = await query<RowToCheck>(sql.chainRowsToCheck, [runId, tenantId, maxOps]);
  const breaks: ChainBreak[] = [];
  let last: RowChecks["last"] = null;
  for (const o of rows) {
    if (o.op_index !== o.position)
      breaks.push({ op_index: o.op_index, what: "op_index", expected: o.position, actual: o.op_index });
    if (o.prev_hash !== o.lag_hash)
      breaks.push({ op_index: o.op_index, what: "prev_hash", expected: o.lag_hash, actual: o.prev_hash });
    if (o.own_ok !== true) {
      const own = ownHash(runId, o);
      if (own !== o.hash) breaks.push({ op_index: o.op_index, what: "hash", expected: own, actual: o.hash });
    }
    if (o.last) last = { hash: o.hash, position: o.position };
  }
  return { breaks, last };
}

/** The row checks' breaks with the head's: the last op's hash must be the run's `headHash`. */
export function withHead(checks: RowChecks, headHash: string | null): ChainBreak[] {
  const head = checks.last?.hash ?? null;
  if (head === headHash) return checks.breaks;
  return [
    ...checks.breaks,
    { op_index: checks.last?.position ?? 0, what: "head_hash", expected: headHash, actual: head },
  ];
}

const order: Record<ChainBreak["what"], number> = {
  op_index: 0,
  args_hash: 1,
  result_hash: 2,
  prev_hash: 3,
  hash: 4,
  head_hash: 5,
};

/** Row and value breaks as one list in checkChain's order: by op, then by kind; the head last. */
export function mergeBreaks(rows: readonly ChainBreak[], values: readonly ChainBreak[]): ChainBreak[] {
  if (values.length === 0) return [...rows];
  const rank = (b: ChainBreak) => (b.what === "head_hash" ? Number.POSITIVE_INFINITY : b.op_index);
  return [...rows, ...values].sort((a, b) => rank(a) - rank(b) || order[a.what] - order[b.what]);
}

/**
 * The whole chain of a run's ops as read (ordered by op_index), in JS: every break, in op order
 * (none: the log is as written). Three SHA-256 per op: its args, its result, its row.
 */
export function checkChain(runId: string, ops: readonly ChainOp[], headHash: string | null): ChainBreak[] {
  const values: ChainBreak[] = [];
  for (const o of ops) valueBreaks(o, values);
  return mergeBreaks(checkRows(runId, ops, headHash), values);
}
