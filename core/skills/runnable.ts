/**
 * The skills AOS can run: each skill's `run`, loaded on the first call of that skill. Only the
 * execution path (execute.ts) imports this file, and each skill's code (outbound HTTP, SSRF
 * rules, signing, Redis commands) is a chunk of its own behind a dynamic `import()`: a handler
 * that executes skills loads none of them at cold start, and on a call only the one called.
 * Validating and pricing read the specs (registry.ts, `<skill>-spec.ts`), which stay eager.
 *
 * A run file imports its spec as a type only, and nothing the eager path reaches only for it: a
 * module both the eager path and a lazy chunk import becomes a chunk of its own (decision 0004).
 */
import { SkillNotFoundError } from "./errors.ts";
import { getSpec } from "./registry.ts";
import type { SkillDefinition, SkillRun, SkillSpec } from "./types.ts";

type Loader = () => Promise<SkillRun<SkillSpec>>;
const loaders: Readonly<Record<string, Loader>> = {
  kv_store: async () => (await import("./kv-store.ts")).kvStore as unknown as SkillRun<SkillSpec>,
  slack_send: async () => (await import("./slack-send.ts")).slackSend as unknown as SkillRun<SkillSpec>,
  webhook_send: async () => (await import("./webhook-send.ts")).webhookSend as unknown as SkillRun<SkillSpec>,
  voyage_embed: async () => (await import("./voyage-embed.ts")).voyageEmbed as unknown as SkillRun<SkillSpec>,
};
const loaded = new Map<string, SkillDefinition>();

/** The runnable skill named (its spec and its `run`, loaded on first use); rejects with SkillNotFoundError. */
export async function getSkill(name: string): Promise<SkillDefinition> {
  const known = loaded.get(name);
  if (known) return known;
  const load = Object.hasOwn(loaders, name) ? loaders[name] : undefined;
  if (!load) throw new SkillNotFoundError(name);
  const { run } = await load();
  const skill: SkillDefinition = { ...getSpec(name), run };
  loaded.set(name, skill);
  return skill;
}

/** Names of the runnable skills (a test checks they are the registry's). */
export function runnableNames(): string[] {
  return Object.keys(loaders);
}
