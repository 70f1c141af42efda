import * as Skills from "../../../core/skills/index.ts";
import { BreakerInfo, BreakerPath, BreakerResetBody } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Operator (its tenant's breakers) or admin (any): close a breaker now (failures forgotten); recorded in status_history. */
export const handler = httpHandler(
  { path: BreakerPath, body: BreakerResetBody, response: BreakerInfo },
  ({ path, body }) => Skills.resetBreaker(path.target, body),
);
