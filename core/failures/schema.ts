/** The failure catalog's schemas (zod/mini): the queued record, and the API's requests and replies. */
import * as z from "zod/mini";
import { TenantRef } from "../tenancy/index.ts";
import { FAILURE_CATEGORIES, MATCH_TYPES, RECOVERY_MODES, SEVERITIES } from "./entry.ts";

/**
 * A failure record that Postgres did not take in time, on its way through the FailureRecords
 * queue. It carries its own id: written `on conflict (id) do nothing`, a redelivery (or the slow
 * first write finishing after all) is harmless.
 */
export const FailureRecordMessage = z.object({
  v: z.literal(1),
  tenantId: z.uuid(),
  id: z.uuid(),
  runId: z.string().check(z.minLength(1), z.maxLength(200)),
  errorCode: z.string().check(z.minLength(1), z.maxLength(255)),
  errorMessage: z.nullable(z.string().check(z.maxLength(4000))),
  catalogEntryId: z.nullable(z.string().check(z.maxLength(100))),
  matchType: z.enum(MATCH_TYPES),
  matchConfidence: z.number().check(z.minimum(0), z.maximum(1)),
  category: z.nullable(z.enum(FAILURE_CATEGORIES)),
  severity: z.nullable(z.enum(SEVERITIES)),
  isRetryable: z.boolean(),
  recoveryMode: z.nullable(z.enum(RECOVERY_MODES)),
  recoverySuggestion: z.nullable(z.string()),
  skillId: z.nullable(z.string().check(z.maxLength(100))),
  stepIndex: z.nullable(z.int()),
  context: z.nullable(z.record(z.string(), z.unknown())),
  createdAt: z.iso.datetime({ offset: true }),
});
export type FailureRecordMessage = z.infer<typeof FailureRecordMessage>;

// ---- The API (/api/v1/failures) ----

/** `tenant`: an admin's choice of tenant (slug or id); everyone else reads their own. */
const tenant = z.optional(TenantRef);
const SinceHours = z._default(
  z.coerce.number().check(z.int(), z.minimum(1), z.maximum(8760), z.describe("window in hours, up to a year")),
  24,
);
const Limit = z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 100);
const Offset = z.optional(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(100_000)));
const Cursor = z.optional(z.string().check(z.maxLength(512)));
const Category = z.enum(FAILURE_CATEGORIES);
const Severity = z.enum(SEVERITIES);

export const FailureListQuery = z.strictObject({
  run_id: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  error_code: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  category: z.optional(Category),
  severity: z.optional(Severity),
  status: z._default(z.enum(["unrecovered", "recovered", "all"]), "all"),
  since_hours: SinceHours,
  limit: Limit,
  offset: Offset,
  cursor: Cursor,
  tenant,
});
export type FailureListQuery = z.output<typeof FailureListQuery>;

export const UnrecoveredQuery = z.strictObject({
  category: z.optional(Category),
  since_hours: SinceHours,
  limit: Limit,
  offset: Offset,
  cursor: Cursor,
  tenant,
});
export type UnrecoveredQuery = z.output<typeof UnrecoveredQuery>;

export const FailureStatsQuery = z.strictObject({ since_hours: SinceHours, tenant });
export type FailureStatsQuery = z.output<typeof FailureStatsQuery>;

export const FailureTenantQuery = z.strictObject({ tenant });
export type FailureTenantQuery = z.output<typeof FailureTenantQuery>;

export const FailurePath = z.object({ id: z.uuid() });

export const RecoveryBody = z
  .strictObject({
    recovery_attempted: z.optional(z.boolean()),
    recovery_succeeded: z.optional(z.boolean()),
    notes: z.optional(z.string().check(z.maxLength(4000))),
  })
  .check(
    z.refine((b) => b.recovery_attempted !== undefined || b.recovery_succeeded !== undefined || b.notes !== undefined, {
      message: "give recovery_attempted, recovery_succeeded or notes",
    }),
  );
export type RecoveryBody = z.output<typeof RecoveryBody>;

/** A failure record on the wire: the table's 23 columns (context_json as `context`). */
export const FailureRecord = z.object({
  id: z.uuid(),
  run_id: z.string(),
  tenant_id: z.uuid(),
  error_code: z.string(),
  error_message: z.nullable(z.string()),
  catalog_entry_id: z.nullable(z.string()),
  match_type: z.nullable(z.string()),
  match_confidence: z.nullable(z.number()),
  category: z.nullable(z.string()),
  severity: z.nullable(z.string()),
  is_retryable: z.nullable(z.boolean()),
  recovery_mode: z.nullable(z.string()),
  recovery_suggestion: z.nullable(z.string()),
  recovery_attempted: z.nullable(z.boolean()),
  recovery_succeeded: z.nullable(z.boolean()),
  recovered_at: z.nullable(z.string()),
  recovered_by: z.nullable(z.string()),
  recovery_notes: z.nullable(z.string()),
  skill_id: z.nullable(z.string()),
  step_index: z.nullable(z.int()),
  context: z.nullable(z.record(z.string(), z.unknown())),
  created_at: z.string(),
  updated_at: z.string(),
});
export type FailureRecord = z.infer<typeof FailureRecord>;

const Count = z.object({ count: z.int() });
export const FailureStats = z.object({
  since_hours: z.int(),
  total: z.int(),
  hits: z.int(),
  misses: z.int(),
  hit_rate: z.nullable(z.number()),
  miss_rate: z.nullable(z.number()),
  recovered: z.int(),
  unrecovered: z.int(),
  by_category: z.array(z.extend(Count, { category: z.nullable(z.string()) })),
  by_severity: z.array(z.extend(Count, { severity: z.nullable(z.string()) })),
  by_entry: z.array(
    z.extend(Count, {
      catalog_entry_id: z.nullable(z.string()),
      recovered: z.int(),
      /** Median seconds from the failure to its recovery, over its recovered records. */
      median_time_to_recover_s: z.nullable(z.number()),
      avg_time_to_recover_s: z.nullable(z.number()),
    }),
  ),
});
export type FailureStats = z.infer<typeof FailureStats>;

export const ClassifyBody = z
  .strictObject({
    code: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
    kind: z.optional(z.string().check(z.maxLength(50))),
    status: z.optional(z.int().check(z.minimum(100), z.maximum(599))),
    target: z.optional(z.string().check(z.maxLength(253))),
    body: z.optional(z.string().check(z.maxLength(4000))),
    message: z.optional(z.string().check(z.maxLength(4000))),
    causes: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(100))).check(z.maxLength(8))),
    min_confidence: z.optional(z.number().check(z.minimum(0), z.maximum(1))),
  })
  .check(
    z.refine((b) => b.code !== undefined || b.message !== undefined || (b.causes?.length ?? 0) > 0, {
      message: "give code, message or causes",
    }),
  );
export type ClassifyBody = z.output<typeof ClassifyBody>;

const Entry = z.object({
  id: z.string(),
  title: z.string(),
  category: Category,
  severity: Severity,
  is_retryable: z.boolean(),
  recovery_mode: z.enum(RECOVERY_MODES),
  recovery_suggestion: z.string(),
  backoff: z.optional(z.object({ baseMs: z.int(), maxMs: z.int(), maxAttempts: z.int() })),
  match: z.record(z.string(), z.unknown()),
  examples: z.array(z.string()),
});
export const CatalogReply = z.object({ count: z.int(), data: z.array(Entry) });

export type CatalogReply = z.infer<typeof CatalogReply>;

export const ClassifyReply = z.object({
  catalog_entry_id: z.nullable(z.string()),
  match_type: z.enum(MATCH_TYPES),
  match_confidence: z.number(),
  explanation: z.string(),
  entry: z.nullable(Entry),
});
export type ClassifyReply = z.infer<typeof ClassifyReply>;
