import * as Costsim from "../../../core/costsim/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The five reference datasets, without their samples. */
export const handler = httpHandler({}, async () => Costsim.listDatasets());
