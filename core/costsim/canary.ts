/**
 * The canary (seed 004 M6.2, seed 001 #5): V2 on the five reference datasets, and the
 * comparisons every tenant's shadow made in the last COSTSIM_CANARY_WINDOW_HOURS judged by KL
 * divergence over fixed bins; its report stored (costsim_canary_reports). A failure disables V2
 * (breaker.ts, trigger `canary`); the drift breaker re-enables V2 after its TTL only when the
 * latest canary since its trip passed.
 *
 * One run at a time, whichever starts it (the daily CostsimCanary cron, POST
 * /api/v1/costsim/canary/run): the run inserts its report as 'running', and a unique partial
 * index admits one such row. That is leader election that holds through Neon's pooled endpoint
 * (a session advisory lock does not: the pooler shares sessions) and needs no transaction open
 * for the run's length. The lease (COSTSIM_CANARY_LEASE_S) ends a dead runner's leadership: the
 * next run marks it 'abandoned'. The others step aside (CanaryRunningError, 409).
 *
 * Its look at recent traffic is replay.ts: the deployed V1 and V2 run again on the newest inputs
 * the shadow recorded (every tenant's), so a V2 deployed since is judged on the plans its
 * predecessor saw, and a V2 the drift breaker disabled is judged on the inputs that tripped it.
 *
 * Outcomes: `failed` when a dataset fails its thresholds or the replay fails (KL(V1 || V2) of
 * credits above COSTSIM_CANARY_MAX_KL, or V2 failing on an input); `passed` when every dataset
 * passes (the replay passing, or without enough inputs: insufficient data for that check, shown
 * as such, which neither fails nor passes it); `insufficient_data` when a dataset has too few
 * samples to judge.
 */
import { config } from "../config.ts";
import { actorName, useActor } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import { log } from "../platform/logger.ts";
import { cursorPart, decodeCursor, type Page, toPage } from "../platform/pagination.ts";
import { tripOnCanary } from "./breaker.ts";
import type { CanaryRow } from "./canary.sql.ts";
import * as sql from "./canary.sql.ts";
import { validateAllDatasets } from "./dataset-routes.ts";
import { CanaryReportNotFoundError, CanaryRunningError } from "./errors.ts";
import { publicActor } from "./incidents.ts";
import { costsimMetrics as m } from "./metrics.ts";
import { replayFailures, replayRecent } from "./replay.ts";

export type CanaryStatus = CanaryRow["status"];

/** A canary report as the API shows it. */
export interface CanaryReport {
  id: string;
  status: CanaryStatus;
  trigger: "schedule" | "api";
  requested_by: string;
  started_at: string;
  finished_at: string | null;
  lease_until: string;
  failures: string[];
  report: Record<string, unknown> | null;
}

const view = (r: CanaryRow): CanaryReport => ({
  id: r.id,
  status: r.status,
  trigger: r.trigger,
  requested_by: publicActor(r.requested_by),
  started_at: r.started_at.toISOString(),
  finished_at: r.finished_at?.toISOString() ?? null,
  lease_until: r.lease_until.toISOString(),
  failures: r.failures,
  report: r.report,
});

/** The datasets' part: V2 against each, with its checks (the failures name what missed). */
function datasetsCheck() {
  const { data } = validateAllDatasets("v2");
  return data.map((d) => ({
    name: d.id,
    version: d.version,
    passed: d.passed,
    insufficient_data: d.v2?.insufficient_data ?? false,
    checks: d.v2?.checks ?? {},
    misses: (d.v2?.misses ?? []).slice(0, 10),
  }));
}

/**
 * One canary run, unless another holds the leadership (CanaryRunningError). Its report is stored;
 * a failure disables V2 (or keeps it disabled another TTL).
 *
 * @example
 *   const r = await Costsim.runCanary({ trigger: "api" }); // { status: "passed", report: { datasets: [...], recent: {...} } }
 */
export async function runCanary(opts: { trigger: "schedule" | "api" }): Promise<CanaryReport> {
  const c = config().costsim.canary;
  const now = clock().now();
  const abandoned = await query<{ id: string }>(sql.abandonExpired, [now]);
  if (abandoned.rows.length)
    log.warn("canary runs whose lease ran out abandoned", { ids: abandoned.rows.map((r) => r.id) });
  const lease = new Date(now.getTime() + c.leaseS * 1000);
  const { rows } = await query<CanaryRow>(sql.startRun, [opts.trigger, actorName(useActor()), now, lease]);
  const run = rows[0];
  if (!run) {
    m.canaryRuns.inc({ outcome: "stepped_aside" });
    const held = (await query<CanaryRow>(sql.runningRun)).rows[0];
    throw new CanaryRunningError(
      held
        ? { id: held.id, started_at: held.started_at.toISOString(), lease_until: held.lease_until.toISOString() }
        : null,
    );
  }
  const datasets = datasetsCheck();
  const recent = await replayRecent(now);
  const failures = [
    ...datasets
      .filter((d) => !d.passed && !d.insufficient_data)
      .map((d) => {
        const missed = Object.entries(d.checks)
          .filter(([, ch]) => !ch.passed)
          .map(([k, ch]) => `${k} ${ch.value} (limit ${ch.limit})`);
        return `dataset ${d.name}: ${missed.join(", ") || "failed"}`;
      }),
    ...replayFailures(recent),
  ];
  const status: CanaryStatus = failures.length
    ? "failed"
    : datasets.some((d) => d.insufficient_data)
      ? "insufficient_data"
      : "passed";
  const report = { datasets, recent };
  const { rows: done } = await query<CanaryRow>(sql.finishRun, [run.id, status, clock().now(), report, failures]);
  const finished = done[0];
  if (!finished) {
    // Its lease ran out and the next run took over: this result is not the record.
    log.warn("canary run outlived its lease; its result is dropped", { id: run.id, status });
    return view({ ...run, status: "abandoned", report, failures });
  }
  m.canaryRuns.inc({ outcome: status });
  m.canaryLastFinished.set({}, clock().nowMs() / 1000);
  if (status === "failed") await tripOnCanary(run.id, failures);
  return view(finished);
}

/** The daily cron's run: steps aside quietly when another run holds the leadership. */
export async function scheduledCanary(): Promise<CanaryReport | null> {
  if (!config().costsim.canary.enabled) return null;
  try {
    return await runCanary({ trigger: "schedule" });
  } catch (e) {
    if (e instanceof CanaryRunningError) {
      log.info("canary already running: this scheduled run steps aside", { details: e.details });
      return null;
    }
    throw e;
  }
}

/** One report by id (CanaryReportNotFoundError). */
export async function getCanaryReport(id: string): Promise<CanaryReport> {
  const row = (await query<CanaryRow>(sql.getReport, [id])).rows[0];
  if (!row) throw new CanaryReportNotFoundError(id);
  return view(row);
}

/** Reports, newest first, a page at a time. */
export async function listCanaryReports(q: { limit: number; cursor?: string }): Promise<Page<CanaryReport>> {
  const after = decodeCursor(q.cursor, [cursorPart.isoTime, cursorPart.uuid]);
  const { rows } = await query<CanaryRow>(sql.listReports, [q.limit + 1, after?.[0] ?? null, after?.[1] ?? null]);
  const p = toPage(rows, q.limit, (r) => [r.started_at.toISOString(), r.id]);
  return { data: p.data.map(view), next_cursor: p.next_cursor };
}
