/**
 * The SQL of agent instances. Rows come back in wire shape; instants as UTC text with
 * microseconds (keyset cursors find their place exactly). `stale` is decided against $now so a
 * test's clock decides it too.
 */
import { isoUtc } from "../platform/db/index.ts";
import { statement } from "../platform/db/statement.ts";

/** $n: now; $m: AGENT_STALE_S. */
const columns = (now: string, staleS: string) => `a.id, a.tenant_id, a.name, a.capabilities, a.job_id, a.created_by,
  ${isoUtc("a.last_seen_at")} as last_seen_at, ${isoUtc("a.created_at")} as created_at,
  a.last_seen_at < CAST(${now} AS timestamptz) - make_interval(secs => ${staleS}) as stale,
  case when a.deregistered_at is null then 'active' else 'deregistered' end as status,
  ${isoUtc("a.deregistered_at")} as deregistered_at`;

/** $1 tenant, $2 name, $3 capabilities, $4 job, $5 actor, $6 now, $7 stale s. The inbox counter is created with it. */
export const insertAgent = /* @__PURE__ */ statement(
  () => `with a as (
      insert into agent_instances (tenant_id, name, capabilities, job_id, created_by, last_seen_at)
      values ($1, $2, CAST($3 AS text[]), $4, $5, $6) returning *),
    i as (insert into agent_inboxes (agent_id, tenant_id) select id, tenant_id from a)
    select ${columns("$6", "$7")} from a`,
);

/** $1 id, $2 tenant, $3 now, $4 stale s. */
export const getAgent = /* @__PURE__ */ statement(
  () => `select ${columns("$3", "$4")} from agent_instances a where a.id = $1 and a.tenant_id = $2`,
);

/** $1 tenant, $2 job or null, $3/$4 cursor (created_at, id) or null, $5 limit, $6 now, $7 stale s. Newest first. */
export const listAgents = /* @__PURE__ */ statement(
  () => `select ${columns("$6", "$7")} from agent_instances a
    where a.tenant_id = $1 and (CAST($2 AS uuid) is null or a.job_id = $2)
      and (CAST($3 AS timestamptz) is null or (a.created_at, a.id) < (CAST($3 AS timestamptz), CAST($4 AS uuid)))
    order by a.created_at desc, a.id desc limit $5`,
);

/** $1 id, $2 tenant, $3 now, $4 stale s. Seen now; no row for a deregistered instance. */
export const touchAgent = /* @__PURE__ */ statement(
  () => `update agent_instances a set last_seen_at = greatest(a.last_seen_at, CAST($3 AS timestamptz))
    where a.id = $1 and a.tenant_id = $2 and a.deregistered_at is null returning ${columns("$3", "$4")}`,
);

/** $1 id, $2 tenant: the instance exists in the tenant; `deregistered_at` null while it is active. */
export const agentExists = /* @__PURE__ */ statement(
  () =>
    `select ${isoUtc("a.deregistered_at")} as deregistered_at from agent_instances a where a.id = $1 and a.tenant_id = $2`,
);

/**
 * $1 id, $2 tenant: the instance's inbox counter deleted first (it waits for a send holding it to
 * commit), so no send stores a message for it afterwards.
 */
export const closeInbox = "delete from agent_inboxes where agent_id = $1 and tenant_id = $2";

/**
 * $1 id, $2 tenant, $3 now, $4 stale s: deregistered (a second time: as it was), its unacked live
 * messages dead-lettered at once (`dead_count`).
 */
export const deregisterAgent = /* @__PURE__ */ statement(
  () => `with d as (
      update agent_messages set dead_at = $3, leased_until = null
      where recipient_id = $1 and tenant_id = $2 and acked_at is null and dead_at is null returning 1),
    a as (
      update agent_instances set deregistered_at = coalesce(deregistered_at, CAST($3 AS timestamptz))
      where id = $1 and tenant_id = $2 returning *)
    select ${columns("$3", "$4")}, (select count(*) from d) as dead_count from a`,
);

/**
 * The agents sweep, across tenants: jobs settled (completed, failed or cancelled) after $1 and at
 * or before $2, after the keyset ($3 settled_at, $4 id) when given, $5 at most (jobs_settled_idx).
 */
export const settledJobs = `select id, tenant_id, settled_at from jobs
    where settled_at > $1 and settled_at <= $2
      and (CAST($3 AS timestamptz) is null or (settled_at, id) > (CAST($3 AS timestamptz), CAST($4 AS uuid)))
    order by settled_at, id limit $5`;
