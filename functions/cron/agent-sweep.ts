import * as Agents from "../../core/agents/index.ts";
import { cronHandler } from "../_lib/cron.ts";

/** Every minute: messages delivered too often dead-lettered, expired ones deleted, invokes of dead callers timed out. */
export const handler = cronHandler("AgentSweep", () => Agents.sweep());
