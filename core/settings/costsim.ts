/** Settings of cost simulation (core/costsim): the V2 shadow path and its provenance. */
import { bool, declareSettings, int, num } from "./declare.ts";

// biome-ignore format: one line per setting
export const costsim = declareSettings("costsim", {
  costsim: {
    v2Sandbox: bool("COSTSIM_V2_SANDBOX", false, "each V1 simulation also stores a shadow request in a Redis stream, relayed each minute to the CostsimShadow queue (the request path never calls SQS), where V2 runs on the same plan, compared and recorded in costsim_provenance; V1's reply is the one returned either way"),
    driftThreshold: num("COSTSIM_DRIFT_THRESHOLD", 0.2, "a V1/V2 comparison whose drift score is above this is major_drift (the seed's P1)", { min: 0, max: 1 }),
    driftWarningThreshold: num("COSTSIM_DRIFT_WARNING_THRESHOLD", 0.15, "a V1/V2 comparison whose drift score is above this is minor_drift (the seed's P2)", { min: 0, max: 1 }),
    schemaErrorThreshold: int("COSTSIM_SCHEMA_ERROR_THRESHOLD", 5, "V2 replies failing their schema (costsim_v2_schema_errors_total) tolerated per window before the alert fires (monitoring/rules/costsim.yml)", { min: 0 }),
    provenanceEnabled: bool("COSTSIM_PROVENANCE_ENABLED", true, "the shadow path records each comparison in costsim_provenance (off: only the metrics)"),
    provenanceCompress: bool("COSTSIM_PROVENANCE_COMPRESS", false, "provenance keeps both replies gzipped in outputs_gz instead of as jsonb in outputs"),
  },
});
