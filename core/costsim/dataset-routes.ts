/**
 * The dataset routes' work: the seed's five reference datasets (M6.5, core/costsim/datasets/*.json)
 * listed, read and validated against V1 and V2 (validate-dataset.ts). Datasets are versioned files
 * of the repository, the same for every tenant: nothing here reads or writes tenant data.
 */
import { type Dataset, type DatasetName, dataset, datasets } from "./datasets.ts";
import { type DatasetReport, v1Estimator, v2Estimator, validateDataset } from "./validate-dataset.ts";

/** A dataset without its samples, as the list shows it. */
export interface DatasetSummary {
  id: DatasetName;
  name: DatasetName;
  version: number;
  description: string;
  sample_count: number;
  thresholds: Dataset["thresholds"];
}

/** A dataset's validation by V1, V2 or both. */
export interface DatasetValidation {
  id: DatasetName;
  version: number;
  v1: DatasetReport | null;
  v2: DatasetReport | null;
  /** Every estimator run passed. */
  passed: boolean;
}

const summaryOf = (d: Dataset): DatasetSummary => ({
  id: d.name,
  name: d.name,
  version: d.version,
  description: d.description,
  sample_count: d.sample_count,
  thresholds: d.thresholds,
});

/**
 * The five datasets, in the seed's order, without their samples.
 *
 * @example
 *   Costsim.listDatasets(); // { data: [{ id: "low_variance", sample_count: 30, ... }, ...] }
 */
export function listDatasets(): { data: DatasetSummary[] } {
  return { data: datasets().map(summaryOf) };
}

/** One dataset with its samples. */
export function getDataset(id: DatasetName): Dataset & { id: DatasetName } {
  return { id, ...dataset(id) };
}

/**
 * One dataset validated by `estimator` (`both`: V1 and V2; each sample's own history for V2).
 *
 * @example
 *   Costsim.validateDatasetNamed("mixed_city", "both"); // { v1: { passed: true, ... }, v2: { ... }, passed: true }
 */
export function validateDatasetNamed(id: DatasetName, estimator: "v1" | "v2" | "both"): DatasetValidation {
  const d = dataset(id);
  const v1 = estimator === "v2" ? null : validateDataset(d, v1Estimator);
  const v2 = estimator === "v1" ? null : validateDataset(d, v2Estimator);
  return { id, version: d.version, v1, v2, passed: [v1, v2].every((r) => r === null || r.passed) };
}

/** Every dataset validated; `passed` when all did. */
export function validateAllDatasets(estimator: "v1" | "v2" | "both"): { data: DatasetValidation[]; passed: boolean } {
  const data = datasets().map((d) => validateDatasetNamed(d.name, estimator));
  return { data, passed: data.every((r) => r.passed) };
}
