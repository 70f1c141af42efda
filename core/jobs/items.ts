/**
 * What a worker does with an item it holds: `heartbeat` (extend the lease), `complete` (done and
 * charged) or `fail` (back to pending while attempts remain, else failed and released).
 *
 * A worker holds an item while the item is claimed by its worker id and the lease has not ended;
 * otherwise it gets 409 `jobs.lease_lost`. Each change is one conditional UPDATE whose ledger row
 * (`charge:<item>` / `release:<item>`, unique; a batch's one `charge:<first>..<last>` row) is
 * written in the same transaction, so a repeated call charges nothing twice. The `jobs` row is never updated per item (a busy job would queue
 * every worker on it): finalisation runs after commit, once no item is open.
 *
 * Who checks whether the job is finished: a completion whose own statement still saw a pending
 * item of the job, asked after its item was locked (`pending_left`), does not; whoever finishes
 * that pending item later will, and will see this item done or wait for its commit
 * (`finaliseIfFinished`). So the check, a round trip, runs only for a job's last items, and the
 * job is still finalised the moment its last item is (no sweeper needed). Final failures and
 * cancels with items in flight always check (they are rare); lease expiries are the sweeper's.
 */
import { actorName, useActor, useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import type { AppError } from "../errors.ts";
import { inBackground } from "../platform/background.ts";
import { clock } from "../platform/clock.ts";
import { query, withTx } from "../platform/db/index.ts";
import { actAs } from "../platform/history/index.ts";
import { log } from "../platform/logger.ts";
import { enqueueAfterCommit } from "../platform/outbox/index.ts";
import { ItemNotFoundError, LeaseLostError } from "./errors.ts";
import { finalise } from "./finalise.ts";
import { recordItemFailure } from "./item-failure.ts";
import { itemOutbox } from "./item-outbox.ts";
import { jobMetrics } from "./metrics.ts";
import type {
  CompleteBody,
  CompletedItem,
  CompleteManyBody,
  CompleteManyReply,
  FailBody,
  HeartbeatBody,
  ItemRecord,
} from "./schema.ts";
import { EXTERNAL_TASK } from "./spawn.ts";
import { ItemStates } from "./states.ts";
import * as sql from "./work.sql.ts";

type Held = ItemRecord & { tenant_id: string; credits: number };
/** A completed row: `pending_left` false means this completion may have been the job's last. */
type Completed = Held & { pending_left: boolean | null };
/** A row of completeMany: slim, with what finalisation needs. */
type CompletedMany = CompletedItem & { tenant_id: string; pending_left: boolean | null };
type Failed = Held & { retried: boolean; task: string };
type Refused = CompleteManyReply["refused"][number];

/** The wire shape, without the columns the statements return for their own use. */
function toRecord(r: ItemRecord): ItemRecord {
  return {
    id: r.id,
    job_id: r.job_id,
    idx: r.idx,
    input: r.input,
    status: r.status,
    attempt: r.attempt,
    claimed_by: r.claimed_by,
    lease_until: r.lease_until,
    result: r.result,
    error: r.error,
    claimed_at: r.claimed_at,
    finished_at: r.finished_at,
    duration_ms: r.duration_ms,
  };
}

interface ItemState {
  status: string;
  claimed_by: string | null;
  lease_until: Date | null;
}

/** Why the worker does not hold an item in `row` (undefined: not the tenant's): 404 or 409 lease_lost. */
function refusalOf(itemId: string, row: ItemState | undefined, workerId: string, now: Date): AppError {
  if (!row) return new ItemNotFoundError(itemId);
  if (row.status !== ItemStates.claimed) return new LeaseLostError(itemId, `it is ${row.status}`);
  if (row.claimed_by !== workerId) return new LeaseLostError(itemId, "another worker holds it");
  return new LeaseLostError(
    itemId,
    `its lease ended at ${row.lease_until?.toISOString() ?? "?"} (now ${now.toISOString()})`,
  );
}

/** Why the worker does not hold the item: 404 when it is not the tenant's, else 409 lease_lost. */
async function refusal(itemId: string, tenantId: string, workerId: string, now: Date): Promise<AppError> {
  const { rows } = await query<ItemState>(sql.itemState, [itemId, tenantId]);
  return refusalOf(itemId, rows[0], workerId, now);
}

/**
 * Extend the lease of an item the worker holds, by `lease_s` or the job's item_timeout_s from now.
 *
 * @example
 *   await Jobs.heartbeat(item.id, { worker_id: "agent-7", lease_s: 120 });
 */
export async function heartbeat(itemId: string, body: HeartbeatBody): Promise<ItemRecord> {
  const tenantId = useTenant();
  const now = clock().now();
  const { rows } = await query<Held>(sql.heartbeat, [itemId, tenantId, body.worker_id, now, body.lease_s ?? null]);
  const row = rows[0];
  if (!row) throw await refusal(itemId, tenantId, body.worker_id, now);
  return toRecord(row);
}

/**
 * The worker finished the item: done with its result and charged its price (fixed at spawn), in
 * one statement. 409 `jobs.lease_lost` when the worker no longer holds it (nothing written).
 *
 * @example
 *   await Jobs.complete(item.id, { worker_id: "agent-7", result: { summary: "..." } });
 */
export async function complete(itemId: string, body: CompleteBody): Promise<ItemRecord> {
  const tenantId = useTenant();
  const now = clock().now();
  // One statement updates the item and writes its charge: atomic, and no begin/commit round trips.
  const { rows } = await query<Completed>(sql.complete, [
    itemId,
    tenantId,
    body.worker_id,
    now,
    JSON.stringify(body.result ?? null),
    actorName(useActor()),
  ]);
  const row = rows[0];
  if (!row) {
    // The same completion again (a retry after a lost reply): the first answer, nothing charged twice.
    const same = await query<ItemRecord>(sql.completedAlready, [
      itemId,
      tenantId,
      body.worker_id,
      JSON.stringify(body.result ?? null),
    ]);
    if (same.rows[0]) return toRecord(same.rows[0]);
    throw await refusal(itemId, tenantId, body.worker_id, now);
  }
  jobMetrics.items.inc({ outcome: "done" });
  if (!row.pending_left) await finaliseIfFinished(row.job_id);
  return toRecord(row);
}

/**
 * Many items the worker holds done and charged in one statement (a claim's batch): what one
 * `complete` per item would do, at the price of one. Items the worker does not hold are refused
 * one by one with the code a single complete would give, and change nothing; the others are
 * done all the same, and charged by ONE ledger row per job naming them (`item_ids`). Repeating
 * the call charges nothing twice (each item is refused then). The reply is slim (CompletedItem).
 *
 * @example
 *   const { completed, refused } = await Jobs.completeMany({
 *     worker_id: "agent-7",
 *     items: claimed.map((i) => ({ id: i.id, result: { ok: true } })),
 *   });
 */
export function completeMany(body: CompleteManyBody): Promise<CompleteManyReply> {
  return completeHeld(body.items.map((i) => ({ id: i.id, worker_id: body.worker_id, result: i.result })));
}

/** What `completeMany` does, each item with its own worker id (the SQS worker's are per message). */
export async function completeHeld(
  items: readonly { id: string; worker_id: string; result: unknown }[],
): Promise<CompleteManyReply> {
  const tenantId = useTenant();
  const now = clock().now();
  const { rows } = await query<CompletedMany>(sql.completeMany, [
    items.map((i) => i.id),
    tenantId,
    now,
    actorName(useActor()),
    items.map((i) => i.worker_id),
    JSON.stringify(items.map((i) => i.result ?? null)),
  ]);
  jobMetrics.items.inc({ outcome: "done" }, rows.length);
  const done = new Set(rows.map((r) => r.id));
  let missing = items.filter((i) => !done.has(i.id));
  const refused: Refused[] = [];
  const repeated: CompletedItem[] = [];
  if (missing.length) {
    // Items this worker already completed with the same result: answered as completed again.
    const same = await query<CompletedItem>(sql.completedAlreadyMany, [
      missing.map((i) => i.id),
      tenantId,
      missing.map((i) => i.worker_id),
      JSON.stringify(missing.map((i) => i.result ?? null)),
    ]);
    repeated.push(...same.rows);
    const again = new Set(same.rows.map((r) => r.id));
    missing = missing.filter((i) => !again.has(i.id));
  }
  if (missing.length) {
    const states = await query<ItemState & { id: string }>(sql.itemStates, [missing.map((i) => i.id), tenantId]);
    const byId = new Map(states.rows.map((r) => [r.id, r]));
    for (const i of missing) {
      const e = refusalOf(i.id, byId.get(i.id), i.worker_id, now);
      refused.push({ id: i.id, error: { code: e.code as Refused["error"]["code"], message: e.message } });
    }
  }
  for (const r of rows) if (r.pending_left === false) await finaliseIfFinished(r.job_id);
  const order = new Map(items.map((i, n) => [i.id, n]));
  const completed: CompletedItem[] = [...rows, ...repeated].map((r) => ({
    id: r.id,
    job_id: r.job_id,
    status: ItemStates.done,
    finished_at: r.finished_at,
    duration_ms: r.duration_ms,
  }));
  completed.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
  return { completed, refused };
}

/**
 * The worker could not process the item. Retryable, with attempts left and the job still running:
 * back to pending (the error kept; a skill job's item gets a new queue message after commit).
 * Otherwise failed and its credits released, in the same transaction. `opts.retryDelayS`: SQS
 * holds a retried item's message back this long (Failures.retryDelayS: whole seconds, <= 900).
 *
 * @example
 *   await Jobs.fail(item.id, { worker_id: "agent-7", error: "upstream 503", retryable: true });
 */
export async function fail(itemId: string, body: FailBody, opts: { retryDelayS?: number } = {}): Promise<ItemRecord> {
  const tenantId = useTenant();
  const now = clock().now();
  const error = typeof body.error === "string" ? { message: body.error } : body.error;
  const row = await withTx(async () => {
    await actAs();
    // Only a retry can reopen the item, and only a retry must not race a cancel (see lockItemJob).
    if (body.retryable) await query(sql.lockItemJob, [itemId, tenantId]);
    const { rows } = await query<Failed>(sql.fail, [
      itemId,
      tenantId,
      body.worker_id,
      now,
      body.retryable,
      JSON.stringify(error),
    ]);
    const r = rows[0];
    if (!r) throw await refusal(itemId, tenantId, body.worker_id, now);
    if (!r.retried) await Credits.release(tenantId, r.job_id, r.id, r.credits);
    else if (r.task !== EXTERNAL_TASK)
      enqueueAfterCommit(
        itemOutbox,
        [{ id: r.id, job_id: r.job_id, tenant_id: r.tenant_id }],
        opts.retryDelayS ? { delayS: opts.retryDelayS } : {},
      );
    return r;
  });
  jobMetrics.items.inc({ outcome: row.retried ? "retried" : "failed" });
  // Off the failing path: written beside the caller, finished before the invocation ends.
  if (!row.retried) inBackground(recordItemFailure(row, error));
  if (!row.retried) await finaliseIfFinished(row.job_id);
  return toRecord(row);
}

/**
 * After an item's commit: finalise its job once no item is pending or in flight. The check
 * (`openItem`) waits for every transaction still changing one of the job's open items, so an
 * item whose completion is committing counts as finished, never as still open: of completions
 * racing at the end of a job, the one that checks last finalises it (twice is harmless,
 * finalisation settles once). A failure is logged: the sweeper finalises the job later.
 */
export async function finaliseIfFinished(jobId: string): Promise<void> {
  try {
    const { rows } = await query(sql.openItem, [jobId]);
    if (rows.length > 0) return;
    await finalise(jobId);
  } catch (e) {
    log.error("job finalisation failed; the sweeper tries again", { jobId, err: e });
  }
}
