/**
 * What a skill call costs, from the skill's declared cost model (`cost` in its spec): `base`
 * credits per call plus `perUnit.credits` for each unit its args carry (voyage_embed: 1 + 0.1
 * per input, so 100 inputs cost 11). The one price of a call: a direct execution holds and
 * charges it, a job item of the skill is priced at least at it, and simulation estimates with it.
 */
import { getSpec } from "./registry.ts";
import type { SkillSpec } from "./types.ts";

/** Credits amounts have 4 decimals (numeric(18,4)): 0.1 * 3 is 0.3 here, not 0.30000000000000004. */
const to4 = (n: number) => Math.round(n * 10_000) / 10_000;

/** The cost of one call of `skill` with `parsedArgs` (as its input schema parsed them). */
export function costOf(skill: Pick<SkillSpec, "cost">, parsedArgs: unknown): number {
  const per = skill.cost.perUnit;
  return to4(skill.cost.base + (per ? per.credits * skill.cost.units(parsedArgs as never) : 0));
}

/**
 * The cost of one call of the skill named `name` with `parsedArgs` (as `validateArgs` returned
 * them). Throws SkillNotFoundError for an unknown name.
 *
 * @example
 *   Skills.cost("voyage_embed", Skills.validateArgs("voyage_embed", { input: texts })); // 1 + 0.1 * texts.length
 */
export function cost(name: string, parsedArgs: unknown): number {
  return costOf(getSpec(name), parsedArgs);
}

/**
 * The units one call of the skill named `name` with `parsedArgs` counts under its cost model: its
 * `perUnit` units (voyage_embed: one per input), or 1 for a skill priced per call only (kv_store).
 * What skill_metrics sums per skill, so cost simulation can calibrate from observed calls.
 *
 * @example
 *   Skills.units("voyage_embed", Skills.validateArgs("voyage_embed", { input: ["a", "b"] })); // 2
 */
export function units(name: string, parsedArgs: unknown): number {
  const model = getSpec(name).cost;
  return model.perUnit ? model.units(parsedArgs as never) : 1;
}
