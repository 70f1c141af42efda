/**
 * Multi-agent jobs: an orchestrator spawns a job of N items; SQS workers or external agents
 * claim them (FOR UPDATE SKIP LOCKED, with leases), process them and complete or fail them; every
 * item's cost is reserved at spawn and settled exactly (core/credits).
 *
 * Lifecycle: spawn.ts, query.ts, simulate.ts, cancel.ts, finalise.ts (SQL in lifecycle.sql.ts).
 * Work: claim.ts, items.ts (heartbeat, complete, fail), process-items.ts (the SQS worker),
 * sweep.ts (SQL in work.sql.ts and sweep.sql.ts). Design: docs/decisions/0007-jobs-and-credits.md.
 *
 * The public face is this index of named exports, imported as a namespace
 * (`import * as Jobs from ".../core/jobs/index.ts"`, then `Jobs.spawn(...)`): esbuild keeps only
 * what a handler calls, so `GET /api/v1/jobs` does not carry the skills domain that spawn and the
 * SQS worker need.
 */
import { cancel } from "./cancel.ts";
import { claim } from "./claim.ts";
import { finalise } from "./finalise.ts";
import { itemDurations } from "./item-history.ts";
import { complete, completeMany, fail, heartbeat } from "./items.ts";
import { processMessages } from "./process-items.ts";
import { get, items, list } from "./query.ts";
import { simulate } from "./simulate.ts";
import { spawn, spawnOnce } from "./spawn.ts";
import { redrive, sweep } from "./sweep.ts";

/** What the SQS worker reports per record: done, or retry (redelivered by SQS). */
export type ItemOutcome = "done" | "retry";

export interface SweepResult {
  leasesExpired: number;
  resent: number;
  finalised: number;
}

export * from "./errors.ts";
export type { ItemDurations } from "./item-history.ts";
export * from "./schema.ts";
export {
  /** Cancel unclaimed items and refund them; twice gives the same answer and refunds once. */
  cancel,
  /** External agents: claim up to max_items pending items of the job with a lease. */
  claim,
  /** Done and charged, in one transaction; the job finalised after commit once nothing is open. */
  complete,
  /** Many held items done and charged in one statement; the others refused one by one. */
  completeMany,
  /** Back to pending while attempts remain (retryable), else failed and released. */
  fail,
  /** Settle and close a job with no open items; false if it has some or is settled already. */
  finalise,
  /** A job with its items counted by state and its credits. */
  get,
  /** Extend the lease of an item the worker holds (409 jobs.lease_lost otherwise). */
  heartbeat,
  /** The tenant's done items' durations per task (cost simulation's V2 history). */
  itemDurations,
  /** A job's items in order (keyset pagination). */
  items,
  /** The tenant's jobs, newest first (keyset pagination). */
  list,
  /** The SQS worker: claim the batch's items, run their skill, complete or fail each. */
  processMessages,
  /** After the queue lost every message (a local restart): a sweep, then every pending item's message again. */
  redrive,
  /** The spawn body, executed not at all: estimated credits and duration, warnings, risks. */
  simulate,
  /** Reserve credits, insert job + items + status_history in one transaction; after commit, fan out. */
  spawn,
  /** `spawn` with an Idempotency-Key: the same key and body answer the first job again (`replayed`). */
  spawnOnce,
  /** Every minute: expired leases back to pending (or failed), lost messages re-sent, jobs finalised. */
  sweep,
};
