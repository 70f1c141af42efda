/**
 * Skills' use of the one idempotency piece (core/platform/idempotency): a skill's keys live under
 * its name, and its refusals keep their `skills.*` codes (409 `skills.idempotency_conflict`,
 * 409 `skills.in_progress` with Retry-After).
 *
 * @example
 *   const claim = await begin({ skill: "kv_store", version: "1.0.0", key: "k-1", argsHash, leaseMs: 35_000 });
 *   if (claim.kind === "execute") await succeed(claim.id, claim.attempts, result, 12);
 */
import { config } from "../config.ts";
import * as Idempotency from "../platform/idempotency/index.ts";
import { ExecutionInProgressError, IdempotencyConflictError } from "./errors.ts";

export type { Claim, PendingSuccess, StoredError } from "../platform/idempotency/index.ts";
export { fail, free, succeed } from "../platform/idempotency/index.ts";

const skillErrors: Idempotency.ClaimErrors = {
  conflict: (skill, key) => new IdempotencyConflictError(skill, key),
  inProgress: (skill, key, retryAfterS) => new ExecutionInProgressError(skill, key, retryAfterS),
};

export interface BeginInput extends Omit<Idempotency.BeginInput, "scope"> {
  skill: string;
}

/** Claim the key for a call of `skill` (tenant from the context); see Idempotency.begin. */
export function begin(input: BeginInput): Promise<Idempotency.Claim> {
  const { skill, ...rest } = input;
  return Idempotency.begin({ ...rest, scope: skill }, skillErrors);
}

/** Forget idempotency records (skills' and creating POSTs') older than SKILL_IDEMPOTENCY_TTL_H. */
export function sweep(): Promise<number> {
  return Idempotency.sweep(config().skills.idempotencyTtlH);
}
