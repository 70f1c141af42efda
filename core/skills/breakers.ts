/**
 * The breakers on the wire: listing (the tenant's own and the shared ones) and the admin reset.
 * A tenant-scoped breaker names a host only that tenant calls, so no other tenant ever sees it.
 */
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import * as Tenancy from "../tenancy/index.ts";
import { recordTransition } from "./breaker.ts";
import { type BreakerRow, sql } from "./breakers.sql.ts";
import { BreakerNotFoundError } from "./errors.ts";
import { skillMetrics as m } from "./metrics.ts";
import type { BreakerInfo, BreakerListQuery, BreakerResetBody } from "./schema.ts";

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toInfo(r: BreakerRow): BreakerInfo {
  return {
    target: r.target,
    tenant_id: r.tenant_id,
    state: r.state,
    failure_count: r.failure_count,
    last_failure_at: iso(r.last_failure_at),
    last_error: r.last_error,
    opened_at: iso(r.opened_at),
    cooldown_until: iso(r.cooldown_until),
    updated_at: r.updated_at.toISOString(),
  };
}

/**
 * The caller's tenant's breakers (an admin may name another tenant) and every shared one, most
 * recently changed first. The state is the stored one: an OPEN breaker whose cooldown is over
 * stays OPEN here until the next call lets its probe through.
 *
 * @example
 *   const { data } = await listBreakers({ state: "OPEN" });
 */
export async function listBreakers(q: BreakerListQuery): Promise<{ data: BreakerInfo[] }> {
  const tenantId = await Tenancy.resolveTenant(q.tenant);
  const { rows } = await query<BreakerRow>(sql.list, [tenantId, q.state ?? null]);
  return { data: rows.map(toInfo) };
}

/**
 * Admin: back to CLOSED with no failures, whatever the state; recorded in status_history with the
 * reason. `tenant` (slug or id) names a tenant-scoped breaker; without it, the shared breaker of
 * the target. Throws BreakerNotFoundError when there is no such breaker.
 *
 * @example
 *   await resetBreaker("webhook:hooks.example.com", { tenant: "acme", reason: "receiver fixed" });
 */
export async function resetBreaker(target: string, body: BreakerResetBody): Promise<BreakerInfo> {
  const tenantId = body.tenant === undefined ? null : await Tenancy.resolveTenant(body.tenant);
  const { row, from } = await withTx(async () => {
    const { rows: locked } = await query<BreakerRow>(sql.lock, [target, tenantId]);
    const before = locked[0];
    if (!before) throw new BreakerNotFoundError(target);
    const { rows } = await query<BreakerRow>(sql.reset, [before.id, clock().now()]);
    const after = rows[0] as BreakerRow;
    await recordTransition({
      row: after,
      from: before.state,
      reason: `reset by an admin${body.reason ? `: ${body.reason}` : ""}`,
      metadata: { failure_count_before: before.failure_count },
    });
    return { row: after, from: before.state };
  });
  if (from !== "CLOSED") m.breakerCloses.inc({ target });
  return toInfo(row);
}
