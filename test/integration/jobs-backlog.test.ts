/**
 * The jobs' backlog gauges: the sweeper sets them from the tables at the end of each run
 * (pending and claimed items, stuck claims, the oldest waiting job's age).
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { recordBacklog, STUCK_AFTER_S } from "../../core/jobs/backlog.ts";
import * as Jobs from "../../core/jobs/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { asKey as as, spawnBody as body, checkedTenants } from "../factories/jobs.ts";
import { metricValue } from "../setup/metrics-catalog.ts";

const tenant = checkedTenants();
const asSystem = <T>(fn: () => Promise<T>) =>
  withContext(
    { requestId: randomUUID(), correlationId: "sweep", actor: { type: "system", name: "cron:JobSweep" } },
    fn,
  );

afterEach(() => setClock(systemClock));

const gauges = async () => ({
  pending: await metricValue('aos_job_backlog_items{status="pending"}'),
  claimed: await metricValue('aos_job_backlog_items{status="claimed"}'),
  stuck: await metricValue("aos_job_stuck_items"),
  oldest: await metricValue("aos_job_oldest_backlog_age_seconds"),
});

describe("backlog gauges", () => {
  it("the sweeper sets pending, claimed and the oldest waiting job's age; they fall as work finishes", async () => {
    // This file's database is its own: nothing else is open.
    const manual = new ManualClock(Date.now());
    setClock(manual);
    const w = await tenant(10);
    const job = await as(w, () => Jobs.spawn(body({ n: 5 })));
    const claimed = await as(w, () => Jobs.claim(job.id, { worker_id: "w-1", max_items: 2, lease_s: 300 }));
    expect(claimed.items).toHaveLength(2);
    manual.advance(90_000);

    await asSystem(() => Jobs.sweep());
    const g = await gauges();
    expect(g).toMatchObject({ pending: 3, claimed: 2, stuck: 0 });
    // The job's created_at is Postgres' now(), a moment after the manual clock started.
    expect(g.oldest).toBeGreaterThanOrEqual(85);
    expect(g.oldest).toBeLessThan(200);

    await as(w, () => Jobs.cancel(job.id, {}));
    for (const i of claimed.items) await as(w, () => Jobs.complete(i.id, { worker_id: "w-1", result: { ok: true } }));
    await asSystem(() => Jobs.sweep());
    expect(await gauges()).toEqual({ pending: 0, claimed: 0, stuck: 0, oldest: 0 });
  });

  it("counts a claim whose lease ended long ago as stuck, and not one still leased", async () => {
    // Ahead of the first test's clock: a gauge keeps its newest write, by the writer's clock.
    const manual = new ManualClock(Date.now() + 600_000);
    setClock(manual);
    const w = await tenant(10);
    const job = await as(w, () => Jobs.spawn(body({ n: 2 })));
    const { items } = await as(w, () => Jobs.claim(job.id, { worker_id: "w-1", max_items: 2, lease_s: 30 }));
    const [first] = items;
    if (!first) throw new Error("an item expected");
    // One lease ends beyond the stuck threshold (as if the sweeper had stopped), the other is live.
    await query("update job_items set lease_until = $2 where id = $1", [
      first.id,
      new Date(manual.nowMs() - (STUCK_AFTER_S + 5) * 1000),
    ]);
    expect(await recordBacklog()).toMatchObject({ pending: 0, claimed: 2, stuck: 1 });
    expect(await metricValue("aos_job_stuck_items")).toBe(1);

    // The sweeper returns it to pending: nothing is stuck after its run.
    await asSystem(() => Jobs.sweep());
    expect(await gauges()).toMatchObject({ pending: 1, claimed: 1, stuck: 0 });
    await as(w, () => Jobs.cancel(job.id, {}));
    const second = items[1];
    if (second) await as(w, () => Jobs.complete(second.id, { worker_id: "w-1", result: { ok: true } }));
    await asSystem(() => Jobs.sweep());
  });
});
