/**
 * The V2 drift breaker end to end on real Postgres, Redis, the SQS stand-in and real Alertmanager
 * binaries (test/setup/alertmanager.ts): drift evaluations (pass, fail, insufficient data), a trip
 * and its incident, its alert reaching two Alertmanagers through the AlertDelivery worker (timed),
 * Alertmanager stopped and started again (every alert arrives, none twice), the sweeper re-driving
 * lost messages, schema errors, 20 concurrent recoverers after the TTL (one recovery), the
 * recovery refused without a passing canary, five concurrent canaries (one runs), the breaker's
 * store failing (V2 stays enabled, counted), the shadow gated while V2 is disabled, and /health.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as Costsim from "../../core/costsim/index.ts";
import { CanaryRunningError } from "../../core/costsim/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { setLogSink } from "../../core/platform/logger.ts";
import { redis } from "../../core/platform/redis.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { handler as alertHandler } from "../../functions/queue/costsim-alerts.ts";
import { invoke, lambdaContext, sqsEvent } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { type Alertmanager, startAlertmanager } from "../setup/alertmanager.ts";
import { canariesAtOnce } from "../setup/canary-barrier.ts";
import { withConfig } from "../setup/config-override.ts";
import { metricValue } from "../setup/metrics-catalog.ts";
import { withPostgresAway } from "../setup/postgres-away.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
let t: Tenant;
let am1: Alertmanager;
let am2: Alertmanager;
let clock: ManualClock;

beforeAll(async () => {
  t = await makeTenantWithKeys();
  [am1, am2] = await Promise.all([startAlertmanager(), startAlertmanager()]);
});
afterAll(async () => {
  await Promise.all([am1?.dispose(), am2?.dispose()]);
});

/** Each test starts from a closed breaker with no history, on a clock it moves itself (near real time: Alertmanager judges endsAt by its own clock). */
beforeEach(async () => {
  clock = new ManualClock(Date.now());
  setClock(clock);
  Costsim.forgetBreakerCache();
  await query("delete from costsim_alert_queue");
  await query("delete from costsim_cb_incidents");
  await query("delete from costsim_cb_evaluations");
  await query("delete from costsim_canary_reports");
  await query("delete from costsim_provenance");
  await query("delete from circuit_breaker_state where kind = 'costsim'");
  await redis().del("breaker:costsim:-:v2");
  await takeMessages("AlertDelivery");
});
afterEach(() => setClock(systemClock));

const MINUTE = 60_000;
const urls = () => `${am1.url},${am2.url}`;

/** `n` shadow comparisons of tenant t compared `agoMs` before the clock's now, each with drift `drift`. */
async function compare(n: number, drift: number, o: { agoMs?: number; verdict?: string; v2Credits?: number } = {}) {
  const at = new Date(clock.nowMs() - (o.agoMs ?? 30_000));
  const verdict = o.verdict ?? (drift > 0.2 ? "major_drift" : drift > 0.15 ? "minor_drift" : "match");
  await query(
    `insert into costsim_provenance (tenant_id, input_hash, source, v1_version, v1_hash, v1_credits, v1_duration_ms,
       v2_credits, v2_duration_ms, drift_score, verdict, compared_at, created_at)
     select $1, 'h-' || $2 || '-' || g, 'shadow', 'v1', 'x', 10, 1000, CAST($6 AS numeric), 1000,
       case when $5 = 'v2_error' then null else CAST($3 AS float8) end, $5, CAST($4 AS timestamptz),
       CAST($4 AS timestamptz)
     from generate_series(1, $7) g`,
    [
      t.tenant.id,
      randomBytes(4).toString("hex"),
      drift,
      at,
      verdict,
      o.verdict === "v2_error" ? null : (o.v2Credits ?? 10),
      n,
    ],
  );
}

/** One evaluation in the next interval (COSTSIM_CB_EVAL_INTERVAL_S, `intervalMs` here). */
async function evaluateNext(intervalMs = MINUTE) {
  clock.advance(intervalMs);
  return Costsim.evaluateDrift();
}

/**
 * Run the AlertDelivery worker over what its queue holds, until it holds nothing; `marks` gets
 * when the first batch was received and when the worker had handled it.
 */
async function deliverQueued(marks?: { received?: number; handled?: number }): Promise<number> {
  let n = 0;
  for (;;) {
    const msgs = await takeMessages("AlertDelivery");
    if (msgs.length === 0) return n;
    if (marks && marks.received === undefined) marks.received = performance.now();
    n += msgs.length;
    const lines: string[] = [];
    const prev = setLogSink((l) => lines.push(l));
    const r = await alertHandler(sqsEvent(msgs), lambdaContext()).finally(() => setLogSink(prev));
    expect(r.batchItemFailures, lines.join("\n")).toEqual([]);
    if (marks && marks.handled === undefined) marks.handled = performance.now();
  }
}

const alertsOf = async (am: Alertmanager) =>
  (await am.alerts({ labels: { alertname: Costsim.ALERT_NAME } })).filter((a) => a.labels.incident_id !== undefined);

const stateRow = async () =>
  (await query<Record<string, any>>("select * from costsim_cb_state")).rows[0] as Record<string, any> | undefined;
const incidents = async () =>
  (await query<Record<string, any>>("select * from costsim_cb_incidents order by opened_at")).rows;
/** The breaker's transitions in status_history (append-only: earlier tests' stay), from `from` on. */
const transitions = async (from = 0) =>
  (
    await query<{ old_status: string | null; new_status: string }>(
      `select old_status, new_status from status_history where tenant_id = $1 and entity_type = 'costsim_breaker'
       order by created_at, id`,
      [SYSTEM_TENANT_ID],
    )
  ).rows
    .map((r) => `${r.old_status}->${r.new_status}`)
    .slice(from);

describe("drift evaluation", () => {
  it("passes, fails, and says insufficient data without counting it either way", async () => {
    // No comparisons: insufficient data (a quiet system never trips, and never counts as healthy).
    expect(await evaluateNext()).toMatchObject({ evaluated: true, outcome: "insufficient_data", tripped: false });
    await compare(19, 0.05);
    expect(await evaluateNext()).toMatchObject({ outcome: "insufficient_data", consecutive_failures: 0 });
    await compare(30, 0.05);
    const pass = await evaluateNext();
    expect(pass).toMatchObject({ outcome: "pass", consecutive_failures: 0 });
    expect(pass.figures).toMatchObject({ samples: 49, drift_threshold: 0.2, min_samples: 20 });

    // The same interval is evaluated once, by whichever worker claims it first.
    expect(await Costsim.evaluateDrift()).toEqual({ evaluated: false });
    Costsim.forgetBreakerCache(); // another process: the database refuses it the interval
    expect(await Costsim.evaluateDrift()).toEqual({ evaluated: false });

    // Drift: two failing evaluations count; insufficient data between them neither resets nor adds.
    await compare(100, 0.6);
    expect(await evaluateNext()).toMatchObject({ outcome: "fail", consecutive_failures: 1, tripped: false });
    clock.advance(6 * MINUTE); // the window empties
    expect(await evaluateNext()).toMatchObject({ outcome: "insufficient_data", consecutive_failures: 1 });
    await compare(30, 0.05);
    expect(await evaluateNext()).toMatchObject({ outcome: "pass", consecutive_failures: 0 });
    const rows = (await query<{ outcome: string }>("select outcome from costsim_cb_evaluations order by started_at"))
      .rows;
    expect(rows.map((r) => r.outcome)).toEqual([
      "insufficient_data",
      "insufficient_data",
      "pass",
      "fail",
      "insufficient_data",
      "pass",
    ]);
    expect(await stateRow()).toMatchObject({ state: "CLOSED", disabled: false, consecutive_failures: 0 });
  });
});

describe("a trip", () => {
  it("disables V2 after 3 failing evaluations, records the incident and reaches both Alertmanagers within seconds", async () => {
    // One-second intervals keep this test's clock within seconds of Alertmanager's (real) one.
    const env = { ALERTMANAGER_URL: urls(), COSTSIM_CB_EVAL_INTERVAL_S: "1", COSTSIM_ALERT_RESEND_S: "10" };
    await withConfig(env, async () => {
      const disabledBefore = await metricValue('costsim_cb_disabled_total{trigger="drift"}');
      const history = (await transitions()).length;
      await compare(60, 0.45);
      await evaluateNext(1000);
      await evaluateNext(1000);
      expect(await Costsim.v2Enabled()).toBe(true);
      const t0 = performance.now();
      const trip = await evaluateNext(1000);
      const tripMs = performance.now() - t0;
      expect(trip).toMatchObject({ outcome: "fail", consecutive_failures: 3, tripped: true });
      expect(await Costsim.v2Enabled()).toBe(false);
      const state = await stateRow();
      expect(state).toMatchObject({ state: "OPEN", disabled: true, consecutive_failures: 3 });
      expect(new Date(state?.disabled_until).getTime() - clock.nowMs()).toBe(24 * 3600_000);
      const [incident] = await incidents();
      expect(incident).toMatchObject({ trigger: "drift", resolved_at: null });
      expect(incident?.reason).toMatch(/3 consecutive failures: Drift: p95 drift 0\.45 > COSTSIM_DRIFT_THRESHOLD 0\.2/);
      expect(incident?.figures).toMatchObject({ samples: 60, p95_drift: 0.45, drift_threshold: 0.2 });
      expect(await transitions(history)).toEqual(["CLOSED->OPEN"]);
      expect(await metricValue('costsim_cb_disabled_total{trigger="drift"}')).toBe(disabledBefore + 1);

      // The alert: one message, the worker POSTs it to both Alertmanagers. Timed from the end of
      // the trip's evaluation to the alert listed by both (polled every 100 ms).
      const t1 = performance.now();
      const visible = Promise.all([
        am1.waitForAlert((a) => a.labels.incident_id === incident?.id, 5000),
        am2.waitForAlert((a) => a.labels.incident_id === incident?.id, 5000),
      ]).then((seen) => ({ seen, at: performance.now() }));
      const marks: { received?: number; handled?: number } = {};
      expect(await deliverQueued(marks)).toBe(1);
      const {
        seen: [seen1, seen2],
        at,
      } = await visible;
      if (!seen1 || !seen2) throw new Error("not seen");
      const visibleMs = at - t1;
      expect(seen1.labels).toEqual({
        alertname: "CostSimV2Disabled",
        severity: "page",
        priority: "P1",
        subsystem: "costsim",
        trigger: "drift",
        incident_id: incident?.id,
      });
      expect(seen2.labels).toEqual(seen1.labels);
      expect(seen1.status.state).toBe("active");
      expect(seen1.annotations.runbook_url).toBe("docs/runbooks/costsim-circuit-breaker.md#costsimv2disabled");
      expect(visibleMs).toBeLessThan(5000);
      const row = (await query<Record<string, any>>("select * from costsim_alert_queue")).rows[0];
      expect(row).toMatchObject({ state: "firing", version: 1, sent_version: 1 });
      expect([...(row?.delivered_to ?? [])].sort()).toEqual([am1.url, am2.url].sort());
      const ms = (x: number | undefined) => ((x ?? Number.NaN) - t1).toFixed(0);
      console.info(
        `[costsim-breaker] trip evaluation (3rd failing, incident, alert row, message sent) ${tripMs.toFixed(0)} ms; ` +
          `after it: message received ${ms(marks.received)} ms (the test's SQS reader), worker done (POST to both) ` +
          `${ms(marks.handled)} ms, listed by both Alertmanagers ${visibleMs.toFixed(0)} ms`,
      );

      // A redelivered message is a no-op; while the breaker is open no evaluation runs.
      const again = await alertHandler(
        sqsEvent([{ v: 1, tenantId: SYSTEM_TENANT_ID, alertId: row?.id }]),
        lambdaContext(),
      );
      expect(again.batchItemFailures).toEqual([]);
      expect(await evaluateNext(1000)).toEqual({ evaluated: false });

      // Re-asserted every COSTSIM_ALERT_RESEND_S with a later endsAt: still one alert in Alertmanager.
      clock.advance(11_000);
      const swept = await Costsim.sweepAlerts();
      expect(swept.reasserted).toBe(1);
      await deliverQueued();
      const after = (await query<Record<string, any>>("select * from costsim_alert_queue")).rows[0];
      expect(after).toMatchObject({ version: 2, sent_version: 2 });
      expect(await alertsOf(am1)).toHaveLength(1);
      expect(new Date((await alertsOf(am1))[0]?.endsAt ?? 0).getTime()).toBe(new Date(after?.ends_at).getTime());

      // An admin's reset resolves it (endsAt = now): gone from Alertmanager's active alerts. The
      // clock goes back to real time first: Alertmanager keeps an alert whose endsAt is ahead of
      // its own clock active until then.
      clock = new ManualClock(Date.now());
      setClock(clock);
      await Costsim.reset({ reason: "drift understood: V2 0.4.1 deployed" });
      await deliverQueued();
      await am1.waitForAlerts((list) => list.every((a) => a.labels.incident_id !== incident?.id), 5000, {
        labels: { alertname: Costsim.ALERT_NAME },
      });
      expect((await incidents())[0]).toMatchObject({ resolution: "reset" });
      expect(await transitions(history)).toEqual(["CLOSED->OPEN", "OPEN->CLOSED"]);
    });
  });

  it("disables V2 at once on more schema errors than COSTSIM_SCHEMA_ERROR_THRESHOLD", async () => {
    await compare(6, 0, { verdict: "v2_error" });
    const e = await evaluateNext();
    expect(e).toMatchObject({ outcome: "fail", tripped: true });
    expect(e.figures).toMatchObject({ schema_errors: 6, schema_error_threshold: 5 });
    expect((await incidents())[0]).toMatchObject({ trigger: "schema_errors" });
    expect(await Costsim.v2Enabled()).toBe(false);
  });
});

describe("Alertmanager away", () => {
  it("loses nothing: alerts wait with backoff, the sweeper re-drives lost messages, each arrives once", async () => {
    await withConfig(
      {
        ALERTMANAGER_URL: am1.url,
        COSTSIM_ALERT_BACKOFF_BASE_S: "1",
        COSTSIM_ALERT_BACKOFF_MAX_S: "1",
        COSTSIM_CB_EVAL_INTERVAL_S: "1",
      },
      async () => {
        const failuresBefore = await metricValue('costsim_cb_alert_send_failures_total{kind="network"}');
        await am1.stop();
        // Two incidents while Alertmanager is down: a schema-error trip, a reset, a canary trip.
        await compare(6, 0, { verdict: "v2_error" });
        await evaluateNext(1000);
        await Costsim.reset({ reason: "schema fixed" });
        await query("delete from costsim_provenance");
        await Costsim.tripOnCanary(randomUUID(), ["dataset low_variance: cost_median_abs_error 3 (limit 0)"]);
        const ids = (await incidents()).map((i) => i.id);
        expect(ids).toHaveLength(2);

        // Every attempt fails: the rows keep waiting, the failures are counted.
        const first = await takeMessages("AlertDelivery");
        expect(first.length).toBeGreaterThanOrEqual(2);
        expect((await alertHandler(sqsEvent(first), lambdaContext())).batchItemFailures).toEqual([]);
        const waiting = (await query<Record<string, any>>("select * from costsim_alert_queue order by created_at"))
          .rows;
        expect(waiting.every((r) => r.sent_version < r.version && r.attempts >= 1 && r.last_error)).toBe(true);
        expect(await metricValue('costsim_cb_alert_send_failures_total{kind="network"}')).toBeGreaterThan(
          failuresBefore,
        );
        expect(await Costsim.measureDepth()).toBe(2);

        // The retry messages are lost (drained unread), Alertmanager comes back.
        await new Promise((r) => setTimeout(r, 1200));
        await takeMessages("AlertDelivery");
        await am1.start();
        // The sweeper sends them again once their attempt is a minute overdue.
        clock.advance(2 * MINUTE);
        const swept = await Costsim.sweepAlerts();
        expect(swept.resent).toBe(2);
        await deliverQueued();
        // And again (a duplicate send: the sweeper cannot know the first arrived).
        await query("update costsim_alert_queue set sent_version = sent_version - 1, delivered_to = '{}'");
        clock.advance(2 * MINUTE);
        await Costsim.sweepAlerts();
        await deliverQueued();

        const rows = (await query<Record<string, any>>("select * from costsim_alert_queue order by created_at")).rows;
        expect(rows.every((r) => r.sent_version === r.version)).toBe(true);
        expect(rows.map((r) => r.state)).toEqual(["resolved", "firing"]);
        // The firing one is in Alertmanager exactly once; the resolved one is not active.
        const listed = await alertsOf(am1);
        expect(listed.map((a) => a.labels.incident_id)).toEqual([ids[1]]);
        expect(listed[0]?.labels.trigger).toBe("canary");
        expect(await Costsim.measureDepth()).toBe(0);
      },
    );
  });
});

describe("recovery", () => {
  it("20 concurrent recoverers after the TTL: exactly one recovers, once a canary passed after the trip", async () => {
    await withConfig({ ALERTMANAGER_URL: am1.url }, async () => {
      // A canary that passed BEFORE the trip does not count.
      const history = (await transitions()).length;
      const early = await Costsim.runCanary({ trigger: "api" });
      expect(early.status).toBe("passed");
      clock.advance(1000);
      await compare(6, 0, { verdict: "v2_error" });
      await evaluateNext();
      expect(await Costsim.v2Enabled()).toBe(false);

      // Before the TTL: stays disabled and says until when.
      const soon = await Costsim.recover();
      expect(soon).toMatchObject({ recovered: false, why: expect.stringMatching(/^disabled until /) });
      clock.advance(24 * 3600_000 + 1000);
      expect((await Costsim.breakerStatus()).state).toBe("HALF_OPEN");
      // After it, without a canary since the trip: stays disabled and says why.
      const noCanary = await Costsim.recover();
      expect(noCanary).toMatchObject({
        recovered: false,
        why: expect.stringMatching(/^no canary has finished since the trip/),
      });
      await query("delete from costsim_provenance");
      const recoveriesBefore = await metricValue("costsim_cb_auto_recovery_total");
      const passed = await Costsim.runCanary({ trigger: "api" });
      expect(passed.status).toBe("passed");

      const results = await Promise.all(Array.from({ length: 20 }, () => Costsim.recover()));
      expect(results.filter((r) => r.recovered)).toHaveLength(1);
      expect(results.filter((r) => !r.recovered).every((r) => !r.recovered && r.why === "the breaker is closed")).toBe(
        true,
      );
      expect(await transitions(history)).toEqual(["CLOSED->OPEN", "OPEN->CLOSED"]);
      expect(await metricValue("costsim_cb_auto_recovery_total")).toBe(recoveriesBefore + 1);
      expect((await incidents())[0]).toMatchObject({ resolution: "auto_recovery" });
      expect(await Costsim.v2Enabled()).toBe(true);
    });
  });

  it("a canary that failed after the trip keeps V2 disabled", async () => {
    await Costsim.tripOnCanary(randomUUID(), ["synthetic"]);
    clock.advance(24 * 3600_000 + 1000);
    await query(
      `insert into costsim_canary_reports (status, trigger, requested_by, started_at, lease_until, finished_at, failures)
       values ('failed', 'api', 'test', $1, $1, $1, '{x}')`,
      [clock.now()],
    );
    const r = await Costsim.recover();
    expect(r).toMatchObject({ recovered: false, why: expect.stringMatching(/ended failed$/) });
  });
});

describe("canary leadership", () => {
  it("five canaries started at once: one runs and stores its report, four step aside", async () => {
    const before = await metricValue('aos_costsim_canary_runs_total{outcome="stepped_aside"}');
    // All five reach the lease insert before any can win it (canary-barrier.ts): on a loaded
    // machine a run could otherwise finish before another started, and both would run in turn.
    const runs = await canariesAtOnce(5, () => Costsim.runCanary({ trigger: "schedule" }));
    const ran = runs.filter((r) => r.status === "fulfilled");
    const aside = runs.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ran).toHaveLength(1);
    expect(aside).toHaveLength(4);
    for (const a of aside) expect(a.reason).toBeInstanceOf(CanaryRunningError);
    const stored = (await query<Record<string, any>>("select * from costsim_canary_reports")).rows;
    expect(stored).toHaveLength(1);
    expect(stored[0]?.status).toBe("passed");
    expect(Object.keys(stored[0]?.report ?? {})).toEqual(expect.arrayContaining(["datasets", "recent"]));
    expect(await metricValue('aos_costsim_canary_runs_total{outcome="stepped_aside"}')).toBe(before + 4);
  });
});

describe("the breaker's store failing", () => {
  it("keeps V2 enabled (fail open), counted and logged", async () => {
    const lines: string[] = [];
    const before = await metricValue('aos_breaker_store_errors_total{breaker="costsim",op="peek"}');
    await withConfig({ LOG_LEVEL: "warn" }, () =>
      withPostgresAway(async () => {
        const prev = setLogSink((l) => lines.push(l));
        try {
          expect(await Costsim.v2Enabled()).toBe(true);
          expect(await evaluateNext()).toEqual({ evaluated: false });
        } finally {
          setLogSink(prev);
        }
      }),
    );
    // Two reads failed: v2Enabled's, and the evaluation's own (which then evaluates nothing).
    expect(await metricValue('aos_breaker_store_errors_total{breaker="costsim",op="peek"}')).toBe(before + 2);
    expect(lines.some((l) => l.includes("fail open"))).toBe(true);
    expect(lines.join("\n")).not.toContain(":pw@");
    expect(await stateRow()).toBeUndefined();
  });
});

describe("while V2 is disabled", () => {
  it("the shadow stores nothing and compares nothing; /health shows the breaker and stays 200", async () => {
    await Costsim.tripOnCanary(randomUUID(), ["synthetic"]);
    Costsim.forgetBreakerCache();
    const disabledBefore = await metricValue('aos_costsim_shadow_requests_total{outcome="disabled"}');
    await withConfig({ COSTSIM_V2_SANDBOX: "true" }, async () => {
      const r = await invoke("POST", "/api/v1/costsim/simulate", {
        key: t.keys.agent.key,
        body: { plan: { job: { task: "kv_store", items: [{ input: { op: "get", key: "a" } }] } } },
      });
      expect(r.status, r.text).toBe(200);
    });
    expect(await redis().xlen("costsim:shadow")).toBe(0);
    expect(await metricValue('aos_costsim_shadow_requests_total{outcome="disabled"}')).toBe(disabledBefore + 1);

    const health = await invoke("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body.breakers).toContainEqual({
      kind: "costsim",
      scope: "shared",
      state: "OPEN",
      count: 1,
      until: new Date(clock.nowMs() + 24 * 3600_000).toISOString(),
    });
  });
});
