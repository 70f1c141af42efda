/**
 * The registry: every skill AOS can run, and how each describes itself (JSON Schemas of its
 * input and output, flags, breaker scope and cost model) for `GET /api/v1/skills`.
 */
import { toJSONSchema } from "zod/mini";
import type { $ZodType } from "zod/v4/core";
import { SkillNotFoundError } from "./errors.ts";
import { kvStore } from "./kv-store.ts";
import type { SkillInfo } from "./schema.ts";
import { slackSend } from "./slack-send.ts";
import type { SkillDefinition } from "./types.ts";
import { voyageEmbed } from "./voyage-embed.ts";
import { webhookSend } from "./webhook-send.ts";

/** Longest a call may take, retries included, when its skill names no `timeoutMs`: under API Gateway's 30 s. */
export const DEFAULT_SKILL_TIMEOUT_MS = 25_000;

const skills: ReadonlyMap<string, SkillDefinition> = new Map(
  [kvStore, slackSend, webhookSend, voyageEmbed].map((s) => [s.name, s]),
);

export function getSkill(name: string): SkillDefinition {
  const s = skills.get(name);
  if (!s) throw new SkillNotFoundError(name);
  return s;
}

export function skillNames(): string[] {
  return [...skills.keys()];
}

const jsonSchema = (s: $ZodType, io: "input" | "output") => {
  const { $schema: _drop, ...rest } = toJSONSchema(s, { io, unrepresentable: "any", target: "draft-2020-12" });
  return rest as Record<string, unknown>;
};

const described = new Map<string, SkillInfo>();

export function describeSkill(s: SkillDefinition): SkillInfo {
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
  return [...skills.values()].map(describeSkill);
}
