/**
 * The registry: the spec of every skill AOS can run (what it declares, not its `run`). How a
 * skill describes itself is describe.ts; the runnable skills are runnable.ts, which only the
 * execution path imports: a bundle that validates or prices calls carries no skill's code.
 */
import { SkillNotFoundError } from "./errors.ts";
import { kvStoreSpec } from "./kv-store-spec.ts";
import { slackSendSpec } from "./slack-send-spec.ts";
import type { SkillSpec } from "./types.ts";
import { voyageEmbedSpec } from "./voyage-embed-spec.ts";
import { webhookSendSpec } from "./webhook-send-spec.ts";

/** Longest a call may take, retries included, when its skill names no `timeoutMs`: under API Gateway's 30 s. */
export const DEFAULT_SKILL_TIMEOUT_MS = 25_000;

const specs: ReadonlyMap<string, SkillSpec> = new Map(
  ([kvStoreSpec, slackSendSpec, webhookSendSpec, voyageEmbedSpec] as SkillSpec[]).map((s) => [s.name, s]),
);

/** The spec of the skill named; throws SkillNotFoundError. */
export function getSpec(name: string): SkillSpec {
  const s = specs.get(name);
  if (!s) throw new SkillNotFoundError(name);
  return s;
}

export function skillNames(): string[] {
  return [...specs.keys()];
}

/** Every spec, in registry order. */
export function specList(): SkillSpec[] {
  return [...specs.values()];
}
