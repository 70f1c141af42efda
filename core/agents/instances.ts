/**
 * Agent instances of a tenant: register, read, list, heartbeat; and which instance a request
 * acts as. An agent key acts as one of its tenant's instances by naming it in the
 * `X-AOS-Agent-Id` header (checked against the key's tenant); without the header the key acts
 * as itself, written `key:<id>` where an instance id would be (a message's sender, an invoke's
 * caller). One key can thus serve several instances of its tenant (a worker pool) without a key
 * per instance.
 */

import { config } from "../config.ts";
import { actorName, useActor, useTenant } from "../context.ts";
import { ValidationError } from "../errors.ts";
import * as Jobs from "../jobs/index.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import * as sql from "./agents.sql.ts";
import { AgentDeregisteredError, AgentNotFoundError } from "./errors.ts";
import { agentMetrics } from "./metrics.ts";
import type { AgentListQuery, AgentRecord, AgentRegister } from "./schema.ts";

/** The header an agent key names its instance with. */
export const AGENT_HEADER = "x-aos-agent-id";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const staleS = () => config().agents.staleS;

/** Register an instance of the caller's tenant (its inbox with it). */
export async function register(body: AgentRegister): Promise<AgentRecord> {
  const tenantId = useTenant();
  await assertJob(body.job_id);
  const { rows } = await query<AgentRecord>(sql.insertAgent, [
    tenantId,
    body.name,
    body.capabilities,
    body.job_id ?? null,
    actorName(useActor()),
    clock().now(),
    staleS(),
  ]);
  return rows[0] as AgentRecord;
}

/** One instance of the caller's tenant; another tenant's is a 404. */
export async function get(id: string): Promise<AgentRecord> {
  const { rows } = await query<AgentRecord>(sql.getAgent, [id, useTenant(), clock().now(), staleS()]);
  if (!rows[0]) throw new AgentNotFoundError(id);
  return rows[0];
}

/** The tenant's instances, newest first, optionally of one job. */
export async function list(q: AgentListQuery): Promise<Page<AgentRecord>> {
  const [at, id] = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]) ?? [null, null];
  const { rows } = await query<AgentRecord>(sql.listAgents, [
    useTenant(),
    q.job_id ?? null,
    at,
    id,
    q.limit + 1,
    clock().now(),
    staleS(),
  ]);
  return toPage(rows, q.limit, (r) => [r.created_at, r.id]);
}

/** The instance was seen now (a heartbeat; a receive does it too); 410 once deregistered. */
export async function heartbeat(id: string): Promise<AgentRecord> {
  const { rows } = await query<AgentRecord>(sql.touchAgent, [id, useTenant(), clock().now(), staleS()]);
  if (!rows[0]) {
    await assertInstance(id);
    throw new AgentNotFoundError(id);
  }
  return rows[0];
}

/**
 * Deregister an instance of the caller's tenant (soft: the row stays, `status: deregistered`):
 * its inbox is closed (a send to it is a 410), its unacked messages become dead letters at once
 * (listed with the tenant's dead letters; replaying one is a 410), and it heartbeats, receives,
 * acts and is invoked no more (410). Invokes it was answering are left to their deadline. A
 * second call answers the same row.
 */
export async function deregister(id: string): Promise<AgentRecord> {
  const tenantId = useTenant();
  const row = await withTx(async () => {
    await query(sql.closeInbox, [id, tenantId]);
    const { rows } = await query<AgentRecord & { dead_count: number }>(sql.deregisterAgent, [
      id,
      tenantId,
      clock().now(),
      staleS(),
    ]);
    return rows[0];
  });
  if (!row) throw new AgentNotFoundError(id);
  const { dead_count: dead, ...record } = row;
  if (Number(dead) > 0) agentMetrics.messages.inc({ event: "dead" }, Number(dead));
  return record;
}

/** 404 unless `id` is an instance of the caller's tenant; 410 when it was deregistered. */
export async function assertInstance(id: string): Promise<void> {
  const { rows } = await query<{ deregistered_at: string | null }>(sql.agentExists, [id, useTenant()]);
  const row = rows[0];
  if (!row) throw new AgentNotFoundError(id);
  if (row.deregistered_at !== null) throw new AgentDeregisteredError(id, row.deregistered_at);
}

/**
 * Who the request acts as: the instance named by `X-AOS-Agent-Id` (400 when it is not a uuid,
 * 404 when it is not the tenant's, 410 when it was deregistered), else the key itself (`key:<id>`).
 */
export async function actingAs(headers: Record<string, string | undefined>): Promise<string> {
  const named = headers[AGENT_HEADER];
  if (named === undefined || named === "") return actorName(useActor());
  if (!UUID.test(named))
    throw new ValidationError("Invalid agent instance", [{ field: `headers.${AGENT_HEADER}`, message: "not a uuid" }]);
  const id = named.toLowerCase();
  await assertInstance(id);
  return id;
}

/** 404 (jobs.not_found) unless `jobId` (when given) is a job of the caller's tenant. */
export async function assertJob(jobId: string | undefined): Promise<void> {
  if (jobId !== undefined) await Jobs.get(jobId);
}
