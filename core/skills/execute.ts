/**
 * The base execution path every skill runs through, so no skill has code of its own for any of
 * it: args validated against the skill's schema -> idempotency claim -> circuit breaker ->
 * `run` under a deadline, with seeded retries of each external request -> result checked against
 * the output schema -> breaker, idempotency record and the m11_* metrics updated.
 *
 * Never inside a transaction (it throws): its claim and breaker updates commit on their own.
 *
 * A failure of the call itself is recorded in the failure catalog here, and so is marked
 * (`Failures.wasRecorded(e)` is true), as is a replayed stored failure (recorded when it
 * happened); a refusal before the call (args, the idempotency claim, the breaker, credits) is
 * thrown unmarked: a caller that records failures records exactly the unmarked ones.
 *
 * @example
 *   const r = await Skills.execute("kv_store", { op: "get", key: "k" }, { idempotencyKey: "k-1" });
 */
import { randomUUID } from "node:crypto";
import { safeParse } from "zod/mini";
import { config } from "../config.ts";
import { useContext, useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { AppError, fieldIssues, InternalError, validationError } from "../errors.ts";
import * as Failures from "../failures/index.ts";
import { clock } from "../platform/clock.ts";
import { inTransaction } from "../platform/db/index.ts";
import { hashArgs } from "../platform/idempotency/index.ts";
import { log } from "../platform/logger.ts";
import * as Breaker from "./breaker.ts";
import { costOf } from "./cost.ts";
import { runWithDeadline } from "./deadline.ts";
import { SkillTimeoutError, UpstreamError } from "./errors.ts";
import * as Idempotency from "./idempotency.ts";
import { skillMetrics as m } from "./metrics.ts";
import { DEFAULT_SKILL_TIMEOUT_MS, getSpec } from "./registry.ts";
import { type RetryRecord, withRetries } from "./retry.ts";
import { getSkill } from "./runnable.ts";
import type { ExecuteResult } from "./schema.ts";
import type { SkillContext, SkillSpec } from "./types.ts";

export interface ExecuteOptions {
  idempotencyKey?: string | undefined;
  /** Seeds the retry jitter (with `opIndex`): a workflow run or job id. Default: the idempotency key, else the request id. */
  runId?: string;
  opIndex?: number;
  /** How validation errors name the args (`body.args` over HTTP). */
  argsField?: string;
  /** Shorter than the skill's own timeout, e.g. what is left of a Lambda's time. */
  timeoutMs?: number;
  /**
   * Charge the tenant the call's cost (default true): credits held before it runs (402
   * `credits.insufficient` when short), charged when it succeeds, released when it fails. false
   * when the caller pays otherwise: a job item's cost is reserved by its job and charged when the
   * item is done.
   */
  charge?: boolean;
  /**
   * The caller stores the call's success itself: instead of writing the idempotency record's
   * result, execute hands it here, and the caller writes it in a statement of its own
   * (`Idempotency.succeedFrom`; a workflow step's fold, which records the op in the same
   * statement) or, failing that, with `Idempotency.succeed`. Until then a second call with the key
   * finds it in progress. Only for a call that ran under a key it claimed.
   */
  deferSuccess?: (pending: Idempotency.PendingSuccess) => void;
}

/** A hold outlives the call's deadline by this much, so only a dead caller's hold expires. */
const HOLD_MARGIN_MS = 60_000;

export { canonicalJson, hashArgs } from "../platform/idempotency/index.ts";

/** Args checked against the skill's input schema; a ValidationError names each bad field under `field`. */
export function parseArgs(skill: SkillSpec, raw: unknown, field: string): unknown {
  const r = safeParse(skill.input, raw);
  if (r.success) return r.data;
  throw validationError(fieldIssues(field, r.error), `Invalid args for ${skill.name}`);
}

/** Failures that say the target is unwell: they count against its breaker. A refusal (4xx) does not. */
const targetFailed = (e: AppError) => (e instanceof UpstreamError && e.retryable) || e instanceof SkillTimeoutError;

export async function execute(name: string, rawArgs: unknown, options: ExecuteOptions = {}): Promise<ExecuteResult> {
  // The idempotency claim and the breaker must commit on their own, before and whatever the
  // call does: inside a caller's transaction they would hold row locks across a network call
  // and vanish with a rollback, so a skill never runs inside one.
  if (inTransaction()) throw new InternalError("Skills.execute must not be called inside a transaction");
  const skill = await getSkill(name);
  const tenantId = useTenant();
  const labels = { skill: skill.name, tenant_id: tenantId };
  const argsField = options.argsField ?? "args";
  const args = parseArgs(skill, rawArgs, argsField);
  const key = options.idempotencyKey;
  const timeoutMs = Math.min(
    options.timeoutMs ?? Number.POSITIVE_INFINITY,
    skill.timeoutMs ?? DEFAULT_SKILL_TIMEOUT_MS,
  );
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;

  let claim: Idempotency.Claim | undefined;
  if (key) {
    try {
      claim = await Idempotency.begin({
        skill: skill.name,
        version: skill.version,
        key,
        argsHash: hashArgs(args),
        leaseMs: timeoutMs + 5_000,
      });
    } catch (e) {
      if (e instanceof AppError && e.code === "skills.idempotency_conflict")
        m.idempotencyConflicts.inc({ skill: skill.name });
      m.executions.inc({ ...labels, status: "rejected" });
      throw e;
    }
    if (claim.kind !== "execute") {
      m.idempotencyHits.inc({ skill: skill.name });
      m.executions.inc({ ...labels, status: "replayed" });
      if (claim.kind === "replay_error") {
        const s = claim.error;
        const replayed = new AppError(s.kind, s.code, s.message, { details: s.details, retryable: false });
        // Recorded in the failure catalog when it happened (the key's first call): not again.
        Failures.markRecorded(replayed);
        throw replayed;
      }
      return {
        skill: skill.name,
        version: skill.version,
        execution_id: claim.id,
        status: "succeeded",
        result: claim.result,
        replayed: true,
        credits_charged: 0,
        duration_ms: claim.durationMs ?? 0,
        retries: [],
      };
    }
  }
  const executionId = claim?.id ?? randomUUID();

  let permit: Breaker.Permit | undefined;
  if (skill.breaker) {
    const scope = skill.breaker.scopeFor?.(args) ?? skill.breaker.scope;
    const bk = Breaker.breakerKey(scope, skill.breaker.target(args), tenantId);
    try {
      permit = await Breaker.acquire(bk);
    } catch (e) {
      await release(claim, e, elapsed());
      m.executions.inc({ ...labels, status: "rejected" });
      throw e;
    }
  }

  // Only a call that runs is charged (not a replay, nor a call the breaker refused): its credits
  // are held now, charged when it succeeds, released when it fails (decision 0007). A 402 after a
  // half-open breaker gave this call the probe leaves the probe's permit to lapse (30 s).
  const price = options.charge === false ? 0 : costOf(skill, args);
  let holdId: string | undefined;
  if (price > 0) {
    try {
      holdId = await Credits.hold(
        tenantId,
        price,
        `skill ${skill.name}`,
        new Date(clock().nowMs() + timeoutMs + HOLD_MARGIN_MS),
        "skill_execute",
      );
    } catch (e) {
      // Not the call's failure: the key is freed, so the same call may run after a top-up.
      if (claim?.kind === "execute") await keep(() => Idempotency.free(claim.id, claim.attempts));
      m.executions.inc({ ...labels, status: "rejected" });
      throw e;
    }
  }
  const settle = async (ok: boolean): Promise<number> => {
    if (!holdId) return 0;
    const id = holdId;
    const done = await keepValue(() => (ok ? Credits.capture(tenantId, id) : Credits.releaseHold(tenantId, id)));
    return ok ? (done ?? 0) : 0;
  };

  const retries: RetryRecord[] = [];
  const policy = config().skills.retry;
  const seedRun =
    options.runId ?? (key ? `idem:${tenantId}:${skill.name}:${key}` : (useContext()?.requestId ?? executionId));
  const stop = m.seconds.startTimer({ skill: skill.name });
  try {
    const result = await runWithDeadline(
      (signal) => {
        const deadlineMs = clock().nowMs() + timeoutMs;
        const ctx: SkillContext = {
          tenantId,
          executionId,
          idempotencyKey: key,
          argsField,
          signal,
          retry: (step, fn) =>
            withRetries({ runId: seedRun, opIndex: options.opIndex ?? 0, step }, policy, fn, {
              signal,
              deadlineMs,
              onRetry: (r) => retries.push(r),
            }),
        };
        return skill.run(args, ctx);
      },
      skill.name,
      timeoutMs,
    );
    const out = safeParse(skill.output, result);
    if (!out.success)
      throw new InternalError(`${skill.name} returned a result its output schema refuses`, { cause: out.error });
    if (permit) await Breaker.succeed(permit);
    const charged = await settle(true);
    if (claim?.kind === "execute") {
      const pending = { id: claim.id, attempts: claim.attempts, result: out.data, durationMs: elapsed() };
      if (options.deferSuccess) options.deferSuccess(pending);
      else await keep(() => Idempotency.succeed(pending.id, pending.attempts, pending.result, pending.durationMs));
    }
    m.executions.inc({ ...labels, status: "succeeded" });
    return {
      skill: skill.name,
      version: skill.version,
      execution_id: executionId,
      status: "succeeded",
      result: out.data,
      replayed: false,
      credits_charged: charged,
      duration_ms: elapsed(),
      retries,
    };
  } catch (e) {
    const err = e instanceof AppError ? e : new InternalError(`${skill.name} failed`, { cause: e });
    if (permit) {
      if (targetFailed(err)) await Breaker.fail(permit, err);
      else if (err instanceof UpstreamError) await Breaker.succeed(permit);
    }
    await settle(false);
    await release(claim, err, elapsed());
    m.executions.inc({ ...labels, status: "failed" });
    if (err.kind === "internal") log.error("skill failed", { skill: skill.name, err: e });
    // Off the failing path: written beside the caller, finished before the invocation ends.
    Failures.recordInBackground({
      error: err,
      runId: seedRun,
      skillId: skill.name,
      stepIndex: options.opIndex,
      context: { execution_id: executionId },
    });
    throw err;
  } finally {
    stop();
  }
}

/** A failed call: a final failure is stored for replay, a retryable one frees the key. */
async function release(claim: Idempotency.Claim | undefined, e: unknown, ms: number): Promise<void> {
  if (claim?.kind !== "execute") return;
  const err = e instanceof AppError ? e : new InternalError("skill failed", { cause: e });
  await keep(() => Idempotency.fail(claim.id, claim.attempts, err, ms));
}

/**
 * Bookkeeping after the work is done must not turn a success into an error: if the store fails,
 * log it and let the lease run out (a later call with the key then runs again).
 */
async function keep(fn: () => Promise<boolean>): Promise<boolean> {
  return (await keepValue(fn)) ?? false;
}

/**
 * `keep` for a value: undefined when the store failed. A hold whose capture failed is released
 * when it expires, so such a call goes uncharged (logged), never charged twice.
 */
async function keepValue<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    log.error("skill execution record not written", { err: e });
    return undefined;
  }
}

/** Throws SkillNotFoundError or a ValidationError naming `${field}.<path>`; returns the parsed args. */
export function validateArgs(name: string, args: unknown, field = "args"): unknown {
  return parseArgs(getSpec(name), args, field);
}
