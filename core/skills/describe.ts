/**
 * How each skill describes itself for `GET /api/v1/skills` (JSON Schemas of its input and output,
 * flags, breaker scope and cost model). A file of its own: the JSON Schema conversion is only in
 * the bundles that describe skills.
 */
import { toJSONSchema } from "zod/mini";
import type { $ZodType } from "zod/v4/core";
import { DEFAULT_SKILL_TIMEOUT_MS, getSpec, specList } from "./registry.ts";
import type { SkillInfo } from "./schema.ts";
import type { SkillSpec } from "./types.ts";

const jsonSchema = (s: $ZodType, io: "input" | "output") => {
  const { $schema: _drop, ...rest } = toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" });
  return rest as Record<string, unknown>;
};

const described = new Map<string, SkillInfo>();

export function describeSkill(s: SkillSpec): SkillInfo {
  let info = described.get(s.name);
  if (!info) {
    info = {
      name: s.name,
      version: s.version,
      description: s.description,
      deterministic: s.deterministic,
      side_effects: s.sideEffects,
      breaker_scope: s.breaker?.scope ?? null,
      timeout_ms: s.timeoutMs ?? DEFAULT_SKILL_TIMEOUT_MS,
      cost: { base_credits: s.cost.base, per_unit: s.cost.perUnit ?? null },
      input_schema: jsonSchema(s.input, "input"),
      output_schema: jsonSchema(s.output, "output"),
    };
    described.set(s.name, info);
  }
  return info;
}

export function listSkills(): SkillInfo[] {
  return specList().map(describeSkill);
}

/** One skill's description; throws SkillNotFoundError for an unknown name. */
export function describeByName(name: string): SkillInfo {
  return describeSkill(getSpec(name));
}
