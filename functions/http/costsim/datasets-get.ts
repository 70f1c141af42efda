import * as Costsim from "../../../core/costsim/index.ts";
import { DatasetPath } from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** One reference dataset with its samples; an unknown id is a 400 naming the five. */
export const handler = httpHandler({ path: DatasetPath }, async ({ path }) => Costsim.getDataset(path.id));
