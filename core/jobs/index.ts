/**
 * Multi-agent jobs: an orchestrator spawns a job of N items; SQS workers or external agents
 * claim them (FOR UPDATE SKIP LOCKED, with leases), process them and complete or fail them; every
 * item's cost is reserved at spawn and settled exactly (core/credits).
 *
 * STUB: interface fixed; implemented by spawn.ts, query.ts, simulate.ts, cancel.ts, finalise.ts
 * (lifecycle) and claim.ts, items.ts, process-items.ts, sweep.ts (work).
 */
import type { Page } from "../platform/pagination.ts";
import type {
  CancelBody,
  CancelReply,
  ClaimBody,
  ClaimReply,
  CompleteBody,
  FailBody,
  HeartbeatBody,
  ItemListQuery,
  ItemMessage,
  ItemRecord,
  JobListQuery,
  JobRecord,
  JobSpawn,
  SimulateReply,
} from "./schema.ts";

const todo = (): never => {
  throw new Error("not implemented");
};

/** What the SQS worker reports per record: done, or retry (redelivered by SQS). */
export type ItemOutcome = "done" | "retry";

export interface SweepResult {
  leasesExpired: number;
  resent: number;
  finalised: number;
}

export const Jobs = {
  /** Reserve credits, insert job + items + status_history in one transaction; after commit, fan out. */
  spawn: async (_body: JobSpawn): Promise<JobRecord> => todo(),
  get: async (_id: string, _tenant?: string): Promise<JobRecord> => todo(),
  list: async (_query: JobListQuery): Promise<Page<JobRecord>> => todo(),
  items: async (_id: string, _query: ItemListQuery): Promise<Page<ItemRecord>> => todo(),
  /** The spawn body, executed not at all: estimated credits and duration, warnings, risks. */
  simulate: async (_body: JobSpawn): Promise<SimulateReply> => todo(),
  /** Cancel unclaimed items and refund them; twice gives the same answer and refunds once. */
  cancel: async (_id: string, _body: CancelBody): Promise<CancelReply> => todo(),
  /** Settle and close a job with no open items; false if it has some or is settled already. */
  finalise: async (_jobId: string): Promise<boolean> => todo(),
  /** External agents: claim up to max_items pending items of the job with a lease. */
  claim: async (_jobId: string, _body: ClaimBody): Promise<ClaimReply> => todo(),
  heartbeat: async (_itemId: string, _body: HeartbeatBody): Promise<ItemRecord> => todo(),
  complete: async (_itemId: string, _body: CompleteBody): Promise<ItemRecord> => todo(),
  fail: async (_itemId: string, _body: FailBody): Promise<ItemRecord> => todo(),
  /** The SQS worker: claim the batch's items, run their skill, complete or fail each. */
  processMessages: async (_messages: { messageId: string; body: ItemMessage }[]): Promise<Map<string, ItemOutcome>> =>
    todo(),
  /** Every minute: expired leases back to pending (or failed), lost messages re-sent, jobs finalised. */
  sweep: async (): Promise<SweepResult> => todo(),
};

export * from "./errors.ts";
export * from "./schema.ts";
