import * as z from "zod/mini";
import * as Costsim from "../../../core/costsim/index.ts";
import { ValidateBody } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** V1, V2 or both (default) against every reference dataset. */
export const handler = httpHandler({ body: z.optional(ValidateBody) }, async ({ body }) =>
  Costsim.validateAllDatasets(body?.estimator ?? "both"),
);
