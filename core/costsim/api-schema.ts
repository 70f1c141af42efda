/**
 * The cost simulation domain's request and reply shapes of its routes and its queue message
 * (zod/mini): the simulate body, the shadow message, the divergence query and reply, the status
 * reply and the dataset routes. The model's own shapes are in schema.ts.
 */
import * as z from "zod/mini";
import { Amount } from "../credits/index.ts";
import { PageQuery, page } from "../platform/pagination.ts";
import { TenantRef } from "../tenancy/index.ts";
import { DATASET_NAMES, type DatasetName } from "./datasets.ts";
import { Accuracy, DivergenceReport, type HistoryInput, Plan, Verdict } from "./schema.ts";

const Version = z.int().check(z.minimum(1), z.maximum(1_000_000));

/** A registered workflow by name (its latest version, or `version`), looked up by the handler. */
export const WorkflowByName = z.strictObject({
  workflow: z.strictObject({ name: z.string().check(z.minLength(1), z.maxLength(63)), version: z.optional(Version) }),
});
/** A workflow's steps given inline (a draft, or a definition the caller holds); planOf checks each. */
export const InlineWorkflow = z.strictObject({
  workflow: z.strictObject({
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(63))),
    steps: z.array(z.unknown()).check(z.minLength(1), z.maxLength(100)),
  }),
});
/** A job spawn body (POST /api/v1/jobs), checked by planOf. */
export const JobSpawnPlan = z.strictObject({ job: z.record(z.string(), z.unknown()) });

/** `POST /api/v1/costsim/simulate` and `.../v2/simulate`. */
export const SimulateBody = z.strictObject({
  plan: z.union([WorkflowByName, InlineWorkflow, JobSpawnPlan]),
  /** The workflow run's input (what `{"$ref": "input.<path>"}` args read); not for a job. */
  input: z.optional(z.record(z.string(), z.unknown())),
  /** A cap for this plan, in credits: the reply says whether it fits (with the available credits). */
  budget: z.optional(Amount),
});
export type SimulateBody = z.output<typeof SimulateBody>;

/** What `Costsim.simulate` takes: the plan as planOf reads it, where it came from, a budget. */
export interface SimulateRequest {
  /** `{workflow: {name?, steps}, input}` or `{job: {...}}` (a workflow by name already resolved). */
  plan: unknown;
  /** 'workflow:<name>@<version>' | 'job:<task>' | 'inline' (default from the plan). */
  planRef?: string;
  budget?: number | undefined;
  /**
   * Where the caller's request holds the plan, for the fields a 400 names: `["plan", "body.plan"]`
   * (the costsim routes), `["plan.job", "body"]` (a spawn body). Default: planOf's `plan...`.
   */
  fieldsAt?: readonly [string, string];
}

const Options = z.object({ budget: z.optional(z.number()), availableCredits: z.optional(z.number()) });

/**
 * A CostsimShadow message: the normalised plan and the caller's budget. `options` (the feasibility
 * options, budget and available credits) is in messages written before the shadow request was
 * written beside the credits read; without it the consumer reads the tenant's available credits
 * when it runs (V1 and V2 are both checked against them; credits, duration and p_failure do not
 * depend on them). `at` is when V1 answered: the row's time, and what makes a redelivery
 * recognisable (the same input at the same time).
 */
export const ShadowMessage = z.object({
  v: z.literal(1),
  tenantId: z.uuid(),
  plan: Plan,
  options: z.optional(Options),
  budget: z.optional(z.number()),
  planRef: z.nullable(z.string()),
  skills: z.array(z.string()),
  at: z.iso.datetime({ offset: true }),
});
export type ShadowMessage = z.output<typeof ShadowMessage>;

/** An AlertDelivery message: which costsim_alert_queue row wants a send (a wake-up call: the row holds the alert). */
export const AlertMessage = z.object({ v: z.literal(1), tenantId: z.uuid(), alertId: z.uuid() });
export type AlertMessage = z.output<typeof AlertMessage>;

/**
 * Reads the tenant's history of a plan's skills (skill_metrics rows, failure shares) and, for a
 * job, of its task (done items' durations). Those rows belong to workflows, jobs and the failure catalog, which import costsim:
 * their reads are passed in by the caller (functions/_lib/costsim-history.ts), never imported here.
 */
export type HistoryReader = (plan: {
  kind: Plan["kind"];
  name: string | null;
  skills: readonly string[];
}) => Promise<HistoryInput>;

/** An ISO 8601 instant with an explicit offset, as a query value. */
const Instant = z.pipe(
  z.iso.datetime({ offset: true }).check(z.describe("ISO 8601 instant, e.g. 2026-11-22T10:00:00Z")),
  z.transform((v) => new Date(v)),
);

/** `GET /api/v1/costsim/divergence`: `since` inclusive (default 7 days ago), `until` exclusive (default now). */
export const DivergenceQuery = z
  .strictObject({
    since: z.optional(Instant),
    until: z.optional(Instant),
    skill: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, "a skill name"))),
    /** Another tenant (slug or id): admin keys only. */
    tenant_id: z.optional(TenantRef),
    min_samples: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(100_000))),
  })
  .check(
    z.refine((q) => !(q.since && q.until && q.since >= q.until), {
      message: "since must be before until",
      path: ["since"],
    }),
  );
export type DivergenceQuery = z.output<typeof DivergenceQuery>;

export const DivergenceReply = z.object({
  ...DivergenceReport.shape,
  tenant_id: z.string(),
  since: z.string(),
  until: z.string(),
  skill: z.nullable(z.string()),
  thresholds: z.object({ drift: z.number(), warning: z.number() }),
});
export type DivergenceReply = z.output<typeof DivergenceReply>;

const Figures = z.record(z.string(), z.unknown()).check(z.describe("The figures the decision rested on"));
const Trigger = z.enum(["drift", "schema_errors", "canary"]);

/** A drift breaker incident: a trip, why, its figures, until when, and how it ended. */
export const Incident = z.object({
  id: z.string(),
  trigger: Trigger,
  reason: z.string(),
  figures: Figures,
  opened_at: z.string(),
  disabled_until: z.string(),
  resolved_at: z.nullable(z.string()),
  resolution: z.nullable(z.enum(["auto_recovery", "reset"])),
  resolved_by: z.nullable(
    z
      .string()
      .check(z.describe("`an admin key` (a reset) or the system worker (`system:...`); the key's id stays in the row")),
  ),
  resolution_reason: z.nullable(z.string()),
});

/** The V2 drift breaker (one for every tenant). */
export const BreakerStatus = z.object({
  state: z
    .enum(["CLOSED", "OPEN", "HALF_OPEN"])
    .check(
      z.describe("CLOSED: V2 enabled; OPEN: disabled; HALF_OPEN: disabled, its TTL over, waiting for a passing canary"),
    ),
  v2_enabled: z.boolean(),
  consecutive_failures: z.int(),
  failure_threshold: z.int(),
  disabled_at: z.nullable(z.string()),
  disabled_until: z.nullable(z.string()),
  open_incident: z.nullable(Incident),
  last_evaluation: z.nullable(
    z.object({ at: z.string(), outcome: z.enum(["pass", "fail", "insufficient_data"]), figures: Figures }),
  ),
});

/** `POST /api/v1/costsim/v2/reset`: why V2 is re-enabled now (kept with the incident and in status_history). */
export const ResetBody = z.strictObject({
  reason: z.string().check(z.trim(), z.minLength(3), z.maxLength(500)),
});

/** `GET /api/v1/costsim/v2/incidents`. */
export const IncidentsQuery = z.strictObject({
  ...PageQuery.shape,
  open: z.optional(
    z.pipe(
      z.enum(["true", "false"]),
      z.transform((v) => v === "true"),
    ),
  ),
});
export type IncidentsQuery = z.output<typeof IncidentsQuery>;
export const IncidentsPage = page(Incident);

/** A canary run and its report. */
export const CanaryReport = z.object({
  id: z.string(),
  status: z.enum(["running", "passed", "failed", "insufficient_data", "abandoned"]),
  trigger: z.enum(["schedule", "api"]),
  requested_by: z.string().check(z.describe("`an admin key` or the system's cron (`system:...`)")),
  started_at: z.string(),
  finished_at: z.nullable(z.string()),
  lease_until: z.string(),
  failures: z.array(z.string()),
  report: z
    .nullable(z.record(z.string(), z.unknown()))
    .check(
      z.describe(
        "`datasets`: each reference dataset's checks and misses; `recent`: the deployed V1 and V2 run again on the newest recorded shadow inputs (`inputs`, `samples`, `unreadable`, `kl_credits`, `kl_duration_ms`, `p95_drift`, `verdicts`, `v2_errors`, `changed_since_recorded`, `outcome`)",
      ),
    ),
});
/** `POST /api/v1/costsim/canary/run`: no fields (an empty object, or no body). */
export const CanaryRunBody = z._default(z.strictObject({}), {});
export const CanaryReportsQuery = z.strictObject({ ...PageQuery.shape });
export const CanaryReportsPage = page(CanaryReport);
export const CanaryReportPath = z.object({ id: z.uuid() });

export const StatusReply = z.object({
  sandbox: z.boolean(),
  provenance: z.object({ enabled: z.boolean(), compress: z.boolean() }),
  versions: z.object({ v1: z.string(), v2: z.string() }),
  thresholds: z.object({ drift: z.number(), warning: z.number(), schema_errors: z.int() }),
  /** The drift circuit breaker (every tenant's: V2 disabled for all or none). */
  breaker: BreakerStatus,
  /** The tenant's provenance rows by verdict. */
  counts: z.record(Verdict, z.int()),
  total: z.int(),
  last_comparison_at: z.nullable(z.string()),
  accuracy: z.object({ v1: Accuracy, v2: Accuracy }),
  /** Whether V2 may be promoted: never while its error against actuals is worse than V1's or unmeasured. */
  promotion: z.object({ allowed: z.boolean(), reason: z.string() }),
});
export type StatusReply = z.output<typeof StatusReply>;

export const DatasetPath = z.object({
  id: z.enum(DATASET_NAMES as [DatasetName, ...DatasetName[]]),
});

/** Which estimator(s) a validation runs. */
export const ValidateBody = z.strictObject({
  estimator: z._default(z.enum(["v1", "v2", "both"]), "both"),
});
export type ValidateBody = z.output<typeof ValidateBody>;
