import * as z from "zod/mini";
import * as Costsim from "../../../core/costsim/index.ts";
import { DatasetPath, ValidateBody } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** V1, V2 or both (default) against one reference dataset. */
export const handler = httpHandler({ path: DatasetPath, body: z.optional(ValidateBody) }, async ({ path, body }) =>
  Costsim.validateDatasetNamed(path.id, body?.estimator ?? "both"),
);
