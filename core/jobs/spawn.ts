/**
 * `spawn`: a job of N items in one transaction (job row, every item in one statement, the credits
 * reserve, a status_history row), then, after commit, one SQS message per item of a skill task.
 *
 * The messages are only wake-up calls for rows that already exist (the item outbox,
 * item-outbox.ts): a send that fails after the commit loses nothing, the sweeper re-sends it.
 */
import { config } from "../config.ts";
import { actorName, useActor, useTenant } from "../context.ts";
import * as Costsim from "../costsim/index.ts";
import * as Credits from "../credits/index.ts";
import { AppError, type FieldIssue, ValidationError } from "../errors.ts";
import { query, withTx } from "../platform/db/index.ts";
import * as Idempotency from "../platform/idempotency/index.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import * as Skills from "../skills/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { itemOutbox } from "./item-outbox.ts";
import * as sql from "./lifecycle.sql.ts";
import { jobMetrics } from "./metrics.ts";
import { priceItems } from "./price.ts";
import { get } from "./query.ts";
import type { JobRecord, JobSpawn } from "./schema.ts";
import { JobStates } from "./states.ts";

/** The task of items that external agents claim over HTTP instead of a skill. */
export const EXTERNAL_TASK = "external";
/** Where spawn's Idempotency-Key lives (per tenant) in the one idempotency table. */
const IDEMPOTENCY_SCOPE = "route:jobs.create";
/** A 400 lists at most this many bad item fields (a 10,000-item body could have 10,000). */
const MAX_ISSUES = 20;

/** The skill a task names, undefined for `external`; null when no skill has that name. */
export function taskSkill(task: string): ReturnType<typeof Skills.spec> | undefined | null {
  if (task === EXTERNAL_TASK) return undefined;
  try {
    return Skills.spec(task);
  } catch (e) {
    if (e instanceof AppError && e.code === "skills.not_found") return null;
    throw e;
  }
}

export const unknownTaskIssue = (task: string): FieldIssue => ({
  field: "body.task",
  message: `no skill is named ${JSON.stringify(task)}; a task is a skill's name or "${EXTERNAL_TASK}"`,
});

/**
 * Every item's input checked against the skill's input schema up front, so a job never starts
 * with items that can only fail. Throws one ValidationError naming `body.items.<n>.input.<field>`
 * (at most MAX_ISSUES of them, and how many items were refused). Returns the inputs as parsed.
 */
export function validateItems(task: string, items: readonly { input?: unknown }[]): unknown[] {
  const issues: FieldIssue[] = [];
  const parsed: unknown[] = [];
  let bad = 0;
  items.forEach((item, n) => {
    try {
      parsed.push(Skills.validateArgs(task, item.input, `body.items.${n}.input`));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      bad++;
      const fields = (e.details as { fields?: FieldIssue[] } | undefined)?.fields ?? [];
      for (const f of fields) if (issues.length < MAX_ISSUES) issues.push(f);
    }
  });
  if (bad === 0) return parsed;
  const more =
    bad > 1 ? ` (${bad} items refused${issues.length >= MAX_ISSUES ? `, first ${MAX_ISSUES} issues listed` : ""})` : "";
  throw new ValidationError(
    `Invalid input for ${task}: ${[...new Set(issues.map((i) => i.field))].join(", ")}${more}`,
    issues,
    "jobs.invalid_item_input",
  );
}

/**
 * While COSTSIM_V2_SANDBOX is on, the hash of the job's plan as CostSim reads the spawn body (what
 * its shadow comparisons of a simulated spawn carry): when the job is settled its outcome goes
 * next to them (finalise.ts). Null with the sandbox off, or for a body CostSim cannot read.
 */
function shadowPlanHash(body: JobSpawn): string | null {
  if (!config().costsim.v2Sandbox) return null;
  try {
    return Costsim.hashOf(Costsim.planOf({ job: body }, Costsim.planOptions()));
  } catch (e) {
    if (e instanceof AppError) return null;
    throw e;
  }
}

/**
 * Spawn a job for the context's tenant.
 *
 * @example
 *   const job = await Jobs.spawn({ task: "kv_store", items: [{ input: { op: "incr", key: "n" } }],
 *     parallelism: 10, credits_per_item: 1, max_attempts: 3, item_timeout_s: 60 });
 */
export async function spawn(body: JobSpawn): Promise<JobRecord> {
  return (await spawnOnce(body, undefined)).job;
}

/**
 * `spawn` with an `Idempotency-Key` (POST /api/v1/jobs): the key is claimed, the job written and
 * its reply stored in ONE transaction, so the same key and body answer the first job again
 * (`replayed`) and create nothing; another body is 409 `idempotency.key_reused`. A refused spawn
 * (400, 402) stores nothing and may be sent again with its key.
 *
 * @example
 *   const { job, replayed } = await Jobs.spawnOnce(body, "nightly-embed-2026-12-03");
 */
export async function spawnOnce(
  body: JobSpawn,
  idempotencyKey: string | undefined,
): Promise<{ job: JobRecord; replayed: boolean }> {
  const stop = jobMetrics.spawnSeconds.startTimer();
  try {
    const tenantId = useTenant();
    const skill = taskSkill(body.task);
    if (skill === null) throw new ValidationError("Unknown task", [unknownTaskIssue(body.task)], "jobs.unknown_task");
    const args = skill ? validateItems(body.task, body.items) : undefined;
    const prices = priceItems(body.task, args, body.credits_per_item, body.items.length);
    const planHash = shadowPlanHash(body);
    const { reply, replayed } = await withTx(() =>
      Idempotency.once(IDEMPOTENCY_SCOPE, idempotencyKey, body, async () => {
        const { rows } = await query<{ id: string; credits_reserved: number }>(sql.insertJob, [
          tenantId,
          body.task,
          body.parallelism,
          body.credits_per_item,
          body.max_attempts,
          body.item_timeout_s,
          body.items.length,
          JSON.stringify(body.metadata ?? {}),
          actorName(useActor()),
          prices.total,
          planHash,
        ]);
        const job = rows[0] as { id: string; credits_reserved: number };
        const items = await query<{ id: string; idx: number }>(sql.insertItems, [
          job.id,
          tenantId,
          JSON.stringify(body.items.map((i) => i.input ?? null)),
          prices.items,
        ]);
        await Credits.reserve(tenantId, job.id, job.credits_reserved);
        await StatusHistory.record({
          entity_type: "job",
          entity_id: job.id,
          old_status: null,
          new_status: JobStates.running,
          metadata: { task: body.task, items: body.items.length },
        });
        if (skill) {
          // One message per item, in idx order, once committed (the item outbox stamps enqueued_at).
          const ordered = items.rows.sort((a, b) => a.idx - b.idx);
          enqueueAfterCommit(
            itemOutbox,
            ordered.map((i) => ({ id: i.id, job_id: job.id, tenant_id: tenantId })),
          );
        }
        // The reply as this transaction sees it: what a replay of the key answers again.
        return get(job.id);
      }),
    );
    return { job: reply, replayed };
  } finally {
    stop();
  }
}
