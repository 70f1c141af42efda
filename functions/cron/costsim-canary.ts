import * as Costsim from "../../core/costsim/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Daily: the canary (V2 on the reference datasets; V1 and V2 again on the newest recorded shadow inputs); steps aside when one runs. */
export const handler = cronHandler("CostsimCanary", () => Costsim.scheduledCanary());
