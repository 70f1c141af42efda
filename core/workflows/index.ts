/**
 * Workflows: named, versioned definitions of steps (each a skill call whose args may `$ref` the
 * run's input and earlier steps' results); runs of them, one step after another through the
 * WorkflowSteps queue (the platform outbox and batch consumer), credits reserved at start,
 * charged per op and the rest released at the end; the append-only, hash-chained operations
 * audit log (`workflow_ops`, the seed's `ops`); and the replay verifier, which checks args,
 * results and the chain, not only step names.
 *
 * Definitions: definitions.ts. Runs: start.ts (start, fork), step.ts (the worker), cancel.ts,
 * query.ts, sweep.ts. The log: audit.ts, its check chain.ts; its retention (export to S3, then delete): retention.ts. Replay: replay.ts (inline, or queued through the
 * WorkflowReplays queue and replay-outbox.ts), verify.ts, json-patch.ts. SQL in workflows.sql.ts,
 * ops.sql.ts and replays.sql.ts. Operations: docs/runbooks/workflows.md.
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Workflows from ".../core/workflows/index.ts"`, then `Workflows.start(...)`).
 */
import { hashJson, opHash, opsOf, recordOp } from "./audit.ts";
import { cancel } from "./cancel.ts";
import { checkChain, checkRows, rowChecksOf, withHead } from "./chain.ts";
import { getWorkflow, listWorkflows, register } from "./definitions.ts";
import { diff } from "./json-patch.ts";
import { getRun, getRunWithOps, listRuns } from "./query.ts";
import { getReplay, REPLAY_LEASE_S, replay, runReplay } from "./replay.ts";
import { archiveKeyOf, archiveOldRuns } from "./retention.ts";
import { simulateRequest, simulateRun } from "./simulate.ts";
import { skillMetrics } from "./skill-history.ts";
import { estimateRun, fork, start } from "./start.ts";
import { opKey, runStep } from "./step.ts";
import { redrive, sweep } from "./sweep.ts";
import { verifyOps } from "./verify.ts";

export type { OpInput } from "./audit.ts";
export type { ChainBreak, RowChecks } from "./chain.ts";
export * from "./errors.ts";
export type { PatchOp } from "./json-patch.ts";
export type { ArchivedRun, WorkflowRetentionResult } from "./retention.ts";
export * from "./schema.ts";
export type { SkillMetricsRow } from "./skill-history.ts";
export { OpStates, ReplayStates, RunStates } from "./states.ts";
export type { WorkflowRedriveResult, WorkflowSweepResult } from "./sweep.ts";
export type { Mismatch, Verdict } from "./verify.ts";
export {
  /** The S3 key of a run's archived ops. */
  archiveKeyOf,
  /**
   * Retention (the daily cron): the ops of runs finished more than WORKFLOW_OPS_RETENTION_DAYS ago
   * exported to S3, then deleted through workflow_archive_ops, recorded in status_history.
   */
  archiveOldRuns,
  /** Cancel a running run: no further step starts, the rest of its reserve released at once. */
  cancel,
  /** Every break of a run's hash chain (edited, inserted or removed ops). */
  checkChain,
  /** The chain's per-row breaks (hash, link, index, head) of ops as read, in JS. */
  checkRows,
  /** RFC 6902 JSON Patch from `expected` to `actual`. */
  diff,
  /** CostSim V1's estimate of a run at its start: what it reserves (the skills' cost models, as far as the input tells). */
  estimateRun,
  /** A new run reusing the recorded results before `from_op_index` and running from it. */
  fork,
  /** A replay verification of a run. */
  getReplay,
  /** A run without its ops. */
  getRun,
  /** A run with its ops and workflow_summary. */
  getRunWithOps,
  /** A workflow definition (latest or a version) with its versions. */
  getWorkflow,
  /** SHA-256 of canonical JSON: the log's args_hash and result_hash. */
  hashJson,
  /** The tenant's runs, newest first. */
  listRuns,
  /** The tenant's workflows, each at its latest version. */
  listWorkflows,
  /** The hash an op's content and prev_hash give. */
  opHash,
  /** The idempotency key of a run's op, `wf:<run>:<op>`. */
  opKey,
  /** A run's ops in order. */
  opsOf,
  /** How long the WorkflowReplays worker holds a queued replay (seconds). */
  REPLAY_LEASE_S,
  /** Append one op to the audit log inside the transaction that moves its run on. */
  recordOp,
  /** For a queue that lost every message (local restart): every running run's and queued replay's message sent again. */
  redrive,
  /** Register a workflow: a new version when its steps change. */
  register,
  /** Verify a run's ops (verify or against_version): inline, or queued for a big run; the replay_runs row. */
  replay,
  /** The chain's per-row checks of a run's log done by the database (`withHead` adds the head's). */
  rowChecksOf,
  /** The WorkflowReplays worker: verify the queued replay a message names. */
  runReplay,
  /** The WorkflowSteps worker: run the op a message names. */
  runStep,
  /** The cost simulation request of a run of a registered workflow (the plan its run would reserve). */
  simulateRequest,
  /** CostSim V1's estimate of a run of a registered workflow (the plan its run would reserve), shadowed by V2 when sandboxed. */
  simulateRun,
  /** The tenant's skill_metrics rows of some skills (cost simulation's V2 history). */
  skillMetrics,
  /** Start a run: credits reserved, its first step queued after commit. */
  start,
  /** Every minute: lost step and replay messages re-sent, the stuck-runs gauge set. */
  sweep,
  /** Check recorded ops against steps (the verifier's core). */
  verifyOps,
  /** The row checks' breaks with the head's. */
  withHead,
};
