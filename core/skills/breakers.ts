/**
 * The breakers on the wire: listing (the tenant's own and the shared ones) and the reset.
 * A tenant-scoped breaker names a host only that tenant calls, so no other tenant ever sees it.
 */
import { useActor } from "../context.ts";
import { ForbiddenError } from "../errors.ts";
import { type BreakerRow, closeBreaker, listBreakers as listOfKind } from "../platform/breaker/index.ts";
import * as Tenancy from "../tenancy/index.ts";
import { skillBreaker } from "./breaker.ts";
import { BreakerNotFoundError } from "./errors.ts";
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
  const rows = await listOfKind(skillBreaker, { tenantId, ...(q.state ? { state: q.state } : {}) });
  return { data: rows.map(toInfo) };
}

/**
 * Back to CLOSED with no failures, whatever the state; recorded in status_history with the
 * reason. `tenant` (slug or id) names a tenant-scoped breaker; without it, the shared breaker of
 * the target. An operator may reset its own tenant's breakers only: a shared breaker (every
 * tenant's calls depend on it) or another tenant's is an admin's. Throws BreakerNotFoundError
 * when there is no such breaker.
 *
 * @example
 *   await resetBreaker("webhook:hooks.example.com", { tenant: "acme", reason: "receiver fixed" });
 */
export async function resetBreaker(target: string, body: BreakerResetBody): Promise<BreakerInfo> {
  const actor = useActor();
  const admin = actor.type === "system" || (actor.type === "key" && actor.role === "admin");
  if (body.tenant === undefined && !admin)
    throw new ForbiddenError(
      "Only an admin key may reset a shared circuit breaker; name your tenant (tenant=) to reset one of its own",
      "auth.forbidden",
    );
  // resolveTenant refuses a non-admin naming another tenant (auth.cross_tenant).
  const tenantId = body.tenant === undefined ? null : await Tenancy.resolveTenant(body.tenant);
  const reason = `reset by ${admin ? "an admin" : "an operator"}${body.reason ? `: ${body.reason}` : ""}`;
  const closed = await closeBreaker(skillBreaker, { tenantId, target }, { reason });
  if (!closed) throw new BreakerNotFoundError(target);
  return toInfo(closed.row);
}
