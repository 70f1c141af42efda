/**
 * Status history's zod schemas (zod/mini, as every HTTP handler bundles them): what `record`
 * accepts, the filters shared by listing and exports, and the wire shapes of replies.
 */
import * as z from "zod/mini";
import { Actor, EntityId, EntityType, Status } from "../platform/history/index.ts";
import { PageQuery } from "../platform/pagination.ts";
import { acceptV0 } from "../platform/queue-message.ts";
import { TenantRef } from "../tenancy/index.ts";

export { EntityId, EntityType, HistoryEntry, Status } from "../platform/history/index.ts";

import { ExportStates } from "./export-states.ts";

const Timestamp = z.string().check(z.describe("ISO 8601 timestamp"));
/** An ISO 8601 instant with an explicit offset, as a query value; anything Date cannot read is a 400. */
const Instant = z.pipe(
  z.iso.datetime({ offset: true }).check(z.describe("ISO 8601 instant, e.g. 2026-11-22T10:00:00Z")),
  z.transform((v) => new Date(v)),
);

/** Filters shared by listing, stats and exports. `since` is inclusive, `until` exclusive. */
export const filterShape = {
  entity_type: z.optional(EntityType),
  entity_id: z.optional(EntityId),
  new_status: z.optional(Status),
  actor: z.optional(Actor),
  since: z.optional(Instant),
  until: z.optional(Instant),
};
export const HistoryFilters = z.strictObject(filterShape);
export type HistoryFilters = z.output<typeof HistoryFilters>;

/** `since` must come before `until`: the 400 names `since`. */
const sinceBeforeUntil = <T extends { since?: Date | undefined; until?: Date | undefined }>(s: z.ZodMiniType<T>) =>
  s.check(
    z.refine((f: T) => !(f.since && f.until && f.since >= f.until), {
      message: "since must be before until",
      path: ["since"],
    }),
  );

export const HistoryListQuery = sinceBeforeUntil(
  z.strictObject({
    ...PageQuery.shape,
    ...filterShape,
    order: z._default(z.enum(["asc", "desc"]), "desc"),
    tenant: z.optional(TenantRef),
  }),
);
export type HistoryListQuery = z.output<typeof HistoryListQuery>;

export const EntityPath = z.object({ type: EntityType, id: EntityId });
export const EntityQuery = z.strictObject({ ...PageQuery.shape, tenant: z.optional(TenantRef) });
export type EntityQuery = z.output<typeof EntityQuery>;

export const StatsQuery = sinceBeforeUntil(
  z.strictObject({
    since: z.optional(Instant),
    until: z.optional(Instant),
    entity_type: z.optional(EntityType),
    tenant: z.optional(TenantRef),
  }),
);
export type StatsQuery = z.output<typeof StatsQuery>;

/** A status history row on the wire. */
export const HistoryRecord = z.object({
  id: z.int(),
  tenant_id: z.uuid(),
  entity_type: z.string(),
  entity_id: z.string(),
  old_status: z.nullable(z.string()),
  new_status: z.string(),
  actor: z.string(),
  reason: z.nullable(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  correlation_id: z.nullable(z.string()),
  created_at: Timestamp,
});
export type HistoryRecord = z.infer<typeof HistoryRecord>;

const Count = z.object({ count: z.int() });
export const StatsReply = z.object({
  tenant_id: z.uuid(),
  since: Timestamp,
  until: Timestamp,
  total: z.int(),
  by_entity_type: z.array(z.extend(Count, { entity_type: z.string() })),
  by_new_status: z.array(z.extend(Count, { new_status: z.string() })),
  by_entity_type_and_status: z.array(z.extend(Count, { entity_type: z.string(), new_status: z.string() })),
  /** One bucket per hour of the window, oldest first, empty hours included. */
  hourly: z.array(z.extend(Count, { hour: Timestamp })),
});
export type StatsReply = z.infer<typeof StatsReply>;

export const ExportFormat = z.enum(["csv", "jsonl"]);
export const ExportStatus = z.enum([
  ExportStates.pending,
  ExportStates.running,
  ExportStates.ready,
  ExportStates.failed,
  ExportStates.expired,
]);

export const ExportCreate = z.strictObject({
  format: ExportFormat,
  filters: z._default(sinceBeforeUntil(HistoryFilters), {}),
  gzip: z._default(z.boolean(), false),
  /** Admin only: export another tenant's history (by id or slug). */
  tenant: z.optional(TenantRef),
});
export type ExportCreate = z.output<typeof ExportCreate>;

export const ExportIdPath = z.object({ id: z.uuid() });
export const ExportQuery = z.strictObject({ tenant: z.optional(TenantRef) });

/** An export on the wire. */
export const ExportRecord = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  status: ExportStatus,
  format: ExportFormat,
  gzip: z.boolean(),
  filters: z.record(z.string(), z.unknown()),
  row_count: z.nullable(z.int()),
  bytes: z.nullable(z.int()),
  sha256: z.nullable(z.string()),
  attempts: z.int(),
  last_error: z.nullable(z.string()),
  created_at: Timestamp,
  completed_at: z.nullable(Timestamp),
  expires_at: z.nullable(Timestamp),
});
export type ExportRecord = z.infer<typeof ExportRecord>;

/** The message of the StatusHistoryExports queue (v1): a wake-up call for an export row. */
export const ExportMessage = z.object({ v: z.literal(1), tenantId: z.uuid(), exportId: z.uuid() });
export type ExportMessage = z.infer<typeof ExportMessage>;

/** What the export worker accepts: v1, and for one release v0 (the same body without `v`). */
export const ExportMessageIn = acceptV0(ExportMessage);
export type ExportMessageIn = z.output<typeof ExportMessageIn>;
