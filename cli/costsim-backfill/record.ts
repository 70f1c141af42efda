/**
 * A provenance record as `aos costsim backfill` reads it, and the costsim_provenance row it
 * becomes. Two spellings are accepted, field by field:
 *
 * - AOS's own (what a costsim_provenance row holds): `input_hash` (or a `plan`, hashed with the
 *   shadow path's formula `hashOf({ plan, options })` over the plan and options as the record
 *   gives them: equal to a shadow row's hash only if they are the same normalised values),
 *   `plan_ref`, `skills`, `v1` and `v2` (the replies, whole or only their figures `credits`,
 *   `duration_ms`, `p_failure`) or flat `v1_credits`, `v1_duration_ms`, `v1_p_failure` (and
 *   `v2_*`), `v2_error`, `v1_version`, `v2_version`, `verdict`, `drift_score`, `created_at`,
 *   `actual` (or flat `actual_credits`, `actual_duration_ms`, `actual_run_id`).
 * - The earlier Python system's (seed 001, PIN-028 #3: backend/scripts/backfill_provenance.py):
 *   `plan_hash` for `input_hash`, `timestamp` for `created_at`, `v1_cost` / `v2_cost` for the
 *   credits, `model_version` for `v2_version`, `run_id` (when a UUID) for the actual run. Its other fields
 *   (`id`, `tenant_id`, `commit_sha`, `runtime_ms`, `status`, ...) are ignored: the tenant is
 *   `--tenant`'s, the simulation's own runtime is not a figure of the plan.
 *
 * Hashes are always AOS's: `v1_hash = hashOf(outputs.v1)`, `v2_hash = hashOf(outputs.v2)`, so
 * `--verify` can recompute them. A record that brings its own `v1_hash` / `v2_hash` next to a
 * whole reply must agree with it (else it is refused: the record was altered); next to flat
 * figures (nothing to recompute from) they are kept in `outputs.recorded_hashes`.
 *
 * A comparison needs V2's side: `v2` (or its figures) or `v2_error`. A V1-only record is
 * refused (the verdict has no value for "not compared"). The verdict, when not given, is
 * Costsim.verdictOf of Costsim.driftScore under COSTSIM_DRIFT_THRESHOLD and
 * COSTSIM_DRIFT_WARNING_THRESHOLD (a given one is kept: it is the verdict of its time).
 */
import * as z from "zod/mini";
import * as Costsim from "../../core/costsim/index.ts";

const NonNegative = z.number().check(z.minimum(0));
const Probability = z.number().check(z.minimum(0), z.maximum(1));
const Hash = z.string().check(z.regex(/^[A-Za-z0-9:_-]{8,128}$/, "8 to 128 letters, digits, :, _ or -"));
const Iso = z
  .string()
  .check(z.refine((s) => /^\d{4}-\d{2}-\d{2}/.test(s) && !Number.isNaN(Date.parse(s)), "an ISO 8601 time"));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (s: string) => UUID.test(s);
const Uuid = z.string().check(z.regex(UUID, "a UUID"));

/** A reply (V1's or V2's), whole or only its figures; anything else it holds is kept as is. */
const Output = z.looseObject({
  credits: NonNegative,
  duration_ms: NonNegative,
  p_failure: z.optional(Probability),
  version: z.optional(z.string()),
});
type Output = z.output<typeof Output>;

export const ProvenanceRecord = z.object({
  input_hash: z.optional(Hash),
  plan: z.optional(z.unknown()),
  options: z.optional(z.record(z.string(), z.unknown())),
  plan_ref: z.optional(z.nullable(z.string().check(z.maxLength(200)))),
  skills: z.optional(z.array(z.string().check(z.maxLength(100))).check(z.maxLength(200))),
  v1: z.optional(Output),
  v2: z.optional(z.nullable(Output)),
  v1_credits: z.optional(NonNegative),
  v1_duration_ms: z.optional(NonNegative),
  v1_p_failure: z.optional(z.nullable(Probability)),
  v2_credits: z.optional(z.nullable(NonNegative)),
  v2_duration_ms: z.optional(z.nullable(NonNegative)),
  v2_p_failure: z.optional(z.nullable(Probability)),
  v2_error: z.optional(z.nullable(z.object({ code: z.string(), message: z.string() }))),
  v1_version: z.optional(z.string().check(z.maxLength(64))),
  v2_version: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  v1_hash: z.optional(Hash),
  v2_hash: z.optional(z.nullable(Hash)),
  verdict: z.optional(Costsim.Verdict),
  drift_score: z.optional(z.nullable(Probability)),
  created_at: z.optional(Iso),
  actual: z.optional(
    z.nullable(
      z.object({
        credits: NonNegative,
        duration_ms: NonNegative,
        run_id: z.optional(z.nullable(Uuid)),
        at: z.optional(z.nullable(Iso)),
      }),
    ),
  ),
});
export type ProvenanceRecord = z.output<typeof ProvenanceRecord>;

/** The Python system's names for AOS's fields (used only when AOS's own is absent). */
const aliases: Record<string, string> = {
  plan_hash: "input_hash",
  timestamp: "created_at",
  v1_cost: "v1_credits",
  v2_cost: "v2_credits",
  model_version: "v2_version",
};

/** One costsim_provenance row, as backfill.sql.ts's insertBatch takes it. */
export interface ProvenanceRow {
  input_hash: string;
  plan_ref: string | null;
  skills: string[];
  v1_version: string;
  v2_version: string | null;
  v1_hash: string;
  v2_hash: string | null;
  v1_credits: number;
  v2_credits: number | null;
  v1_duration_ms: number;
  v2_duration_ms: number | null;
  v1_p_failure: number | null;
  v2_p_failure: number | null;
  cost_delta: number | null;
  drift_score: number | null;
  verdict: Costsim.Verdict;
  outputs: { v1: Output; v2: Output | null; v2_error: { code: string; message: string } | null } & Record<
    string,
    unknown
  >;
  actual_credits: number | null;
  actual_duration_ms: number | null;
  actual_run_id: string | null;
  actual_at: string | null;
  created_at: string;
}

/** What was wrong with a record: zod's issues or a rule of the mapping, as one line. */
export type RecordResult = { ok: true; row: ProvenanceRow } | { ok: false; issue: string };

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

function output(whole: Output | null | undefined, credits: unknown, duration: unknown, p: unknown): Output | null {
  if (whole) return whole;
  if (typeof credits !== "number" || typeof duration !== "number") return null;
  return { credits, duration_ms: duration, ...(typeof p === "number" ? { p_failure: p } : {}) };
}

/** Skills named by the plan's steps or the reply's steps, in order, once each. */
function skillsOf(plan: unknown, v1: Output): string[] {
  const from = (steps: unknown) =>
    Array.isArray(steps) ? steps.flatMap((s) => (typeof s?.skill === "string" ? [s.skill as string] : [])) : [];
  const p = plan as { steps?: unknown; workflow?: { steps?: unknown }; job?: { task?: unknown } } | null;
  const named = [...from(p?.steps), ...from(p?.workflow?.steps), ...from(v1.steps)];
  return [...new Set(named)].slice(0, 200);
}

/** `raw` (a parsed JSON value) as a row, or why not. */
export function toRow(
  raw: unknown,
  now: string,
  thresholds: Costsim.DriftThresholds = Costsim.SEED_THRESHOLDS,
): RecordResult {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { ok: false, issue: "not a JSON object" };
  const o: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const [from, to] of Object.entries(aliases)) if (o[to] === undefined && o[from] !== undefined) o[to] = o[from];
  if (o.actual === undefined && typeof o.actual_credits === "number" && typeof o.actual_duration_ms === "number")
    o.actual = {
      credits: o.actual_credits,
      duration_ms: o.actual_duration_ms,
      run_id: o.actual_run_id ?? (typeof o.run_id === "string" && isUuid(o.run_id) ? o.run_id : undefined),
    };
  const parsed = z.safeParse(ProvenanceRecord, o);
  if (!parsed.success)
    return {
      ok: false,
      issue: parsed.error.issues.map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`).join("; "),
    };
  const r = parsed.data;
  const v1 = output(r.v1, r.v1_credits, r.v1_duration_ms, r.v1_p_failure);
  if (!v1) return { ok: false, issue: "v1: V1's reply (or v1_credits and v1_duration_ms) is required" };
  const v2 = output(r.v2, r.v2_credits, r.v2_duration_ms, r.v2_p_failure);
  const v2Error = v2
    ? null
    : (r.v2_error ?? (r.verdict === "v2_error" ? { code: "costsim.v2_error", message: "recorded as v2_error" } : null));
  if (!v2 && !v2Error)
    return {
      ok: false,
      issue:
        "v2: V2's reply (or v2_credits and v2_duration_ms) or v2_error is required: a V1-only record compares nothing",
    };
  if (v2 && r.verdict === "v2_error") return { ok: false, issue: "verdict: v2_error next to a V2 reply" };
  const inputHash =
    r.input_hash ?? (r.plan !== undefined ? Costsim.hashOf({ plan: r.plan, options: r.options ?? {} }) : undefined);
  if (!inputHash) return { ok: false, issue: "input_hash: input_hash (or plan_hash, or a plan to hash) is required" };

  const v1Hash = Costsim.hashOf(v1);
  const v2Hash = v2 ? Costsim.hashOf(v2) : null;
  const recorded: Record<string, string> = {};
  for (const [side, given, computed, whole] of [
    ["v1", r.v1_hash, v1Hash, r.v1 !== undefined],
    ["v2", r.v2_hash, v2Hash, r.v2 != null],
  ] as const) {
    if (!given) continue;
    if (whole && given !== computed)
      return {
        ok: false,
        issue: `${side}_hash: ${given} is not the hash of ${side} (${computed}): the record was altered`,
      };
    if (!whole) recorded[`${side}_hash`] = given;
  }
  const p1 = v1.p_failure ?? 0;
  const score = v2
    ? (r.drift_score ?? Costsim.driftScore({ ...v1, p_failure: p1 }, { ...v2, p_failure: v2.p_failure ?? p1 }))
    : null;
  const f1 = (v1.feasibility as { feasible?: unknown } | undefined)?.feasible;
  const f2 = (v2?.feasibility as { feasible?: unknown } | undefined)?.feasible;
  const verdict =
    r.verdict ??
    (v2 && score !== null
      ? Costsim.verdictOf(score, thresholds, typeof f1 === "boolean" && typeof f2 === "boolean" && f1 !== f2)
      : "v2_error");
  return {
    ok: true,
    row: {
      input_hash: inputHash,
      plan_ref: r.plan_ref ?? (r.plan !== undefined ? "inline" : null),
      skills: r.skills ?? skillsOf(r.plan, v1),
      v1_version: r.v1_version ?? (typeof v1.version === "string" ? v1.version : "v1"),
      v2_version: v2 || v2Error ? (r.v2_version ?? (typeof v2?.version === "string" ? v2.version : "v2")) : null,
      v1_hash: v1Hash,
      v2_hash: v2Hash,
      v1_credits: v1.credits,
      v2_credits: v2?.credits ?? null,
      v1_duration_ms: v1.duration_ms,
      v2_duration_ms: v2?.duration_ms ?? null,
      v1_p_failure: v1.p_failure ?? null,
      v2_p_failure: v2?.p_failure ?? null,
      cost_delta: v2 ? round4(v2.credits - v1.credits) : null,
      drift_score: score,
      verdict,
      outputs: {
        v1,
        v2,
        v2_error: v2Error,
        ...(Object.keys(recorded).length ? { recorded_hashes: recorded } : {}),
      },
      actual_credits: r.actual?.credits ?? null,
      actual_duration_ms: r.actual?.duration_ms ?? null,
      actual_run_id: r.actual?.run_id ?? null,
      actual_at: r.actual ? (r.actual.at ?? r.created_at ?? now) : null,
      created_at: r.created_at ?? now,
    },
  };
}
