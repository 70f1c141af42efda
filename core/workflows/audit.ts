/**
 * The operations audit log (the seed's AuditStore over `ops`): one append-only row per op,
 * written in the transaction (recordOp) or the one statement (a step's fold, step.sql.ts) that
 * moves its run on, hash-chained. The table refuses UPDATE,
 * DELETE and TRUNCATE (migration 0016) and the application role may only INSERT and SELECT.
 *
 *   args_hash   = SHA-256(canonical JSON of the args the skill got)
 *   result_hash = SHA-256(canonical JSON of its result), succeeded ops only
 *   hash        = SHA-256(canonical JSON of the op's content and prev_hash)
 *   prev_hash   = the previous op's hash (null for op 0); the run's head_hash is the last op's.
 *
 * So a row edited (its content no longer gives its hash), inserted or removed (the next op's
 * prev_hash, or the head, no longer matches) is found by `checkChain` (chain.ts).
 */
import { hash } from "node:crypto";
import { InternalError } from "../errors.ts";
import { afterCommit, inTransaction, query, queryArrays } from "../platform/db/index.ts";
import { canonicalJson, hashArgs } from "../platform/idempotency/index.ts";
import { RunArchivedError } from "./errors.ts";
import { workflowMetrics as m } from "./metrics.ts";
import * as sql from "./ops.sql.ts";
import * as retentionSql from "./retention.sql.ts";
import type { OpRecord } from "./schema.ts";
import type { OpState } from "./states.ts";

/** SHA-256 of the canonical JSON of `v` (object keys sorted). */
export const hashJson = (v: unknown): string => hashArgs(v === undefined ? null : v);

const sha256 = (text: string): string => hash("sha256", text);

/** What an op records; the hashes and the chain are computed here. */
export interface OpInput {
  runId: string;
  tenantId: string;
  opIndex: number;
  stepId: string;
  skill: string;
  skillVersion: string | null;
  args: unknown;
  status: OpState;
  result?: unknown;
  errorCode?: string | null;
  errorMessage?: string | null;
  durationMs: number | null;
  transient: boolean;
  idempotencyKey: string | null;
  credits: number;
  /** Units the skill's cost model counts for the call (not hashed: derived from the args); null if unknown. */
  units?: number | null;
  startedAt: Date;
  completedAt: Date;
}

/** The fields an op's `hash` covers (what a replay checks), in one place for writer and checker. */
export interface OpHashed {
  run: string;
  op_index: number;
  step_id: string;
  op_type: string;
  skill_version: string | null;
  args_hash: string;
  result_hash: string | null;
  status: string;
  error_code: string | null;
  transient: boolean;
  idempotency_key: string | null;
  credits: number;
  prev_hash: string | null;
}

/** OpHashed's keys in canonical (sorted) order: opHash writes canonicalJson's text without sorting per op. */
const hashedKeys = [
  "args_hash",
  "credits",
  "error_code",
  "idempotency_key",
  "op_index",
  "op_type",
  "prev_hash",
  "result_hash",
  "run",
  "skill_version",
  "status",
  "step_id",
  "transient",
] as const satisfies readonly (keyof OpHashed)[];

/** null, a string, a number or a boolean: canonicalJson writes it as JSON.stringify does. */
const plain = (v: unknown): boolean =>
  v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/**
 * SHA-256 of the canonical JSON of the op's hashed fields: the same text `hashJson(o)` hashes
 * (test/unit/canonical-json.test.ts holds them equal), built without sorting keys, as the
 * verifier computes it once per op. The common case (every field null, a string, a number or a
 * boolean, as read from the log) is one JSON.stringify of an object whose keys are written in
 * canonical order: for such values its text is canonicalJson's byte for byte.
 */
export function opHash(o: OpHashed): string {
  if (hashedKeys.every((k) => plain(o[k])))
    return sha256(
      JSON.stringify({
        args_hash: o.args_hash,
        credits: o.credits,
        error_code: o.error_code,
        idempotency_key: o.idempotency_key,
        op_index: o.op_index,
        op_type: o.op_type,
        prev_hash: o.prev_hash,
        result_hash: o.result_hash,
        run: o.run,
        skill_version: o.skill_version,
        status: o.status,
        step_id: o.step_id,
        transient: o.transient,
      }),
    );
  let text = "";
  for (const k of hashedKeys) {
    const v = o[k];
    if (v === undefined) continue;
    text += `${text === "" ? "{" : ","}"${k}":${canonicalJson(v)}`;
  }
  return sha256(text === "" ? "{}" : `${text}}`);
}

/**
 * Op `opIndex` of a run whose chain head is `prevHash` as insertOp's $1 to $22 (ops.sql.ts
 * opValues), and its hash: what recordOp writes, and what the step's fold (step.sql.ts) writes
 * in the statement that moves its run on.
 */
export function opRow(o: OpInput, prevHash: string | null): { params: unknown[]; hash: string } {
  // Each value's canonical text once: hashed, and written as the jsonb column.
  const [argsText, resultText] = [
    canonicalJson(o.args ?? null),
    o.status === "succeeded" ? canonicalJson(o.result ?? null) : null,
  ];
  const [argsHash, resultHash] = [sha256(argsText), resultText === null ? null : sha256(resultText)];
  const errorCode = o.errorCode ?? null;
  const hash = opHash({
    run: o.runId,
    op_index: o.opIndex,
    step_id: o.stepId,
    op_type: o.skill,
    skill_version: o.skillVersion,
    args_hash: argsHash,
    result_hash: resultHash,
    status: o.status,
    error_code: errorCode,
    transient: o.transient,
    idempotency_key: o.idempotencyKey,
    credits: o.credits,
    prev_hash: prevHash,
  });
  const params = [
    o.tenantId,
    o.runId,
    o.opIndex,
    o.stepId,
    o.skill,
    o.skillVersion,
    argsText,
    argsHash,
    resultText,
    resultHash,
    o.status,
    errorCode,
    o.errorMessage?.slice(0, 2000) ?? null,
    o.durationMs === null ? null : Math.max(0, Math.round(o.durationMs)),
    o.transient,
    o.idempotencyKey,
    o.credits,
    prevHash,
    hash,
    o.startedAt,
    o.completedAt,
    o.units ?? null,
  ];
  return { params, hash };
}

/**
 * Append op `opIndex` of a run whose chain head is `prevHash`, inside the caller's transaction;
 * returns the row. The caller holds the run row lock and checked that `opIndex` is the run's
 * next op; the unique (run, op_index) refuses a second writer all the same.
 */
export async function recordOp(o: OpInput, prevHash: string | null): Promise<OpRecord> {
  if (!inTransaction()) throw new InternalError("recordOp must run inside the transaction that moves the run on");
  const { rows } = await query<OpRecord>(sql.insertOp, opRow(o, prevHash).params);
  afterCommit(() => m.auditOps.inc({ skill: o.skill, status: o.status }));
  return rows[0] as OpRecord;
}

/**
 * A run without ops may have had them removed by retention: RunArchivedError (410, naming the S3
 * object) then, so a replay or fork never reads "no ops" as the truth. One primary-key lookup,
 * made only when a run has no ops.
 */
async function throwIfArchived(runId: string, tenantId: string): Promise<void> {
  const { rows } = await query<ConstructorParameters<typeof RunArchivedError>[0]>(retentionSql.archivedRun, [
    runId,
    tenantId,
  ]);
  if (rows[0]) throw new RunArchivedError(rows[0]);
}

/** A run's ops in order (tenant-scoped); RunArchivedError when retention removed them. */
export async function opsOf(runId: string, tenantId: string): Promise<OpRecord[]> {
  const { rows } = await query<OpRecord>(sql.opsOf, [runId, tenantId]);
  if (rows.length === 0) await throwIfArchived(runId, tenantId);
  return rows;
}

/** A row of ops.sql.ts' verifier columns, in their order. */
type VerifyRow = [number, string, string, string | null, unknown, string, unknown, string | null, boolean];

/** Rows by op_index: read in the heap's order, mostly that one already, which sort passes once. */
const byOpIndex = (a: VerifyRow, b: VerifyRow) => a[0] - b[0];

/**
 * The rows read as arrays (a run's ops are thousands of rows: the driver then builds no object
 * per row, whose keyed stores cost more than this literal), in op_index order.
 */
const opsAsRead = (rows: VerifyRow[]): OpAsRead[] =>
  rows.sort(byOpIndex).map((r) => ({
    op_index: r[0],
    step_id: r[1],
    op_type: r[2],
    skill_version: r[3],
    args: r[4],
    args_hash: r[5],
    result: r[6],
    result_hash: r[7],
    // The table's CHECKs: a succeeded op, and only one, has a result hash (ops.sql.ts verifyColumns).
    status: r[7] === null ? "failed" : "succeeded",
    transient: r[8],
  }));

/**
 * A run's ops in order, only what the replay verifier reads (no chain fields: chain.ts
 * `rowBreaksOf` has the database check those). RunArchivedError when retention removed them.
 */
export async function opsToVerify(runId: string, tenantId: string): Promise<OpAsRead[]> {
  const rows = await queryArrays<VerifyRow>(sql.opsToVerify, [runId, tenantId]);
  if (rows.length === 0) await throwIfArchived(runId, tenantId);
  return opsAsRead(rows);
}

/**
 * A run's ops as opsToVerify reads them, but only when it recorded at most `maxOps` (none else,
 * and none for a run without ops: the caller asks opsToVerify then, which tells an archived run).
 */
export async function opsToVerifyUpTo(runId: string, tenantId: string, maxOps: number): Promise<OpAsRead[]> {
  return opsAsRead(await queryArrays<VerifyRow>(sql.opsToVerifyUpTo, [runId, tenantId, maxOps]));
}

/** What the replay verifier reads of an op: its identity, args, result, their hashes, status. */
export type OpAsRead = Pick<
  OpRecord,
  | "op_index"
  | "step_id"
  | "op_type"
  | "skill_version"
  | "args"
  | "args_hash"
  | "result"
  | "result_hash"
  | "status"
  | "transient"
>;

/** What `checkChain` reads of an op (a test's, an archived run's line): the hashed fields, the args and the result. */
export type ChainOp = OpAsRead & Pick<OpRecord, "error_code" | "idempotency_key" | "credits" | "prev_hash" | "hash">;
