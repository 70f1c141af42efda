/**
 * `simulate`: what a spawn of this body would cost and take, with warnings (it would be refused
 * or slowed) and risks (it may not go as hoped). Executes nothing and writes nothing: it reads
 * the tenant's credits, its recorded item durations of the same task and the breakers of the
 * targets its items would call.
 *
 * Duration: the median of up to 1000 done items of the tenant's newest jobs of the task, times
 * the number of waves (`ceil(items / min(parallelism, JOBS_MAX_PARALLELISM))`); with no history,
 * a stated default per item (DEFAULT_ITEM_S). `costsim` is CostSim V1's estimate of the same body
 * (credits, duration and p(failure) per its priors, expected retries, feasibility), which the
 * provenance and divergence report compare V2 against.
 */
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import * as Costsim from "../costsim/index.ts";
import * as Credits from "../credits/index.ts";
import * as Failures from "../failures/index.ts";
import { query } from "../platform/db/index.ts";
import * as Skills from "../skills/index.ts";
import * as itemSql from "./item-history.sql.ts";
import { priceItems } from "./price.ts";
import type { JobSpawn, SimulateReply } from "./schema.ts";
import { EXTERNAL_TASK, taskSkill, unknownTaskIssue, validateItems } from "./spawn.ts";

/** Seconds per item assumed without history: a skill call, and an external agent's work. */
export const DEFAULT_ITEM_S = { skill: 2, external: 30 } as const;
/** Above this many items a job is called large (a risk, not a refusal). */
const LARGE_JOB_ITEMS = 1000;

type Note = SimulateReply["warnings"][number];

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** The spawn body, executed not at all. Item inputs are validated as spawn does (400 naming the field). */
export async function simulate(body: JobSpawn): Promise<SimulateReply & { costsim: Costsim.SimulateReplyV1 | null }> {
  const tenantId = useTenant();
  const n = body.items.length;
  const warnings: Note[] = [];
  const risks: Note[] = [];
  const skill = taskSkill(body.task);
  if (skill === null)
    warnings.push({
      code: "jobs.unknown_task",
      message: `spawn would refuse it: ${unknownTaskIssue(body.task).message}`,
    });
  const args = skill ? validateItems(body.task, body.items) : [];

  // The prices spawn would reserve and the items' completions charge: the same function.
  const estimated = priceItems(body.task, skill ? args : undefined, body.credits_per_item, n).total;
  const { available } = await Credits.balance({});
  if (estimated > available)
    warnings.push({
      code: "credits.insufficient",
      message: `${estimated} credits required, ${available} available: spawn would be refused (402)`,
    });

  const limit = config().jobs.maxParallelism;
  if (body.parallelism > limit)
    warnings.push({
      code: "jobs.parallelism_above_limit",
      message: `parallelism ${body.parallelism} is above the tenant's limit of ${limit}: at most ${limit} items run at once`,
    });

  if (skill) {
    // Every distinct target the items would call (a webhook job may have many), not the first's.
    const { open, unchecked } = await Skills.breakerStates(body.task, args);
    for (const b of open)
      warnings.push({
        code: "skills.circuit_open",
        message: `the circuit breaker of ${body.task}'s target ${b.target} is ${b.state}: its items would be refused (503) and retried until it closes`,
      });
    if (unchecked > 0)
      risks.push({
        code: "skills.breakers_unchecked",
        message: `the items call ${unchecked} more distinct targets whose breakers were not looked at`,
      });
  }

  const { rows } = await query<{ duration_p50_ms: number | null }>(itemSql.itemDurationsOf, [tenantId, body.task]);
  const history = rows[0] && { p50_ms: rows[0].duration_p50_ms };
  const waves = Math.ceil(n / Math.min(body.parallelism, limit));
  const fallbackS = body.task === EXTERNAL_TASK ? DEFAULT_ITEM_S.external : DEFAULT_ITEM_S.skill;
  const perItemS = history?.p50_ms != null ? history.p50_ms / 1000 : fallbackS;
  const basis = history?.p50_ms != null ? "history" : "default";
  if (basis === "default")
    risks.push({
      code: "jobs.no_duration_history",
      message: `no done item of ${body.task} recorded for this tenant: the duration assumes a default of ${fallbackS} s per item`,
    });

  if (skill?.sideEffects && body.max_attempts > 1)
    risks.push({
      code: "jobs.side_effect_retry",
      message: `${body.task} has side effects and max_attempts is ${body.max_attempts}: a retried item may repeat its side effect unless the receiver de-duplicates`,
    });
  if (skill && body.item_timeout_s * 1000 < skill.timeoutMs)
    risks.push({
      code: "jobs.lease_shorter_than_skill",
      message: `item_timeout_s ${body.item_timeout_s} is shorter than ${body.task}'s timeout (${skill.timeoutMs / 1000} s): a slow item's lease may expire while it runs, and another worker run it again`,
    });
  if (skill && estimated > round(n * body.credits_per_item, 4))
    risks.push({
      code: "jobs.below_cost_model",
      message: `credits_per_item ${body.credits_per_item} is below ${body.task}'s cost model for some items: those are priced by the model (the estimate includes it)`,
    });
  // What this task failed with lately, from the failure catalog.
  for (const f of await Failures.frequentFailures(body.task))
    risks.push({
      code: "failures.frequent",
      message: `${body.task} failed with ${f.catalog_entry_id} ${f.count} times in the last 7 days (${Math.round(f.rate * 100)}% of its recorded failures); recovery: ${f.recovery_mode}`,
    });
  if (n > LARGE_JOB_ITEMS)
    risks.push({
      code: "jobs.large_job",
      message: `${n} items: ${estimated} credits stay reserved until the job ends, and a cancel refunds only items not yet claimed`,
    });
  if (body.task === EXTERNAL_TASK)
    risks.push({
      code: "jobs.external_needs_agents",
      message: "no AOS worker runs external items: they stay pending until agents claim them over HTTP",
    });

  // CostSim V1 on the same body (and V2 in its shadow when sandboxed); not for a task spawn would refuse.
  const costsim =
    skill || body.task === EXTERNAL_TASK
      ? await Costsim.simulate({ plan: { job: body }, fieldsAt: ["plan.job", "body"] })
      : null;
  return {
    task: body.task,
    items: n,
    estimated_credits: estimated,
    available_credits: available,
    estimated_duration_s: round(perItemS * waves, 1),
    duration_basis: basis,
    warnings,
    risks,
    costsim,
  };
}
