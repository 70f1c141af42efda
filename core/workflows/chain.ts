/**
 * The hash chain's check (the audit log's, audit.ts): a pure function over ops as read, used by
 * the replay verifier and on an archived run's exported lines.
 */
import { type ChainOp, hashJson, opHash } from "./audit.ts";

export interface ChainBreak {
  op_index: number;
  /** What does not hold: the row's own hash, its link to the previous op, or the run's head. */
  what: "hash" | "prev_hash" | "head_hash" | "op_index" | "args_hash" | "result_hash";
  expected: string | number | null;
  actual: string | number | null;
}

/**
 * The chain of a run's ops as read (ordered by op_index): each op's content gives its hash, links
 * to the op before, indexes run 0, 1, 2 ..., stored args and results give their hashes, and the
 * last hash is the run's head. Every break, in op order (none: the log is as written). Three
 * SHA-256 per op: its args, its result, its row.
 */
export function checkChain(runId: string, ops: readonly ChainOp[], headHash: string | null): ChainBreak[] {
  const breaks: ChainBreak[] = [];
  let prev: string | null = null;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i] as ChainOp;
    if (o.op_index !== i) breaks.push({ op_index: o.op_index, what: "op_index", expected: i, actual: o.op_index });
    const argsHash = hashJson(o.args);
    if (argsHash !== o.args_hash)
      breaks.push({ op_index: o.op_index, what: "args_hash", expected: argsHash, actual: o.args_hash });
    if (o.status === "succeeded") {
      const resultHash = hashJson(o.result);
      if (resultHash !== o.result_hash)
        breaks.push({ op_index: o.op_index, what: "result_hash", expected: resultHash, actual: o.result_hash });
    }
    if (o.prev_hash !== prev)
      breaks.push({ op_index: o.op_index, what: "prev_hash", expected: prev, actual: o.prev_hash });
    const own = opHash({
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
    if (own !== o.hash) breaks.push({ op_index: o.op_index, what: "hash", expected: own, actual: o.hash });
    prev = o.hash;
  }
  if (prev !== headHash)
    breaks.push({ op_index: Math.max(ops.length - 1, 0), what: "head_hash", expected: headHash, actual: prev });
  return breaks;
}
