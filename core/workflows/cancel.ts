/**
 * Cancel a running run: no further step starts, and what is left of its reserve goes back at
 * once (`release:wf:<run>`). An op already running may still finish: it is recorded in the log
 * (it happened) but not charged. A repeated cancel answers the cancelled run again.
 */

import { useTenant } from "../context.ts";
import * as Credits from "../credits/index.ts";
import { clock } from "../platform/clock.ts";
import { afterCommit, query, withTx } from "../platform/db/index.ts";
import * as StatusHistory from "../status-history/index.ts";
import { RunNotFoundError, RunNotRunningError } from "./errors.ts";
import { workflowMetrics as m } from "./metrics.ts";
import { getRun } from "./query.ts";
import type { RunRecord } from "./schema.ts";
import { RunStates } from "./states.ts";
import * as sql from "./workflows.sql.ts";

const units = (n: number) => Math.round(n * 10_000);

/**
 * @example
 *   const run = await Workflows.cancel(runId, "wrong input");
 */
export async function cancel(id: string, reason?: string): Promise<RunRecord> {
  const tenantId = useTenant();
  return withTx(async () => {
    const { rows } = await query<sql.RunRow & { reserved: number; charged: number }>(sql.lockRun, [id, tenantId]);
    const r = rows[0];
    if (!r) throw new RunNotFoundError(id);
    if (r.status === RunStates.cancelled) return getRun(id, tenantId);
    if (r.status !== RunStates.running) throw new RunNotRunningError(id, r.status);
    const rest = (units(r.reserved) - units(r.charged)) / 10_000;
    await Credits.releaseNow(tenantId, rest, `release:wf:${id}`, reason ?? `workflow ${r.workflow} cancelled`);
    await query(sql.moveRun, [
      id,
      tenantId,
      RunStates.cancelled,
      r.next_op_index,
      r.attempt,
      0,
      null,
      null,
      clock().now(),
      0,
    ]);
    await StatusHistory.record({
      entity_type: "workflow_run",
      entity_id: id,
      old_status: RunStates.running,
      new_status: RunStates.cancelled,
      ...(reason ? { reason } : {}),
      metadata: { next_op_index: r.next_op_index, released: rest },
    });
    afterCommit(() => m.runsFinished.inc({ status: RunStates.cancelled }));
    return getRun(id, tenantId);
  });
}
