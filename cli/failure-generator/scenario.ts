/**
 * What a scenario of `aos failures generate` is: a way of making AOS's real code fail, and the
 * catalog entry that is correct for what it provoked (its label, set here by the scenario, never
 * by the matcher).
 */
import * as Skills from "../../core/skills/index.ts";
import type { GeneratorServers } from "./servers.ts";

export interface ScenarioRun {
  servers: GeneratorServers;
  /** The failure's run id: failure_matches.run_id of its record. */
  runId: string;
  /**
   * Picks among the scenario's variants: its how-many-th run plus an offset drawn from --seed, so
   * consecutive runs go through every variant and another seed starts elsewhere.
   */
  n: number;
  tenantId: string;
}

export interface Provoked {
  /** What AOS's code threw. */
  error: unknown;
  skillId?: string | undefined;
  /** The failing code recorded it itself (Skills.execute records a failed run): the generator must not. */
  recorded: boolean;
}

export interface Scenario {
  /** `webhook.http_503`, `kv.redis_down` ... */
  name: string;
  /** The catalog entry that is correct for what the scenario provokes. */
  label: string;
  /** Settings in force while it runs (over the generator's own), e.g. VOYAGE_BASE_URL; undefined unsets one. */
  env?: (s: GeneratorServers) => Record<string, string | undefined>;
  /** It changes a client's URL (REDIS_URL): the process's clients are rebuilt around it. */
  swapsClients?: boolean;
  run(x: ScenarioRun): Promise<Provoked>;
}

/** A scenario whose code did not fail: the generator reports it, it never invents an error. */
export class NoFailureError extends Error {
  override name = "NoFailureError";
}

/** One of `xs`, by the run's number (every variant appears as runs go round). */
export const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length] as T;

/**
 * Call a skill through Skills.execute, the path every caller takes; its failure is returned.
 * `recorded`: whether execute records it (a failure of the run does; a refusal of the args,
 * an unknown skill or an open breaker happens before the run and does not).
 */
export async function callSkill(
  x: ScenarioRun,
  name: string,
  args: unknown,
  recorded: boolean,
  options: { timeoutMs?: number } = {},
): Promise<Provoked> {
  try {
    await Skills.execute(name, args, { runId: x.runId, charge: false, ...options });
  } catch (error) {
    return { error, skillId: name, recorded };
  }
  throw new NoFailureError(`${name} did not fail`);
}

/** Run `fn`, which must throw: what it throws, for the generator to record. */
export async function provoke(fn: () => Promise<unknown>, skillId?: string): Promise<Provoked> {
  try {
    await fn();
  } catch (error) {
    return { error, skillId, recorded: false };
  }
  throw new NoFailureError("the call did not fail");
}
