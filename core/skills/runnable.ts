/**
 * The skills AOS can run: each skill's spec with its `run`. Only the execution path (execute.ts)
 * imports this file, so only bundles that run skills carry their code (outbound HTTP, SSRF
 * rules, signing, Redis commands); validating and pricing read registry.ts.
 */
import { SkillNotFoundError } from "./errors.ts";
import { kvStore } from "./kv-store.ts";
import { slackSend } from "./slack-send.ts";
import type { SkillDefinition } from "./types.ts";
import { voyageEmbed } from "./voyage-embed.ts";
import { webhookSend } from "./webhook-send.ts";

const skills: ReadonlyMap<string, SkillDefinition> = new Map(
  [kvStore, slackSend, webhookSend, voyageEmbed].map((s) => [s.name, s]),
);

/** The runnable skill named; throws SkillNotFoundError. */
export function getSkill(name: string): SkillDefinition {
  const s = skills.get(name);
  if (!s) throw new SkillNotFoundError(name);
  return s;
}

/** Names of the runnable skills (a test checks they are the registry's). */
export function runnableNames(): string[] {
  return [...skills.keys()];
}
