import * as Skills from "../../../core/skills/index.ts";
import { ExecuteBody, ExecuteResult, SkillPath } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

type Content = Record<string, { schema: { properties?: Record<string, unknown> } }> | undefined;

/** Each skill's args and result as components, so the description shows what every skill takes. */
function documentSkills(op: Record<string, unknown>, schemas: Record<string, unknown>): void {
  const skills = Skills.list();
  for (const s of skills) {
    schemas[`SkillArgs_${s.name}`] = { ...s.input_schema, description: `args of ${s.name}: ${s.description}` };
    schemas[`SkillResult_${s.name}`] = { ...s.output_schema, description: `result of ${s.name}` };
  }
  const refs = (kind: string) => skills.map((s) => ({ $ref: `#/components/schemas/Skill${kind}_${s.name}` }));
  const body = (op.requestBody as { content: Content }).content;
  const reply = (op.responses as Record<string, { content: Content }>)["200"]?.content;
  for (const [content, field, kind] of [
    [body, "args", "Args"],
    [reply, "result", "Result"],
  ] as const) {
    const props = content?.["application/json"]?.schema.properties;
    if (props) props[field] = { description: `The ${field} of the skill named in the path`, anyOf: refs(kind) };
  }
}

/** Runs a skill for the key's tenant; with an idempotency key, at most once per key and args. */
export const handler = httpHandler(
  {
    path: SkillPath,
    body: ExecuteBody,
    response: ExecuteResult,
    errors: {
      409: "skills.idempotency_conflict (same key, other args) or skills.in_progress (a call with this key still runs)",
      502: "The external service failed or refused the call (skills.upstream_*, skills.redirect_refused)",
      503: "skills.circuit_open (Retry-After: when a probe may go through) or skills.not_configured",
      504: "skills.timeout: the skill did not finish in time",
    },
    openapi: documentSkills,
  },
  async ({ path, body }) =>
    Skills.execute(path.name, body.args, { idempotencyKey: body.idempotency_key, argsField: "body.args" }),
);
