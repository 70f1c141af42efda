/**
 * Cost simulation's safety net (issue 19) through its real handlers, on real Postgres, Redis and
 * the SQS stand-in: the drift breaker as GET /api/v1/costsim/v2/status shows it (fresh, after a
 * trip), the admin reset (refusals, 400s, the incident resolved, status_history, the alert
 * resolved and its AlertDelivery message, the metric; a reset of a closed breaker changing
 * nothing), the incidents listing (order, filter, pagination, forged cursors) and the canary
 * (a run and its reports, the lease row's 409, an expired lease abandoned, a failing canary
 * disabling V2).
 *
 * The breaker is one for the whole database, so the tests of this file run in order and each
 * brings it to the state it needs (`closed()`); the canary tests that record shadow inputs start
 * from none (each canary runs every input of its window again).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { withContext } from "../../core/context.ts";
import { tripOnCanary } from "../../core/costsim/breaker.ts";
import * as Costsim from "../../core/costsim/index.ts";
import { openBreaker } from "../../core/platform/breaker/index.ts";
import { ManualClock, setClock, systemClock } from "../../core/platform/clock.ts";
import { query } from "../../core/platform/db/index.ts";
import { SYSTEM_TENANT_ID } from "../../core/tenancy/index.ts";
import { invoke } from "../events/index.ts";
import { makeTenantWithKeys } from "../factories/tenancy.ts";
import { withConfig } from "../setup/config-override.ts";
import { metricValue } from "../setup/metrics-catalog.ts";
import { takeMessages } from "../setup/sqs-reader.ts";

type Tenant = Awaited<ReturnType<typeof makeTenantWithKeys>>;
const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
const STATUS = "/api/v1/costsim/v2/status";
const RESET = "/api/v1/costsim/v2/reset";
const INCIDENTS = "/api/v1/costsim/v2/incidents";
const RUN = "/api/v1/costsim/canary/run";
const REPORTS = "/api/v1/costsim/canary/reports";
const RESET_METRIC = 'costsim_cb_enabled_total{how="reset"}';

const fieldsOf = (res: { body: any }): string[] => res.body.error.details.fields.map((f: { field: string }) => f.field);
const tag = () => randomBytes(4).toString("hex");
const asSystem = <T>(fn: () => Promise<T>, tenantId?: string) =>
  withContext(
    {
      requestId: randomUUID(),
      correlationId: randomUUID(),
      actor: { type: "system", name: "costsim-safety-test", ...(tenantId ? { tenantId } : {}) },
    },
    fn,
  );

let t: Tenant;
beforeAll(async () => {
  t = await makeTenantWithKeys();
  await takeMessages("AlertDelivery");
});
afterEach(() => setClock(systemClock));

const breaker = async () => {
  const res = await invoke("GET", STATUS, { key: t.keys.viewer.key });
  expect(res.status, res.text).toBe(200);
  return res.body.breaker;
};

/** A drift trip as the evaluation makes it (the platform breaker opened with its trigger and figures). */
const tripOnDrift = (figures: Record<string, unknown> = { samples: 40, p95_drift: 0.61, drift_threshold: 0.2 }) =>
  asSystem(() =>
    openBreaker(Costsim.driftBreaker, Costsim.BREAKER_KEY, {
      reason: `p95 drift ${figures.p95_drift} > COSTSIM_DRIFT_THRESHOLD 0.2`,
      metadata: { trigger: "drift", figures },
    }),
  );

const reset = (reason: string, key = t.keys.admin.key) => invoke("POST", RESET, { key, body: { reason } });

/** The breaker CLOSED (reset by the admin when it is not), and no AlertDelivery message waiting. */
async function closed(): Promise<void> {
  if ((await breaker()).state !== "CLOSED") expect((await reset("test: back to closed")).status).toBe(200);
  await takeMessages("AlertDelivery");
}

const incidentRow = async (id: string) =>
  (await query<Record<string, any>>("select * from costsim_cb_incidents where id = $1", [id])).rows[0];
const alertOf = async (incidentId: string) => {
  const { rows } = await query<Record<string, any>>("select * from costsim_alert_queue where incident_id = $1", [
    incidentId,
  ]);
  expect(rows, `the alert of incident ${incidentId}`).toHaveLength(1);
  return rows[0] as Record<string, any>;
};
/**
 * A plan whose embed step's input is an earlier step's result: V1 prices it from the skill's
 * prior, V2 from the history. Each is its own input (the step id differs; a kv key is not part of a plan).
 */
const embedLater = () => {
  const get = `get_${tag()}`;
  return Costsim.planOf({
    workflow: {
      steps: [
        { id: get, skill: "kv_store", args: { op: "get", key: "texts" } },
        { id: "embed", skill: "voyage_embed", args: { input: { $ref: `steps.${get}.result.value` } } },
      ],
    },
  });
};
/** No history: V2 answers with V1's priors (a match). */
const noHistory: Costsim.HistoryReader = async () => ({});
/** A history in which voyage_embed was called 500 times with `unitsPerCall` units each. */
const voyageSeen =
  (unitsPerCall: number): Costsim.HistoryReader =>
  async () => ({
    skill_metrics: [
      {
        skill_name: "voyage_embed",
        calls: 500,
        failures: 0,
        duration_p50_ms: 700,
        duration_p95_ms: 3000,
        units_per_call: unitsPerCall,
      },
    ],
  });
/** A history V2 cannot read (calls below 0): it throws HistoryInvalidError. */
const badHistory: Costsim.HistoryReader = async () => ({
  skill_metrics: [{ skill_name: "voyage_embed", calls: -1, failures: 0, duration_p50_ms: 1, duration_p95_ms: 2 }],
});
/** `n` shadow comparisons of distinct plans for the tenant, through the CostsimShadow consumer's work (inputs kept), a second apart from `at`. */
async function shadowRuns(tenantId: string, n: number, reader: Costsim.HistoryReader, at = Date.now()) {
  for (let i = 0; i < n; i++) {
    const outcome = await Costsim.runShadow(
      {
        v: 1,
        tenantId,
        plan: embedLater(),
        options: { availableCredits: 1_000_000 },
        planRef: "inline",
        skills: ["kv_store", "voyage_embed"],
        at: new Date(at - i * 1000).toISOString(),
      },
      reader,
    );
    expect(outcome.outcome).toBe("done");
  }
}

const reportCount = async () =>
  Number((await query<{ n: string }>("select count(*) as n from costsim_canary_reports")).rows[0]?.n);

describe("GET /api/v1/costsim/v2/status: the drift breaker", () => {
  it("is CLOSED with V2 enabled on a fresh database", async () => {
    expect(await breaker()).toEqual({
      state: "CLOSED",
      v2_enabled: true,
      consecutive_failures: 0,
      failure_threshold: 3,
      disabled_at: null,
      disabled_until: null,
      open_incident: null,
      last_evaluation: null,
    });
    expect(await Costsim.v2Enabled()).toBe(true);
  });

  it("is OPEN after a failed canary's trip: disabled for DEFAULT_DISABLE_TTL_HOURS, the open incident with trigger and figures", async () => {
    await closed();
    const reportId = randomUUID();
    const failures = ["KL(V1 || V2) of credits 3.2 > 0.5 over 80 comparisons"];
    const before = Date.now();
    await asSystem(() => tripOnCanary(reportId, failures));
    const after = Date.now();
    const b = await breaker();
    expect(b).toMatchObject({ state: "OPEN", v2_enabled: false });
    const until = Date.parse(b.disabled_until);
    expect(until).toBeGreaterThanOrEqual(before + 24 * HOUR_MS);
    expect(until).toBeLessThanOrEqual(after + 24 * HOUR_MS);
    expect(b.open_incident).toMatchObject({
      trigger: "canary",
      figures: { canary_report_id: reportId, failures },
      disabled_until: b.disabled_until,
      opened_at: b.disabled_at,
      resolved_at: null,
      resolution: null,
    });
    expect(b.open_incident.reason).toContain(reportId);
    // The hot paths' read (Redis's copy) says disabled too.
    expect(await Costsim.v2Enabled()).toBe(false);
  });

  it("is OPEN after a drift trip through driftBreaker, until exactly now + 24 h; HALF_OPEN (still disabled) once that is over", async () => {
    await closed();
    const clock = new ManualClock(Date.now());
    setClock(clock);
    const figures = { samples: 40, p95_drift: 0.61, drift_threshold: 0.2, over_threshold: 31 };
    await tripOnDrift(figures);
    const b = await breaker();
    expect(b).toMatchObject({
      state: "OPEN",
      v2_enabled: false,
      disabled_at: clock.now().toISOString(),
      disabled_until: new Date(clock.nowMs() + 24 * HOUR_MS).toISOString(),
      open_incident: { trigger: "drift", figures, resolved_at: null },
    });
    clock.advance(24 * HOUR_MS);
    expect(await breaker()).toMatchObject({
      state: "HALF_OPEN",
      v2_enabled: false,
      open_incident: { trigger: "drift" },
    });
  });
});

describe("POST /api/v1/costsim/v2/reset", () => {
  it("is an admin's only: 403 to viewer, agent and operator keys, 401 without one; the breaker stays OPEN", async () => {
    await closed();
    await tripOnDrift();
    for (const key of [t.keys.viewer.key, t.keys.agent.key, t.keys.operator.key]) {
      const res = await reset("let me in", key);
      expect(res.status, res.text).toBe(403);
    }
    expect((await invoke("POST", RESET, { body: { reason: "no key" } })).status).toBe(401);
    expect((await breaker()).state).toBe("OPEN");
  });

  it("400 without a body (naming body, as every route with a required body does), naming body.reason for an empty, 2-character or blank-padded short reason", async () => {
    await tripOnDrift();
    const none = await invoke("POST", RESET, { key: t.keys.admin.key });
    expect(none.status, none.text).toBe(400);
    expect(none.body.error.details.fields).toEqual([{ field: "body", message: "required" }]);
    const empty = await invoke("POST", RESET, { key: t.keys.admin.key, body: {} });
    expect(empty.status, empty.text).toBe(400);
    expect(fieldsOf(empty)).toEqual(["body.reason"]);
    for (const reason of ["ok", "   ab   "]) {
      const res = await reset(reason);
      expect(res.status, reason).toBe(400);
      expect(fieldsOf(res)).toEqual(["body.reason"]);
    }
    const long = await reset("x".repeat(501));
    expect(fieldsOf(long)).toEqual(["body.reason"]);
    const extra = await invoke("POST", RESET, { key: t.keys.admin.key, body: { reason: "fine reason", force: true } });
    expect(extra.status).toBe(400);
    expect((await breaker()).state).toBe("OPEN");
  });

  it("an admin's reset closes it: the incident resolved (reset, by the key, with the reason), status_history OPEN -> CLOSED, the alert resolved with a new version and sent", async () => {
    await closed();
    await tripOnDrift();
    const incident = (await breaker()).open_incident;
    const firing = await alertOf(incident.id);
    expect(firing).toMatchObject({ state: "firing", version: 1 });
    // The trip's own alert went out (its AlertDelivery message).
    expect(await takeMessages("AlertDelivery", 1)).toEqual([{ v: 1, tenantId: SYSTEM_TENANT_ID, alertId: firing.id }]);
    const enabledBefore = await metricValue(RESET_METRIC);

    const reason = `V2 0.4.1 fixes the drift of embed steps ${tag()}`;
    const res = await reset(reason);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      state: "CLOSED",
      v2_enabled: true,
      consecutive_failures: 0,
      disabled_at: null,
      disabled_until: null,
      open_incident: null,
    });
    expect(await breaker()).toMatchObject({ state: "CLOSED", v2_enabled: true, open_incident: null });
    expect(await Costsim.v2Enabled()).toBe(true);

    const resolved = await incidentRow(incident.id);
    expect(resolved).toMatchObject({ resolution: "reset", resolved_by: `key:${t.keys.admin.id}` });
    expect(resolved?.resolved_at).toBeInstanceOf(Date);
    expect(resolved?.resolution_reason).toContain(reason);

    const { rows: history } = await query<Record<string, any>>(
      `select * from status_history where entity_type = 'costsim_breaker' and tenant_id = $1
        order by id desc limit 1`,
      [SYSTEM_TENANT_ID],
    );
    expect(history[0]).toMatchObject({
      entity_id: "v2",
      old_status: "OPEN",
      new_status: "CLOSED",
      actor: `key:${t.keys.admin.id}`,
    });
    expect(history[0]?.reason).toContain(reason);

    const alert = await alertOf(incident.id);
    expect(alert).toMatchObject({ id: firing.id, state: "resolved" });
    expect(alert?.version).toBeGreaterThan(firing.version);
    expect(alert?.ends_at.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await takeMessages("AlertDelivery", 1)).toEqual([{ v: 1, tenantId: SYSTEM_TENANT_ID, alertId: firing.id }]);
    expect(await metricValue(RESET_METRIC)).toBe(enabledBefore + 1);
  });

  it("of a closed breaker: 200 CLOSED, no incident resolved again, no alert sent, costsim_cb_enabled_total unchanged", async () => {
    await closed();
    const snapshot = async () =>
      (
        await query<Record<string, unknown>>(
          "select id, resolved_at, resolution, resolved_by, resolution_reason from costsim_cb_incidents order by id",
        )
      ).rows;
    const incidents = await snapshot();
    expect(incidents.length).toBeGreaterThan(0);
    const alerts = (await query("select id, state, version from costsim_alert_queue order by id")).rows;
    const enabledBefore = await metricValue(RESET_METRIC);
    const res = await reset("nothing to re-enable");
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ state: "CLOSED", v2_enabled: true, open_incident: null });
    expect(await snapshot()).toEqual(incidents);
    expect((await query("select id, state, version from costsim_alert_queue order by id")).rows).toEqual(alerts);
    expect(await takeMessages("AlertDelivery")).toEqual([]);
    expect(await metricValue(RESET_METRIC)).toBe(enabledBefore);
  });
});

describe("GET /api/v1/costsim/v2/incidents", () => {
  it("newest first; open=true only the open one, open=false the ended ones; limit=1 pages through every incident once; 400 on a forged cursor or limit=0", async () => {
    await closed();
    // Three more incidents a minute apart, the last two at the same instant (the id orders them), the last left open.
    const clock = new ManualClock(Date.now() + 60_000);
    setClock(clock);
    await tripOnDrift({ n: 1 });
    await closed();
    clock.advance(60_000);
    await tripOnDrift({ n: 2 });
    await closed();
    await tripOnDrift({ n: 3 });
    setClock(systemClock);

    const all = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: { limit: "1000" } });
    expect(all.status, all.text).toBe(200);
    expect(all.body.next_cursor).toBeNull();
    const data = all.body.data as { id: string; opened_at: string; resolved_at: string | null; figures: any }[];
    expect(data.length).toBeGreaterThanOrEqual(6);
    const newestFirst = [...data].sort((x, y) =>
      x.opened_at === y.opened_at ? (x.id < y.id ? 1 : -1) : x.opened_at < y.opened_at ? 1 : -1,
    );
    expect(data.map((i) => i.id)).toEqual(newestFirst.map((i) => i.id));
    expect(
      data
        .slice(0, 3)
        .map((i) => i.figures.n)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(data[2]?.figures.n).toBe(1);
    expect(data[0]?.opened_at).toBe(data[1]?.opened_at);
    const open = data.filter((i) => i.resolved_at === null);
    expect(open).toHaveLength(1);
    expect(open[0]?.figures).toEqual({ n: 3 });

    const onlyOpen = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: { open: "true" } });
    expect(onlyOpen.status).toBe(200);
    expect(onlyOpen.body.data).toEqual(open);
    const ended = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: { open: "false", limit: "1000" } });
    expect(ended.status).toBe(200);
    expect(ended.body.data).toEqual(data.filter((i) => i.resolved_at !== null));

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages <= data.length; pages++) {
      const q: Record<string, string> = { limit: "1", ...(cursor ? { cursor } : {}) };
      const res = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: q });
      expect(res.status, res.text).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(1);
      seen.push(...res.body.data.map((i: { id: string }) => i.id));
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(seen).toEqual(data.map((i) => i.id));

    const forged = [
      "not-a-cursor",
      Buffer.from(JSON.stringify(["yesterday", randomUUID()])).toString("base64url"),
      Buffer.from(JSON.stringify([new Date().toISOString()])).toString("base64url"),
      Buffer.from(JSON.stringify([new Date().toISOString(), "1; drop table x"])).toString("base64url"),
    ];
    for (const cursor of forged) {
      const res = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: { cursor } });
      expect(res.status, cursor).toBe(400);
      expect(fieldsOf(res)).toEqual(["query.cursor"]);
    }
    for (const [q, field] of [
      [{ limit: "0" }, "query.limit"],
      [{ limit: "1001" }, "query.limit"],
      [{ open: "yes" }, "query.open"],
    ] as const) {
      const res = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: q });
      expect(res.status, JSON.stringify(q)).toBe(400);
      expect(fieldsOf(res)).toEqual([field]);
    }
    expect((await invoke("GET", INCIDENTS)).status).toBe(401);
  });
});

describe("the canary routes", () => {
  it("POST run (admin): 200 with its report (the five datasets, the recent inputs run again), listed first and read by id; 404 and 400 for other ids", async () => {
    await closed();
    for (const key of [t.keys.viewer.key, t.keys.agent.key, t.keys.operator.key])
      expect((await invoke("POST", RUN, { key })).status).toBe(403);

    const res = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(res.status, res.text).toBe(200);
    const r = res.body;
    expect(r).toMatchObject({ trigger: "api", requested_by: "an admin key" });
    expect(r.finished_at).not.toBeNull();
    expect(r.report.datasets.map((d: { name: string }) => d.name).sort()).toEqual([...Costsim.DATASET_NAMES].sort());
    for (const d of r.report.datasets) expect(Object.keys(d.checks).length, d.name).toBeGreaterThan(0);
    // No input recorded in the last week: the replay cannot judge, and does not decide.
    expect(r.report.recent).toMatchObject({
      inputs: 0,
      samples: 0,
      min_samples: 50,
      outcome: "insufficient_data",
      max_kl: 0.5,
    });
    // V2 passes the five reference datasets on this code.
    expect(
      r.report.datasets.filter((d: { passed: boolean }) => !d.passed).map((d: { name: string }) => d.name),
      JSON.stringify(r.failures),
    ).toEqual([]);
    expect(r).toMatchObject({ status: "passed", failures: [] });
    expect(await breaker()).toMatchObject({ state: "CLOSED", open_incident: null });

    const list = await invoke("GET", REPORTS, { key: t.keys.viewer.key });
    expect(list.status, list.text).toBe(200);
    expect(list.body.data[0]).toEqual(r);
    const one = await invoke("GET", `${REPORTS}/${r.id}`, { key: t.keys.viewer.key });
    expect(one.status, one.text).toBe(200);
    expect(one.body).toEqual(r);

    const unknown = await invoke("GET", `${REPORTS}/${randomUUID()}`, { key: t.keys.viewer.key });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("costsim.canary_report_not_found");
    const bad = await invoke("GET", `${REPORTS}/not-a-uuid`, { key: t.keys.viewer.key });
    expect(bad.status).toBe(400);
    expect(fieldsOf(bad)).toEqual(["path.id"]);
    expect((await invoke("GET", REPORTS)).status).toBe(401);
  });

  it("409 costsim.canary_running while a run holds a live lease; once its lease is over the next run abandons it and runs", async () => {
    await closed();
    const now = new Date();
    const { rows } = await query<{ id: string }>(
      `insert into costsim_canary_reports (status, trigger, requested_by, started_at, lease_until)
        values ('running', 'api', 'test', $1, $2) returning id`,
      [now, new Date(now.getTime() + 10 * 60_000)],
    );
    const held = rows[0]?.id as string;
    const before = await reportCount();
    const refused = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.error.code).toBe("costsim.canary_running");
    expect(refused.body.error.details.running_report_id).toBe(held);
    expect(await reportCount()).toBe(before);
    const stillRunning = await invoke("GET", `${REPORTS}/${held}`, { key: t.keys.viewer.key });
    expect(stillRunning.body).toMatchObject({ id: held, status: "running", finished_at: null, report: null });

    // Eleven minutes on: the lease (ten) is over.
    const clock = new ManualClock(now.getTime() + 11 * 60_000);
    setClock(clock);
    const res = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(res.status, res.text).toBe(200);
    expect(res.body.id).not.toBe(held);
    expect(res.body.status).toBe("passed");
    const abandoned = await invoke("GET", `${REPORTS}/${held}`, { key: t.keys.viewer.key });
    expect(abandoned.body).toMatchObject({ id: held, status: "abandoned", finished_at: clock.now().toISOString() });
    expect((await query("select id from costsim_canary_reports where status = 'running'")).rows).toEqual([]);
  });

  it("GET reports: newest first, limit=1 pages through every report once; 400 on a forged cursor", async () => {
    const all = await invoke("GET", REPORTS, { key: t.keys.viewer.key, query: { limit: "1000" } });
    expect(all.status).toBe(200);
    const ids = all.body.data.map((r: { id: string }) => r.id);
    expect(ids.length).toBe(await reportCount());
    const started = all.body.data.map((r: { started_at: string }) => r.started_at);
    expect(started).toEqual([...started].sort().reverse());
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages <= ids.length; pages++) {
      const q: Record<string, string> = { limit: "1", ...(cursor ? { cursor } : {}) };
      const res = await invoke("GET", REPORTS, { key: t.keys.viewer.key, query: q });
      seen.push(...res.body.data.map((r: { id: string }) => r.id));
      cursor = res.body.next_cursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(ids);
    const forged = await invoke("GET", REPORTS, { key: t.keys.viewer.key, query: { cursor: "eyJ4IjoxfQ" } });
    expect(forged.status).toBe(400);
    expect(fieldsOf(forged)).toEqual(["query.cursor"]);
  });

  it("judges the deployed V2 on the recorded inputs, not the replies recorded: tampered figures change nothing, an unreadable input is skipped", async () => {
    await closed();
    await query("delete from costsim_provenance_inputs");
    const w = await makeTenantWithKeys();
    await shadowRuns(w.tenant.id, 55, noHistory);
    // What the comparisons recorded is made to look far apart, and V2's recorded replies other
    // than what it answers: the canary runs V1 and V2 again and sees neither.
    await query(
      `update costsim_provenance set v2_credits = 9999, v2_hash = 'recorded-by-another-v2', drift_score = 1
        where tenant_id = $1`,
      [w.tenant.id],
    );
    const corrupt = await query<{ provenance_id: string }>(
      `update costsim_provenance_inputs set input_gz = $2 where provenance_id =
         (select provenance_id from costsim_provenance_inputs where tenant_id = $1 limit 1) returning provenance_id`,
      [w.tenant.id, Buffer.from("not gzip")],
    );
    expect(corrupt.rows).toHaveLength(1);

    const res = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(res.status, res.text).toBe(200);
    expect(res.body.report.recent).toMatchObject({
      inputs: 55,
      unreadable: 1,
      samples: 54,
      min_samples: 50,
      outcome: "pass",
      verdicts: { match: 54 },
      v2_errors: {},
      changed_since_recorded: 54,
      over_drift_threshold: 0,
    });
    expect(res.body.report.recent.kl_credits).toBeLessThanOrEqual(0.5);
    expect(res.body).toMatchObject({ status: "passed", failures: [] });
    expect(await breaker()).toMatchObject({ state: "CLOSED", open_incident: null });
  });

  it("fails when V2 fails on a recent input (its error codes counted), and reads at most COSTSIM_CANARY_REPLAY_SAMPLES of the newest", async () => {
    await closed();
    await query("delete from costsim_provenance_inputs");
    const w = await makeTenantWithKeys();
    const now = Date.now();
    // Older: five inputs V2 cannot read the history of. Newer: five it prices.
    await shadowRuns(w.tenant.id, 5, badHistory, now - 60_000);
    await shadowRuns(w.tenant.id, 5, noHistory, now);
    const newest = await withConfig({ COSTSIM_CANARY_MIN_SAMPLES: "5", COSTSIM_CANARY_REPLAY_SAMPLES: "5" }, () =>
      invoke("POST", RUN, { key: t.keys.admin.key }),
    );
    expect(newest.body).toMatchObject({
      status: "passed",
      report: { recent: { inputs: 5, max_inputs: 5, outcome: "pass" } },
    });

    const all = await withConfig({ COSTSIM_CANARY_MIN_SAMPLES: "5" }, () =>
      invoke("POST", RUN, { key: t.keys.admin.key }),
    );
    expect(all.status, all.text).toBe(200);
    expect(all.body.status).toBe("failed");
    expect(all.body.report.recent).toMatchObject({
      inputs: 10,
      samples: 10,
      outcome: "fail",
      verdicts: { match: 5, v2_error: 5 },
      v2_errors: { "costsim.invalid_history": 5 },
    });
    expect(all.body.failures).toEqual(["V2 failed on 5 of 10 recent inputs run again (costsim.invalid_history x5)"]);
    expect((await breaker()).open_incident).toMatchObject({ trigger: "canary" });
    await takeMessages("AlertDelivery");
  });

  it("the CostsimSafety run deletes recorded inputs older than COSTSIM_CANARY_WINDOW_HOURS; the canary reads only the window", async () => {
    await closed();
    await query("delete from costsim_provenance_inputs");
    const w = await makeTenantWithKeys();
    await shadowRuns(w.tenant.id, 3, noHistory, Date.now() - 169 * HOUR_MS);
    await shadowRuns(w.tenant.id, 2, noHistory);
    const count = async () =>
      Number((await query<{ n: string }>("select count(*) as n from costsim_provenance_inputs")).rows[0]?.n);
    expect(await count()).toBe(5);
    const r = await withConfig({ COSTSIM_CANARY_MIN_SAMPLES: "1" }, () =>
      invoke("POST", RUN, { key: t.keys.admin.key }),
    );
    expect(r.body.report.recent).toMatchObject({ inputs: 2, samples: 2 });
    await Costsim.runSafety();
    expect(await count()).toBe(2);
    // Their comparisons stay (the divergence report's); only the inputs go.
    expect(
      Number(
        (await query<{ n: string }>("select count(*) as n from costsim_provenance where tenant_id = $1", [w.tenant.id]))
          .rows[0]?.n,
      ),
    ).toBe(5);
  });

  it("the CostsimSafety run deletes comparisons older than COSTSIM_PROVENANCE_RETENTION_DAYS with their inputs, every tenant's", async () => {
    await closed();
    const [a, b] = [await makeTenantWithKeys(), await makeTenantWithKeys()];
    await shadowRuns(a.tenant.id, 3, noHistory, Date.now() - 31 * DAY_MS);
    await shadowRuns(b.tenant.id, 2, noHistory, Date.now() - 31 * DAY_MS);
    await shadowRuns(a.tenant.id, 2, noHistory, Date.now() - 29 * DAY_MS);
    const rows = async (tenant: string) =>
      (
        await query<{ n: string; inputs: string }>(
          `select count(*) as n, count(i.provenance_id) as inputs
           from costsim_provenance p left join costsim_provenance_inputs i on i.provenance_id = p.id
           where p.tenant_id = $1`,
          [tenant],
        )
      ).rows.map((r) => [Number(r.n), Number(r.inputs)])[0];
    // A window of 800 h keeps every input: only retention deletes here.
    const safety = (days: string) =>
      withConfig({ COSTSIM_PROVENANCE_RETENTION_DAYS: days, COSTSIM_CANARY_WINDOW_HOURS: "800" }, () =>
        Costsim.runSafety(),
      );
    expect([await rows(a.tenant.id), await rows(b.tenant.id)]).toEqual([
      [5, 5],
      [2, 2],
    ]);
    expect((await safety("90")).trimmed).toEqual({ inputs: 0, provenance: 0 });
    expect((await safety("30")).trimmed).toEqual({ inputs: 0, provenance: 5 });
    expect([await rows(a.tenant.id), await rows(b.tenant.id)]).toEqual([
      [2, 2],
      [0, 0],
    ]);
    expect((await safety("30")).trimmed).toEqual({ inputs: 0, provenance: 0 });
  });

  it("a failing canary disables V2: recent plans run again with V2's credits far from V1's (KL), status failed naming the KL, the breaker OPEN with a canary incident", async () => {
    await closed();
    await query("delete from costsim_provenance_inputs");
    const w = await makeTenantWithKeys();
    // The history says each embed call carried 20,000 units: V2 prices the embed step from it
    // (2,002 credits), V1 from the skill's prior (2).
    await shadowRuns(w.tenant.id, 60, voyageSeen(20_000));
    const disabledBefore = await metricValue('costsim_cb_disabled_total{trigger="canary"}');

    const res = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(res.status, res.text).toBe(200);
    const r = res.body;
    expect(r.status).toBe("failed");
    expect(r.report.recent).toMatchObject({
      inputs: 60,
      samples: 60,
      unreadable: 0,
      outcome: "fail",
      max_kl: 0.5,
      v2_errors: {},
      changed_since_recorded: 0,
    });
    expect(r.report.recent.kl_credits).toBeGreaterThan(0.5);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatch(/^KL\(V1 \|\| V2\) of credits [\d.]+ > 0\.5 over 60 recent inputs run again$/);
    expect(r.failures[0]).toContain(String(r.report.recent.kl_credits));

    const b = await breaker();
    expect(b).toMatchObject({
      state: "OPEN",
      v2_enabled: false,
      open_incident: { trigger: "canary", figures: { canary_report_id: r.id, failures: r.failures } },
    });
    expect(b.open_incident.reason).toContain(r.id);
    expect(Date.parse(b.disabled_until) - Date.parse(b.disabled_at)).toBe(24 * HOUR_MS);
    expect(await Costsim.v2Enabled()).toBe(false);
    const open = await invoke("GET", INCIDENTS, { key: t.keys.viewer.key, query: { open: "true" } });
    expect(open.body.data).toEqual([b.open_incident]);
    const alert = await alertOf(b.open_incident.id);
    expect(alert).toMatchObject({ state: "firing", labels: { trigger: "canary", incident_id: b.open_incident.id } });
    expect(await takeMessages("AlertDelivery", 1)).toEqual([{ v: 1, tenantId: SYSTEM_TENANT_ID, alertId: alert?.id }]);
    expect(await metricValue('costsim_cb_disabled_total{trigger="canary"}')).toBe(disabledBefore + 1);
    // The figures are aggregates: the tenant whose plans fed them is named nowhere.
    expect(JSON.stringify([r, b])).not.toContain(w.tenant.id);
    expect(JSON.stringify([r, b])).not.toContain(w.tenant.slug);

    // Disabled, V2 records nothing; the next canary judges the same code on the same inputs (those
    // that tripped it), fails again and keeps V2 disabled: only a changed V2 (or a reset) ends it.
    const again = await invoke("POST", RUN, { key: t.keys.admin.key });
    expect(again.body).toMatchObject({ status: "failed", report: { recent: { samples: 60, outcome: "fail" } } });
  });
});
