/**
 * What a skill is: a named, versioned, typed capability that agents, workflows and job items
 * call. A skill declares its schemas, whether it is deterministic and has side effects, its
 * circuit-breaker target (external skills) and its cost model; `run` does the work. Everything
 * around `run` (validation, idempotency, the breaker, retries, metrics) is the base execution
 * path's job (execute.ts), so a skill has no code of its own for any of it.
 */
import type { $ZodType, output } from "zod/v4/core";

/**
 * The breaker an external skill's calls go through: one every tenant shares (`global`: a service
 * AOS calls with its own credentials) or one per tenant (`tenant`: a host only that tenant calls),
 * and the target's name for given args.
 */
export interface BreakerSpec<A> {
  scope: "global" | "tenant";
  target(args: A): string;
  /** When some calls are the caller's own business (a URL it supplied), their scope. Default: `scope`. */
  scopeFor?(args: A): "global" | "tenant";
}

/** Credits a call costs: `base` per call plus `perUnit.credits` for each unit the args carry. */
export interface CostModel<A> {
  base: number;
  perUnit?: { unit: string; credits: number };
  /** Units in these args (inputs to embed, keys to read); 0 when the model has no `perUnit`. */
  units(args: A): number;
}

export interface SkillContext {
  /** The tenant the skill runs for (from the request context). */
  readonly tenantId: string;
  /** A fresh id per execution; with an idempotency key, the stored execution's id. */
  readonly executionId: string;
  /** The caller's idempotency key, if any: sent to receivers so they can de-duplicate a retry. */
  readonly idempotencyKey: string | undefined;
  /** How errors name the args (`body.args` over HTTP, `args` from core): `${argsField}.url`. */
  readonly argsField: string;
  /** Aborted when the execution's deadline passes; pass it to every outbound request. */
  readonly signal: AbortSignal;
  /**
   * Run one external request under the retry policy: a retryable failure (`UpstreamError` with
   * `retryable`, a network error, a timeout) is retried with seeded exponential backoff, a
   * Retry-After honoured. `step` numbers the requests of one execution (0, 1, 2 ... for batches)
   * so each has its own, reproducible, delays.
   */
  retry<T>(step: number, fn: (attempt: number) => Promise<T>): Promise<T>;
}

/**
 * What a skill declares, without the code that runs it: enough to validate args, look at its
 * breaker, describe it and price it (job spawn and simulation need no more, and so do not bundle
 * any skill's `run` and what it calls).
 */
export interface SkillSpec<I extends $ZodType = $ZodType, O extends $ZodType = $ZodType> {
  /** `^[a-z][a-z0-9_]*$`, the path segment of `POST /api/v1/skills/{name}/execute`. */
  name: string;
  /** Semver of the skill's behaviour; stored with each idempotent execution. */
  version: string;
  description: string;
  input: I;
  output: O;
  /** Same args, same result, whatever the world does (replay may compare results). */
  deterministic: boolean;
  /** Changes something outside AOS (or in its Redis): a replay must not run it again. */
  sideEffects: boolean;
  /** External skills: the breaker their calls go through. */
  breaker?: BreakerSpec<output<I>>;
  /** Longest a call may take, retries and backoff included (default: the execution path's). */
  timeoutMs?: number;
  cost: CostModel<output<I>>;
}

/** A skill AOS can run: its spec and the code that does the work. */
export interface SkillDefinition<I extends $ZodType = $ZodType, O extends $ZodType = $ZodType> extends SkillSpec<I, O> {
  run(args: output<I>, ctx: SkillContext): Promise<output<O>>;
}

/** Type-checks a skill's spec (its breaker and cost read the parsed args); returns it unchanged. */
export function defineSpec<I extends $ZodType, O extends $ZodType>(spec: SkillSpec<I, O>): SkillSpec<I, O> {
  return spec;
}

/**
 * A skill's `run`, type-checked against its spec's schemas: a run file (`kv-store.ts`) exports
 * `{ async run(args, ctx) { ... } } satisfies SkillRun<typeof kvStoreSpec>`, with the spec
 * imported as a type only. runnable.ts loads the run file on the skill's first call and joins it
 * with the spec from the registry; a run file that imported its spec as a value would share it
 * with the eager path and cost every bundle one more chunk.
 */
export interface SkillRun<S extends SkillSpec<$ZodType, $ZodType>> {
  run(args: output<S["input"]>, ctx: SkillContext): Promise<output<S["output"]>>;
}
