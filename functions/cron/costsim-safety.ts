import * as Costsim from "../../core/costsim/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: the drift evaluation, the breaker's recovery, the alerts' re-assertion and re-drive, the gauges. */
export const handler = cronHandler("CostsimSafety", () => Costsim.runSafety());
