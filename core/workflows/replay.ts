/**
 * Replay verifications (replay_runs), inline or through the WorkflowReplays queue:
 *   - a run that recorded at most WORKFLOW_REPLAY_MAX_OPS ops is verified in the request, and
 *     the 202 carries its verdict (small runs need no queue hop and no polling);
 *   - a bigger run's replay is written `pending` and its message sent through the replay outbox
 *     (replay-outbox.ts; the WorkflowSweep cron re-sends a lost one). The worker (`runReplay`)
 *     takes it under a lease (`running`), verifies and writes the verdict. A finished replay's
 *     message is acknowledged; one whose lease is live is retried (SQS brings it back); one whose
 *     worker died (lease ended) is taken over and verified again. The verdict is written only
 *     under the lease the worker took, so two deliveries give one result.
 * `GET .../replays/{id}` shows pending, running or the verdict with its figures.
 */
import { config } from "../config.ts";
import { actorName, useActor, useTenant, withContext } from "../context.ts";
import { AppError, ValidationError } from "../errors.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import { done, type QueueOutcome, retry } from "../platform/queue-outcome.ts";
import { opsToVerify, opsToVerifyUpTo } from "./audit.ts";
import { rowChecksOf, withHead } from "./chain.ts";
import { definition } from "./definitions.ts";
import { ReplayNotFoundError, RunNotFoundError } from "./errors.ts";
import { workflowMetrics as m } from "./metrics.ts";
import { replayOutbox } from "./replay-outbox.ts";
import * as sql from "./replays.sql.ts";
import type { ReplayMessage, ReplayRecord, ReplayStart } from "./schema.ts";
import { ReplayStates } from "./states.ts";
import { definitionSteps } from "./step-read.ts";
import { type Verdict, verifyOps } from "./verify.ts";
import * as wsql from "./workflows.sql.ts";

/** A worker holds a queued replay this long: more than the WorkflowReplays handler's timeout (300 s). */
export const REPLAY_LEASE_S = 330;

type Mode = ReplayStart["mode"];
/** The run and the steps its ops are checked against (its own version, or `version`). */
async function target(runId: string, tenantId: string, mode: Mode, version: number | undefined) {
  const { rows } = await query<wsql.RunRow & { definition_id: string }>(wsql.runWithDefinition, [runId, tenantId]);
  const run = rows[0];
  if (!run) throw new RunNotFoundError(runId);
  if (mode === "against_version" && version === undefined)
    throw new ValidationError("against_version needs a version", [
      { field: "body.version", message: "required for against_version" },
    ]);
  const v = mode === "against_version" ? (version as number) : run.version;
  // A definition never changes: its steps are read once per process (step-read.ts).
  const steps =
    v === run.version
      ? await definitionSteps(run.definition_id, tenantId)
      : (await definition(tenantId, run.workflow, v)).steps;
  return { run, steps, version: v };
}

/** The replay_runs figures of a verdict. */
function judged(v: Verdict) {
  const first = v.mismatches[0];
  return {
    status: first ? ReplayStates.mismatch : ReplayStates.verified,
    severity: v.mismatches.some((x) => x.severity === "CRITICAL") ? "CRITICAL" : first ? "WARNING" : null,
    first: first?.op_index ?? null,
    diff: first ? JSON.stringify(first.diff) : null,
    mismatches: JSON.stringify(v.mismatches.slice(0, 100)),
  };
}

/** After the commit that wrote a verdict: the seed's replay metrics. */
function meter(mode: Mode, status: string, v: Verdict | null, stop: () => void): void {
  afterCommit(() => {
    stop();
    m.replayRuns.inc({ mode, status });
    if (v) {
      m.replayOpsVerified.inc(v.ops_verified);
      m.replayOpsMismatched.inc(v.ops_failed);
    }
  });
}

/**
 * Verify run `runId` of the context's tenant (`verify`: against its own definition version;
 * `against_version`: against `version`, before deploying it): inline for a run of at most
 * WORKFLOW_REPLAY_MAX_OPS ops (the row with its verdict), else queued (the row `pending`).
 *
 * @example
 *   const replay = await Workflows.replay(runId, { mode: "verify" }); // "verified", or "pending" for a big run
 */
export async function replay(runId: string, body: ReplayStart): Promise<ReplayRecord> {
  const tenantId = useTenant();
  const startedAt = clock().now();
  const maxOps = config().workflows.replayMaxOps;
  // The run, its ops and the database's chain check at once (three connections): a run too big
  // to verify here reads no ops and checks nothing. The check is awaited only once the ops are
  // compared (verifyOps), so it goes on while they are.
  const rows = rowChecksOf(runId, tenantId, maxOps);
  rows.catch(() => undefined); // awaited below, or not at all when the replay is queued or refused
  const [t, early] = await Promise.all([
    target(runId, tenantId, body.mode, body.version),
    opsToVerifyUpTo(runId, tenantId, maxOps),
  ]);
  // next_op_index is the number of ops the run recorded (a fork's copied ops included).
  if (t.run.next_op_index > maxOps)
    return withTx(async () => {
      const { rows } = await query<ReplayRecord>(sql.insertReplay, [
        ...[tenantId, runId, body.mode, t.version, ReplayStates.pending],
        ...[null, null, null, null, null, null, null, null, null],
        ...[actorName(useActor()), startedAt, null],
      ]);
      const row = rows[0] as ReplayRecord;
      enqueueAfterCommit(replayOutbox, [{ id: row.replay_id, tenant_id: tenantId }]);
      return row;
    });
  const stop = m.replaySeconds.startTimer();
  // None read (no ops, or the run grew past maxOps between the reads): opsToVerify says which
  // (an archived run's 410 included), and the chain is checked again with them.
  const [ops, checks] =
    early.length > 0
      ? [early, rows]
      : [await opsToVerify(runId, tenantId), rowChecksOf(runId, tenantId, Number.MAX_SAFE_INTEGER)];
  const head = t.run.head_hash;
  const v = await verifyOps(
    t.run,
    t.steps,
    ops,
    checks.then((c) => withHead(c, head)),
  );
  const j = judged(v);
  // One statement, committed on its own: no transaction around it.
  const { rows: out } = await query<ReplayRecord>(sql.insertReplay, [
    ...[tenantId, runId, body.mode, t.version, j.status],
    ...[v.ops_total, v.ops_verified, v.ops_failed, v.ops_skipped, j.first, j.diff, j.severity, j.mismatches, null],
    ...[actorName(useActor()), startedAt, clock().now()],
  ]);
  meter(body.mode, j.status, v, stop);
  return out[0] as ReplayRecord;
}

/** A claimed replay's verdict (or why it has none), written under the lease `leaseEnd`. */
async function finish(
  claimed: { replay_id: string; mode: Mode },
  tenantId: string,
  leaseEnd: Date,
  outcome: { v: Verdict } | { error: string },
  stop: () => void,
): Promise<void> {
  const j = "v" in outcome ? judged(outcome.v) : null;
  const v = "v" in outcome ? outcome.v : null;
  const status = j?.status ?? ReplayStates.error;
  await withTx(async () => {
    const { rows } = await query(sql.finishReplay, [
      ...[claimed.replay_id, tenantId, leaseEnd, status],
      ...[v?.ops_total ?? null, v?.ops_verified ?? null, v?.ops_failed ?? null, v?.ops_skipped ?? null],
      ...[j?.first ?? null, j?.diff ?? null, j?.severity ?? null, j?.mismatches ?? null],
      ...["error" in outcome ? outcome.error.slice(0, 2000) : null, clock().now()],
    ]);
    // Lost the lease meanwhile: the worker that took over writes the verdict.
    if (rows.length === 0) log.warn("replay lost its lease; its verdict is not written", { replay: claimed.replay_id });
    else meter(claimed.mode, status, v, stop);
  });
}

/**
 * The WorkflowReplays worker: verify the queued replay a message names. `done` once it is
 * finished (by this delivery or an earlier one) or when it is not the message's tenant's;
 * `retry` while another worker holds a live lease on it.
 *
 * @example
 *   const outcome = await Workflows.runReplay({ v: 1, tenantId, replayId });
 */
export function runReplay(msg: ReplayMessage): Promise<QueueOutcome> {
  const ctx = {
    requestId: `replay:${msg.replayId}`,
    correlationId: msg.replayId,
    actor: { type: "system" as const, name: "workflow-replays", tenantId: msg.tenantId },
  };
  return withContext(ctx, async () => {
    const now = clock().now();
    const leaseEnd = new Date(now.getTime() + REPLAY_LEASE_S * 1000);
    const { rows } = await query<{ replay_id: string; workflow_run_id: string; mode: Mode; version: number }>(
      sql.claimReplay,
      [msg.replayId, msg.tenantId, now, leaseEnd],
    );
    const claimed = rows[0];
    if (!claimed) {
      const { rows: st } = await query<{ status: string }>(sql.replayState, [msg.replayId, msg.tenantId]);
      const status = st[0]?.status;
      if (status === ReplayStates.pending || status === ReplayStates.running)
        return retry(`replay ${msg.replayId} is being verified elsewhere`);
      return done();
    }
    const stop = m.replaySeconds.startTimer();
    let outcome: { v: Verdict } | { error: string };
    try {
      const t = await target(claimed.workflow_run_id, msg.tenantId, claimed.mode, claimed.version);
      const checks = rowChecksOf(t.run.id, msg.tenantId, Number.MAX_SAFE_INTEGER);
      checks.catch(() => undefined); // awaited by verifyOps, unless reading the ops fails first
      const head = t.run.head_hash;
      const ops = await opsToVerify(t.run.id, msg.tenantId);
      outcome = {
        v: await verifyOps(
          t.run,
          t.steps,
          ops,
          checks.then((c) => withHead(c, head)),
        ),
      };
    } catch (e) {
      // A refusal that will not change (the version is gone) is the replay's verdict; anything
      // else is retried (the lease runs out and a redelivery takes the replay over).
      if (!(e instanceof AppError) || e.retryable) throw e;
      outcome = { error: `${e.code}: ${e.message}` };
    }
    await finish(claimed, msg.tenantId, leaseEnd, outcome, stop);
    return done();
  });
}

/** A replay of run `runId` of the caller's tenant. */
export async function getReplay(runId: string, replayId: string): Promise<ReplayRecord> {
  const { rows } = await query<ReplayRecord>(sql.getReplay, [replayId, runId, useTenant()]);
  if (!rows[0]) throw new ReplayNotFoundError(replayId);
  return rows[0];
}
