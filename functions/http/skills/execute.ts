import * as Skills from "../../../core/skills/index.ts";
import { ExecuteBody, ExecuteResult, SkillPath } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * Runs a skill for the key's tenant, charged its cost model (`credits_charged`); with an
 * idempotency key, at most once per key and args (a replay is not charged again). Each skill's
 * args and result are documented by cli/openapi-skills.ts.
 */
export const handler = httpHandler(
  {
    path: SkillPath,
    body: ExecuteBody,
    response: ExecuteResult,
    errors: {
      402: "credits.insufficient: the call's cost (the skill's cost model: base plus per unit) is above the tenant's available credits (details.required, details.available); nothing ran and an idempotency_key stays free",
      409: "skills.idempotency_conflict (same key, other args) or skills.in_progress (a call with this key still runs)",
      502: "The external service failed or refused the call (skills.upstream_*, skills.redirect_refused)",
      503: "skills.circuit_open (Retry-After: when a probe may go through) or skills.not_configured",
      504: "skills.timeout: the skill did not finish in time",
    },
  },
  async ({ path, body }) =>
    Skills.execute(path.name, body.args, { idempotencyKey: body.idempotency_key, argsField: "body.args" }),
);
