/**
 * Skills: named, versioned, typed capabilities that agents, workflows and job items call, run
 * through one execution path (validation, idempotency, shared circuit breakers, seeded retries,
 * metrics). See types.ts for what a skill declares and execute.ts for the path.
 *
 * @example
 *   const { result } = await Skills.execute("kv_store", { op: "incr", key: "visits" });
 */
import { listBreakers, resetBreaker } from "./breakers.ts";
import { breakerStates, execute, validateArgs } from "./execute.ts";
import { sweep as sweepIdempotency } from "./idempotency.ts";
import { describeSkill, getSkill, listSkills } from "./registry.ts";
import { webhookSigningSecret } from "./webhook-signing.ts";

export const Skills = {
  execute,
  /** Check args against a skill's input schema without running it (job spawn validates every item). */
  validateArgs,
  /** The breakers calls with these args would meet, those not CLOSED (simulation warnings). */
  breakerStates,
  list: listSkills,
  describe: (name: string) => describeSkill(getSkill(name)),
  listBreakers,
  resetBreaker,
  sweepIdempotency,
  webhookSigningSecret,
};

export * from "./errors.ts";
export type { ExecuteOptions } from "./execute.ts";
export * from "./schema.ts";
export type { CostModel, SkillContext, SkillDefinition } from "./types.ts";
