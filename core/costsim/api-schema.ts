/**
 * The cost simulation domain's request and reply shapes of its routes and its queue message
 * (zod/mini): the simulate body, the shadow message, the divergence query and reply, the status
 * reply and the dataset routes. The model's own shapes are in schema.ts.
 */
import * as z from "zod/mini";
import { Amount } from "../credits/index.ts";
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

export const StatusReply = z.object({
  sandbox: z.boolean(),
  provenance: z.object({ enabled: z.boolean(), compress: z.boolean() }),
  versions: z.object({ v1: z.string(), v2: z.string() }),
  thresholds: z.object({ drift: z.number(), warning: z.number(), schema_errors: z.int() }),
  /** The drift circuit breaker's state: null until it exists (issue 19). */
  breaker: z.null(),
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
