/** The jobs domain's wire shapes (zod/mini). */
import * as z from "zod/mini";
import { Amount } from "../credits/index.ts";
import { PageQuery } from "../platform/pagination.ts";
import { TenantRef } from "../tenancy/index.ts";
import { ItemStates, JobStates } from "./states.ts";

/** A skill's name, or `external`: items processed by agents that claim them over HTTP. */
export const Task = z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "a skill name or external"));
export const WorkerId = z.string().check(z.minLength(1), z.maxLength(200));

export const JobSpawn = z.strictObject({
  task: Task,
  /** Each item's `input` is the skill's args (or what an external agent gets). */
  items: z.array(z.strictObject({ input: z.unknown() })).check(z.minLength(1), z.maxLength(10_000)),
  /** Items in flight at once, at most. */
  parallelism: z._default(z.int().check(z.minimum(1), z.maximum(1000)), 10),
  /**
   * An item's price (reserved at spawn; charged when it is done, released when it fails). For a
   * skill task, each item costs at least the skill's cost model for its input (this may add a
   * margin above it, never go below); an external item costs exactly this. Above 0 (price.ts).
   */
  credits_per_item: z._default(Amount, 1),
  max_attempts: z._default(z.int().check(z.minimum(1), z.maximum(20)), 3),
  /** The lease of an SQS worker's claim; external agents choose theirs per claim. */
  item_timeout_s: z._default(z.int().check(z.minimum(1), z.maximum(900)), 60),
  metadata: z.optional(z.record(z.string(), z.unknown())),
});
export type JobSpawn = z.output<typeof JobSpawn>;

export const JobStatus = z.enum([JobStates.running, JobStates.completed, JobStates.failed, JobStates.cancelled]);
export const ItemStatus = z.enum([
  ItemStates.pending,
  ItemStates.claimed,
  ItemStates.done,
  ItemStates.failed,
  ItemStates.cancelled,
]);

export const JobRecord = z.object({
  id: z.uuid(),
  tenant_id: z.uuid(),
  task: z.string(),
  status: JobStatus,
  parallelism: z.int(),
  credits_per_item: z.number(),
  max_attempts: z.int(),
  item_timeout_s: z.int(),
  items_total: z.int(),
  /** Items by state. */
  counts: z.object({
    pending: z.int(),
    claimed: z.int(),
    done: z.int(),
    failed: z.int(),
    cancelled: z.int(),
  }),
  credits: z.object({ reserved: z.number(), charged: z.number(), released: z.number(), refunded: z.number() }),
  metadata: z.record(z.string(), z.unknown()),
  created_by: z.string(),
  created_at: z.string(),
  finished_at: z.nullable(z.string()),
  settled_at: z.nullable(z.string()),
});
export type JobRecord = z.infer<typeof JobRecord>;

export const JobPath = z.object({ id: z.uuid() });
export const ItemPath = z.object({ id: z.uuid() });
export const TenantQuery = z.strictObject({ tenant: z.optional(TenantRef) });

export const JobListQuery = z.strictObject({
  ...PageQuery.shape,
  status: z.optional(JobStatus),
  task: z.optional(Task),
  tenant: z.optional(TenantRef),
});
export type JobListQuery = z.output<typeof JobListQuery>;

export const ItemListQuery = z.strictObject({
  ...PageQuery.shape,
  status: z.optional(ItemStatus),
  tenant: z.optional(TenantRef),
});
export type ItemListQuery = z.output<typeof ItemListQuery>;

export const ItemRecord = z.object({
  id: z.uuid(),
  job_id: z.uuid(),
  idx: z.int(),
  input: z.unknown(),
  status: ItemStatus,
  attempt: z.int(),
  claimed_by: z.nullable(z.string()),
  lease_until: z.nullable(z.string()),
  result: z.nullable(z.unknown()),
  error: z.nullable(z.unknown()),
  claimed_at: z.nullable(z.string()),
  finished_at: z.nullable(z.string()),
  duration_ms: z.nullable(z.int()),
});
export type ItemRecord = z.infer<typeof ItemRecord>;

export const ClaimBody = z.strictObject({
  worker_id: WorkerId,
  max_items: z._default(z.int().check(z.minimum(1), z.maximum(100)), 1),
  /** Default: the job's item_timeout_s. */
  lease_s: z.optional(z.int().check(z.minimum(1), z.maximum(3600))),
});
export type ClaimBody = z.output<typeof ClaimBody>;

export const ClaimedItem = z.object({ id: z.uuid(), input: z.unknown(), attempt: z.int(), lease_until: z.string() });
export const ClaimReply = z.object({ items: z.array(ClaimedItem) });
export type ClaimReply = z.infer<typeof ClaimReply>;

export const HeartbeatBody = z.strictObject({
  worker_id: WorkerId,
  lease_s: z.optional(z.int().check(z.minimum(1), z.maximum(3600))),
});
export type HeartbeatBody = z.output<typeof HeartbeatBody>;
export const CompleteBody = z.strictObject({ worker_id: WorkerId, result: z._default(z.unknown(), null) });
export type CompleteBody = z.output<typeof CompleteBody>;
/** Up to 100 items the worker holds, done in one statement (a claim's batch, an SQS batch). */
export const CompleteManyBody = z.strictObject({
  worker_id: WorkerId,
  items: z.array(z.strictObject({ id: z.uuid(), result: z._default(z.unknown(), null) })).check(
    z.minLength(1),
    z.maxLength(100),
    z.refine((items) => new Set(items.map((i) => i.id)).size === items.length, "each item once"),
  ),
});
export type CompleteManyBody = z.output<typeof CompleteManyBody>;
/** An item a batch completion finished: what the worker does not already know (it sent the result). */
export const CompletedItem = z.object({
  id: z.uuid(),
  job_id: z.uuid(),
  status: z.literal("done"),
  finished_at: z.string(),
  duration_ms: z.int(),
});
export type CompletedItem = z.infer<typeof CompletedItem>;
/** Each item either completed (and charged) or refused with the code a single complete would give. */
export const CompleteManyReply = z.object({
  completed: z.array(CompletedItem),
  refused: z.array(
    z.object({
      id: z.uuid(),
      error: z.object({ code: z.enum(["jobs.item_not_found", "jobs.lease_lost"]), message: z.string() }),
    }),
  ),
});
export type CompleteManyReply = z.infer<typeof CompleteManyReply>;
export const FailBody = z.strictObject({
  worker_id: WorkerId,
  error: z.union([z.string().check(z.maxLength(2000)), z.record(z.string(), z.unknown())]),
  /** true: back to pending until max_attempts; false: the item fails now. */
  retryable: z._default(z.boolean(), true),
});
export type FailBody = z.output<typeof FailBody>;
/** An item after heartbeat, complete or fail. */
export const ItemReply = ItemRecord;

export const CancelBody = z._default(z.strictObject({ reason: z.optional(z.string().check(z.maxLength(500))) }), {});
export type CancelBody = z.output<typeof CancelBody>;
/** The seed's contract (PIN-063), plus the items still in flight (they finish and are charged, or fail and are released). */
export const CancelReply = z.object({
  job_id: z.uuid(),
  status: z.literal("cancelled"),
  completed_items: z.int(),
  cancelled_items: z.int(),
  in_flight_items: z.int(),
  credits_refunded: z.number(),
});
export type CancelReply = z.infer<typeof CancelReply>;

export const SimulateReply = z.object({
  task: z.string(),
  items: z.int(),
  estimated_credits: z.number(),
  available_credits: z.number(),
  estimated_duration_s: z.number(),
  /** `history`: from recorded durations of the same task; `default`: none recorded yet. */
  duration_basis: z.enum(["history", "default"]),
  warnings: z.array(z.object({ code: z.string(), message: z.string() })),
  risks: z.array(z.object({ code: z.string(), message: z.string() })),
});
export type SimulateReply = z.infer<typeof SimulateReply>;

/** The SQS message of one item (v1): a wake-up call for a row that already exists. */
export const ItemMessage = z.object({ v: z.literal(1), tenantId: z.uuid(), jobId: z.uuid(), itemId: z.uuid() });
export type ItemMessage = z.infer<typeof ItemMessage>;

/**
 * What the JobItems worker accepts: v1, and for one release v0 (`{job_id, item_id}`, sent before
 * issue 13), read as `{v: 0, jobId, itemId}` with no tenant (the item's row names it).
 */
export const ItemMessageIn = z.union([
  ItemMessage,
  z.pipe(
    z.object({ job_id: z.uuid(), item_id: z.uuid() }),
    z.transform((m) => ({ v: 0 as const, tenantId: undefined, jobId: m.job_id, itemId: m.item_id })),
  ),
]);
export type ItemMessageIn = z.output<typeof ItemMessageIn>;
