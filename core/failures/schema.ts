/** The failure catalog's schemas (zod/mini): the queued record, and the API's requests and replies. */
import * as z from "zod/mini";
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
