/**
 * Tenancy events on the Events queue, sent after commit. They are notifications, not the source
 * of truth: Postgres already holds the change when they leave.
 */
import * as z from "zod/mini";
import { config } from "../config.ts";
import { afterCommit } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { sendMessage } from "../platform/queue.ts";

export const TenancyEvent = z.discriminatedUnion("type", [
  z.object({ type: z.literal("tenant.created"), tenantId: z.uuid(), slug: z.string() }),
  z.object({ type: z.literal("key.created"), tenantId: z.uuid(), keyId: z.uuid(), role: z.string() }),
  z.object({ type: z.literal("key.revoked"), tenantId: z.uuid(), keyId: z.uuid(), prefix: z.string() }),
]);
export type TenancyEvent = z.infer<typeof TenancyEvent>;

/** Queue the event once the current transaction commits (skipped where no Events queue exists, e.g. the CLI). */
export function emitAfterCommit(event: TenancyEvent): void {
  if (!config().sqs.queueUrls.Events) {
    log.debug("no Events queue configured; event not sent", { type: event.type });
    return;
  }
  // queue.ts loads the SQS SDK on the first send: importing it here costs nothing at cold start.
  afterCommit(() => sendMessage("Events", event));
}
