/**
 * The OpenAPI refinement of `POST /api/v1/skills/{name}/execute`: each skill's args and result as
 * components, so the description shows what every skill takes. It lives here, with the
 * generator, and not in the handler's spec: the JSON Schema conversion it needs would otherwise
 * be bundled (and parsed at every cold start) into a Lambda that never uses it.
 */
import * as Skills from "../core/skills/index.ts";

type Content = Record<string, { schema: { properties?: Record<string, unknown> } }> | undefined;

export function documentSkills(op: Record<string, unknown>, schemas: Record<string, unknown>): void {
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
