/**
 * Permanent queue failures: a record that can never succeed (bad shape, a non-retryable error)
 * is written here and then acknowledged, instead of cycling to the DLQ or vanishing.
 * Idempotent per (queue, message id), so a redelivered record is recorded once.
 */
import { query } from "./db/index.ts";

export interface PermanentFailure {
  queue: string;
  messageId: string;
  tenantId?: string | undefined;
  body: string;
  errorCode: string;
  errorMessage: string;
  receiveCount: number;
}

export async function recordPermanentFailure(f: PermanentFailure): Promise<void> {
  await query(
    `insert into queue_failures (queue, message_id, tenant_id, body, error_code, error_message, receive_count)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (queue, message_id) do update set receive_count = excluded.receive_count`,
    [
      f.queue,
      f.messageId,
      f.tenantId ?? null,
      f.body.slice(0, 256 * 1024),
      f.errorCode,
      f.errorMessage.slice(0, 2000),
      f.receiveCount,
    ],
  );
}
