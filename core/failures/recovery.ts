/**
 * Recovery tracking: an operator (or the code that retried) says whether recovery was attempted
 * and succeeded, with notes. `recovered_by` is the caller, `recovered_at` now (kept from the first
 * success). The change is appended to status_history (entity `failure`) in the same transaction,
 * and counted once committed (recovery_success_total / recovery_failure_total).
 */
import { actorName, useActor } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import * as Tenancy from "../tenancy/index.ts";
import { FailureNotFoundError } from "./errors.ts";
import { failureMetrics as m } from "./metrics.ts";
import * as sql from "./query.sql.ts";
import type { FailureRecord, RecoveryBody } from "./schema.ts";

type RecoveryState = "unrecovered" | "attempted" | "recovered";

const stateOf = (r: { recovery_attempted: boolean | null; recovery_succeeded: boolean | null }): RecoveryState =>
  r.recovery_succeeded ? "recovered" : r.recovery_attempted ? "attempted" : "unrecovered";

export async function updateRecovery(id: string, body: RecoveryBody, tenant?: string): Promise<FailureRecord> {
  const tenantId = await Tenancy.resolveTenant(tenant);
  const actor = actorName(useActor()).slice(0, 100);
  const now = clock().now();
  return withTx(async () => {
    const { rows: locked } = await query<{ recovery_attempted: boolean | null; recovery_succeeded: boolean | null }>(
      sql.lockForRecovery,
      [id, tenantId],
    );
    const before = locked[0];
    if (!before) throw new FailureNotFoundError(id);
    const succeeded = body.recovery_succeeded ?? before.recovery_succeeded ?? false;
    // A success implies an attempt.
    const attempted = succeeded || (body.recovery_attempted ?? before.recovery_attempted ?? false);
    const { rows } = await query<FailureRecord>(sql.updateRecovery, [
      id,
      tenantId,
      attempted,
      succeeded,
      now,
      actor,
      body.notes ?? null,
    ]);
    const row = rows[0] as FailureRecord;
    const from = stateOf(before);
    const to = stateOf(row);
    await StatusHistory.record({
      entity_type: "failure",
      entity_id: id,
      old_status: from,
      new_status: to,
      reason: body.notes ?? null,
      metadata: {
        catalog_entry_id: row.catalog_entry_id,
        recovery_attempted: attempted,
        recovery_succeeded: succeeded,
      },
      tenant_id: tenantId,
    });
    if (body.recovery_succeeded === true && from !== "recovered") afterCommit(() => m.recoverySuccess.inc());
    else if (body.recovery_succeeded === false || (body.recovery_attempted === true && !succeeded))
      afterCommit(() => m.recoveryFailure.inc());
    return row;
  });
}
