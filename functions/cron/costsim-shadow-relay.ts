import * as Costsim from "../../core/costsim/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: the messages of the shadow requests written since (V1 simulates with the sandbox on). */
export const handler = cronHandler("CostsimShadowRelay", () => Costsim.relayRequests());
