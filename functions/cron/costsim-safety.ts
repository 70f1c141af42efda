import * as Costsim from "../../core/costsim/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: the drift evaluation, the breaker's recovery, the alerts' re-assertion and re-drive, the gauges, the trims (the "cron run" log line counts what they deleted). */
export const handler = cronHandler("CostsimSafety", () => Costsim.runSafety());
