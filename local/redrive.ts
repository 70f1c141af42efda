/**
 * A restart of `npm start` finds work the previous run left half done: its SQS stand-in (fauxqs)
 * kept messages in memory, so every message not yet acknowledged died with it. SQS would have
 * redelivered them; the outboxes would re-send them only after their resend delay (an item's at
 * least 300 s, an export's 1200 s), and items the dead run held stay claimed until their leases
 * end. So, at start-up and only when the queue is that in-memory one: one jobs sweep, every
 * pending item's and export's message sent again, and one more sweep the moment the last lease
 * an SQS worker held ends (its item is then pending again and sent; a claim takes an ended lease
 * over at once). Workflows too: every running run's next step and every queued replay is sent
 * again through the workflows' outboxes (a replay still under the dead run's lease is re-sent by
 * the WorkflowSweep schedule a minute after that lease ends), and every costsim alert that waits
 * for an Alertmanager. A deployed AOS never runs this: SQS
 * keeps its messages.
 */
import { randomUUID } from "node:crypto";
import { withContext } from "../core/context.ts";
import * as Costsim from "../core/costsim/index.ts";
import * as Jobs from "../core/jobs/index.ts";
import { log } from "../core/platform/logger.ts";
import * as StatusHistory from "../core/status-history/index.ts";
import * as Workflows from "../core/workflows/index.ts";

/** Leases ending later than this are left to the JobSweep schedule. */
const MAX_WAIT_MS = 15 * 60_000;

const asSystem = <T>(fn: () => Promise<T>) => {
  const id = randomUUID();
  return withContext({ requestId: id, correlationId: id, actor: { type: "system", name: "local:redrive" } }, fn);
};

export interface Redrive {
  stop(): void;
}

export async function redriveLostMessages(out: (line: string) => void, now = Date.now): Promise<Redrive> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const jobs = await asSystem(() => Jobs.redrive());
    const exports = await asSystem(() => StatusHistory.redriveExports());
    const workflows = await asSystem(() => Workflows.redrive());
    const alerts = await asSystem(() => Costsim.redriveAlerts());
    const freed = jobs.leasesExpired ? `; ${jobs.leasesExpired} ended lease(s) freed` : "";
    out(
      `  redrive   ${jobs.redriven} job item(s), ${exports.resent} export(s), ${workflows.steps} workflow step(s), ${workflows.replays} replay(s) and ${alerts.resent} costsim alert(s) sent again (the queue lives in memory)${freed}`,
    );
    const end = jobs.lastLeaseEnd ? new Date(jobs.lastLeaseEnd).getTime() : undefined;
    if (end !== undefined && end - now() < MAX_WAIT_MS) {
      const wait = Math.max(0, end - now()) + 250;
      out(`            leases of the previous run end by ${new Date(end).toISOString()}: swept then`);
      timer = setTimeout(() => {
        asSystem(() => Jobs.sweep()).catch((e: unknown) => log.error("start-up sweep failed", { err: e }));
      }, wait);
    }
  } catch (e) {
    out(`  warning: could not re-drive the queue's lost messages (the sweepers will): ${(e as Error).message}`);
  }
  return { stop: () => clearTimeout(timer) };
}
