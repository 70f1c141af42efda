/**
 * Skills: named, versioned, typed capabilities that agents, workflows and job items call, run
 * through one execution path (validation, idempotency, shared circuit breakers, seeded retries,
 * metrics). See types.ts for what a skill declares and execute.ts for the path. No SQL of its own:
 * its rows are the platform's idempotency records and breakers (core/platform/idempotency, breaker).
 *
 * The public face is this index of named exports, imported as a namespace so esbuild keeps only
 * what a handler calls.
 *
 * @example
 *   import * as Skills from "../core/skills/index.ts";
 *   const { result } = await Skills.execute("kv_store", { op: "incr", key: "visits" });
 */

import { breakerStates } from "./breaker-states.ts";
import { listBreakers, resetBreaker } from "./breakers.ts";
import { cost, units } from "./cost.ts";
import { describeByName, listSkills } from "./describe.ts";
import { execute, validateArgs } from "./execute.ts";
import { sweep } from "./idempotency.ts";
import { DEFAULT_SKILL_TIMEOUT_MS, getSpec } from "./registry.ts";
import type { SkillInfo } from "./schema.ts";
import type { SkillSpec } from "./types.ts";
import { webhookSigningSecret } from "./webhook-signing.ts";

export {
  /** The breakers calls with these args would meet, those not CLOSED (simulation warnings). */
  breakerStates,
  /** Credits one call with these parsed args costs under the skill's cost model (base + per unit). */
  cost,
  /** Run a skill: validation, idempotency key, shared circuit breaker, seeded retries, metrics. */
  execute,
  /** Circuit breakers: the shared ones and the tenant's own, with state and cooldown. */
  listBreakers,
  /** Every skill, with the JSON Schemas of its input and output, flags and cost model. */
  listSkills as list,
  /** Close a circuit breaker now, forgetting its failures (recorded in status history). */
  resetBreaker,
  /** Delete executions (idempotency keys and stored results) older than SKILL_IDEMPOTENCY_TTL_H; returns how many went. */
  sweep as sweepIdempotency,
  /** Units one call with these parsed args counts under the skill's cost model (1 for a per-call skill). */
  units,
  /** Check args against a skill's input schema without running it (job spawn validates every item). */
  validateArgs,
  /** The tenant's secret for verifying webhook_send signatures (X-AOS-Signature). */
  webhookSigningSecret,
};

/** One skill's description (with the JSON Schemas of its input and output); throws SkillNotFoundError. */
export function describe(name: string): SkillInfo {
  return describeByName(name);
}

/**
 * What a skill declares, its timeout resolved (job spawn and simulation): no JSON Schema is
 * built and no skill's code is needed. Throws SkillNotFoundError for an unknown name.
 */
export function spec(name: string): SkillSpec & { timeoutMs: number } {
  const s = getSpec(name);
  return { ...s, timeoutMs: s.timeoutMs ?? DEFAULT_SKILL_TIMEOUT_MS };
}

export * from "./errors.ts";
export type { ExecuteOptions } from "./execute.ts";
export * from "./schema.ts";
export type { CostModel, SkillContext, SkillDefinition, SkillSpec } from "./types.ts";
