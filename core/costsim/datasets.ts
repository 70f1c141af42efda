/**
 * The five reference datasets of M6.5, versioned JSON under ./datasets/, by the seed's names and
 * sample counts: `low_variance` 30, `high_variance` 16, `mixed_city` 25, `noise_injected` 8 (edge
 * cases and invalid inputs), `historical` 5. A sample is a plan as a caller sends it (a workflow
 * with its input, or a job spawn body) over the registry's real skills, with its expected outcome:
 * the credits the cost models price (exactly), a duration range, or the refusal an invalid plan
 * meets. `historical` samples also carry the tenant's history (what V2 reads) and what the run
 * really charged and took. Each file states the thresholds it passes at (validate-dataset.ts).
 *
 * A dataset's `version` changes with any change to its samples or thresholds, so a validation
 * report names what it validated.
 */
import * as z from "zod/mini";
import { fieldIssues } from "../errors.ts";
import highVariance from "./datasets/high_variance.json" with { type: "json" };
import historical from "./datasets/historical.json" with { type: "json" };
import lowVariance from "./datasets/low_variance.json" with { type: "json" };
import mixedCity from "./datasets/mixed_city.json" with { type: "json" };
import noiseInjected from "./datasets/noise_injected.json" with { type: "json" };
import { DatasetInvalidError } from "./errors.ts";
import { History } from "./schema.ts";

/** The seed's datasets and their sample counts (PIN-026, M6.5). */
export const SEED_DATASETS = Object.freeze({
  low_variance: 30,
  high_variance: 16,
  mixed_city: 25,
  noise_injected: 8,
  historical: 5,
});
export type DatasetName = keyof typeof SEED_DATASETS;
export const DATASET_NAMES = Object.keys(SEED_DATASETS) as DatasetName[];

const NonNegative = z.number().check(z.minimum(0));
const Share = z.number().check(z.minimum(0), z.maximum(1));

/** What a dataset passes at, stated in its file. */
export const DatasetThresholds = z.strictObject({
  /** Median |estimated - expected| credits over the valid samples, at most. */
  max_cost_median_abs_error: NonNegative,
  /** Largest |estimated - expected| credits of a valid sample, at most. */
  max_cost_abs_error: NonNegative,
  /** Share of valid samples whose duration is inside their expected range, at least. */
  min_duration_in_range: Share,
  /** KL(expected || estimated) credits over fixed bins (statistics.ts), at most. */
  max_kl_divergence: NonNegative,
  /** Share of invalid samples refused with the expected code, at least. */
  min_rejection_accuracy: Share,
  /** Fewest samples a verdict stands on: fewer is insufficient data, never a pass. */
  min_samples: z.int().check(z.minimum(1)),
});
export type DatasetThresholds = z.output<typeof DatasetThresholds>;

export const DatasetSample = z.strictObject({
  id: z.string().check(z.minLength(1)),
  description: z.string(),
  /** The plan as a caller sends it; the invalid ones are refused by planOf. */
  plan: z.unknown(),
  /** The tenant's history (historical samples). */
  history: z.optional(History),
  expected: z.union([
    z.strictObject({
      credits: NonNegative,
      duration_ms: z.tuple([NonNegative, NonNegative]).check(z.refine(([lo, hi]) => lo <= hi, "lo above hi")),
    }),
    z.strictObject({ rejected: z.string() }),
  ]),
  /** What the run really charged and took. */
  actual: z.optional(z.strictObject({ credits: NonNegative, duration_ms: NonNegative })),
});
export type DatasetSample = z.output<typeof DatasetSample>;

export const Dataset = z.strictObject({
  name: z.enum(DATASET_NAMES as [DatasetName, ...DatasetName[]]),
  version: z.int().check(z.minimum(1)),
  description: z.string(),
  sample_count: z.int(),
  thresholds: DatasetThresholds,
  samples: z.array(DatasetSample),
});
export type Dataset = z.output<typeof Dataset>;

const files: Readonly<Record<DatasetName, unknown>> = {
  low_variance: lowVariance,
  high_variance: highVariance,
  mixed_city: mixedCity,
  noise_injected: noiseInjected,
  historical,
};

/** A dataset's file, checked: its shape, its name, and the seed's sample count (declared and real). */
export function parseDataset(name: DatasetName, raw: unknown): Dataset {
  const r = z.safeParse(Dataset, raw);
  if (!r.success) throw new DatasetInvalidError(name, fieldIssues(name, r.error));
  const d = r.data;
  const issues = [];
  if (d.name !== name) issues.push({ field: `${name}.name`, message: `names ${d.name}` });
  const want = SEED_DATASETS[name];
  if (d.sample_count !== want || d.samples.length !== want)
    issues.push({
      field: `${name}.samples`,
      message: `the seed's ${name} has ${want} samples; this declares ${d.sample_count} and holds ${d.samples.length}`,
    });
  const ids = new Set(d.samples.map((s) => s.id));
  if (ids.size !== d.samples.length) issues.push({ field: `${name}.samples`, message: "sample ids repeat" });
  if (issues.length > 0) throw new DatasetInvalidError(name, issues);
  return d;
}

const parsed = new Map<DatasetName, Dataset>();

/**
 * A reference dataset by name, parsed once per process. Throws DatasetInvalidError when its file
 * is not a dataset.
 *
 * @example
 *   Costsim.validateDataset(Costsim.dataset("low_variance"), Costsim.v1Estimator);
 */
export function dataset(name: DatasetName): Dataset {
  let d = parsed.get(name);
  if (!d) {
    d = parseDataset(name, files[name]);
    parsed.set(name, d);
  }
  return d;
}

/** All five, in the seed's order. */
export function datasets(): Dataset[] {
  return DATASET_NAMES.map(dataset);
}
