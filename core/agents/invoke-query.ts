/**
 * The read side of invokes: "what happened to invoke X?" (its audit row, its messages and
 * timings) and the tenant's invokes by job and by caller, newest first.
 */
import { useTenant } from "../context.ts";
import { query } from "../platform/db/index.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import { InvokeNotFoundError } from "./errors.ts";
import * as sql from "./invokes.sql.ts";
import * as messagesSql from "./messages.sql.ts";
import type { InvokeListQuery, InvokeRecord, InvokeTrace, MessageRecord } from "./schema.ts";

const msBetween = (from: string, to: string | null) =>
  to === null ? null : Math.max(0, Math.round(new Date(to).getTime() - new Date(from).getTime()));

/** The whole trace of one invoke of the caller's tenant; another tenant's is a 404. */
export async function trace(invokeId: string): Promise<InvokeTrace> {
  const tenantId = useTenant();
  const { rows } = await query<InvokeRecord>(sql.getInvoke, [tenantId, invokeId]);
  const row = rows[0];
  if (!row) throw new InvokeNotFoundError(invokeId);
  const messages = await query<MessageRecord>(messagesSql.invokeMessages, [tenantId, invokeId]);
  return {
    ...row,
    messages: messages.rows,
    timings: {
      to_receive_ms: msBetween(row.started_at, row.received_at),
      to_answer_ms: row.completed_at === null ? null : row.duration_ms,
    },
  };
}

/** The tenant's invokes, newest first, by job and/or caller (an instance id or `key:<id>`). */
export async function list(q: InvokeListQuery): Promise<Page<InvokeRecord>> {
  const [at, id] = decodeCursor(q.cursor, [cursorPart.wireTime, cursorPart.uuid]) ?? [null, null];
  const { rows } = await query<InvokeRecord>(sql.listInvokes, [
    useTenant(),
    q.job_id ?? null,
    q.caller ?? null,
    at,
    id,
    q.limit + 1,
  ]);
  return toPage(rows, q.limit, (r) => [r.started_at, r.invoke_id]);
}
