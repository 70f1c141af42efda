import * as Workflows from "../../core/workflows/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: lost step messages re-sent, the stuck-runs gauge set. */
export const handler = cronHandler("WorkflowSweep", () => Workflows.sweep());
