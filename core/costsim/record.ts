/**
 * `recordComparison`: one V1/V2 comparison into costsim_provenance, for the caller's tenant. The
 * row is the tenant's input (`input_hash`): a later simulation of the same input replaces the
 * comparison and counts one more simulation; the same simulation recorded again (a redelivered
 * shadow message, a backfill run twice: the same `at`) changes nothing. An older one arriving
 * after a newer one is dropped. Both replies are kept in `outputs`, or gzipped in `outputs_gz`
 * with COSTSIM_PROVENANCE_COMPRESS. The input itself (plan, options, history), when given, is
 * kept gzipped beside the row in costsim_provenance_inputs, for the canary's replay (replay.ts).
 */
import { gzipSync } from "node:zlib";
import { config } from "../config.ts";
import { useTenant } from "../context.ts";
import { clock } from "../platform/clock.ts";
import { query } from "../platform/db/index.ts";
import type { FeasibilityOptions } from "./estimate.ts";
import * as sql from "./provenance.sql.ts";
import type { Comparison, HistoryInput, Plan } from "./schema.ts";

/** The version written for V1's estimates (its model: cost models and stated priors). */
export const V1_VERSION = "v1.0";
/** The version written for V2's estimates (its model: V1 calibrated from the tenant's history). */
export const V2_VERSION = "v2.0";

/** Both replies (or V2's error) as the row keeps them. */
export interface ProvenanceOutputs {
  v1: unknown;
  v2: unknown | null;
  v2_error: { code: string; message: string } | null;
}

/** What V1 and V2 were run on: the canary runs the deployed ones on it again (replay.ts). */
export interface ComparisonInput {
  plan: Plan;
  /** The options the simulate was given: with the plan, what `input_hash` hashes. */
  given: FeasibilityOptions;
  /** The options V1 and V2 ran with: the given ones, or the budget and the tenant's available credits then. */
  options: FeasibilityOptions;
  /** The history V2 read. */
  history: HistoryInput;
}

export interface ProvenanceRecord {
  source: "shadow" | "backfill";
  /** 'workflow:<name>@<version>' | 'job:<task>' | 'inline'. */
  plan_ref?: string | null;
  /** Costsim.hashOf(plan) of the plan V1 priced: a run of the same plan records its actual outcome on the row. */
  plan_hash?: string | null;
  /** The skills the plan calls (the divergence report's ?skill= filter). */
  skills?: readonly string[];
  comparison: Comparison;
  v1_version?: string;
  v2_version?: string | null;
  v1_p_failure?: number | null;
  v2_p_failure?: number | null;
  outputs?: ProvenanceOutputs | null;
  /** When V1 answered (default now): the newest wins; the same time again is a redelivery. */
  at?: Date;
  /**
   * When V2 was run (after it read its history): a run that began later is a hold-out for this
   * comparison and records its outcome on it (recordActual). Null (a backfill): none does.
   */
  compared_at?: Date | null;
  /** The input, kept gzipped for the canary's replay (none for a record made without one). */
  input?: ComparisonInput | null;
}

export interface Recorded {
  id: string;
  /** `inserted`: a new input; `updated`: a later simulation of it; `unchanged`: seen already. */
  outcome: "inserted" | "updated" | "unchanged";
  simulations: number;
}

const numeric = (n: number | null) => (n === null ? null : String(n));

/**
 * Record a comparison for the tenant of the context (useTenant()).
 *
 * @example
 *   await Costsim.recordComparison({ source: "shadow", skills: ["voyage_embed"], comparison, outputs: { v1, v2, v2_error: null } });
 *   // { id: "…", outcome: "inserted", simulations: 1 }
 */
export async function recordComparison(rec: ProvenanceRecord): Promise<Recorded> {
  const tenantId = useTenant();
  const c = rec.comparison;
  const outputs = rec.outputs ?? null;
  const compress = outputs !== null && config().costsim.provenanceCompress;
  const json = outputs === null ? null : JSON.stringify(outputs);
  const { rows } = await query<{ id: string; simulations: number; inserted: boolean }>(sql.upsertProvenance, [
    tenantId,
    c.input_hash,
    rec.source,
    rec.plan_ref ?? null,
    [...(rec.skills ?? [])],
    rec.v1_version ?? V1_VERSION,
    rec.v2_version === undefined ? (c.verdict === "v2_error" ? null : V2_VERSION) : rec.v2_version,
    c.v1_output_hash,
    c.v2_output_hash,
    numeric(c.v1_credits),
    numeric(c.v2_credits),
    c.v1_duration_ms,
    c.v2_duration_ms,
    rec.v1_p_failure ?? null,
    rec.v2_p_failure ?? null,
    numeric(c.cost_delta),
    c.drift_score,
    c.verdict,
    compress ? null : json,
    compress && json !== null ? gzipSync(json) : null,
    rec.at ?? clock().now(),
    rec.plan_hash ?? null,
    rec.compared_at ?? null,
    rec.input ? gzipSync(JSON.stringify(rec.input)) : null,
  ]);
  const row = rows[0];
  if (row) return { id: row.id, outcome: row.inserted ? "inserted" : "updated", simulations: row.simulations };
  const seen = await query<{ id: string; simulations: number }>(sql.provenanceByHash, [tenantId, c.input_hash]);
  const s = seen.rows[0] as { id: string; simulations: number };
  return { id: s.id, outcome: "unchanged", simulations: s.simulations };
}
