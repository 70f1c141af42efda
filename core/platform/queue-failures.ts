/**
 * Permanent queue failures: a record that can never succeed (bad JSON, a body its schema refuses,
 * a `permanent` outcome) is written here and then acknowledged, instead of cycling to the DLQ or
 * vanishing. One row per (queue, message id): a redelivered record (its acknowledgement lost)
 * only updates the row's receive count, so it is recorded once.
 */
import { query } from "./db/index.ts";

export interface PermanentFailure {
  queue: string;
  messageId: string;
  /** The record's tenant when it names one; anything but a UUID is dropped (the column is uuid). */
  tenantId?: string | undefined;
  body: string;
  errorCode: string;
  errorMessage: string;
  receiveCount: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A tenant id fit for the `tenant_id` column, or undefined. */
export function tenantIdOf(value: unknown): string | undefined {
  return typeof value === "string" && UUID.test(value) ? value : undefined;
}

/** Record the failure; true when this call recorded it, false when the record was recorded before. */
export async function recordPermanentFailure(f: PermanentFailure): Promise<boolean> {
  const { rows } = await query<{ inserted: boolean }>(
    `insert into queue_failures (queue, message_id, tenant_id, body, error_code, error_message, receive_count)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (queue, message_id) do update set receive_count = excluded.receive_count
     returning (xmax = 0) as inserted`,
    [
      f.queue,
      f.messageId,
      tenantIdOf(f.tenantId) ?? null,
      f.body.slice(0, 256 * 1024),
      f.errorCode,
      f.errorMessage.slice(0, 2000),
      f.receiveCount,
    ],
  );
  return rows[0]?.inserted ?? false;
}
