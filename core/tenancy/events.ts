/**
 * Tenancy events on the Events queue, sent after commit. They are notifications, not the source
 * of truth: Postgres already holds the change when they leave. Bodies are camelCase, carry the
 * tenant and a version (`v: 1`); see docs/decisions/0010-outbox.md for versions in flight.
 */
import * as z from "zod/mini";
import { config } from "../config.ts";
import { afterCommit } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { sendMessage } from "../platform/queue.ts";
import { acceptV0 } from "../platform/queue-message.ts";

export const TenancyEvent = z.discriminatedUnion("type", [
  z.object({ v: z.literal(1), type: z.literal("tenant.created"), tenantId: z.uuid(), slug: z.string() }),
  z.object({ v: z.literal(1), type: z.literal("key.created"), tenantId: z.uuid(), keyId: z.uuid(), role: z.string() }),
  z.object({
    v: z.literal(1),
    type: z.literal("key.revoked"),
    tenantId: z.uuid(),
    keyId: z.uuid(),
    prefix: z.string(),
  }),
]);
export type TenancyEvent = z.infer<typeof TenancyEvent>;

/** What the Events consumer accepts: v1, and for one release v0 (the same body without `v`). */
export const TenancyEventIn = acceptV0(TenancyEvent);

/** Queue the event once the current transaction commits (skipped where no Events queue exists, e.g. the CLI). */
export function emitAfterCommit(event: DistributiveOmit<TenancyEvent, "v">): void {
  if (!config().sqs.queueUrls.Events) {
    log.debug("no Events queue configured; event not sent", { type: event.type });
    return;
  }
  const body = { v: 1, ...event } as TenancyEvent;
  // queue.ts loads the SQS SDK on the first send: importing it here costs nothing at cold start.
  afterCommit(() => sendMessage("Events", body));
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
