/**
 * The skills domain's wire shapes (zod/mini): the execute call, its reply, a skill's description
 * and a breaker's state. Each skill's own argument and result schemas live beside its `run`.
 */
import * as z from "zod/mini";
import { BreakerStates } from "../platform/breaker/states.ts";
import { TenantRef } from "../tenancy/index.ts";

export const SkillName = z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "a skill name, e.g. kv_store"));
export const SkillPath = z.object({ name: SkillName });

/** An idempotency key: printable ASCII, as Stripe's `Idempotency-Key`. */
export const IdempotencyKey = z
  .string()
  .check(z.minLength(1), z.maxLength(255), z.regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces"));

export const ExecuteBody = z.strictObject({
  /** The skill's arguments; validated against its input schema (errors name `body.args.<field>`). */
  args: z.unknown(),
  /** Same key and args: the stored result, no second side effect. Kept SKILL_IDEMPOTENCY_TTL_H hours. */
  idempotency_key: z.optional(IdempotencyKey),
});
export type ExecuteBody = z.output<typeof ExecuteBody>;

export const RetryRecord = z.object({
  step: z.int(),
  attempt: z.int(),
  delay_ms: z.int(),
  error_code: z.string(),
});

export const ExecuteResult = z.object({
  skill: z.string(),
  version: z.string(),
  execution_id: z.uuid(),
  status: z.literal("succeeded"),
  result: z.unknown(),
  /** True when this is the stored result of an earlier call with the same idempotency key. */
  replayed: z.boolean(),
  /** Credits this call cost the tenant (the skill's cost model); 0 for a replay and for a job item (its job pays). */
  credits_charged: z.number(),
  duration_ms: z.number(),
  /** The waits before each retry of an external request (seeded: the same run waits the same). */
  retries: z.array(RetryRecord),
});
export type ExecuteResult = z.infer<typeof ExecuteResult>;

export const SkillInfo = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string(),
  deterministic: z.boolean(),
  side_effects: z.boolean(),
  /** `global`: one breaker all tenants share; `tenant`: each tenant's own; null: no breaker. */
  breaker_scope: z.nullable(z.enum(["global", "tenant"])),
  timeout_ms: z.int(),
  cost: z.object({
    base_credits: z.number(),
    per_unit: z.nullable(z.object({ unit: z.string(), credits: z.number() })),
  }),
  input_schema: z.record(z.string(), z.unknown()),
  output_schema: z.record(z.string(), z.unknown()),
});
export type SkillInfo = z.infer<typeof SkillInfo>;
export const SkillList = z.object({ data: z.array(SkillInfo) });

export const BreakerStateName = z.enum([BreakerStates.closed, BreakerStates.open, BreakerStates.halfOpen]);

/** A breaker on the wire. */
export const BreakerInfo = z.object({
  target: z.string(),
  /** null for a target every tenant shares. */
  tenant_id: z.nullable(z.uuid()),
  state: BreakerStateName,
  failure_count: z.int(),
  last_failure_at: z.nullable(z.string()),
  last_error: z.nullable(z.string()),
  opened_at: z.nullable(z.string()),
  cooldown_until: z.nullable(z.string()),
  updated_at: z.string(),
});
export type BreakerInfo = z.infer<typeof BreakerInfo>;
export const BreakerList = z.object({ data: z.array(BreakerInfo) });

export const BreakerListQuery = z.strictObject({
  state: z.optional(BreakerStateName),
  /** Admin only: another tenant's breakers (shared ones are always listed). */
  tenant: z.optional(TenantRef),
});
export type BreakerListQuery = z.output<typeof BreakerListQuery>;

export const BreakerPath = z.object({ target: z.string().check(z.minLength(1), z.maxLength(300)) });
export const BreakerResetBody = z._default(
  z.strictObject({
    /** The tenant of a tenant-scoped breaker (slug or id); absent: the shared breaker of that target. */
    tenant: z.optional(TenantRef),
    reason: z.optional(z.string().check(z.maxLength(500))),
  }),
  {},
);
export type BreakerResetBody = z.output<typeof BreakerResetBody>;

/** The tenant's webhook signing secret and how receivers use it. */
export const WebhookSigningSecret = z.object({
  /** `whsec_...`: keep it with the receiver, like a password. */
  secret: z.string(),
  algorithm: z.literal("HMAC-SHA256"),
  /** What is signed: `<X-AOS-Timestamp>.<raw request body>`. */
  signed_payload: z.string(),
  headers: z.object({ timestamp: z.string(), signature: z.string(), delivery_id: z.string() }),
  /** Receivers should refuse a timestamp further than this from their clock (replays). */
  tolerance_s: z.int(),
});
