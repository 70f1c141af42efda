/** Settings of jobs (core/jobs). */
import { declareSettings, int } from "./declare.ts";

// biome-ignore format: one line per setting
export const jobs = declareSettings("jobs", {
  jobs: {
    maxParallelism: int("JOBS_MAX_PARALLELISM", 50, "items of one job in flight at once a tenant is expected to run; `POST /api/v1/jobs/simulate` warns above it", { min: 1 }),
  },
});
